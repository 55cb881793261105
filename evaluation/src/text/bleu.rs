//! BLEU-1..4 as pycocoevalcap's `BleuScorer` (`bleu_scorer.py`): clipped n-gram counts, the
//! "closest" reference length, `tiny = 1e-15` and `small = 1e-9` guards, and the brevity penalty
//! `exp(1 − 1/ratio)` applied per sentence and to the corpus totals.

use std::collections::HashMap;

use crate::radgraph::preprocess::python_split;

const N: usize = 4;
const TINY: f64 = 1e-15;
const SMALL: f64 = 1e-9;

/// Sufficient statistics of one hypothesis against its references (`cook_test`).
#[derive(Debug, Clone, PartialEq)]
pub struct BleuStats {
    pub test_len: usize,
    /// The reference length closest to `test_len` (ties: the shorter).
    pub ref_len: usize,
    pub guess: [usize; N],
    pub correct: [usize; N],
}

fn ngram_counts(words: &[String]) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for k in 1..=N {
        if words.len() < k {
            break;
        }
        for window in words.windows(k) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

impl BleuStats {
    /// Statistics of a tokenised hypothesis against tokenised references.
    pub fn new(hypothesis: &str, references: &[&str]) -> Self {
        let hyp = python_split(hypothesis);
        let refs: Vec<Vec<String>> = references.iter().map(|r| python_split(r)).collect();
        let mut max_counts: HashMap<&[String], usize> = HashMap::new();
        for r in &refs {
            for (ngram, count) in ngram_counts(r) {
                let slot = max_counts.entry(ngram).or_insert(0);
                *slot = (*slot).max(count);
            }
        }
        let test_len = hyp.len();
        // min((abs(l - testlen), l) for l in reflen)[1]
        let ref_len = refs
            .iter()
            .map(|r| r.len())
            .min_by_key(|&l| (l.abs_diff(test_len), l))
            .unwrap_or(0);
        let mut guess = [0; N];
        for (k, g) in guess.iter_mut().enumerate() {
            *g = (test_len + 1).saturating_sub(k + 1);
        }
        let mut correct = [0; N];
        for (ngram, count) in ngram_counts(&hyp) {
            correct[ngram.len() - 1] += count.min(max_counts.get(ngram).copied().unwrap_or(0));
        }
        BleuStats {
            test_len,
            ref_len,
            guess,
            correct,
        }
    }

    /// The per-sentence BLEU-1..4 pycocoevalcap reports for this image.
    pub fn sentence_bleu(&self) -> [f64; N] {
        bleu_from(
            self.test_len as f64,
            self.ref_len as f64,
            &self.guess,
            &self.correct,
        )
    }
}

fn bleu_from(test_len: f64, ref_len: f64, guess: &[usize; N], correct: &[usize; N]) -> [f64; N] {
    let mut out = [0.0; N];
    let mut bleu = 1.0f64;
    for k in 0..N {
        bleu *= (correct[k] as f64 + TINY) / (guess[k] as f64 + SMALL);
        out[k] = bleu.powf(1.0 / (k as f64 + 1.0));
    }
    let ratio = (test_len + TINY) / (ref_len + SMALL);
    if ratio < 1.0 {
        let penalty = (1.0 - 1.0 / ratio).exp();
        for v in &mut out {
            *v *= penalty;
        }
    }
    out
}

/// Corpus BLEU from summed statistics (`BleuScorer.compute_score`'s first return value).
#[derive(Debug, Clone, Default)]
pub struct CorpusBleu {
    test_len: usize,
    ref_len: usize,
    guess: [usize; N],
    correct: [usize; N],
}

impl CorpusBleu {
    /// Add one sentence's statistics.
    pub fn add(&mut self, stats: &BleuStats) {
        self.test_len += stats.test_len;
        self.ref_len += stats.ref_len;
        for k in 0..N {
            self.guess[k] += stats.guess[k];
            self.correct[k] += stats.correct[k];
        }
    }

    /// Corpus BLEU-1..4.
    pub fn score(&self) -> [f64; N] {
        bleu_from(
            self.test_len as f64,
            self.ref_len as f64,
            &self.guess,
            &self.correct,
        )
    }
}
