//! Errors of the evaluation library; each names the file (and line, where there is one) and the fix.

use std::path::PathBuf;

/// Everything that can go wrong while loading a RadGraph model or scoring reports.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    // The cause is part of the message and deliberately not a `source()`, so that error chains
    // (anyhow's `{:#}`) do not print it twice.
    #[error("cannot read {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("{path}: {message}")]
    InvalidFile { path: PathBuf, message: String },

    #[error("{path}:{line}: {message}")]
    InvalidLine {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error(
        "{path} is not a RadGraph model: {message}. Expected the layout of the public scorer \
         archives (config.json, vocabulary/, weights.th), as a directory or a .tar.gz"
    )]
    NotAModel { path: PathBuf, message: String },

    #[error(
        "cannot find the encoder tokenizer/config for `{name}` (named in {config}): looked in {searched}. \
         Put the encoder's config.json and vocab.txt (or tokenizer.json) in an `encoder/` folder \
         beside weights.th, or pass the encoder directory explicitly"
    )]
    EncoderNotFound {
        name: String,
        config: PathBuf,
        searched: String,
    },

    #[error("{path}: tensor `{name}`: {message}")]
    Tensor {
        path: PathBuf,
        name: String,
        message: String,
    },

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    #[error("model computation failed: {0}")]
    Candle(candle_core::Error),

    #[error("{0}")]
    Invalid(String),
}

impl From<candle_core::Error> for EvalError {
    fn from(error: candle_core::Error) -> Self {
        EvalError::Candle(error)
    }
}

impl From<raddraft_kernels::Error> for EvalError {
    fn from(error: raddraft_kernels::Error) -> Self {
        EvalError::Invalid(error.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, EvalError>;

impl EvalError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        EvalError::Io {
            path: path.into(),
            cause,
        }
    }

    /// A file whose content is wrong as a whole.
    pub fn invalid_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EvalError::InvalidFile {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A file with a wrong line (1-based `line`).
    pub fn invalid_line(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        EvalError::InvalidLine {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
