//! FHIR R4 DiagnosticReport export.
//!
//! The AI label is carried three ways: `status` (`preliminary` until signed), a `meta.security`
//! provenance tag from HL7's AI Transparency on FHIR guidance (AIAST while unsigned,
//! CLINAST_AIRPT once a radiologist has signed), and the narrative `text` plus the plain-text
//! `presentedForm`, which hold the label and the disclosure. R4 DiagnosticReport has no `note`.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;

use super::wording::{self, REPORT_TITLE};
use super::{text, ReportDocument, ReportStatus};

/// The R4 DiagnosticReport elements this export fills, in the specification's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DiagnosticReport {
    resource_type: &'static str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Meta>,
    text: Narrative,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    based_on: Vec<Reference>,
    status: &'static str,
    category: Vec<CodeableConcept>,
    code: CodeableConcept,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_date_time: Option<String>,
    issued: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    performer: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results_interpreter: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    imaging_study: Vec<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conclusion: Option<String>,
    presented_form: Vec<Attachment>,
}

#[derive(Serialize)]
struct Meta {
    security: Vec<Coding>,
}

#[derive(Serialize)]
struct Narrative {
    status: &'static str,
    div: String,
}

#[derive(Serialize)]
struct Coding {
    system: &'static str,
    code: &'static str,
    display: &'static str,
}

#[derive(Serialize)]
struct CodeableConcept {
    coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<String>,
}

#[derive(Serialize)]
struct Identifier {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'static str>,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    content_type: &'static str,
    language: &'static str,
    data: String,
    title: String,
    creation: String,
}

const DIAGNOSTIC_IMAGING_STUDY: Coding = Coding {
    system: "http://loinc.org",
    code: "18748-4",
    display: "Diagnostic imaging study",
};
const RADIOLOGY: Coding = Coding {
    system: "http://terminology.hl7.org/CodeSystem/v2-0074",
    code: "RAD",
    display: "Radiology",
};
const ACCESSION_ID: Coding = Coding {
    system: "http://terminology.hl7.org/CodeSystem/v2-0203",
    code: "ACSN",
    display: "Accession ID",
};
const AI_ASSERTED: Coding = Coding {
    system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    code: "AIAST",
    display: "Artificial Intelligence asserted",
};
const CLINICIAN_ASSERTED_FROM_AI: Coding = Coding {
    system: "http://hl7.org/fhir/uv/aitransparency/CodeSystem/AddedProvenanceCS",
    code: "CLINAST_AIRPT",
    display: "Clinician Asserted from AI Reported",
};

