//! The error every command returns: `{ kind, message }`, shown to the user verbatim. `kind` lets
//! the UI react (e.g. offer the settings on `database`); `message` names the file or record and
//! what to do.

use raddraft_core::export::ReportDocumentError;
use raddraft_core::model_registry::ModelRegistrationError;
use raddraft_core::report_workflow::ReportingError;
use raddraft_core::store::StoreError;
use raddraft_ingest::IngestError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        let kind = match &error {
            StoreError::StudyNotFound { .. }
            | StoreError::ModelNotFound { .. }
            | StoreError::DraftNotFound { .. } => "not_found",
            StoreError::Signed { .. } => "signed",
            StoreError::NotSigned { .. } | StoreError::NothingToSign { .. } => "not_allowed",
            StoreError::StaleVersion { .. } => "stale_version",
            StoreError::InvalidInput { .. } => "invalid_input",
            StoreError::ModelExists { .. } => "model_exists",
            _ => "database",
        };
        CommandError::new(kind, error.to_string())
    }
}

impl From<ReportingError> for CommandError {
    fn from(error: ReportingError) -> Self {
        match error {
            ReportingError::Store(store) => store.into(),
            ReportingError::Unreviewed { .. } => {
                CommandError::new("unreviewed_ai_text", error.to_string())
            }
            ReportingError::NoReport { .. } => CommandError::new("no_report", error.to_string()),
            other => CommandError::new("report", other.to_string()),
        }
    }
}

impl From<ReportDocumentError> for CommandError {
    fn from(error: ReportDocumentError) -> Self {
        match error {
            ReportDocumentError::Store(store) => store.into(),
            ReportDocumentError::NoReport(_) => CommandError::new("no_report", error.to_string()),
            other => CommandError::new("report", other.to_string()),
        }
    }
}

impl From<IngestError> for CommandError {
    fn from(error: IngestError) -> Self {
        let kind = match &error {
            IngestError::NotDicom { .. } => "not_dicom",
            IngestError::Io { .. } => "io",
            _ => "image",
        };
        CommandError::new(kind, error.to_string())
    }
}

impl From<ModelRegistrationError> for CommandError {
    fn from(error: ModelRegistrationError) -> Self {
        match error {
            ModelRegistrationError::Store(store) => store.into(),
            other => CommandError::new("model", other.to_string()),
        }
    }
}

/// A blocking task that panicked or was cancelled.
pub fn task_failed(what: &str, error: impl std::fmt::Display) -> CommandError {
    CommandError::new("internal", format!("{what} stopped unexpectedly: {error}"))
}
