//! Plain-text export: a fixed layout of title, status, header, sections, signature, AI
//! disclosure and addenda. It is also the FHIR `presentedForm`.

use std::fmt::Write;

use super::wording::{self, REPORT_TITLE};
use super::{ReportDocument, ReportStatus};

pub(super) fn render(doc: &ReportDocument) -> String {
    let mut out = String::new();
    underlined(&mut out, &REPORT_TITLE.to_uppercase(), '=');
    match doc.status {
        ReportStatus::Preliminary => {
            out.push_str(&format!("*** {} ***\n", wording::preliminary_label(doc)))
        }
        ReportStatus::Final => out.push_str(&format!("Status: {}\n", wording::status_line(doc))),
    }
    out.push('\n');

    let header = wording::header_fields(doc);
    let width = header
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0)
        + 2;
    for (label, value) in &header {
        // Infallible: writing to a String.
        let _ = writeln!(out, "{:<width$}{value}", format!("{label}:"));
    }
    if !header.is_empty() {
        out.push('\n');
    }

    with_sections(out, doc, section)
}

/// Appends every section of `doc` to `out`, each laid out by `section`, and ends the text with one
/// newline however the last section ended: the shared end of the plain-text and Markdown layouts.
pub(super) fn with_sections(
    mut out: String,
    doc: &ReportDocument,
    section: fn(&mut String, &str, &str),
) -> String {
    for (heading, body) in wording::sections(doc) {
        section(&mut out, &heading, &body);
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

fn section(out: &mut String, heading: &str, body: &str) {
    underlined(out, &heading.to_uppercase(), '-');
    for line in body.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
}

fn underlined(out: &mut String, heading: &str, rule: char) {
    out.push_str(heading);
    out.push('\n');
    out.extend(std::iter::repeat_n(rule, heading.chars().count()));
    out.push('\n');
}