pub(super) fn resource(doc: &ReportDocument) -> DiagnosticReport {
    let study = &doc.study;
    let signer = match (doc.status, &doc.signed_by) {
        (ReportStatus::Final, Some(signer)) => Some(signer),
        _ => None,
    };
    let title = match doc.status {
        ReportStatus::Preliminary => {
            format!("{REPORT_TITLE} ({})", wording::preliminary_label(doc))
        }
        ReportStatus::Final => REPORT_TITLE.to_string(),
    };
    DiagnosticReport {
        resource_type: "DiagnosticReport",
        id: doc.id.clone(),
        meta: ai_provenance_tag(doc).map(|tag| Meta {
            security: vec![tag],
        }),
        text: Narrative {
            status: "additional",
            div: narrative(doc),
        },
        based_on: non_empty(&study.accession)
            .map(|accession| Reference {
                kind: "ServiceRequest",
                identifier: Some(Identifier {
                    kind: Some(CodeableConcept {
                        coding: vec![ACCESSION_ID],
                        text: None,
                    }),
                    system: None,
                    value: accession.to_string(),
                }),
                display: None,
            })
            .into_iter()
            .collect(),
        status: status(doc),
        category: vec![CodeableConcept {
            coding: vec![RADIOLOGY],
            text: None,
        }],
        code: CodeableConcept {
            coding: vec![DIAGNOSTIC_IMAGING_STUDY],
            text: non_empty(&study.description).map(str::to_string),
        },
        subject: subject(doc),
        // A dateTime with a time needs a UTC offset, which DICOM Study Time lacks: date only.
        effective_date_time: study
            .study_date
            .map(|date| date.format("%Y-%m-%d").to_string()),
        issued: instant(&doc.issued_at()),
        performer: signer
            .map(|_| Reference {
                kind: "Organization",
                identifier: None,
                display: Some(wording::organization(doc).to_string()),
            })
            .into_iter()
            .collect(),
        results_interpreter: signer
            .map(|signer| Reference {
                kind: "Practitioner",
                identifier: None,
                display: Some(wording::person_name(signer)),
            })
            .into_iter()
            .collect(),
        imaging_study: non_empty(&study.study_instance_uid)
            .map(|uid| Reference {
                kind: "ImagingStudy",
                identifier: Some(Identifier {
                    kind: None,
                    system: Some("urn:dicom:uid"),
                    value: format!("urn:oid:{uid}"),
                }),
                display: None,
            })
            .into_iter()
            .collect(),
        conclusion: Some(doc.impression.trim())
            .filter(|impression| !impression.is_empty())
            .map(str::to_string),
        presented_form: vec![Attachment {
            content_type: "text/plain; charset=utf-8",
            language: "en",
            data: base64::engine::general_purpose::STANDARD.encode(text::render(doc)),
            title,
            creation: instant(&doc.issued_at()),
        }],
    }
}

/// `appended` once a signed report has addenda (FHIR: "subsequent to being final, the report
/// has been modified by adding new content").
fn status(doc: &ReportDocument) -> &'static str {
    match doc.status {
        ReportStatus::Preliminary => "preliminary",
        ReportStatus::Final if doc.addenda.is_empty() => "final",
        ReportStatus::Final => "appended",
    }
}

fn ai_provenance_tag(doc: &ReportDocument) -> Option<Coding> {
    if !wording::ai_involved(doc) {
        return None;
    }
    Some(match doc.status {
        ReportStatus::Preliminary => AI_ASSERTED,
        ReportStatus::Final => CLINICIAN_ASSERTED_FROM_AI,
    })
}

fn subject(doc: &ReportDocument) -> Option<Reference> {
    let identifier = non_empty(&doc.study.patient_id).map(|id| Identifier {
        kind: None,
        system: None,
        value: id.to_string(),
    });
    let display = non_empty(&doc.study.patient_name)
        .map(wording::person_name)
        .filter(|name| !name.is_empty());
    if identifier.is_none() && display.is_none() {
        return None;
    }
    Some(Reference {
        kind: "Patient",
        identifier,
        display,
    })
}

/// FHIR `instant`: seconds and an offset are required.
fn instant(at: &DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The narrative: the report as XHTML (FHIR narrative subset: div, h2, p, b, br).
fn narrative(doc: &ReportDocument) -> String {
    let mut html = String::from("<div xmlns=\"http://www.w3.org/1999/xhtml\">");
    html.push_str(&format!("<h2>{}</h2>", escape(REPORT_TITLE)));
    html.push_str(&format!(
        "<p><b>{}</b></p>",
        escape(&wording::status_line(doc))
    ));
    for (label, value) in wording::header_fields(doc) {
        html.push_str(&format!("<p><b>{label}:</b> {}</p>", escape(&value)));
    }
    let mut section = |heading: &str, body: &str| {
        html.push_str(&format!("<h3>{}</h3><p>", escape(heading)));
        html.push_str(
            &body
                .trim()
                .lines()
                .map(escape)
                .collect::<Vec<_>>()
                .join("<br/>"),
        );
        html.push_str("</p>");
    };
    for (heading, body) in wording::sections(doc) {
        section(&heading, &body);
    }
    html.push_str("</div>");
    html
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
