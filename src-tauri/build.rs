//! Declares every app command so that each gets `allow-<command>` permissions and is callable
//! only where capabilities/default.json grants it.

/// Every `#[tauri::command]` of src/commands; keep in step with `lib.rs`'s handler list.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_studies",
    "import_paths",
    "study_detail",
    "image_header",
    "list_models",
    "add_model",
    "start_draft",
    "cancel_draft",
    "save_edit",
    "accept_ai",
    "sign",
    "add_addendum",
    "export_report",
    "radgraph_annotate",
    "radgraph_score",
    "audit_log",
    "audit_verify",
    "get_settings",
    "set_settings",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // build scripts report failure by panicking; this names what went wrong.
        panic!("tauri build configuration failed: {error:#}");
    }
}
