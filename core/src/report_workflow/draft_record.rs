//! The store side of a model draft: a running draft row before generation starts, then its
//! outcome and the report version made from it (or the failure), exactly as `raddraft draft`
//! records them.

use crate::drafting::{meaningful_indication, prompt_for, DraftOutcome, DraftParams};
use crate::model_registry::FileHashes;
use crate::store::{
    DraftId, DraftOutput, DraftStatus, ModelRecord, NewDraft, ReportVersion, Store, StudyKey,
};
use raddraft_models::generation::FinishReason;

use super::review::append;
use super::ReportingError;

/// Records a running draft of `study` by `model`. Drafts of the study still marked running were
/// left by a process that ended without finishing them; they are recorded as failed first so
/// the study does not stay "drafting". Callers must not start two drafts of one study at once.
pub async fn begin_draft(
    store: &Store,
    study: StudyKey,
    model: &ModelRecord,
    indication: Option<String>,
    params: &DraftParams,
) -> Result<DraftId, ReportingError> {
    for stale in store.drafts(study.clone()).await? {
        if stale.status == DraftStatus::Running {
            fail_draft(
                store,
                stale.id,
                "interrupted: the drafting process ended before finishing",
            )
            .await?;
        }
    }
    let generation_params =
        serde_json::to_value(params).map_err(|e| ReportingError::Serialize {
            what: "the generation parameters",
            detail: e.to_string(),
        })?;
    let indication = meaningful_indication(indication);
    let prompt = prompt_for(&params.prompt_prefix, indication.as_deref());
    Ok(store
        .add_draft(&NewDraft {
            study,
            model_name: model.name.clone(),
            weights_sha256: FileHashes(model.file_sha256.clone()).combined(),
            prompt,
            indication,
            preprocessing: params.profile.name().to_string(),
            generation_params,
            status: DraftStatus::Running,
            output: DraftOutput::default(),
        })
        .await?)
}

/// Records a finished (or cancelled) draft and appends its text as a report version authored
/// `model:<name>`, with every sentence marked AI-generated.
pub async fn finish_draft(
    store: &Store,
    study: StudyKey,
    draft: DraftId,
    model_name: &str,
    outcome: &DraftOutcome,
) -> Result<ReportVersion, ReportingError> {
    let status = match outcome.finish_reason {
        FinishReason::Cancelled => DraftStatus::Cancelled,
        _ => DraftStatus::Completed,
    };
    let timings = serde_json::to_value(outcome.timings).map_err(|e| ReportingError::Serialize {
        what: "the draft timings",
        detail: e.to_string(),
    })?;
    let output = DraftOutput {
        text: outcome.draft.text.clone(),
        token_ids: outcome.token_ids.clone(),
        token_logprobs: outcome.logprobs.clone(),
        timings,
        failure: None,
    };
    store.finish_draft(draft, status, &output).await?;
    append(
        store,
        &study,
        Some(draft),
        &outcome.draft.findings,
        &outcome.draft.impression,
        &outcome.draft.provenance,
        &format!("model:{model_name}"),
    )
    .await
}

/// Records that a draft failed, with the reason shown to users.
pub async fn fail_draft(
    store: &Store,
    draft: DraftId,
    message: &str,
) -> Result<(), ReportingError> {
    let output = DraftOutput {
        failure: Some(message.to_string()),
        ..DraftOutput::default()
    };
    store
        .finish_draft(draft, DraftStatus::Failed, &output)
        .await?;
    Ok(())
}
