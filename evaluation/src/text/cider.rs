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

/// TF-IDF weights of one caption per n, with their norms.
struct Vector {
    weights: [HashMap<usize, f64>; N],
    norm: [f64; N],
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
        let vector = |counts: &Counts| -> Vector {
            let mut weights: [HashMap<usize, f64>; N] = Default::default();
            let mut norm = [0.0; N];
            for &(id, n, term_frequency) in &counts.ngrams {
                let df = document_frequency[id].max(1.0).ln();
                let value = term_frequency * (ref_len - df);
                weights[n].insert(id, value);
                norm[n] += value.powi(2);
            }
            for v in &mut norm {
                *v = v.sqrt();
            }
            Vector { weights, norm }
        };
        let mut scores = Vec::with_capacity(indices.len());
        for &i in indices {
            let test = &self.tests[i];
            let hyp = vector(test);
            let mut score = [0.0f64; N];
            for reference in &self.refs[i] {
                let r = vector(reference);
                let delta = test.bigrams - reference.bigrams;
                let mut value = [0.0f64; N];
                for &(id, n, _) in &test.ngrams {
                    let h = hyp.weights[n][&id];
                    let rv = r.weights[n].get(&id).copied().unwrap_or(0.0);
                    value[n] += h.min(rv) * rv;
                }
                for (n, total) in score.iter_mut().enumerate() {
                    let mut v = value[n];
                    if hyp.norm[n] != 0.0 && r.norm[n] != 0.0 {
                        v /= hyp.norm[n] * r.norm[n];
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
