//! Model drafts of a study's report, with everything needed to reproduce and audit them.
//! Re-drafting adds a row; earlier drafts are kept.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Db};
use super::studies::{ensure_unsigned, resolve};
use super::{audit, now, DraftId, Store, StoreError, StudyId, StudyKey};

/// Where a draft's generation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    /// Generation in progress: the worklist shows the study as drafting.
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl DraftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftStatus::Running => "running",
            DraftStatus::Completed => "completed",
            DraftStatus::Cancelled => "cancelled",
            DraftStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for DraftStatus {
    type Error = String;
    fn try_from(value: String) -> Result<DraftStatus, String> {
        [
            DraftStatus::Running,
            DraftStatus::Completed,
            DraftStatus::Cancelled,
            DraftStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
        .ok_or_else(|| format!("unknown draft status {value:?}"))
    }
}

/// What generation produced (empty while running).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DraftOutput {
    pub text: String,
    pub token_ids: Vec<u32>,
    /// Natural-log probability of each generated token. Non-finite values are stored as JSON
    /// `null` and read back as NaN.
    pub token_logprobs: Vec<f32>,
    /// Free-form timings (seconds per stage, tokens per second …).
    pub timings: serde_json::Value,
    /// Why generation failed or was cancelled, for users.
    pub failure: Option<String>,
}

