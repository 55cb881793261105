//! Worklist, import and image header commands.

use std::path::PathBuf;

use raddraft_core::import::{import_paths as import_into, ImportSummary};
use raddraft_core::store::StudySummary;
use raddraft_ingest::viewer::{image_header as read_header, ImageHeader};
use tauri::State;

use super::study_key;
use crate::dto::{AppInfo, DraftSummaryDto, ReportVersionDto, StudyDetailDto};
use crate::error::{task_failed, CommandResult};
use crate::state::AppState;

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        db: state.db_shown.clone(),
        demo_model_dir: state
            .demo_model_dir
            .as_ref()
            .map(|d| d.display().to_string()),
    }
}

#[tauri::command]
pub async fn list_studies(state: State<'_, AppState>) -> CommandResult<Vec<StudySummary>> {
    Ok(state.store()?.studies().await?)
}

/// Files, folders and DICOMDIRs, as `raddraft import`: files that cannot be imported are listed
/// in `problems` and the rest are imported.
#[tauri::command]
pub async fn import_paths(
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> CommandResult<ImportSummary> {
    let store = state.store()?;
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    Ok(import_into(&store, &paths, |_, _| {}).await)
}

#[tauri::command]
pub async fn study_detail(state: State<'_, AppState>, study: i64) -> CommandResult<StudyDetailDto> {
    let store = state.store()?;
    let key = study_key(study);
    let detail = store.study(key.clone()).await?;
    state.remember_images(&detail.images);
    let versions = store
        .report_versions(key.clone())
        .await?
        .iter()
        .map(ReportVersionDto::from_version)
        .collect::<CommandResult<Vec<_>>>()?;
    let addenda = store.addenda(key.clone()).await?;
    let drafts = store
        .drafts(key)
        .await?
        .iter()
        .map(DraftSummaryDto::from)
        .collect();
    Ok(StudyDetailDto {
        study: detail.study,
        status: detail.status,
        images: detail.images,
        signoff: detail.signoff,
        versions,
        addenda,
        drafts,
    })
}

#[tauri::command]
pub async fn image_header(state: State<'_, AppState>, image: i64) -> CommandResult<ImageHeader> {
    let path = state.image_path(image).await?;
    tauri::async_runtime::spawn_blocking(move || read_header(&path))
        .await
        .map_err(|e| task_failed("reading the image header", e))?
        .map_err(Into::into)
}
