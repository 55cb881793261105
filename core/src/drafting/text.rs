//! From generated tokens to a draft: the FINDINGS / IMPRESSION sections and one provenance span
//! per sentence, carrying the sentence's mean token log-probability.

use raddraft_models::prompt::PromptTokenizer;

use super::provenance::{Origin, Provenance, Span};

/// Sentences whose mean token log-probability falls below this are flagged for review by
/// default: a geometric-mean token probability under e⁻¹ ≈ 37 %.
pub const DEFAULT_LOW_CONFIDENCE_LOGPROB: f32 = -1.0;

/// A drafted report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DraftText {
    /// The decoded model output, as generated.
    pub text: String,
    pub findings: String,
    pub impression: String,
    pub provenance: Provenance,
}

/// Builds the draft from generated ids (a trailing EOS is dropped) and their log-probabilities.
pub fn draft_from_tokens(
    tokenizer: &PromptTokenizer,
    token_ids: &[u32],
    logprobs: &[f32],
    eos_token_ids: &[u32],
    low_confidence_logprob: f32,
) -> raddraft_models::Result<DraftText> {
    let mut n = token_ids.len().min(logprobs.len());
    while n > 0 && eos_token_ids.contains(&token_ids[n - 1]) {
        n -= 1;
    }
    let (ids, logprobs) = (&token_ids[..n], &logprobs[..n]);
    let text = tokenizer.decode(ids)?;
    // Byte range of each token in `text`, from the growth of the decoded prefix.
    let mut token_ends = Vec::with_capacity(n);
    for i in 0..n {
        let prefix = tokenizer.decode(&ids[..=i])?;
        let end = if text.starts_with(prefix.as_str()) {
            prefix.len()
        } else {
            token_ends.last().copied().unwrap_or(0)
        };
        token_ends.push(end);
    }
    let token_ranges: Vec<(usize, usize)> = (0..n)
        .map(|i| (if i == 0 { 0 } else { token_ends[i - 1] }, token_ends[i]))
        .collect();
    let mean_logprob = |start: usize, end: usize| -> Option<f32> {
        let inside: Vec<f32> = token_ranges
            .iter()
            .zip(logprobs)
            .filter(|((a, b), _)| *a < end && *b > start)
            .map(|(_, &lp)| lp)
            .collect();
        (!inside.is_empty()).then(|| inside.iter().sum::<f32>() / inside.len() as f32)
    };

    let (findings_range, impression_range) = section_ranges(&text);
    let spans_for = |(start, end): (usize, usize)| -> Vec<Span> {
        sentence_ranges(&text[start..end])
            .into_iter()
            .map(|(a, b)| {
                let mean = mean_logprob(start + a, start + b);
                Span {
                    start: a,
                    end: b,
                    origin: Origin::Ai,
                    mean_logprob: mean,
                    low_confidence: mean.is_some_and(|m| m < low_confidence_logprob),
                }
            })
            .collect()
    };
    Ok(DraftText {
        findings: text[findings_range.0..findings_range.1].to_string(),
        impression: text[impression_range.0..impression_range.1].to_string(),
        provenance: Provenance {
            findings: spans_for(findings_range),
            impression: spans_for(impression_range),
        },
        text,
    })
}

/// Byte ranges of the findings and the impression in a generated report: the text after an
/// optional "FINDINGS:" heading up to "IMPRESSION:", and the text after it. Without an
/// IMPRESSION heading everything is findings. Headings are matched case-insensitively.
pub fn section_ranges(text: &str) -> ((usize, usize), (usize, usize)) {
    let lower = text.to_ascii_lowercase();
    let (findings_end, impression_start) = match lower.find("impression:") {
        Some(at) => (at, at + "impression:".len()),
        None => (text.len(), text.len()),
    };
    let findings_start = match lower[..findings_end].find("findings:") {
        Some(at) => at + "findings:".len(),
        None => 0,
    };
    (
        trim_range(text, findings_start, findings_end),
        trim_range(text, impression_start, text.len()),
    )
}

fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead == slice.len() {
        return (start, start);
    }
    (start + lead, end - trail)
}

/// Sentence spans that tile `text`: each ends after `.`, `?` or `!` followed by whitespace (the
/// whitespace belongs to the sentence before it), or at the end of the text.
pub fn sentence_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_space = chars.peek().is_some_and(|&(_, n)| n.is_whitespace());
        if matches!(c, '.' | '?' | '!') && next_is_space {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if !n.is_whitespace() {
                    break;
                }
                end = j + n.len_utf8();
                chars.next();
            }
            ranges.push((start, end));
            start = end;
        }
    }
    if start < text.len() {
        ranges.push((start, text.len()));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_with_and_without_headings() {
        let t = "FINDINGS: Lungs clear. IMPRESSION: No acute disease.";
        let (f, i) = section_ranges(t);
        assert_eq!(&t[f.0..f.1], "Lungs clear.");
        assert_eq!(&t[i.0..i.1], "No acute disease.");
        let t = "Lungs clear.\nimpression:  Normal. ";
        let (f, i) = section_ranges(t);
        assert_eq!((&t[f.0..f.1], &t[i.0..i.1]), ("Lungs clear.", "Normal."));
        let t = "Heart normal.";
        let (f, i) = section_ranges(t);
        assert_eq!((&t[f.0..f.1], i.0 == i.1), ("Heart normal.", true));
    }

    #[test]
    fn sentences_tile_the_text() {
        let t = "No effusion. Mild cardiomegaly?  Lines: 2.5 cm tip. End";
        let r = sentence_ranges(t);
        let parts: Vec<&str> = r.iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(
            parts,
            vec![
                "No effusion. ",
                "Mild cardiomegaly?  ",
                "Lines: 2.5 cm tip. ",
                "End"
            ]
        );
        assert!(sentence_ranges("").is_empty());
    }
}
