//! Radiology report sections: INDICATION (the prompt), FINDINGS and IMPRESSION (the target).
//!
//! The rules follow the public MIMIC-CXR section extraction (MIT-LCP `mimic-cxr`,
//! `txt/section_parser.py`), written anew and made more lenient:
//!
//! * A heading starts a line (leading blanks allowed) and ends with a colon: `FINDINGS:`,
//!   `Impression :`. Known spellings match in any case; an unknown ALL-CAPS phrase of letters,
//!   blanks and `()/,-` followed by `: ` starts an "other" section, so it ends the one before it.
//!   Unknown headings that name a view (`CHEST, PA AND LAT:`, `PORTABLE AP CHEST:` …) are findings,
//!   as in MIMIC-CXR.
//! * A known heading alone on its line needs no colon (`CLINICAL HISTORY`, `Summary`).
//! * Inside a line, a known heading that starts with a capital letter and is followed by a colon
//!   also starts a section, so one-line reports (`FINDINGS: … IMPRESSION: …`, what a model writes)
//!   split too.
//! * `FINAL REPORT` header lines are dropped. EXAMINATION, COMPARISON, TECHNIQUE and the other
//!   known non-target headings (NOTIFICATION, RECOMMENDATION(S), ADDENDUM, WET READ …) stop the
//!   section before them.
//! * When a report has neither findings nor impression, the paragraphs after the first blank
//!   line of its last section are the target (MIMIC-CXR's `last_paragraph`).
//! * Section text has its whitespace collapsed to single blanks; de-identification placeholders
//!   (`___`) are kept.
//!
//! Known spellings (case-insensitive) and what they mean:
//!
//! | section | spellings |
//! |---|---|
//! | indication | INDICATION, INDICATIONS, HISTORY, CLINICAL HISTORY, PATIENT HISTORY, CLINICAL INFORMATION, CLINICAL INDICATION, REASON FOR EXAM, REASON FOR EXAMINATION, REASON FOR STUDY, PFI |
//! | findings | FINDINGS, FINDING, REFERENCE FINDINGS, CHEST, TWO VIEWS, and MIMIC-CXR's typos |
//! | impression | IMPRESSION, IMPRESSIONS, CONCLUSION, CONCLUSIONS, SUMMARY, FINDINGS AND IMPRESSION, FINDINGS/IMPRESSION, and MIMIC-CXR's typos |
//! | examination | EXAMINATION, EXAMINATIONS, EXAM, TYPE OF EXAMINATION |
//! | comparison | COMPARISON, COMPARISONS, COMPARISON EXAM, COMPARISON FILM, REFERENCE EXAM, and typos |
//! | technique | TECHNIQUE |
//! | other | NOTIFICATION, RECOMMENDATION, RECOMMENDATIONS, RECOMMENDATION(S), ADDENDUM, WET READ, WETREAD, COMMENT, COMMENTS, DATE |

use serde::Serialize;

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Text before the first heading.
    Preamble,
    Indication,
    Findings,
    Impression,
    Examination,
    Comparison,
    Technique,
    /// Any other heading; it ends the section before it.
    Other,
}

/// One section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub kind: SectionKind,
    /// The heading as normalised for lookup (lower case, single blanks); empty for the preamble.
    pub heading: String,
    /// The section's text with whitespace collapsed.
    pub text: String,
}

/// A report split into sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedReport {
    pub sections: Vec<Section>,
    /// Without findings and impression: the paragraphs after the first blank line of the last
    /// section (removed from that section), as MIMIC-CXR's `last_paragraph`.
    pub last_paragraph: Option<String>,
}

