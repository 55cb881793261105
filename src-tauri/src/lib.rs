//! The raddraft desktop shell: Tauri 2 commands and events over `raddraft-core`, and the
//! `raddraft://` URI scheme for 16-bit pixels. No report workflow logic lives here: the same
//! `raddraft-core` calls back the `raddraft` command-line tool.
//!
//! [`setup`] registers everything on a builder of any runtime, so tests can drive the real
//! commands through Tauri's mock runtime without a display.

pub mod commands;
pub mod dto;
pub mod error;
pub mod image_scheme;
pub mod priority;
pub mod settings;
pub mod state;
pub mod throttle;

use std::path::PathBuf;

use tauri::{Builder, Manager, Runtime};

use crate::state::AppState;

/// Registers the plugins, the commands and the image scheme (not the state: see [`open_state`]).
pub fn setup<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .register_asynchronous_uri_scheme_protocol(image_scheme::SCHEME, image_scheme::handle)
        .invoke_handler(tauri::generate_handler![
            commands::studies::app_info,
            commands::studies::list_studies,
            commands::studies::import_paths,
            commands::studies::study_detail,
            commands::studies::image_header,
            commands::drafting::list_models,
            commands::drafting::add_model,
            commands::drafting::start_draft,
            commands::drafting::cancel_draft,
            commands::report_workflow::save_edit,
            commands::report_workflow::accept_ai,
            commands::report_workflow::sign,
            commands::report_workflow::add_addendum,
            commands::report_workflow::export_report,
            commands::radgraph::radgraph_annotate,
            commands::radgraph::radgraph_score,
            commands::audit::audit_log,
            commands::audit::audit_verify,
            commands::settings::get_settings,
            commands::settings::set_settings,
        ])
}

/// Reads the settings and opens the store they name, or the one in `RADDRAFT_DB` (blocking
/// until the database answers).
pub fn open_state(settings_path: PathBuf) -> AppState {
    let db_override = std::env::var("RADDRAFT_DB")
        .ok()
        .filter(|db| !db.is_empty());
    tauri::async_runtime::block_on(AppState::open(settings_path, db_override, demo_model_dir()))
}

/// The bundled random-weight demo checkpoint: `RADDRAFT_DEMO_MODEL`, else `demo/checkpoint` of
/// the source tree this binary was built from, when it is there.
pub fn demo_model_dir() -> Option<PathBuf> {
    std::env::var_os("RADDRAFT_DEMO_MODEL")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../demo/checkpoint")))
        .filter(|dir| dir.join("config.json").is_file())
        .map(|dir| dir.canonicalize().unwrap_or(dir))
}

/// Starts the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let result = setup(Builder::default())
        .setup(|app| {
            let settings_path = settings::settings_path(app.path().app_config_dir().ok());
            let state = open_state(settings_path);
            if let Some(threads) = state.settings().threads {
                // candle sizes its own thread pools from this when they first start.
                std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
            }
            // The inference pool, built before any model code can start it: its threads run
            // at background priority (see `priority`). 0 threads: RAYON_NUM_THREADS, else a
            // thread per core.
            if let Err(error) = rayon::ThreadPoolBuilder::new()
                .num_threads(state.settings().threads.unwrap_or(0))
                .start_handler(|_| priority::lower_current_thread())
                .build_global()
            {
                tracing::warn!("inference thread pool: {error}");
            }
            if let Some(problem) = &state.settings_problem {
                tracing::warn!("{problem}");
            }
            app.manage(state);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("raddraft-desktop could not start: {error}");
        std::process::exit(1);
    }
}
