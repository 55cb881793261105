//! Which parts of a report the model wrote and which a human wrote or accepted, span by span.
//!
//! A section's provenance is a list of spans that tile its text exactly. Model text starts as
//! [`Origin::Ai`], one span per sentence, each with the sentence's mean token log-probability and
//! a low-confidence flag. An edit maps the spans through a character diff: a model sentence that
//! survives untouched keeps its origin, anything typed or changed becomes [`Origin::Human`].
//! Accepting turns [`Origin::Ai`] spans into [`Origin::Accepted`]. Exports and the UI label a
//! report AI-generated while any [`Origin::Ai`] span remains.

use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices, Algorithm, DiffOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Written by the model and not yet reviewed.
    Ai,
    /// Written by the model and accepted unchanged by a human.
    Accepted,
    /// Typed or changed by a human.
    Human,
}

/// A byte range `[start, end)` of a section's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub origin: Origin,
    /// Mean natural-log probability of the model tokens in this span (model spans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_logprob: Option<f32>,
    /// Mean log-probability below the review threshold.
    #[serde(default)]
    pub low_confidence: bool,
}

impl Span {
    pub fn human(start: usize, end: usize) -> Self {
        Self {
            start,
            end,
            origin: Origin::Human,
            mean_logprob: None,
            low_confidence: false,
        }
    }
}

/// Provenance of both report sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub findings: Vec<Span>,
    pub impression: Vec<Span>,
}

impl Provenance {
    /// Provenance of text written entirely by a human.
    pub fn human(findings: &str, impression: &str) -> Self {
        Self {
            findings: whole(findings, Origin::Human),
            impression: whole(impression, Origin::Human),
        }
    }

    /// True while any model-written span has been neither accepted nor edited.
    pub fn has_unreviewed_ai_text(&self) -> bool {
        self.findings
            .iter()
            .chain(&self.impression)
            .any(|s| s.origin == Origin::Ai && s.end > s.start)
    }

    /// Spans flagged for review.
    pub fn low_confidence_count(&self) -> usize {
        self.findings
            .iter()
            .chain(&self.impression)
            .filter(|s| s.low_confidence && s.origin == Origin::Ai)
            .count()
    }

    /// Marks every unreviewed model span as accepted.
    pub fn accept_all(&mut self) {
        for span in self.findings.iter_mut().chain(self.impression.iter_mut()) {
            if span.origin == Origin::Ai {
                span.origin = Origin::Accepted;
            }
        }
    }

    /// The provenance after the sections changed from `old_*` to `new_*`.
    pub fn after_edit(
        &self,
        (old_findings, old_impression): (&str, &str),
        (new_findings, new_impression): (&str, &str),
    ) -> Self {
        Self {
            findings: map_through_edit(&self.findings, old_findings, new_findings),
            impression: map_through_edit(&self.impression, old_impression, new_impression),
        }
    }
}

fn whole(text: &str, origin: Origin) -> Vec<Span> {
    if text.is_empty() {
        return Vec::new();
    }
    vec![Span {
        origin,
        ..Span::human(0, text.len())
    }]
}

/// Maps spans of `old` onto `new`. A span keeps its origin only if all of its characters appear,
/// unchanged and contiguous, in `new`; every other character of `new` is human-written.
pub fn map_through_edit(spans: &[Span], old: &str, new: &str) -> Vec<Span> {
    let old_chars: Vec<(usize, char)> = old.char_indices().collect();
    let new_chars: Vec<(usize, char)> = new.char_indices().collect();
    let old_plain: Vec<char> = old_chars.iter().map(|&(_, c)| c).collect();
    let new_plain: Vec<char> = new_chars.iter().map(|&(_, c)| c).collect();

    let span_of_old_char: Vec<Option<usize>> = old_chars
        .iter()
        .map(|&(byte, _)| spans.iter().position(|s| s.start <= byte && byte < s.end))
        .collect();
    // For each character of `new`, the old character it was kept from.
    let mut kept_from: Vec<Option<usize>> = vec![None; new_chars.len()];
    // And the inverse: where each old character went.
    let mut kept_as: Vec<Option<usize>> = vec![None; old_chars.len()];
    // Diffed word by word, so that an edit does not match stray letters of unrelated words;
    // equal words map character by character.
    let (old_words, old_word_starts) = words(&old_plain);
    let (new_words, new_word_starts) = words(&new_plain);
    for op in capture_diff_slices(Algorithm::Myers, &old_words, &new_words) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for w in 0..len {
                let (o, n) = (
                    old_word_starts[old_index + w],
                    new_word_starts[new_index + w],
                );
                for k in 0..old_words[old_index + w].len() {
                    kept_from[n + k] = Some(o + k);
                    kept_as[o + k] = Some(n + k);
                }
            }
        }
    }
    // A span survives if its characters, apart from surrounding whitespace, map in order and
    // without gaps onto new characters.
    let survives: Vec<bool> = (0..spans.len())
        .map(|i| {
            let mut old_positions: Vec<usize> = (0..old_chars.len())
                .filter(|&c| span_of_old_char[c] == Some(i))
                .collect();
            while old_positions
                .first()
                .is_some_and(|&c| old_plain[c].is_whitespace())
            {
                old_positions.remove(0);
            }
            while old_positions
                .last()
                .is_some_and(|&c| old_plain[c].is_whitespace())
            {
                old_positions.pop();
            }
            let new_positions: Vec<usize> =
                old_positions.iter().filter_map(|&o| kept_as[o]).collect();
            !old_positions.is_empty()
                && new_positions.len() == old_positions.len()
                && new_positions.windows(2).all(|w| w[1] == w[0] + 1)
        })
        .collect();

    let mut out: Vec<Span> = Vec::new();
    for (n, &(byte, ch)) in new_chars.iter().enumerate() {
        let end = byte + ch.len_utf8();
        let from_span = kept_from[n]
            .and_then(|o| span_of_old_char[o])
            .filter(|&i| survives[i]);
        let template = match from_span {
            Some(i) => Span {
                start: byte,
                end,
                ..spans[i].clone()
            },
            None => Span::human(byte, end),
        };
        match out.last_mut() {
            Some(last) if same_run(last, &template, from_span, spans) => last.end = end,
            _ => out.push(template),
        }
    }
    out
}