const KNOWN_HEADINGS: &[(&str, SectionKind)] = &[
    ("indication", SectionKind::Indication),
    ("indications", SectionKind::Indication),
    ("idication", SectionKind::Indication),
    ("history", SectionKind::Indication),
    ("clinical history", SectionKind::Indication),
    ("patient history", SectionKind::Indication),
    ("clinical information", SectionKind::Indication),
    ("clinical indication", SectionKind::Indication),
    ("reason for exam", SectionKind::Indication),
    ("reason for examination", SectionKind::Indication),
    ("reason for study", SectionKind::Indication),
    ("pfi", SectionKind::Indication),
    ("findings", SectionKind::Findings),
    ("finding", SectionKind::Findings),
    ("reference findings", SectionKind::Findings),
    ("chest, two views", SectionKind::Findings),
    ("findins", SectionKind::Findings),
    ("findindgs", SectionKind::Findings),
    ("findgings", SectionKind::Findings),
    ("findngs", SectionKind::Findings),
    ("findnings", SectionKind::Findings),
    ("finidngs", SectionKind::Findings),
    ("impression", SectionKind::Impression),
    ("impressions", SectionKind::Impression),
    ("conclusion", SectionKind::Impression),
    ("conclusions", SectionKind::Impression),
    ("summary", SectionKind::Impression),
    ("findings and impression", SectionKind::Impression),
    ("findings/impression", SectionKind::Impression),
    ("findings / impression", SectionKind::Impression),
    ("findings/ impression", SectionKind::Impression),
    ("impresson", SectionKind::Impression),
    ("imprression", SectionKind::Impression),
    ("imoression", SectionKind::Impression),
    ("impressoin", SectionKind::Impression),
    ("imprssion", SectionKind::Impression),
    ("impresion", SectionKind::Impression),
    ("imperssion", SectionKind::Impression),
    ("mpression", SectionKind::Impression),
    ("impession", SectionKind::Impression),
    ("examination", SectionKind::Examination),
    ("examinations", SectionKind::Examination),
    ("exam", SectionKind::Examination),
    ("type of examination", SectionKind::Examination),
    ("comparison", SectionKind::Comparison),
    ("comparisons", SectionKind::Comparison),
    ("comparison exam", SectionKind::Comparison),
    ("comparison film", SectionKind::Comparison),
    ("reference exam", SectionKind::Comparison),
    ("comparision", SectionKind::Comparison),
    ("comparsion", SectionKind::Comparison),
    ("comparrison", SectionKind::Comparison),
    ("comparisions", SectionKind::Comparison),
    ("technique", SectionKind::Technique),
    ("notification", SectionKind::Other),
    ("recommendation", SectionKind::Other),
    ("recommendations", SectionKind::Other),
    ("recommendation(s)", SectionKind::Other),
    ("addendum", SectionKind::Other),
    ("wet read", SectionKind::Other),
    ("wetread", SectionKind::Other),
    ("comment", SectionKind::Other),
    ("comments", SectionKind::Other),
    ("date", SectionKind::Other),
];

/// Words that make an unknown capitalised heading a findings heading (MIMIC-CXR's view rule).
const VIEW_WORDS: &[&str] = &[
    "chest",
    "portable",
    "pa and lateral",
    "lateral and pa",
    "ap and lateral",
    "lateral and ap",
    "frontal and",
    "two views",
    "frontal view",
    "pa view",
    "ap view",
    "one view",
    "lateral view",
    "bone window",
    "frontal upright",
    "frontal semi-upright",
    "ribs",
    "pa and lat",
];

/// Longest unknown heading taken as a heading, in characters; longer capitals are shouting text.
const MAX_UNKNOWN_HEADING: usize = 60;

impl ParsedReport {
    /// The indication sections (all spellings, in order), or `None` when there is none or it is empty.
    pub fn indication(&self) -> Option<String> {
        self.joined(SectionKind::Indication)
    }

    pub fn findings(&self) -> Option<String> {
        self.joined(SectionKind::Findings)
    }

    pub fn impression(&self) -> Option<String> {
        self.joined(SectionKind::Impression)
    }

    /// FINDINGS then IMPRESSION, blank-separated, without their headings; without either, the
    /// last paragraph; `None` when the report has none of these.
    pub fn target(&self) -> Option<String> {
        self.findings_and_impression()
            .or_else(|| self.last_paragraph.clone())
    }

