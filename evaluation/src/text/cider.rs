//! CIDEr-D as pycocoevalcap's `CiderScorer` (the coco-caption CIDEr-D): TF-IDF n-gram vectors
//! (n = 1..4) with document frequencies over the references of the whole corpus, clipped cosine
//! similarity, the Gaussian length penalty with σ = 6, the mean over n, ×10, averaged over
//! references. Corpus-level: the score of a pair depends on every reference of the corpus.
//!
//! Reproduced quirk: the "length" of a caption in the penalty is its number of bigrams (the
//! scorer counts term frequencies only when `n == 1`, the bigram index).

use std::collections::HashMap;

use crate::radgraph::preprocess::python_split;

const N: usize = 4;
const SIGMA: f64 = 6.0;

/// N-gram counts of one caption, in first-occurrence order (the scorer iterates a dict).
#[derive(Debug, Clone, Default)]
struct Counts {
    ngrams: Vec<(Vec<String>, f64)>,
}

fn precook(caption: &str) -> Counts {
    let words = python_split(caption);
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut ngrams: Vec<(Vec<String>, f64)> = Vec::new();
    for k in 1..=N {
        if words.len() < k {
            break;
        }
        for window in words.windows(k) {
            match index.get(window) {
                Some(&i) => ngrams[i].1 += 1.0,
                None => {
                    index.insert(window.to_vec(), ngrams.len());
                    ngrams.push((window.to_vec(), 1.0));
                }
            }
        }
    }
    Counts { ngrams }
}

/// A corpus of (hypothesis, references) captions, already tokenised.
#[derive(Debug, Clone, Default)]
pub struct CiderD {
    tests: Vec<Counts>,
    refs: Vec<Vec<Counts>>,
}

struct Vector {
    weights: [HashMap<Vec<String>, f64>; N],
    order: [Vec<Vec<String>>; N],
    norm: [f64; N],
    length: f64,
}

impl CiderD {
    /// Add one image: a hypothesis and its references.
    pub fn add(&mut self, hypothesis: &str, references: &[&str]) {
        self.tests.push(precook(hypothesis));
        self.refs
            .push(references.iter().map(|r| precook(r)).collect());
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
        let mut document_frequency: HashMap<&[String], f64> = HashMap::new();
        for &i in indices {
            let mut seen: std::collections::HashSet<&[String]> = std::collections::HashSet::new();
            for r in &self.refs[i] {
                for (ngram, _) in &r.ngrams {
                    seen.insert(ngram.as_slice());
                }
            }
            for ngram in seen {
                *document_frequency.entry(ngram).or_insert(0.0) += 1.0;
            }
        }
        if document_frequency.is_empty() {
            return None;
        }
        let ref_len = (indices.len() as f64).ln();
        let vector = |counts: &Counts| -> Vector {
            let mut weights: [HashMap<Vec<String>, f64>; N] = Default::default();
            let mut order: [Vec<Vec<String>>; N] = Default::default();
            let mut norm = [0.0; N];
            let mut length = 0.0;
            for (ngram, term_frequency) in &counts.ngrams {
                let df = document_frequency
                    .get(ngram.as_slice())
                    .copied()
                    .unwrap_or(0.0)
                    .max(1.0)
                    .ln();
                let n = ngram.len() - 1;
                let value = term_frequency * (ref_len - df);
                weights[n].insert(ngram.clone(), value);
                order[n].push(ngram.clone());
                norm[n] += value.powi(2);
                if n == 1 {
                    length += term_frequency;
                }
            }
            for v in &mut norm {
                *v = v.sqrt();
            }
            Vector {
                weights,
                order,
                norm,
                length,
            }
        };
        let mut scores = Vec::with_capacity(indices.len());
        for &i in indices {
            let hyp = vector(&self.tests[i]);
            let mut score = [0.0f64; N];
            for reference in &self.refs[i] {
                let r = vector(reference);
                let delta = hyp.length - r.length;
                for (n, total) in score.iter_mut().enumerate() {
                    let mut value = 0.0;
                    for ngram in &hyp.order[n] {
                        let h = hyp.weights[n][ngram];
                        let rv = r.weights[n].get(ngram).copied().unwrap_or(0.0);
                        value += h.min(rv) * rv;
                    }
                    if hyp.norm[n] != 0.0 && r.norm[n] != 0.0 {
                        value /= hyp.norm[n] * r.norm[n];
                    }
                    value *= std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
                    *total += value;
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
