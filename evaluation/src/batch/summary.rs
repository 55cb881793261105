//! The run summary: means of the per-report metrics, corpus BLEU-4 and CIDEr-D, and bootstrap
//! confidence intervals computed on shared resamples of the pairs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::{resample_indices, summarise, Bootstrap};
use crate::text::{BleuStats, CiderD, CorpusBleu};

/// One metric of the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricSummary {
    /// On all pairs: the mean of per-report values, or the corpus-level score.
    pub value: f64,
    /// "mean" or "corpus".
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Bootstrap>,
}

/// Per-pair values the summary is computed from, in input order.
pub struct Columns {
    pub per_report: Vec<(&'static str, Vec<f64>)>,
    pub bleu_stats: Vec<BleuStats>,
    pub cider: CiderD,
}

/// Summarise; `resamples == 0` leaves out the bootstrap.
pub fn summarise_columns(
    columns: &Columns,
    resamples: usize,
    seed: u64,
) -> BTreeMap<String, MetricSummary> {
    let n = columns.bleu_stats.len();
    let mut out = BTreeMap::new();
    let draws = if resamples > 0 && n > 0 {
        resample_indices(n, resamples, seed)
    } else {
        Vec::new()
    };
    let boot = |statistic: &dyn Fn(&[usize]) -> Option<f64>| -> Option<Bootstrap> {
        if draws.is_empty() {
            return None;
        }
        summarise(draws.iter().filter_map(|d| statistic(d)).collect(), seed)
    };
    for (name, values) in &columns.per_report {
        if values.is_empty() {
            continue;
        }
        let mean =
            |idx: &[usize]| Some(idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64);
        let all: Vec<usize> = (0..values.len()).collect();
        out.insert(
            (*name).to_owned(),
            MetricSummary {
                value: mean(&all).unwrap_or(0.0),
                kind: "mean",
                bootstrap: boot(&mean),
            },
        );
    }
    if n > 0 {
        let corpus_bleu = |idx: &[usize]| {
            let mut corpus = CorpusBleu::default();
            for &i in idx {
                corpus.add(&columns.bleu_stats[i]);
            }
            Some(corpus.score()[3])
        };
        let all: Vec<usize> = (0..n).collect();
        out.insert(
            "bleu4_corpus".to_owned(),
            MetricSummary {
                value: corpus_bleu(&all).unwrap_or(0.0),
                kind: "corpus",
                bootstrap: boot(&corpus_bleu),
            },
        );
        let cider = |idx: &[usize]| {
            columns
                .cider
                .scores_for(idx)
                .map(|s| s.iter().sum::<f64>() / s.len() as f64)
        };
        if let Some(value) = cider(&all) {
            out.insert(
                "cider".to_owned(),
                MetricSummary {
                    value,
                    kind: "corpus",
                    bootstrap: boot(&cider),
                },
            );
        }
    }
    out
}
