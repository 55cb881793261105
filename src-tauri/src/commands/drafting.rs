//! Models and drafting. A draft runs on the model's worker thread; this module records it in the
//! store exactly as `raddraft draft` does and reports progress as `draft://…` events:
//! `draft://started`, then `draft://token` (each with the whole text so far: the first at once,
//! then at most one per [`TOKEN_EVENT_INTERVAL`], always the newest, and the newest pending one
//! before the end), then one of `draft://finished` or `draft://failed`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use raddraft_core::drafting::{DraftEvent, DraftOutcome, DraftParams, DraftRequest, DraftService};
use raddraft_core::model_registry::{
    load_checkpoint, prepare_model, register_model, ModelSummary, ResolvedModel,
};
use raddraft_core::report_workflow as reporting;
use raddraft_core::store::{DraftId, ModelRecord, Store};
use raddraft_ingest::Profile;
use raddraft_models::device::{parse_device, ModelDType};
use raddraft_models::generation::FinishReason;
use raddraft_models::LoadOptions;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use super::study_key;
use crate::dto::{DraftFailed, DraftFinished, DraftStarted, DraftToken, ReportVersionDto};
use crate::error::{task_failed, CommandError, CommandResult};
use crate::priority;
use crate::state::AppState;
use crate::throttle::Throttle;

/// The shortest gap between two `draft://token` events (each carries the whole text so far).
pub const TOKEN_EVENT_INTERVAL: Duration = Duration::from_millis(40);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftOptions {
    pub model: String,
    pub indication: Option<String>,
    pub max_new_tokens: usize,
    pub dtype: ModelDType,
    pub profile: Profile,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStarted {
    pub job: u64,
}

#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> CommandResult<Vec<ModelSummary>> {
    Ok(state
        .store()?
        .models()
        .await?
        .iter()
        .map(ModelSummary::from)
        .collect())
}

/// Validates and hashes a checkpoint folder, then registers it (as `raddraft model add`).
#[tauri::command]
pub async fn add_model(
    state: State<'_, AppState>,
    dir: String,
    name: Option<String>,
) -> CommandResult<ModelSummary> {
    let store = state.store()?;
    let dir = PathBuf::from(dir);
    let prepared = tauri::async_runtime::spawn_blocking(move || prepare_model(&dir, name, |_| {}))
        .await
        .map_err(|e| task_failed("checking the model", e))??;
    Ok(ModelSummary::from(
        &register_model(&store, &prepared).await?,
    ))
}

/// Queues a draft and returns at once; see the module documentation for its events.
#[tauri::command]
pub async fn start_draft<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    study: i64,
    options: DraftOptions,
) -> CommandResult<JobStarted> {
    if options.max_new_tokens == 0 {
        return Err(CommandError::new(
            "invalid_input",
            "maxNewTokens: give at least 1",
        ));
    }
    let store = state.store()?;
    let detail = store.study(study_key(study)).await?;
    let image = detail.images.first().ok_or_else(|| {
        CommandError::new(
            "invalid_input",
            format!(
                "study {} has no images to draft from",
                detail.study.study_uid
            ),
        )
    })?;
    let model = store.model(&options.model).await?;
    let indication = options
        .indication
        .clone()
        .filter(|i| !i.trim().is_empty())
        .or(detail.study.indication.clone());
    let params = DraftParams {
        profile: options.profile,
        max_new_tokens: options.max_new_tokens,
        ..DraftParams::default()
    };
    let job = state.add_job(study)?;
    let draft = match reporting::begin_draft(
        &store,
        study_key(study),
        &model,
        indication.clone(),
        &params,
    )
    .await
    {
        Ok(draft) => draft,
        Err(e) => {
            state.remove_job(job);
            return Err(e.into());
        }
    };
    let run = DraftRun {
        job,
        study,
        draft,
        store,
        model,
        dtype: options.dtype,
        request: DraftRequest::new(PathBuf::from(&image.path), indication, params),
    };
    tauri::async_runtime::spawn(run.execute(app));
    Ok(JobStarted { job })
}

/// Stops a job at its next token (or before generation); it finishes as `cancelled`.
#[tauri::command]
pub fn cancel_draft(state: State<'_, AppState>, job: u64) -> CommandResult<()> {
    state.cancel_job(job)
}

/// One job from model loading to its stored outcome.
struct DraftRun {
    job: u64,
    study: i64,
    draft: DraftId,
    store: Store,
    model: ModelRecord,
    dtype: ModelDType,
    request: DraftRequest,
}

