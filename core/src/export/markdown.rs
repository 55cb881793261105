//! Markdown (CommonMark) export: the plain-text layout with headings, a header table and the
//! report text escaped so that it shows exactly as written.

use super::wording::{self, REPORT_TITLE};
use super::{text, ReportDocument, ReportStatus};

pub(super) fn render(doc: &ReportDocument) -> String {
    let mut out = format!("# {REPORT_TITLE}\n\n");
    match doc.status {
        ReportStatus::Preliminary => {
            out.push_str(&format!("> **{}**\n\n", wording::preliminary_label(doc)))
        }
        ReportStatus::Final => {
            out.push_str(&format!("**Status:** {}\n\n", wording::status_line(doc)))
        }
    }

    let header = wording::header_fields(doc);
    if !header.is_empty() {
        out.push_str("| Field | Value |\n|---|---|\n");
        for (label, value) in &header {
            out.push_str(&format!("| {label} | {} |\n", escape(value, false)));
        }
        out.push('\n');
    }

    text::with_sections(out, doc, section)
}

/// A level-2 heading and the text as paragraphs; single line breaks stay line breaks.
fn section(out: &mut String, heading: &str, body: &str) {
    out.push_str(&format!("## {}\n\n", escape(heading, false)));
    let paragraphs = body
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty());
    for paragraph in paragraphs {
        let lines: Vec<String> = paragraph
            .lines()
            .map(|line| escape(line.trim(), true))
            .filter(|line| !line.is_empty())
            .collect();
        // A trailing backslash is CommonMark's hard line break.
        out.push_str(&lines.join("\\\n"));
        out.push_str("\n\n");
    }
}

/// Backslash-escapes the ASCII punctuation that could start Markdown syntax (emphasis, links,
/// code, HTML, headings, tables), so report text is never reinterpreted; `line` text (not a
/// table cell or heading) also has list and setext markers at its start escaped.
fn escape(text: &str, line: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_line_start = line;
    for c in text.chars() {
        let special = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) || (at_line_start && matches!(c, '-' | '+' | '='));
        if special {
            out.push('\\');
        }
        out.push(c);
        at_line_start &= c.is_whitespace();
    }
    // "1. " or "1) " at the start of a line would become an ordered list.
    if let Some(digits) = out.find(|c: char| !c.is_ascii_digit()).filter(|_| line) {
        if digits > 0 && matches!(out[digits..].chars().next(), Some('.' | ')')) {
            out.insert(digits, '\\');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markdown_syntax_in_report_text_is_escaped() {
        assert_eq!(
            escape("*no* `code` <b>", true),
            "\\*no\\* \\`code\\` \\<b\\>"
        );
        assert_eq!(escape("# heading", true), "\\# heading");
        assert_eq!(escape("- item", true), "\\- item");
        assert_eq!(escape("1. first", true), "1\\. first");
        assert_eq!(escape("a | b", true), "a \\| b");
        assert_eq!(escape("5-10 mm", true), "5-10 mm");
        assert_eq!(
            escape("Pneumothorax — résolution", true),
            "Pneumothorax — résolution"
        );
        // Table cells and headings are never list items.
        assert_eq!(escape("1.2.840.10008", false), "1.2.840.10008");
        assert_eq!(escape("- 5 mm", false), "- 5 mm");
    }
}
