//! The audit trail and the check of its hash chain.

use tauri::State;

use super::study_key;
use crate::dto::{AuditEntryDto, AuditVerification};
use crate::error::CommandResult;
use crate::state::AppState;

/// The audit log, of one study or (with `null`) of the whole database.
#[tauri::command]
pub async fn audit_log(
    state: State<'_, AppState>,
    study: Option<i64>,
) -> CommandResult<Vec<AuditEntryDto>> {
    let entries = state.store()?.audit_log(study.map(study_key)).await?;
    Ok(entries.into_iter().map(AuditEntryDto::from).collect())
}

#[tauri::command]
pub async fn audit_verify(state: State<'_, AppState>) -> CommandResult<AuditVerification> {
    Ok(state.store()?.verify_audit_chain().await?.into())
}
