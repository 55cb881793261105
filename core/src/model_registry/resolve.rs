//! Which checkpoint a user means — a directory, a registered name, or the only registered model —
//! and loading it with the options every front end shares.

use std::path::{Path, PathBuf};

use raddraft_models::{Checkpoint, LoadOptions, ModelError};

use crate::store::{ModelRecord, Store, StoreError};

/// A checkpoint the user chose.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// The model as the user named it (a directory or a registered name), or the only
    /// registered model's name; research runs record it in every row.
    pub label: String,
    pub dir: PathBuf,
    /// The registry row: the model's name and file hashes, which every stored draft cites.
    /// `None` for an unregistered directory.
    pub record: Option<ModelRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelChoiceError {
    #[error("no model is registered: run `raddraft model add DIR` first")]
    NoneRegistered,
    #[error("several models are registered ({}); choose one with --model", .0.join(", "))]
    Several(Vec<String>),
    #[error("{0:?} is neither a checkpoint directory nor a registered model")]
    Unknown(String),
    #[error("no checkpoint directory at {0}")]
    NoDirectory(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves `given` (a checkpoint directory or a registered name; `None` for the only registered
/// model). A directory that is registered comes back with its registry row; where no study
/// database is wanted, [`as_directory`] resolves a directory without one.
pub async fn resolve_model(
    given: Option<&str>,
    store: &Store,
) -> Result<ResolvedModel, ModelChoiceError> {
    if let Some(mut model) = given.map(as_directory).transpose()?.flatten() {
        model.record = registered_at(store, &model.dir).await?;
        return Ok(model);
    }
    if let Some(given) = given {
        return match store.model(given).await {
            Ok(record) => Ok(from_record(given.to_owned(), record)),
            Err(StoreError::ModelNotFound { .. }) => {
                Err(ModelChoiceError::Unknown(given.to_owned()))
            }
            Err(e) => Err(e.into()),
        };
    }
    let mut models = store.models().await?;
    match models.len() {
        0 => Err(ModelChoiceError::NoneRegistered),
        1 => {
            let record = models.remove(0);
            Ok(from_record(record.name.clone(), record))
        }
        _ => Err(ModelChoiceError::Several(
            models.into_iter().map(|m| m.name).collect(),
        )),
    }
}

/// `given` as a checkpoint directory, without consulting the registry: `Ok(None)` when it names
/// a registered model instead. Registered names are single words, so a value with a path
/// separator, or starting with `.` or `~`, that is not a directory is an error. Commands that
/// need no registry row use this and never open a study database for a directory.
pub fn as_directory(given: &str) -> Result<Option<ResolvedModel>, ModelChoiceError> {
    let path = Path::new(given);
    if path.is_dir() {
        return Ok(Some(ResolvedModel {
            label: given.to_owned(),
            dir: path.to_path_buf(),
            record: None,
        }));
    }
    let path_like = given.contains(std::path::MAIN_SEPARATOR)
        || given.contains('/')
        || given.starts_with(['.', '~']);
    if path_like {
        return Err(ModelChoiceError::NoDirectory(given.to_owned()));
    }
    Ok(None)
}

impl From<ModelRecord> for ResolvedModel {
    /// A registered model, labelled with its name.
    fn from(record: ModelRecord) -> Self {
        from_record(record.name.clone(), record)
    }
}

fn from_record(label: String, record: ModelRecord) -> ResolvedModel {
    ResolvedModel {
        label,
        dir: PathBuf::from(&record.directory),
        record: Some(record),
    }
}

/// The registered model whose directory is `dir`, compared after resolving links.
async fn registered_at(store: &Store, dir: &Path) -> Result<Option<ModelRecord>, StoreError> {
    let wanted = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(store.models().await?.into_iter().find(|record| {
        let registered = Path::new(&record.directory);
        registered
            .canonicalize()
            .unwrap_or_else(|_| registered.to_path_buf())
            == wanted
    }))
}

/// A model that could not be loaded, naming it and its folder.
#[derive(Debug, thiserror::Error)]
#[error("cannot load the model {label} from {}: {source}", dir.display())]
pub struct ModelLoadError {
    pub label: String,
    pub dir: PathBuf,
    #[source]
    pub source: Box<ModelError>,
}

/// Loads the chosen checkpoint (weights memory-mapped; nothing is downloaded).
pub fn load_checkpoint(
    model: &ResolvedModel,
    options: &LoadOptions,
) -> Result<Checkpoint, ModelLoadError> {
    Checkpoint::load(&model.dir, options).map_err(|source| ModelLoadError {
        label: model.label.clone(),
        dir: model.dir.clone(),
        source: Box::new(source),
    })
}
