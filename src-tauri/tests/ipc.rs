//! The shell's commands through Tauri's real IPC path on the mock runtime (no display), built with
//! the app's own context so the capability ACL is enforced: the report workflow from import to
//! export with the demo checkpoint, the image scheme, and the bad-input cases (a non-DICOM file,
//! a missing model, a corrupt database).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use raddraft_desktop::image_scheme::image_response;
use raddraft_desktop::state::AppState;
use raddraft_ingest::Radiograph;
use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};
use tempfile::TempDir;

/// Long enough for loading the demo checkpoint and a few tokens on a loaded 2-core machine.
const DRAFT_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sample_dicom() -> PathBuf {
    repo().join("demo/sample-cxr.dcm")
}

fn demo_checkpoint() -> PathBuf {
    repo().join("demo/checkpoint")
}

struct Shell {
    app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    dir: TempDir,
}

impl Shell {
    /// A shell over a fresh database in a temporary folder.
    fn new() -> Shell {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = dir.path().join("raddraft.db");
        Shell::with_db(dir, &db)
    }

    fn with_db(dir: TempDir, db: &Path) -> Shell {
        let state = tauri::async_runtime::block_on(AppState::open(
            dir.path().join("settings.json"),
            Some(db.display().to_string()),
            Some(demo_checkpoint()),
        ));
        let app = raddraft_desktop::setup(mock_builder())
            .manage(state)
            .build(tauri::generate_context!())
            .expect("the app builds on the mock runtime");
        let webview = match app.get_webview_window("main") {
            Some(window) => window,
            None => WebviewWindowBuilder::new(&app, "main", Default::default())
                .build()
                .expect("main window"),
        };
        Shell { app, webview, dir }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().expect("JSON reply"))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should fail but returned {v}"),
            Err(e) => e,
        }
    }

    /// Collects the payloads of one event name.
    fn events(&self, name: &str) -> mpsc::Receiver<Value> {
        let (tx, rx) = mpsc::channel();
        self.app.listen_any(name, move |event| {
            let _ = tx.send(serde_json::from_str(event.payload()).unwrap_or(Value::Null));
        });
        rx
    }

    fn import_sample(&self) -> i64 {
        let summary = self.ok("import_paths", json!({ "paths": [sample_dicom()] }));
        assert_eq!(summary["added"], 1, "{summary}");
        let studies = self.ok("list_studies", json!({}));
        studies[0]["study"]["id"].as_i64().expect("study id")
    }
}

fn draft_options(model: &str) -> Value {
    json!({ "model": model, "indication": null, "maxNewTokens": 6, "dtype": "f32", "profile": "mimic-cxr-jpg" })
}

