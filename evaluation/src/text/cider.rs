//! CIDEr-D as pycocoevalcap's `CiderScorer` (the coco-caption CIDEr-D): TF-IDF n-gram vectors
//! (n = 1..4) with document frequencies over the references of the whole corpus, clipped cosine
//! similarity, the Gaussian length penalty with σ = 6, the mean over n, ×10, averaged over
//! references. Corpus-level: the score of a pair depends on every reference of the corpus.
//!
//! Reproduced quirk: the "length" of a caption in the penalty is its number of bigrams (the
//! scorer counts term frequencies only when `n == 1`, the bigram index).
//!
//! N-grams are interned once, so bootstrap resamples only recount document frequencies.

use std::collections::HashMap;

use crate::radgraph::preprocess::python_split;

const N: usize = 4;
const SIGMA: f64 = 6.0;

/// One caption's n-grams: `(interned id, n − 1, term frequency)` in first-occurrence order (the
/// scorer iterates a dict), and its bigram count.
#[derive(Debug, Clone, Default)]
struct Counts {
    ngrams: Vec<(usize, usize, f64)>,
    bigrams: f64,
}

/// A corpus of (hypothesis, references) captions, already tokenised.
#[derive(Debug, Clone, Default)]
pub struct CiderD {
    ids: HashMap<Vec<String>, usize>,
    tests: Vec<Counts>,
    refs: Vec<Vec<Counts>>,
}

impl CiderD {
    fn precook(&mut self, caption: &str) -> Counts {
        let words = python_split(caption);
        let mut position: HashMap<usize, usize> = HashMap::new();
        let mut counts = Counts::default();
        for k in 1..=N {
            if words.len() < k {
                break;
            }
            for window in words.windows(k) {
                let next = self.ids.len();
                let id = *self.ids.entry(window.to_vec()).or_insert(next);
                match position.get(&id) {
                    Some(&i) => counts.ngrams[i].2 += 1.0,
                    None => {
                        position.insert(id, counts.ngrams.len());
                        counts.ngrams.push((id, k - 1, 1.0));
                    }
                }
                if k == 2 {
                    counts.bigrams += 1.0;
                }
            }
        }
        counts
    }

    /// Add one image: a hypothesis and its references.
    pub fn add(&mut self, hypothesis: &str, references: &[&str]) {
        let test = self.precook(hypothesis);
        let refs = references.iter().map(|r| self.precook(r)).collect();
        self.tests.push(test);
        self.refs.push(refs);
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.tests.len()
    }

    /// Whether no image was added.
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// Per-image CIDEr-D for the images at `indices` (a bootstrap resample may repeat images; the
    /// document frequencies are those of that resample). `None` where pycocoevalcap would fail:
    /// no reference n-gram in the whole corpus.
    pub fn scores_for(&self, indices: &[usize]) -> Option<Vec<f64>> {
        let mut document_frequency = vec![0f64; self.ids.len()];
        let mut seen_in = vec![usize::MAX; self.ids.len()];
        let mut any = false;
        for (draw, &i) in indices.iter().enumerate() {
            for reference in &self.refs[i] {
                for &(id, _, _) in &reference.ngrams {
                    // Once per image, however many of its references contain the n-gram.
                    if seen_in[id] != draw {
                        seen_in[id] = draw;
                        document_frequency[id] += 1.0;
                        any = true;
                    }
                }
            }
        }
        if !any {
            return None;
        }
        let ref_len = (indices.len() as f64).ln();
        // TF-IDF weight of each n-gram of a caption, in its `ngrams` order, and the norms per n.
        let weights = |counts: &Counts| -> (Vec<f64>, [f64; N]) {
            let mut norm = [0.0; N];
            let weights = counts
                .ngrams
                .iter()
                .map(|&(id, n, term_frequency)| {
                    let df = document_frequency[id].max(1.0).ln();
                    let value = term_frequency * (ref_len - df);
                    norm[n] += value.powi(2);
                    value
                })
                .collect();
            (weights, norm.map(f64::sqrt))
        };
        // A reference's weights by n-gram id while its hypothesis is scored (NaN: absent).
        let mut reference_weight = vec![f64::NAN; self.ids.len()];
        let mut scores = Vec::with_capacity(indices.len());
        for &i in indices {
            let test = &self.tests[i];
            let (hyp, hyp_norm) = weights(test);
            let mut score = [0.0f64; N];
            for reference in &self.refs[i] {
                let (r, r_norm) = weights(reference);
                for (&(id, _, _), &w) in reference.ngrams.iter().zip(&r) {
                    reference_weight[id] = w;
                }
                let delta = test.bigrams - reference.bigrams;
                let mut value = [0.0f64; N];
                for (&(id, n, _), &h) in test.ngrams.iter().zip(&hyp) {
                    let rv = reference_weight[id];
                    let rv = if rv.is_nan() { 0.0 } else { rv };
                    value[n] += h.min(rv) * rv;
                }
                for &(id, _, _) in &reference.ngrams {
                    reference_weight[id] = f64::NAN;
                }
                for (n, total) in score.iter_mut().enumerate() {
                    let mut v = value[n];
                    if hyp_norm[n] != 0.0 && r_norm[n] != 0.0 {
                        v /= hyp_norm[n] * r_norm[n];
                    }
                    v *= std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
                    *total += v;
                }
            }
            let mut average = score.iter().sum::<f64>() / N as f64;
            average /= self.refs[i].len() as f64;
            average *= 10.0;
            scores.push(average);
        }
        Some(scores)
    }

    /// Corpus CIDEr-D (mean of the per-image scores) and the per-image scores.
    pub fn compute(&self) -> Option<(f64, Vec<f64>)> {
        let all: Vec<usize> = (0..self.len()).collect();
        let scores = self.scores_for(&all)?;
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        Some((mean, scores))
    }
}
