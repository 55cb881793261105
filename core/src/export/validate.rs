//! Checks a report before export, so that every format either writes valid output or says which
//! field to fix.

use super::{DicomInstanceIds, ExportError, ExportFormat, ReportDocument, ReportStatus};

pub(super) fn check(doc: &ReportDocument, format: ExportFormat) -> Result<(), ExportError> {
    check_signature(doc, format)?;
    for (index, addendum) in doc.addenda.iter().enumerate() {
        if addendum.text.trim().is_empty() {
            return Err(invalid(
                format,
                format!("addenda[{index}].text"),
                "is empty",
            ));
        }
        if addendum.author.trim().is_empty() {
            return Err(invalid(
                format,
                format!("addenda[{index}].author"),
                "is empty",
            ));
        }
    }
    if matches!(
        format,
        ExportFormat::Fhir | ExportFormat::Sr | ExportFormat::Pdf
    ) {
        let uid = doc
            .study
            .study_instance_uid
            .as_deref()
            .filter(|uid| !uid.trim().is_empty())
            .ok_or(ExportError::Missing {
                format,
                field: "study.study_instance_uid",
                fix: "this format references the imaging study by its Study Instance UID \
                      (0020,000D); export txt or md for a study without one",
            })?;
        check_uid(format, "study.study_instance_uid", uid)?;
    }
    match format {
        ExportFormat::Fhir => check_fhir_id(&doc.id),
        ExportFormat::Sr | ExportFormat::Pdf => check_dicom_values(doc, format),
        ExportFormat::Text | ExportFormat::Markdown => Ok(()),
    }
}

pub(super) fn check_ids(ids: &DicomInstanceIds, format: ExportFormat) -> Result<(), ExportError> {
    check_uid(format, "series_instance_uid", &ids.series_instance_uid)?;
    check_uid(format, "sop_instance_uid", &ids.sop_instance_uid)
}

fn check_signature(doc: &ReportDocument, format: ExportFormat) -> Result<(), ExportError> {
    match doc.status {
        ReportStatus::Final => {
            if doc
                .signed_by
                .as_deref()
                .is_none_or(|name| name.trim().is_empty())
            {
                return Err(ExportError::Missing {
                    format,
                    field: "signed_by",
                    fix: "a final report names the radiologist who signed it",
                });
            }
            if doc.signed_at.is_none() {
                return Err(ExportError::Missing {
                    format,
                    field: "signed_at",
                    fix: "a final report records when it was signed",
                });
            }
        }
        ReportStatus::Preliminary => {
            if doc.signed_by.is_some() || doc.signed_at.is_some() {
                return Err(ExportError::Inconsistent {
                    format,
                    problem: "the report is preliminary but carries a signature: set status to \
                              final, or clear signed_by and signed_at",
                });
            }
            if !doc.addenda.is_empty() {
                return Err(ExportError::Inconsistent {
                    format,
                    problem: "the report is preliminary but has addenda: addenda follow a \
                              signed report, so sign it first or fold the text into the draft",
                });
            }
        }
    }
    Ok(())
}

/// PS3.5 9.1: digits and dots, at most 64 characters, no empty or zero-padded component.
fn check_uid(format: ExportFormat, field: &str, uid: &str) -> Result<(), ExportError> {
    let well_formed = !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|component| {
            !component.is_empty()
                && component.bytes().all(|b| b.is_ascii_digit())
                && (component == "0" || !component.starts_with('0'))
        });
    if well_formed {
        Ok(())
    } else {
        Err(invalid(
            format,
            field.to_string(),
            format!(
                "'{uid}' is not a DICOM UID (digits and dots, at most 64 characters, no leading \
                 zeros)"
            ),
        ))
    }
}

/// FHIR R4 `id`: `[A-Za-z0-9\-\.]{1,64}`.
fn check_fhir_id(id: &str) -> Result<(), ExportError> {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            ExportFormat::Fhir,
            "id".to_string(),
            format!(
                "'{id}' is not a FHIR id: use 1 to 64 letters, digits, '-' or '.' (a store \
                 row id or a UUID fits)"
            ),
        ))
    }
}

/// The length and character limits of the DICOM value representations the values go into.
fn check_dicom_values(doc: &ReportDocument, format: ExportFormat) -> Result<(), ExportError> {
    let study = &doc.study;
    let mut values: Vec<(&str, Option<&str>, Vr)> = vec![
        ("study.patient_name", study.patient_name.as_deref(), Vr::PN),
        ("study.patient_id", study.patient_id.as_deref(), Vr::LO),
        ("study.accession", study.accession.as_deref(), Vr::SH),
        ("study.study_id", study.study_id.as_deref(), Vr::SH),
        (
            "study.referring_physician",
            study.referring_physician.as_deref(),
            Vr::PN,
        ),
        ("study.description", study.description.as_deref(), Vr::LO),
    ];
    if format == ExportFormat::Sr {
        values.push(("signed_by", doc.signed_by.as_deref(), Vr::PN));
        values.push(("organization", doc.organization.as_deref(), Vr::LO));
        for (index, addendum) in doc.addenda.iter().enumerate() {
            let field = format!("addenda[{index}].author");
            check_dicom_text(format, &field, &addendum.author, Vr::PN)?;
        }
    }
    for (field, value, vr) in values {
        if let Some(value) = value {
            check_dicom_text(format, field, value, vr)?;
        }
    }
    if let Some(image) = &doc.source_image {
        check_uid(format, "source_image.sop_class_uid", &image.sop_class_uid)?;
        check_uid(
            format,
            "source_image.sop_instance_uid",
            &image.sop_instance_uid,
        )?;
        check_uid(
            format,
            "source_image.series_instance_uid",
            &image.series_instance_uid,
        )?;
    }
    Ok(())
}

#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy)]
enum Vr {
    LO,
    PN,
    SH,
}

fn check_dicom_text(
    format: ExportFormat,
    field: &str,
    value: &str,
    vr: Vr,
) -> Result<(), ExportError> {
    let (name, limit) = match vr {
        Vr::LO => ("LO", 64),
        Vr::PN => ("PN", 64),
        Vr::SH => ("SH", 16),
    };
    let problem = if value.contains('\\') {
        Some("contains '\\', which DICOM reads as a separator between values".to_string())
    } else if value.chars().any(char::is_control) {
        Some("contains a control character such as a line break".to_string())
    } else {
        // PN limits each component group (`=`-separated), the others the whole value.
        let longest = match vr {
            Vr::PN => value.split('=').map(|group| group.chars().count()).max(),
            _ => Some(value.chars().count()),
        };
        longest
            .filter(|length| *length > limit)
            .map(|length| format!("is {length} characters long; DICOM {name} allows {limit}"))
    };
    match problem {
        Some(problem) => Err(invalid(format, field.to_string(), problem)),
        None => Ok(()),
    }
}

fn invalid(format: ExportFormat, field: String, problem: impl Into<String>) -> ExportError {
    ExportError::Invalid {
        format,
        field,
        problem: problem.into(),
    }
}
