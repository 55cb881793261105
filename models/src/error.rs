//! The error type of the crate: every failure names the file, tensor or setting at fault.

use std::path::PathBuf;

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {0} does not exist or is not a directory")]
    NotADirectory(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: not a PaliGemma 2 config: {reason}")]
    NotPaliGemma2 { path: PathBuf, reason: String },
    #[error("{path}: invalid config: {reason}")]
    InvalidConfig { path: PathBuf, reason: String },
    #[error("no weights in {0}: expected model.safetensors or model.safetensors.index.json")]
    NoWeights(PathBuf),
    #[error("{path}: not a valid safetensors file (truncated or corrupt?): {reason}")]
    BadSafetensors { path: PathBuf, reason: String },
    #[error("checkpoint is missing tensor `{name}` (looked for {tried})")]
    MissingTensor { name: String, tried: String },
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("checkpoint has {count} unexpected tensor(s), e.g. `{first}`; is this a PaliGemma 2 checkpoint of this size?")]
    UnexpectedTensors { count: usize, first: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("image {path}: {reason}")]
    Image { path: PathBuf, reason: String },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("generation cancelled")]
    Cancelled,
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
