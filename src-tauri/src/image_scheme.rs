//! The `raddraft://` URI scheme: `raddraft://localhost/image/{imageId}` (Windows:
//! `http://raddraft.localhost/image/{imageId}`) answers an image's pixels as little-endian `u16`
//! values after the Modality LUT, with their geometry in `x-*` headers. Pixels never travel as
//! JSON or base64 over the command channel.

use tauri::http::{header, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use raddraft_ingest::viewer::viewer_pixels;
use raddraft_ingest::Radiograph;

use crate::state::AppState;

pub const SCHEME: &str = "raddraft";

/// The page origins of the app's own webview (Linux/macOS, Windows/Android).
const APP_ORIGINS: [&str; 2] = ["tauri://localhost", "http://tauri.localhost"];

/// Headers the page may read from a cross-origin (`raddraft:` vs `tauri:`) response.
const EXPOSED: &str =
    "x-rows, x-columns, x-bits-stored, x-photometric, x-invert-display, x-value-offset, x-rescale-slope, x-rescale-intercept";

/// Serves one request off the async runtime; decoding runs on a blocking thread.
pub fn handle<R: Runtime>(
    context: UriSchemeContext<'_, R>,
    request: tauri::http::Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = context.app_handle().clone();
    let path = request.uri().path().to_string();
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        responder.respond(image_response(&state, &path, origin.as_deref()).await);
    });
}

/// The response to a request for `path` coming from `origin`.
pub async fn image_response(
    state: &AppState,
    path: &str,
    origin: Option<&str>,
) -> Response<Vec<u8>> {
    let response = match path.strip_prefix("/image/").map(str::parse::<i64>) {
        Some(Ok(image)) => pixels_response(state, image).await,
        _ => error_response(
            StatusCode::NOT_FOUND,
            format!("{path}: not an image address; expected /image/<image id>"),
        ),
    };
    with_cors(response, origin)
}

async fn pixels_response(state: &AppState, image: i64) -> Response<Vec<u8>> {
    let path = match state.image_path(image).await {
        Ok(path) => path,
        Err(e) => return error_response(StatusCode::NOT_FOUND, e.message),
    };
    let decoded = tauri::async_runtime::spawn_blocking(move || {
        Radiograph::open(&path).map(|radiograph| viewer_pixels(&radiograph))
    })
    .await;
    let pixels = match decoded {
        Ok(Ok(pixels)) => pixels,
        Ok(Err(e)) => return error_response(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("decoding image {image} stopped unexpectedly: {e}"),
            )
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("x-rows", pixels.rows)
        .header("x-columns", pixels.columns)
        .header("x-bits-stored", u16::from(pixels.bits_stored))
        .header("x-photometric", pixels.photometric)
        .header(
            "x-invert-display",
            if pixels.invert_display { "1" } else { "0" },
        )
        .header("x-value-offset", pixels.value_offset)
        .header("x-rescale-slope", pixels.rescale_slope.to_string())
        .header("x-rescale-intercept", pixels.rescale_intercept.to_string())
        .body(pixels.le_bytes)
        .unwrap_or_else(|e| error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn error_response(status: StatusCode, message: String) -> Response<Vec<u8>> {
    let mut response = Response::new(message.into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Lets the app's own page (and only it) read the response.
fn with_cors(mut response: Response<Vec<u8>>, origin: Option<&str>) -> Response<Vec<u8>> {
    if let Some(origin) = origin.filter(|o| APP_ORIGINS.contains(o)) {
        let headers = response.headers_mut();
        if let Ok(value) = header::HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static(EXPOSED),
        );
        headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    }
    response
}
