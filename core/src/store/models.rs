//! Registered models: a name, its directory and the SHA-256 of each file, so a draft can name
//! exactly which weights wrote it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Db};
use super::{audit, now, ModelId, Store, StoreError};

/// A model to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModel {
    pub name: String,
    pub directory: PathBuf,
    /// File name (relative to `directory`) → lower-case hex SHA-256.
    pub file_sha256: BTreeMap<String, String>,
    /// Free-form description (architecture, image size, dtype …), shown to users.
    pub summary: serde_json::Value,
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    pub id: ModelId,
    pub name: String,
    pub directory: String,
    pub file_sha256: BTreeMap<String, String>,
    pub summary: serde_json::Value,
    pub added_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ModelRow {
    id: ModelId,
    name: String,
    directory: String,
    file_sha256: String,
    summary: String,
    added_at: DateTime<Utc>,
}

impl ModelRow {
    fn into_record(self, db: &Db<'_>) -> Result<ModelRecord, StoreError> {
        let bad = |column: &str, e: serde_json::Error| {
            db.bad_row(
                "models",
                self.id.0,
                format!("{column} is not valid JSON: {e}"),
            )
        };
        Ok(ModelRecord {
            file_sha256: serde_json::from_str(&self.file_sha256)
                .map_err(|e| bad("file_sha256", e))?,
            summary: serde_json::from_str(&self.summary).map_err(|e| bad("summary", e))?,
            id: self.id,
            name: self.name,
            directory: self.directory,
            added_at: self.added_at,
        })
    }
}

const MODEL_SELECT: &str = "SELECT id, name, directory, file_sha256, summary, added_at FROM models";

impl Store {
    /// Registers a model. Registering the same name, directory and hashes again returns the
    /// existing id; a different model under a taken name is [`StoreError::ModelExists`].
    pub async fn add_model(&self, model: &NewModel) -> Result<ModelId, StoreError> {
        if model.name.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                field: "model name",
                reason: "empty".to_owned(),
            });
        }
        let directory = model.directory.to_string_lossy().into_owned();
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        if let Some(existing) = find(&mut db, &model.name).await? {
            if existing.directory == directory && existing.file_sha256 == model.file_sha256 {
                return Ok(existing.id);
            }
            return Err(StoreError::ModelExists {
                name: model.name.clone(),
            });
        }
        let hashes =
            serde_json::to_string(&model.file_sha256).map_err(|e| StoreError::InvalidInput {
                field: "file_sha256",
                reason: e.to_string(),
            })?;
        let id: ModelId = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO models (name, directory, file_sha256, summary, added_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(&model.name)
        .bind(&directory)
        .bind(&hashes)
        .bind(model.summary.to_string())
        .bind(now())
        .fetch_one(c)
        .await)
        .map_err(|e| db.error("registering a model", e))?;
        let details = serde_json::json!({
            "model_id": id,
            "name": model.name,
            "directory": directory,
            "file_sha256": model.file_sha256,
        });
        audit::append(&mut db, &self.actor, "model.added", None, details).await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Every registered model, by name.
    pub async fn models(&self) -> Result<Vec<ModelRecord>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let query = format!("{MODEL_SELECT} ORDER BY name");
        let rows: Vec<ModelRow> = sql!(db, c => sqlx::query_as(&query).fetch_all(c).await)
            .map_err(|e| db.error("listing models", e))?;
        rows.into_iter().map(|row| row.into_record(&db)).collect()
    }

    /// The model registered as `name`, or [`StoreError::ModelNotFound`].
    pub async fn model(&self, name: &str) -> Result<ModelRecord, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        find(&mut db, name)
            .await?
            .ok_or_else(|| StoreError::ModelNotFound {
                name: name.to_owned(),
            })
    }
}

async fn find(db: &mut Db<'_>, name: &str) -> Result<Option<ModelRecord>, StoreError> {
    let query = format!("{MODEL_SELECT} WHERE name = $1");
    let row: Option<ModelRow> = sql!(db, c => sqlx::query_as(&query)
        .bind(name)
        .fetch_optional(c)
        .await)
    .map_err(|e| db.error("looking up a model", e))?;
    row.map(|row| row.into_record(db)).transpose()
}