/// A draft to record: finished (`Completed`, `Cancelled`, `Failed`), or `Running` to be completed
/// later with [`Store::finish_draft`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewDraft {
    pub study: StudyKey,
    pub model_name: String,
    /// Identifies the exact weights (e.g. SHA-256 of the weights file, or of the sorted file hashes).
    pub weights_sha256: String,
    pub prompt: String,
    pub indication: Option<String>,
    /// Name of the image preprocessing profile.
    pub preprocessing: String,
    /// Sampling and length settings, as the drafting service defines them.
    pub generation_params: serde_json::Value,
    pub status: DraftStatus,
    pub output: DraftOutput,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub id: DraftId,
    pub study_id: StudyId,
    pub model_name: String,
    pub weights_sha256: String,
    pub prompt: String,
    pub indication: Option<String>,
    pub preprocessing: String,
    pub generation_params: serde_json::Value,
    pub status: DraftStatus,
    pub output: DraftOutput,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct DraftRow {
    id: DraftId,
    study_id: StudyId,
    model_name: String,
    weights_sha256: String,
    prompt: String,
    indication: Option<String>,
    preprocessing: String,
    generation_params: String,
    generated_text: String,
    token_ids: String,
    token_logprobs: String,
    timings: String,
    status: String,
    failure: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl DraftRow {
    fn into_draft(self, db: &Db<'_>) -> Result<Draft, StoreError> {
        let id = self.id.0;
        let json = |column: &str, text: &str| -> Result<serde_json::Value, StoreError> {
            serde_json::from_str(text)
                .map_err(|e| db.bad_row("drafts", id, format!("{column} is not valid JSON: {e}")))
        };
        let token_ids: Vec<u32> = serde_json::from_str(&self.token_ids).map_err(|e| {
            db.bad_row(
                "drafts",
                id,
                format!("token_ids is not a list of token ids: {e}"),
            )
        })?;
        let token_logprobs: Vec<Option<f32>> =
            serde_json::from_str(&self.token_logprobs).map_err(|e| {
                db.bad_row(
                    "drafts",
                    id,
                    format!("token_logprobs is not a list of numbers: {e}"),
                )
            })?;
        Ok(Draft {
            generation_params: json("generation_params", &self.generation_params)?,
            status: DraftStatus::try_from(self.status)
                .map_err(|detail| db.bad_row("drafts", id, detail))?,
            output: DraftOutput {
                text: self.generated_text,
                token_ids,
                token_logprobs: token_logprobs
                    .into_iter()
                    .map(|p| p.unwrap_or(f32::NAN))
                    .collect(),
                timings: json("timings", &self.timings)?,
                failure: self.failure,
            },
            id: self.id,
            study_id: self.study_id,
            model_name: self.model_name,
            weights_sha256: self.weights_sha256,
            prompt: self.prompt,
            indication: self.indication,
            preprocessing: self.preprocessing,
            created_at: self.created_at,
            finished_at: self.finished_at,
        })
    }
}

const DRAFT_SELECT: &str = "SELECT id, study_id, model_name, weights_sha256, prompt, indication, \
    preprocessing, generation_params, generated_text, token_ids, token_logprobs, timings, status, \
    failure, created_at, finished_at FROM drafts";

/// `token_ids` and `token_logprobs` as the JSON text stored.
fn token_json(output: &DraftOutput) -> (String, String) {
    let ids = serde_json::Value::from(output.token_ids.clone()).to_string();
    let logprobs = serde_json::Value::from(
        output
            .token_logprobs
            .iter()
            .map(|&p| serde_json::Number::from_f64(f64::from(p)).map(serde_json::Value::Number))
            .map(|p| p.unwrap_or(serde_json::Value::Null))
            .collect::<Vec<_>>(),
    )
    .to_string();
    (ids, logprobs)
}

impl Store {
    /// Records a draft of `draft.study`'s report. Refused for a signed study.
    pub async fn add_draft(&self, draft: &NewDraft) -> Result<DraftId, StoreError> {
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        let study = resolve(&mut db, &draft.study).await?;
        ensure_unsigned(&mut db, &study).await?;
        let created_at = now();
        let finished_at = (draft.status != DraftStatus::Running).then_some(created_at);
        let (token_ids, token_logprobs) = token_json(&draft.output);
        let id: DraftId = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO drafts (study_id, model_name, weights_sha256, prompt, indication, \
             preprocessing, generation_params, generated_text, token_ids, token_logprobs, timings, \
             status, failure, created_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id"
        )
        .bind(study.id)
        .bind(&draft.model_name)
        .bind(&draft.weights_sha256)
        .bind(&draft.prompt)
        .bind(&draft.indication)
        .bind(&draft.preprocessing)
        .bind(draft.generation_params.to_string())
        .bind(&draft.output.text)
        .bind(&token_ids)
        .bind(&token_logprobs)
        .bind(draft.output.timings.to_string())
        .bind(draft.status.as_str())
        .bind(&draft.output.failure)
        .bind(created_at)
        .bind(finished_at)
        .fetch_one(c)
        .await)
        .map_err(|e| db.error("storing a draft", e))?;
        let details = serde_json::json!({
            "draft_id": id,
            "model_name": draft.model_name,
            "weights_sha256": draft.weights_sha256,
            "status": draft.status.as_str(),
        });
        audit::append(
            &mut db,
            &self.actor,
            "draft.added",
            Some(&study.uid),
            details,
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Completes a `Running` draft with its outcome (`status` must not be `Running`).
    pub async fn finish_draft(
        &self,
        draft: DraftId,
        status: DraftStatus,
        output: &DraftOutput,
    ) -> Result<(), StoreError> {
        if status == DraftStatus::Running {
            return Err(StoreError::InvalidInput {
                field: "draft status",
                reason: "a draft is finished as completed, cancelled or failed".to_owned(),
            });
        }
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        let current: Option<(String, String)> = sql!(db, c => sqlx::query_as(
            "SELECT d.status, s.study_uid FROM drafts d JOIN studies s ON s.id = d.study_id \
             WHERE d.id = $1"
        )
        .bind(draft)
        .fetch_optional(c)
        .await)
        .map_err(|e| db.error("looking up a draft", e))?;
        let (current, study_uid) =
            current.ok_or_else(|| StoreError::DraftNotFound { draft: draft.0 })?;
        if current != DraftStatus::Running.as_str() {
            return Err(StoreError::DraftNotRunning {
                draft: draft.0,
                status: current,
            });
        }
        let (token_ids, token_logprobs) = token_json(output);
        sql!(db, c => sqlx::query(
            "UPDATE drafts SET status = $1, generated_text = $2, token_ids = $3, \
             token_logprobs = $4, timings = $5, failure = $6, finished_at = $7 WHERE id = $8"
        )
        .bind(status.as_str())
        .bind(&output.text)
        .bind(&token_ids)
        .bind(&token_logprobs)
        .bind(output.timings.to_string())
        .bind(&output.failure)
        .bind(now())
        .bind(draft)
        .execute(c)
        .await
        .map(drop))
        .map_err(|e| db.error("finishing a draft", e))?;
        let details = serde_json::json!({ "draft_id": draft, "status": status.as_str() });
        audit::append(
            &mut db,
            &self.actor,
            "draft.finished",
            Some(&study_uid),
            details,
        )
        .await?;
        self.commit(tx).await
    }

    /// A study's drafts, oldest first.
    pub async fn drafts(&self, study: impl Into<StudyKey>) -> Result<Vec<Draft>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        let query = format!("{DRAFT_SELECT} WHERE study_id = $1 ORDER BY id");
        let rows: Vec<DraftRow> = sql!(db, c => sqlx::query_as(&query)
            .bind(study.id)
            .fetch_all(c)
            .await)
        .map_err(|e| db.error("listing drafts", e))?;
        rows.into_iter().map(|row| row.into_draft(&db)).collect()
    }

    /// One draft by id.
    pub async fn draft(&self, id: DraftId) -> Result<Draft, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let query = format!("{DRAFT_SELECT} WHERE id = $1");
        let row: Option<DraftRow> = sql!(db, c => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(|e| db.error("reading a draft", e))?;
        row.ok_or_else(|| StoreError::DraftNotFound { draft: id.0 })?
            .into_draft(&db)
    }
}
