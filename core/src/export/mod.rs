//! Report exports: plain text, Markdown, FHIR R4 DiagnosticReport JSON, DICOM Basic Text SR and
//! DICOM Encapsulated PDF, all from one plain-data [`ReportDocument`], which [`report_document`]
//! builds from a stored study's current report.
//!
//! ```no_run
//! use raddraft_core::export::{export, ExportFormat, ReportDocument};
//! # fn document() -> ReportDocument { unimplemented!() }
//! let report: ReportDocument = document();
//! export(&report, "sr".parse()?, "report.dcm".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every format says what state the report is in. An unsigned report carries
//! [`PRELIMINARY_AI_LABEL`] (FHIR `status: "preliminary"`, SR Verification Flag UNVERIFIED and
//! Completion Flag PARTIAL). A signed one names its signer, and the AI-assistance disclosure stays
//! (EU AI Act Art. 50): the report says that an AI drafted it and which radiologist reviewed and
//! signed it. Addenda follow the signed report.

mod dicom_modules;
mod encapsulated_pdf;
mod error;
mod fhir;
mod format;
mod from_dicom;
mod from_store;
mod ids;
mod markdown;
mod pdf;
mod pdf_font;
mod serde_text;
mod sr;
mod sr_content;
mod text;
mod validate;
mod wording;

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

pub use error::{ExportError, UnknownExportFormat};
pub use format::ExportFormat;
pub use from_store::{report_document, ReportDocumentError};
pub use ids::{new_uid, DicomInstanceIds};
pub use wording::{DEFAULT_ORGANIZATION, PRELIMINARY_AI_LABEL, PRELIMINARY_LABEL};

/// Everything an export needs to know about one report, independent of how it is stored.
///
/// Times keep their UTC offset and are (de)serialised as RFC 3339; dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDocument {
    /// The report's identifier in the study store. Used as the FHIR resource id, so it may hold
    /// only letters, digits, `-` and `.`, at most 64 of them.
    pub id: String,
    pub status: ReportStatus,
    pub findings: String,
    pub impression: String,
    /// Some text is still as the model wrote it, neither accepted nor edited by a person.
    pub ai_generated: bool,
    /// The model that drafted the report (name and version or weights hash); `None` when no AI
    /// was involved.
    pub model: Option<String>,
    /// The radiologist who signed; required when [`ReportStatus::Final`]. Written to DICOM as a
    /// person name, so `Family^Given` gives structured names; shown as "Given Family".
    pub signed_by: Option<String>,
    #[serde(default, with = "serde_text::rfc3339_option")]
    pub signed_at: Option<DateTime<FixedOffset>>,
    /// The organisation responsible for the report (DICOM Verifying Organization, FHIR
    /// performer); [`DEFAULT_ORGANIZATION`] when `None`.
    #[serde(default)]
    pub organization: Option<String>,
    /// Additions made after signing, oldest first.
    #[serde(default)]
    pub addenda: Vec<Addendum>,
    pub study: StudyRef,
    /// The radiograph the report was drafted from.
    pub source_image: Option<ImageRef>,
    #[serde(with = "serde_text::rfc3339")]
    pub created_at: DateTime<FixedOffset>,
}

impl ReportDocument {
    /// When this version of the report was made: the last addendum, else the signature, else
    /// the draft.
    pub fn issued_at(&self) -> DateTime<FixedOffset> {
        self.addenda
            .iter()
            .map(|addendum| addendum.at)
            .max()
            .or(self.signed_at)
            .unwrap_or(self.created_at)
    }
}

/// Whether a report has been signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Not signed: an AI draft, or a draft a person has edited but not signed.
    Preliminary,
    /// Signed by a radiologist.
    Final,
}

/// Text added to a signed report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Addendum {
    pub text: String,
    pub author: String,
    #[serde(with = "serde_text::rfc3339")]
    pub at: DateTime<FixedOffset>,
}