impl DraftRun {
    async fn execute<R: Runtime>(self, app: AppHandle<R>) {
        let state = app.state::<AppState>();
        let (job, study) = (self.job, self.study);
        let _ = app.emit("draft://started", DraftStarted { job, study });
        let result = self.generate_and_record(&app).await;
        state.remove_job(job);
        match result {
            Ok(finished) => {
                let _ = app.emit("draft://finished", finished);
            }
            Err(message) => {
                let _ = reporting::fail_draft(&self.store, self.draft, &message).await;
                let _ = app.emit(
                    "draft://failed",
                    DraftFailed {
                        job,
                        study,
                        message,
                    },
                );
            }
        }
    }

    async fn generate_and_record<R: Runtime>(
        &self,
        app: &AppHandle<R>,
    ) -> Result<DraftFinished, String> {
        let state = app.state::<AppState>();
        let service = loaded_service(&state, &self.model, self.dtype).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let handle = service.submit(self.request.clone(), move |event| {
            let _ = tx.send(event);
        });
        state.attach_handle(self.job, handle);
        let mut tokens = Throttle::new(TOKEN_EVENT_INTERVAL);
        loop {
            // With a token event held, wake at its deadline even if no newer token comes.
            let next = match tokens.deadline() {
                Some(deadline) => tokio::time::timeout_at(deadline.into(), rx.recv()).await,
                None => Ok(rx.recv().await),
            };
            let event = match next {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(_elapsed) => {
                    emit_token(app, tokens.take_due(Instant::now()));
                    continue;
                }
            };
            match event {
                DraftEvent::Started { .. } => {}
                DraftEvent::Token {
                    index,
                    logprob,
                    text,
                    max_new_tokens,
                    ..
                } => {
                    let token = DraftToken {
                        job: self.job,
                        study: self.study,
                        index,
                        text,
                        logprob,
                        max_new_tokens,
                    };
                    emit_token(app, tokens.offer(token, Instant::now()));
                }
                DraftEvent::Finished { outcome, .. } => {
                    emit_token(app, tokens.flush());
                    return self.record(&outcome).await;
                }
                DraftEvent::Failed { message, .. } => {
                    emit_token(app, tokens.flush());
                    return Err(message);
                }
            }
        }
        emit_token(app, tokens.flush());
        Err("the drafting worker stopped before finishing".into())
    }

    /// Stores the finished (or cancelled) draft as a report version.
    async fn record(&self, outcome: &DraftOutcome) -> Result<DraftFinished, String> {
        let version = reporting::finish_draft(
            &self.store,
            study_key(self.study),
            self.draft,
            &self.model.name,
            outcome,
        )
        .await
        .map_err(|e| e.to_string())?;
        let version = ReportVersionDto::from_version(&version).map_err(|e| e.message)?;
        let status = match outcome.finish_reason {
            FinishReason::Cancelled => "cancelled",
            _ => "completed",
        };
        Ok(DraftFinished {
            job: self.job,
            study: self.study,
            status,
            version,
            timings: outcome.timings,
        })
    }
}

fn emit_token<R: Runtime>(app: &AppHandle<R>, token: Option<DraftToken>) {
    if let Some(token) = token {
        let _ = app.emit("draft://token", token);
    }
}

/// The model's drafting service, loading the checkpoint (off the async threads) on first use.
async fn loaded_service(
    state: &AppState,
    model: &ModelRecord,
    dtype: ModelDType,
) -> Result<Arc<DraftService>, String> {
    let mut services = state.services.lock().await;
    let key = (model.name.clone(), dtype.to_string());
    if let Some(service) = services.get(&key) {
        return Ok(service.clone());
    }
    let device = state.settings().device;
    let model = ResolvedModel::from(model.clone());
    let service = tauri::async_runtime::spawn_blocking(move || {
        let options = LoadOptions {
            dtype,
            device: parse_device(&device).map_err(|e| format!("device {device:?}: {e}"))?,
            ..LoadOptions::default()
        };
        let checkpoint = load_checkpoint(&model, &options)
            .map_err(|e| format!("{e} (check the folder, or register the model again)"))?;
        // The worker inherits background priority, so a draft never starves the UI.
        Ok::<_, String>(priority::spawn_from_background(|| {
            DraftService::start(checkpoint)
        }))
    })
    .await
    .map_err(|e| format!("loading the model stopped unexpectedly: {e}"))??;
    let service = Arc::new(service);
    services.insert(key, service.clone());
    Ok(service)
}