#[test]
fn import_draft_edit_sign_export() {
    let shell = Shell::new();
    let study = shell.import_sample();
    let studies = shell.ok("list_studies", json!({}));
    assert_eq!(studies.as_array().map(Vec::len), Some(1));
    assert_eq!(studies[0]["status"], "new");
    assert_eq!(studies[0]["image_count"], 1);

    let model = shell.ok(
        "add_model",
        json!({ "dir": demo_checkpoint(), "name": "demo" }),
    );
    assert_eq!(model["name"], "demo");
    assert!(model["demo_warning"].is_string(), "{model}");
    assert_eq!(shell.ok("list_models", json!({}))[0]["name"], "demo");

    let started = shell.events("draft://started");
    let tokens = shell.events("draft://token");
    let finished = shell.events("draft://finished");
    let job = shell.ok(
        "start_draft",
        json!({ "study": study, "options": draft_options("demo") }),
    )["job"]
        .as_u64()
        .expect("job id");
    let done = finished
        .recv_timeout(DRAFT_TIMEOUT)
        .expect("draft://finished");
    assert_eq!(
        started
            .recv_timeout(Duration::from_secs(1))
            .expect("started")["job"],
        job
    );
    let token_events: Vec<Value> = tokens.try_iter().collect();
    assert!(!token_events.is_empty(), "no draft://token event");
    assert!(token_events
        .iter()
        .all(|t| t["max_new_tokens"] == 6 && t["study"] == study));
    // Coalesced (at most one per 40 ms), but always in order, each the newest state.
    let indices: Vec<u64> = token_events
        .iter()
        .filter_map(|t| t["index"].as_u64())
        .collect();
    assert!(
        indices.len() == token_events.len() && indices.windows(2).all(|w| w[0] < w[1]),
        "{indices:?}"
    );
    assert_eq!(done["job"], job);
    assert_eq!(done["status"], "completed");
    let version = &done["version"];
    assert_eq!(version["author"], "model:demo");
    let spans: Vec<&Value> = ["findings", "impression"]
        .iter()
        .flat_map(|s| version["provenance"][s].as_array().into_iter().flatten())
        .collect();
    assert!(spans.iter().all(|s| s["origin"] == "ai"), "{version}");

    let detail = shell.ok("study_detail", json!({ "study": study }));
    assert_eq!(detail["status"], "draft_ready");
    assert_eq!(detail["drafts"][0]["status"], "completed");
    assert_eq!(detail["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["images"][0]["rows"], 640);

    // The demo checkpoint's greedy text is never empty (demo/checkpoint/reference-greedy.json).
    assert!(!spans.is_empty(), "the draft has no text: {version}");
    let refused = shell.err(
        "sign",
        json!({ "study": study, "signer": "Dr. Grey", "acceptRemaining": false }),
    );
    assert_eq!(refused["kind"], "unreviewed_ai_text", "{refused}");

    let findings = "The lungs are clear. No pleural effusion.";
    let impression = "No acute cardiopulmonary process.";
    let edited = shell.ok(
        "save_edit",
        json!({ "study": study, "findings": findings, "impression": impression, "author": "Dr. Grey" }),
    );
    assert_eq!(edited["number"], 2);
    assert_eq!(edited["provenance"]["findings"][0]["origin"], "human");
    assert_eq!(edited["provenance"]["findings"][0]["end"], findings.len());

    let signoff = shell.ok(
        "sign",
        json!({ "study": study, "signer": "Dr. Grey", "acceptRemaining": false }),
    );
    assert_eq!(signoff["signer"], "Dr. Grey");
    assert_eq!(signoff["report_version_id"], edited["id"]);

    let after = shell.err(
        "save_edit",
        json!({ "study": study, "findings": "x", "impression": "y", "author": "Dr. Grey" }),
    );
    assert_eq!(after["kind"], "signed", "{after}");
    let addendum = shell.ok(
        "add_addendum",
        json!({ "study": study, "text": "Compared with outside films.", "author": "Dr. Grey" }),
    );
    assert_eq!(addendum["text"], "Compared with outside films.");

    let out = shell.dir.path().join("report.txt");
    shell.ok(
        "export_report",
        json!({ "study": study, "format": "txt", "path": out }),
    );
    let text = std::fs::read_to_string(&out).expect("exported text");
    assert!(
        text.contains(findings) && text.contains(impression),
        "{text}"
    );
    assert!(text.contains("Dr. Grey"), "{text}");

    let audit = shell.ok("audit_log", json!({ "study": study }));
    let actions: Vec<&str> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"report.signed"), "{actions:?}");
    let verified = shell.ok("audit_verify", json!({}));
    assert_eq!(verified["intact"], true, "{verified}");
}

#[test]
fn image_scheme_serves_16_bit_values_with_their_geometry() {
    let shell = Shell::new();
    let study = shell.import_sample();
    let detail = shell.ok("study_detail", json!({ "study": study }));
    let image = detail["images"][0]["id"].as_i64().expect("image id");
    let state = shell.app.state::<AppState>();

    let response = tauri::async_runtime::block_on(image_response(
        &state,
        &format!("/image/{image}"),
        Some("tauri://localhost"),
    ));
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .expect("ASCII header")
            .to_string()
    };
    let radiograph = Radiograph::open(sample_dicom()).expect("sample");
    let pixels = radiograph.pixels();
    assert_eq!(header("x-rows"), pixels.height().to_string());
    assert_eq!(header("x-columns"), pixels.width().to_string());
    assert_eq!(header("x-bits-stored"), "12");
    assert_eq!(header("x-photometric"), "MONOCHROME1");
    assert_eq!(header("access-control-allow-origin"), "tauri://localhost");
    assert!(header("access-control-expose-headers").contains("x-rows"));
    let body = response.body();
    assert_eq!(body.len(), (pixels.width() * pixels.height() * 2) as usize);
    let values: Vec<i32> = body
        .chunks_exact(2)
        .map(|b| i32::from(u16::from_le_bytes([b[0], b[1]])))
        .collect();
    assert!(
        values.iter().copied().eq(pixels.values()),
        "the body is not the stored values"
    );

    let header_reply = shell.ok("image_header", json!({ "image": image }));
    assert_eq!(header_reply["photometric"], "MONOCHROME1");
    assert_eq!(header_reply["bits_stored"], 12);
    let tags = header_reply["tags"].as_array().expect("tags");
    assert!(tags
        .iter()
        .any(|t| t["tag"] == "(0010,0010)" && t["name"] == "PatientName"));
    assert!(
        !tags.iter().any(|t| t["tag"] == "(7FE0,0010)"),
        "Pixel Data is listed"
    );

    let foreign = tauri::async_runtime::block_on(image_response(
        &state,
        &format!("/image/{image}"),
        Some("https://example.com"),
    ));
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let missing = tauri::async_runtime::block_on(image_response(&state, "/image/999999", None));
    assert_eq!(missing.status(), 404);
    let nonsense = tauri::async_runtime::block_on(image_response(&state, "/etc/passwd", None));
    assert_eq!(nonsense.status(), 404);
}

