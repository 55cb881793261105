//! The export formats and their command-line names.

use std::fmt;
use std::str::FromStr;

use super::UnknownExportFormat;

/// The export formats, as named on the command line (`txt|md|fhir|sr|pdf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// Plain UTF-8 text.
    Text,
    /// CommonMark.
    Markdown,
    /// FHIR R4 DiagnosticReport, JSON.
    Fhir,
    /// DICOM Basic Text SR (1.2.840.10008.5.1.4.1.1.88.11).
    Sr,
    /// DICOM Encapsulated PDF (1.2.840.10008.5.1.4.1.1.104.1) holding the PDF rendering.
    Pdf,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Text,
        ExportFormat::Markdown,
        ExportFormat::Fhir,
        ExportFormat::Sr,
        ExportFormat::Pdf,
    ];

    /// The command-line name: `txt`, `md`, `fhir`, `sr` or `pdf`.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Text => "txt",
            ExportFormat::Markdown => "md",
            ExportFormat::Fhir => "fhir",
            ExportFormat::Sr => "sr",
            ExportFormat::Pdf => "pdf",
        }
    }

    /// The usual file extension for this format.
    pub fn file_extension(self) -> &'static str {
        match self {
            ExportFormat::Text => "txt",
            ExportFormat::Markdown => "md",
            ExportFormat::Fhir => "json",
            ExportFormat::Sr | ExportFormat::Pdf => "dcm",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExportFormat {
    type Err = UnknownExportFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ExportFormat::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownExportFormat {
                name: name.to_string(),
            })
    }
}
