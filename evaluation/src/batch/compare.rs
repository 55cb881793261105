//! `raddraft eval --compare A.jsonl B.jsonl`: paired approximate-randomisation tests on the
//! per-report metrics two runs wrote, matched by id.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::output::{read_rows, ReportRow};
use crate::error::{EvalError, Result};
use crate::stats::{approximate_randomisation, Randomisation};

/// Per-report metrics the rows carry (CIDEr-D is corpus-level and not in the rows).
pub const COMPARED_METRICS: [&str; 6] = [
    "rg_e",
    "rg_er",
    "rg_er_bar",
    "radgraph_f1",
    "bleu4",
    "rougeL",
];

/// The comparison of two runs.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub paired_reports: usize,
    pub only_in_a: usize,
    pub only_in_b: usize,
    /// Metric → test; metrics missing (null) in either run are left out.
    pub metrics: BTreeMap<String, Randomisation>,
}

fn metric(row: &ReportRow, name: &str) -> Option<f64> {
    match name {
        "rg_e" => row.rg_e,
        "rg_er" => row.rg_er,
        "rg_er_bar" => row.rg_er_bar,
        "radgraph_f1" => row.radgraph_f1,
        "bleu4" => Some(row.bleu4),
        "rougeL" => Some(row.rouge_l),
        _ => None,
    }
}

/// Compare two `--out` files.
pub fn compare(a: &Path, b: &Path, trials: usize, seed: u64) -> Result<Comparison> {
    let rows_a = read_rows(a)?;
    let rows_b = read_rows(b)?;
    let by_id: HashMap<&str, &ReportRow> = rows_b.iter().map(|r| (r.id.as_str(), r)).collect();
    let paired: Vec<(&ReportRow, &ReportRow)> = rows_a
        .iter()
        .filter_map(|r| by_id.get(r.id.as_str()).map(|s| (r, *s)))
        .collect();
    if paired.is_empty() {
        return Err(EvalError::Invalid(format!(
            "{} and {} share no report id; compare outputs of the same pairs",
            a.display(),
            b.display()
        )));
    }
    let mut metrics = BTreeMap::new();
    for name in COMPARED_METRICS {
        let values: Option<Vec<(f64, f64)>> = paired
            .iter()
            .map(|(x, y)| Some((metric(x, name)?, metric(y, name)?)))
            .collect();
        if let Some(values) = values {
            let (va, vb): (Vec<f64>, Vec<f64>) = values.into_iter().unzip();
            if let Some(test) = approximate_randomisation(&va, &vb, trials, seed) {
                metrics.insert(name.to_owned(), test);
            }
        }
    }
    Ok(Comparison {
        paired_reports: paired.len(),
        only_in_a: rows_a.len() - paired.len(),
        only_in_b: rows_b.len() - paired.len(),
        metrics,
    })
}