#[test]
fn a_non_dicom_file_is_reported_and_the_rest_imported() {
    let shell = Shell::new();
    let text = shell.dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").expect("write");
    let summary = shell.ok("import_paths", json!({ "paths": [text, sample_dicom()] }));
    assert_eq!(summary["added"], 1, "{summary}");
    let problems = summary["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{summary}");
    let problem = problems[0].as_str().expect("text");
    assert!(
        problem.contains("notes.txt") && problem.contains("not a DICOM"),
        "{problem}"
    );
    assert_eq!(
        shell.ok("list_studies", json!({})).as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_missing_model_is_a_clear_error_and_leaves_the_study_draftable() {
    let shell = Shell::new();
    let study = shell.import_sample();
    let unknown = shell.err(
        "start_draft",
        json!({ "study": study, "options": draft_options("absent") }),
    );
    assert_eq!(unknown["kind"], "not_found", "{unknown}");
    assert!(unknown["message"]
        .as_str()
        .is_some_and(|m| m.contains("absent")));

    // A registered model whose folder has since gone: the job fails with the folder named.
    let copy = shell.dir.path().join("vanishing-model");
    std::fs::create_dir(&copy).expect("mkdir");
    for entry in std::fs::read_dir(demo_checkpoint()).expect("demo checkpoint") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    shell.ok("add_model", json!({ "dir": copy, "name": "vanishing" }));
    std::fs::remove_dir_all(&copy).expect("remove");
    let failed = shell.events("draft://failed");
    shell.ok(
        "start_draft",
        json!({ "study": study, "options": draft_options("vanishing") }),
    );
    let failure = failed.recv_timeout(DRAFT_TIMEOUT).expect("draft://failed");
    let message = failure["message"].as_str().expect("message");
    assert!(message.contains("vanishing-model"), "{message}");
    let detail = shell.ok("study_detail", json!({ "study": study }));
    assert_eq!(detail["drafts"][0]["status"], "failed");
    assert_eq!(
        detail["status"], "new",
        "a failed draft must not leave the study drafting"
    );

    let missing_dir = shell.err(
        "add_model",
        json!({ "dir": shell.dir.path().join("nothing"), "name": null }),
    );
    assert_eq!(missing_dir["kind"], "model", "{missing_dir}");
}

#[test]
fn a_corrupt_database_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let db = dir.path().join("raddraft.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&db, &bytes).expect("write");
    let shell = Shell::with_db(dir, &db);

    let error = shell.err("list_studies", json!({}));
    assert_eq!(error["kind"], "database", "{error}");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("raddraft.db") && message.contains("untouched"),
        "{message}"
    );
    assert_eq!(
        shell.err("import_paths", json!({ "paths": [sample_dicom()] }))["kind"],
        "database"
    );
    // The app still answers what does not need the database.
    assert!(shell.ok("app_info", json!({}))["db"]
        .as_str()
        .is_some_and(|d| d.contains("raddraft.db")));
    assert_eq!(
        std::fs::read(&db).expect("read"),
        bytes,
        "the database file was modified"
    );
}

#[test]
fn the_acl_refuses_commands_the_capability_does_not_grant() {
    let shell = Shell::new();
    // The dialog plugin is registered, but only its open and save dialogs are granted.
    let denied = shell.err("plugin:dialog|message", json!({ "message": "hello" }));
    assert!(denied.to_string().contains("not allowed"), "{denied}");
    let absent = shell.err("plugin:fs|read_file", json!({ "path": "/etc/passwd" }));
    assert!(!absent.is_null(), "an unregistered plugin answered");
    let settings = shell.ok("get_settings", json!({}));
    assert_eq!(settings["device"], "cpu");
    let mut bad = settings.clone();
    bad["threads"] = json!(0);
    assert_eq!(
        shell.err("set_settings", json!({ "settings": bad }))["kind"],
        "invalid_input"
    );
    let mut good = settings;
    good["user_name"] = json!("Dr. Grey");
    shell.ok("set_settings", json!({ "settings": good }));
    assert_eq!(shell.ok("get_settings", json!({}))["user_name"], "Dr. Grey");
    let saved = std::fs::read_to_string(shell.dir.path().join("settings.json")).expect("saved");
    assert!(saved.contains("Dr. Grey"));
}

#[test]
fn radgraph_without_a_model_folder_says_it_is_unavailable() {
    let shell = Shell::new();
    let annotation = shell.ok("radgraph_annotate", json!({ "text": "No effusion." }));
    assert_eq!(annotation["available"], false);
    assert_eq!(annotation["entities"], json!([]));
    let score = shell.err(
        "radgraph_score",
        json!({ "hypothesis": "No effusion.", "reference": "Small effusion." }),
    );
    assert_eq!(score["kind"], "radgraph_unavailable", "{score}");
}