/// Splits characters into words, each with the whitespace before it: "No effusion. Heart" →
/// ["No", " effusion.", " Heart"]. Keeping whitespace and punctuation inside the words stops the
/// diff from matching stray spaces and full stops of unrelated sentences.
/// Returns the words and the character index where each starts.
fn words(chars: &[char]) -> (Vec<&[char]>, Vec<usize>) {
    let (mut words, mut starts) = (Vec::new(), Vec::new());
    let mut start = 0;
    for i in 1..=chars.len() {
        if i == chars.len() || (chars[i].is_whitespace() && !chars[i - 1].is_whitespace()) {
            words.push(&chars[start..i]);
            starts.push(start);
            start = i;
        }
    }
    (words, starts)
}

/// Whether a character continues the last span: human text merges with human text; a surviving
/// model span continues only with characters of that same old span.
fn same_run(last: &Span, next: &Span, from_span: Option<usize>, old: &[Span]) -> bool {
    match from_span {
        None => last.origin == Origin::Human && last.mean_logprob.is_none(),
        Some(i) => {
            last.origin == old[i].origin
                && last.mean_logprob == old[i].mean_logprob
                && last.low_confidence == old[i].low_confidence
                && last.end == next.start
                && last.origin != Origin::Human
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ai(start: usize, end: usize, logprob: f32) -> Span {
        Span {
            start,
            end,
            origin: Origin::Ai,
            mean_logprob: Some(logprob),
            low_confidence: logprob < -1.0,
        }
    }

    fn texts<'a>(text: &'a str, spans: &[Span]) -> Vec<(&'a str, Origin)> {
        spans
            .iter()
            .map(|s| (&text[s.start..s.end], s.origin))
            .collect()
    }

    const OLD: &str = "No pneumothorax. Small left effusion. Heart size normal.";

    fn old_spans() -> Vec<Span> {
        vec![ai(0, 17, -0.1), ai(17, 37, -2.0), ai(37, OLD.len(), -0.2)]
    }

    #[test]
    fn unchanged_text_keeps_every_span() {
        assert_eq!(map_through_edit(&old_spans(), OLD, OLD), old_spans());
    }

    #[test]
    fn an_edited_sentence_becomes_human_and_the_others_stay_ai() {
        let new = "No pneumothorax. Small right effusion. Heart size normal.";
        let spans = map_through_edit(&old_spans(), OLD, new);
        assert_eq!(
            texts(new, &spans),
            vec![
                ("No pneumothorax. ", Origin::Ai),
                ("Small right effusion.", Origin::Human),
                (" Heart size normal.", Origin::Ai),
            ]
        );
        assert_eq!(spans[2].mean_logprob, Some(-0.2));
        assert_eq!(spans.last().map(|s| s.end), Some(new.len()));
    }

    #[test]
    fn text_typed_inside_a_sentence_makes_that_sentence_human() {
        let new = "No pneumothorax. Small left pleural effusion. Heart size normal.";
        let spans = map_through_edit(&old_spans(), OLD, new);
        assert_eq!(
            texts(new, &spans),
            vec![
                ("No pneumothorax. ", Origin::Ai),
                ("Small left pleural effusion.", Origin::Human),
                (" Heart size normal.", Origin::Ai),
            ]
        );
    }

    #[test]
    fn deleting_a_sentence_and_appending_text() {
        let new = "No pneumothorax. Heart size normal. Compared with prior: stable.";
        let spans = map_through_edit(&old_spans(), OLD, new);
        assert_eq!(
            texts(new, &spans),
            vec![
                ("No pneumothorax.", Origin::Ai),
                (" Heart size normal.", Origin::Ai),
                (" Compared with prior: stable.", Origin::Human),
            ]
        );
    }

    #[test]
    fn spans_tile_the_new_text_for_multibyte_edits() {
        let new = "Pas de pneumothorax — épanchement gauche. Heart size normal.";
        let spans = map_through_edit(&old_spans(), OLD, new);
        let mut pos = 0;
        for span in &spans {
            assert_eq!(span.start, pos);
            assert!(new.is_char_boundary(span.start) && new.is_char_boundary(span.end));
            pos = span.end;
        }
        assert_eq!(pos, new.len());
    }

    #[test]
    fn accepting_clears_the_ai_label_and_keeps_confidence() {
        let mut p = Provenance {
            findings: old_spans(),
            impression: vec![ai(0, 5, -0.3)],
        };
        assert!(p.has_unreviewed_ai_text());
        assert_eq!(p.low_confidence_count(), 1);
        p.accept_all();
        assert!(!p.has_unreviewed_ai_text());
        assert_eq!(p.findings[1].mean_logprob, Some(-2.0));
        assert_eq!(p.low_confidence_count(), 0);
    }

    #[test]
    fn human_provenance_covers_the_text() {
        let p = Provenance::human("abc", "");
        assert_eq!(p.findings, vec![Span::human(0, 3)]);
        assert!(p.impression.is_empty());
        assert!(!p.has_unreviewed_ai_text());
    }
}