    /// FINDINGS then IMPRESSION only (no last-paragraph fallback).
    pub fn findings_and_impression(&self) -> Option<String> {
        let parts: Vec<String> = [self.findings(), self.impression()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    fn joined(&self, kind: SectionKind) -> Option<String> {
        let parts: Vec<&str> = self
            .sections
            .iter()
            .filter(|s| s.kind == kind && !s.text.is_empty())
            .map(|s| s.text.as_str())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Splits a report into sections.
pub fn parse_report(text: &str) -> ParsedReport {
    let mut raw: Vec<(SectionKind, String, String)> =
        vec![(SectionKind::Preamble, String::new(), String::new())];
    for line in text.lines() {
        if is_report_title(line) {
            push_text(&mut raw, "\n");
            continue;
        }
        let mut pos = 0;
        if let Some(heading) = heading_at_line_start(line) {
            raw.push((heading.kind, heading.name, String::new()));
            pos = heading.content_start;
        }
        while let Some(heading) = next_inline_heading(line, pos) {
            push_text(&mut raw, &line[pos..heading.start]);
            raw.push((heading.kind, heading.name, String::new()));
            pos = heading.content_start;
        }
        push_text(&mut raw, &line[pos..]);
        push_text(&mut raw, "\n");
    }

    let has_target = raw.iter().any(|(kind, _, body)| {
        matches!(kind, SectionKind::Findings | SectionKind::Impression) && !is_blank(body)
    });
    let mut last_paragraph = None;
    if !has_target {
        if let Some((_, _, body)) = raw.last_mut() {
            if let Some((first, rest)) = split_first_paragraph(body) {
                let rest = collapse_whitespace(rest);
                if !rest.is_empty() {
                    last_paragraph = Some(rest);
                    *body = first.to_owned();
                }
            }
        }
    }
    let sections = raw
        .into_iter()
        .map(|(kind, heading, body)| Section {
            kind,
            heading,
            text: collapse_whitespace(&body),
        })
        .filter(|s| !(s.kind == SectionKind::Preamble && s.text.is_empty()))
        .collect();
    ParsedReport {
        sections,
        last_paragraph,
    }
}

/// The text a model wrote, as it is scored: its FINDINGS and IMPRESSION when it wrote such
/// headings, otherwise all of it; whitespace collapsed.
pub fn hypothesis_text(generated: &str) -> String {
    parse_report(generated)
        .findings_and_impression()
        .unwrap_or_else(|| collapse_whitespace(generated))
}

/// Whitespace runs become one blank; leading and trailing whitespace goes.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_text(raw: &mut [(SectionKind, String, String)], text: &str) {
    if let Some((_, _, body)) = raw.last_mut() {
        body.push_str(text);
    }
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn is_report_title(line: &str) -> bool {
    let line = line.trim().trim_end_matches(':').trim_end();
    line.eq_ignore_ascii_case("final report")
}

/// Splits at the first blank line that has text after it: (first paragraph, the rest).
fn split_first_paragraph(body: &str) -> Option<(&str, &str)> {
    let mut offset = 0;
    let mut seen_text = false;
    for line in body.split_inclusive('\n') {
        if is_blank(line) {
            if seen_text && !is_blank(&body[offset..]) {
                return Some((&body[..offset], &body[offset..]));
            }
        } else {
            seen_text = true;
        }
        offset += line.len();
    }
    None
}

struct HeadingMatch {
    kind: SectionKind,
    name: String,
    /// Byte offset of the heading in the line.
    start: usize,
    /// Byte offset where the section's text begins (after the colon).
    content_start: usize,
}

fn normalise_heading(text: &str) -> String {
    collapse_whitespace(text).to_lowercase()
}

fn known_kind(name: &str) -> Option<SectionKind> {
    KNOWN_HEADINGS
        .iter()
        .find(|(spelling, _)| *spelling == name)
        .map(|(_, kind)| *kind)
}

/// A heading at the start of a line: a known spelling in any case, or an unknown capitalised
/// phrase, before a colon; or a known spelling alone on the line.
fn heading_at_line_start(line: &str) -> Option<HeadingMatch> {
    let start = line.len() - line.trim_start().len();
    let rest = &line[start..];
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let name = normalise_heading(candidate);
        let content_start = start + colon + 1;
        if let Some(kind) = known_kind(&name) {
            return Some(HeadingMatch {
                kind,
                name,
                start,
                content_start,
            });
        }
        let after = &line[content_start..];
        let followed_by_space = after.is_empty() || after.starts_with(char::is_whitespace);
        if followed_by_space && is_capitalised_heading(candidate) {
            let kind = if VIEW_WORDS.iter().any(|w| name.contains(w)) {
                SectionKind::Findings
            } else {
                SectionKind::Other
            };
            return Some(HeadingMatch {
                kind,
                name,
                start,
                content_start,
            });
        }
    }
    let name = normalise_heading(rest);
    known_kind(&name).map(|kind| HeadingMatch {
        kind,
        name,
        start,
        content_start: line.len(),
    })
}

/// MIMIC-CXR's heading shape: capitals, blanks and `()/,-`, with at least two letters.
fn is_capitalised_heading(candidate: &str) -> bool {
    let candidate = candidate.trim();
    candidate.chars().count() <= MAX_UNKNOWN_HEADING
        && candidate.chars().filter(char::is_ascii_uppercase).count() >= 2
        && candidate
            .chars()
            .all(|c| c.is_ascii_uppercase() || " ()/,-".contains(c))
}

/// The next known heading inside a line at or after `from`: starting with a capital letter,
/// after a blank, and followed by a colon.
fn next_inline_heading(line: &str, from: usize) -> Option<HeadingMatch> {
    let mut best: Option<HeadingMatch> = None;
    for (index, c) in line[from..].char_indices() {
        let start = from + index;
        if start == 0 || !c.is_ascii_uppercase() {
            continue;
        }
        let preceded_by_blank = line[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        if !preceded_by_blank {
            continue;
        }
        for (spelling, kind) in KNOWN_HEADINGS {
            let Some(after) = strip_capitalised(&line[start..], spelling) else {
                continue;
            };
            let after_blanks = after.trim_start_matches([' ', '\t']);
            if !after_blanks.starts_with(':') {
                continue;
            }
            let content_start = line.len() - after_blanks.len() + 1;
            let longer = best
                .as_ref()
                .is_none_or(|b| b.content_start < content_start);
            if longer {
                best = Some(HeadingMatch {
                    kind: *kind,
                    name: (*spelling).to_owned(),
                    start,
                    content_start,
                });
            }
        }
        if best.is_some() {
            return best;
        }
    }
    None
}

/// `text` without a leading `spelling` (matched without regard to case; the caller has checked
/// that it starts with a capital).
fn strip_capitalised<'a>(text: &'a str, spelling: &str) -> Option<&'a str> {
    let head = text.get(..spelling.len())?;
    head.eq_ignore_ascii_case(spelling)
        .then(|| &text[spelling.len()..])
}