/// The patient and study the report belongs to (DICOM Patient and General Study modules).
/// Text values are as stored in DICOM; names in DICOM person-name form (`Family^Given`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudyRef {
    /// Study Instance UID (0020,000D); required by the FHIR, SR and PDF exports.
    pub study_instance_uid: Option<String>,
    pub accession: Option<String>,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    #[serde(default, with = "serde_text::display_option")]
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    #[serde(default, with = "serde_text::display_option")]
    pub study_date: Option<NaiveDate>,
    #[serde(default, with = "serde_text::display_option")]
    pub study_time: Option<NaiveTime>,
    pub referring_physician: Option<String>,
    pub study_id: Option<String>,
    pub description: Option<String>,
}

/// Patient's Sex (0010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    Other,
}

/// The DICOM instance a report was drafted from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
}

/// Writes `doc` in `format` to `out` (DICOM exports get fresh UIDs).
pub fn export(doc: &ReportDocument, format: ExportFormat, out: &Path) -> Result<(), ExportError> {
    let bytes = render(doc, format, &DicomInstanceIds::generate())?;
    std::fs::write(out, bytes).map_err(|source| ExportError::Write {
        format,
        path: out.to_path_buf(),
        source,
    })
}

/// The bytes of `doc` in `format`; `ids` is used by the DICOM formats only.
pub fn render(
    doc: &ReportDocument,
    format: ExportFormat,
    ids: &DicomInstanceIds,
) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        ExportFormat::Text => to_text(doc)?.into_bytes(),
        ExportFormat::Markdown => to_markdown(doc)?.into_bytes(),
        ExportFormat::Fhir => to_fhir_json(doc)?.into_bytes(),
        ExportFormat::Sr => to_basic_text_sr(doc, ids)?,
        ExportFormat::Pdf => to_encapsulated_pdf(doc, ids)?,
    })
}

/// The report as plain text (also the FHIR `presentedForm`).
pub fn to_text(doc: &ReportDocument) -> Result<String, ExportError> {
    validate::check(doc, ExportFormat::Text)?;
    Ok(text::render(doc))
}

/// The report as CommonMark.
pub fn to_markdown(doc: &ReportDocument) -> Result<String, ExportError> {
    validate::check(doc, ExportFormat::Markdown)?;
    Ok(markdown::render(doc))
}

/// The report as a FHIR R4 DiagnosticReport resource.
pub fn to_fhir(doc: &ReportDocument) -> Result<serde_json::Value, ExportError> {
    validate::check(doc, ExportFormat::Fhir)?;
    serde_json::to_value(fhir::resource(doc)).map_err(fhir_encoding_failed)
}

/// The report as pretty-printed FHIR R4 DiagnosticReport JSON, elements in the specification's
/// order.
pub fn to_fhir_json(doc: &ReportDocument) -> Result<String, ExportError> {
    validate::check(doc, ExportFormat::Fhir)?;
    serde_json::to_string_pretty(&fhir::resource(doc)).map_err(fhir_encoding_failed)
}

fn fhir_encoding_failed(error: serde_json::Error) -> ExportError {
    ExportError::Encoding {
        format: ExportFormat::Fhir,
        detail: error.to_string(),
    }
}

/// The report as a PDF document (the content of the Encapsulated PDF export).
pub fn to_pdf(doc: &ReportDocument) -> Result<Vec<u8>, ExportError> {
    validate::check(doc, ExportFormat::Pdf)?;
    Ok(pdf::render(doc))
}

/// The report as a DICOM Basic Text SR Part 10 file.
pub fn to_basic_text_sr(
    doc: &ReportDocument,
    ids: &DicomInstanceIds,
) -> Result<Vec<u8>, ExportError> {
    validate::check(doc, ExportFormat::Sr)?;
    validate::check_ids(ids, ExportFormat::Sr)?;
    sr::render(doc, ids)
}

/// The report's PDF rendering in a DICOM Encapsulated PDF Part 10 file.
pub fn to_encapsulated_pdf(
    doc: &ReportDocument,
    ids: &DicomInstanceIds,
) -> Result<Vec<u8>, ExportError> {
    validate::check(doc, ExportFormat::Pdf)?;
    validate::check_ids(ids, ExportFormat::Pdf)?;
    encapsulated_pdf::render(doc, &pdf::render(doc), ids)
}
