//! Export errors: each names the format and the field, and says how to fix it.

use std::path::PathBuf;

use super::ExportFormat;

/// Why a report could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A value the format needs is absent.
    #[error("{format} export: {field} is missing; {fix}")]
    Missing {
        format: ExportFormat,
        field: &'static str,
        fix: &'static str,
    },

    /// A value cannot be written in this format.
    #[error("{format} export: {field} {problem}")]
    Invalid {
        format: ExportFormat,
        field: String,
        problem: String,
    },

    /// The status and the signature disagree.
    #[error("{format} export: {problem}")]
    Inconsistent {
        format: ExportFormat,
        problem: &'static str,
    },

    /// The encoder failed on values that passed validation (a bug: please report it).
    #[error("{format} export: encoding failed: {detail}")]
    Encoding {
        format: ExportFormat,
        detail: String,
    },

    /// The output file could not be written.
    #[error("{format} export: cannot write {path}: {source}")]
    Write {
        format: ExportFormat,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A format name other than `txt`, `md`, `fhir`, `sr` or `pdf`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export format '{name}': expected txt, md, fhir, sr or pdf")]
pub struct UnknownExportFormat {
    pub name: String,
}
