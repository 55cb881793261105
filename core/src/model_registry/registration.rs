//! Registering a checkpoint in the study store (validated, every file hashed) and the summary a
//! model picker shows for a registered model.

use std::path::Path;

use raddraft_models::{Checkpoint, ModelError};
use serde::Serialize;

use super::files::{hash_dir, FileHashes, RegistryError};
use crate::store::{ModelRecord, NewModel, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ModelRegistrationError {
    #[error("{dir} is not a usable PaliGemma 2 checkpoint: {source}")]
    Invalid {
        dir: String,
        #[source]
        source: ModelError,
    },
    #[error("{dir}: give the model a name (the folder has none)")]
    NoName { dir: String },
    #[error(transparent)]
    Hash(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registered model as a picker lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub directory: String,
    /// Input resolution in pixels, from the registration summary.
    pub image_size: Option<u64>,
    /// Set for the random-weight demo checkpoint: its text is meaningless.
    pub demo_warning: Option<String>,
    /// The combined hash every draft records as the model's identity.
    pub weights_sha256: String,
}

impl From<&ModelRecord> for ModelSummary {
    fn from(record: &ModelRecord) -> Self {
        ModelSummary {
            name: record.name.clone(),
            directory: record.directory.clone(),
            image_size: record.summary.get("image_size").and_then(|v| v.as_u64()),
            demo_warning: record
                .summary
                .get("demo_warning")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            weights_sha256: FileHashes(record.file_sha256.clone()).combined(),
        }
    }
}

/// Validates `dir` (config, tokenizer, every tensor's name and shape, without loading weights)
/// and hashes its files, calling `on_bytes(done)` while hashing; the model is named `name`, or
/// after its folder. Blocking: hashing a 3B checkpoint takes seconds.
pub fn prepare_model(
    dir: &Path,
    name: Option<String>,
    on_bytes: impl FnMut(u64),
) -> Result<NewModel, ModelRegistrationError> {
    let shown = dir.display().to_string();
    let config = Checkpoint::validate(dir).map_err(|source| ModelRegistrationError::Invalid {
        dir: shown.clone(),
        source,
    })?;
    let name = match name.filter(|n| !n.trim().is_empty()) {
        Some(name) => name,
        None => dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or(ModelRegistrationError::NoName { dir: shown })?,
    };
    let hashes = hash_dir(dir, on_bytes)?;
    let summary = serde_json::json!({
        "image_size": config.vision_config.image_size,
        "text_layers": config.text_config.num_hidden_layers,
        "hidden_size": config.text_config.hidden_size,
        "vocab_size": config.text_config.vocab_size,
        "demo_warning": config.raddraft_demo,
        "weights_sha256": hashes.combined(),
    });
    Ok(NewModel {
        name,
        directory: dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        file_sha256: hashes.0,
        summary,
    })
}

/// Stores a prepared model (idempotent for the same directory and files) and returns its record.
pub async fn register_model(
    store: &Store,
    model: &NewModel,
) -> Result<ModelRecord, ModelRegistrationError> {
    store.add_model(model).await?;
    Ok(store.model(&model.name).await?)
}
