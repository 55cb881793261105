//! Review, sign-off, addenda and export of a study's report.

use std::path::PathBuf;
use std::str::FromStr;

use raddraft_core::export::{export, report_document, ExportFormat};
use raddraft_core::report_workflow;
use raddraft_core::store::{Addendum, SignOff};
use tauri::State;

use super::study_key;
use crate::dto::ReportVersionDto;
use crate::error::{task_failed, CommandError, CommandResult};
use crate::state::AppState;

/// A human edit; model sentences left exactly as they were stay marked AI-generated.
#[tauri::command]
pub async fn save_edit(
    state: State<'_, AppState>,
    study: i64,
    findings: String,
    impression: String,
    author: String,
) -> CommandResult<ReportVersionDto> {
    let store = state.store()?.with_actor(author.clone());
    let version =
        report_workflow::save_edit(&store, study_key(study), &findings, &impression, &author)
            .await?;
    ReportVersionDto::from_version(&version)
}

#[tauri::command]
pub async fn accept_ai(
    state: State<'_, AppState>,
    study: i64,
    author: String,
) -> CommandResult<ReportVersionDto> {
    let store = state.store()?.with_actor(author.clone());
    let version = report_workflow::accept_ai(&store, study_key(study), &author).await?;
    ReportVersionDto::from_version(&version)
}

/// Refuses while AI text is unreviewed, unless `accept_remaining`.
#[tauri::command]
pub async fn sign(
    state: State<'_, AppState>,
    study: i64,
    signer: String,
    accept_remaining: bool,
) -> CommandResult<SignOff> {
    let store = state.store()?.with_actor(signer.clone());
    Ok(report_workflow::sign_report(&store, study_key(study), &signer, accept_remaining).await?)
}

#[tauri::command]
pub async fn add_addendum(
    state: State<'_, AppState>,
    study: i64,
    text: String,
    author: String,
) -> CommandResult<Addendum> {
    let store = state.store()?.with_actor(author.clone());
    let key = study_key(study);
    let id = store
        .add_addendum(key.clone(), text.trim(), &author)
        .await?;
    store
        .addenda(key)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| {
            CommandError::new(
                "internal",
                format!("addendum {id} was written but cannot be read back"),
            )
        })
}

/// Writes the study's current report to `path` (txt, md, fhir, sr or pdf); unsigned reports are
/// marked preliminary / AI-generated in every format.
#[tauri::command]
pub async fn export_report(
    state: State<'_, AppState>,
    study: i64,
    format: String,
    path: String,
) -> CommandResult<()> {
    let format = ExportFormat::from_str(&format)
        .map_err(|e| CommandError::new("invalid_input", e.to_string()))?;
    let store = state.store()?;
    let document = report_document(&store, study_key(study)).await?;
    let out = PathBuf::from(path);
    tauri::async_runtime::spawn_blocking(move || export(&document, format, &out))
        .await
        .map_err(|e| task_failed("the export", e))?
        .map_err(|e| CommandError::new("export", e.to_string()))
}
