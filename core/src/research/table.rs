//! The PaliGemma 2 paper's Table 8 layout (CIDEr, BLEU-4, ROUGE-L, RadGraph F1, in %) for a run,
//! with bootstrap intervals, beside the paper's published rows.

use raddraft_eval::batch::summary::MetricSummary;
use raddraft_eval::batch::Summary;
use serde::Serialize;

/// A row of Table 8 as published (arXiv:2412.03555v1): MIMIC-CXR test, FINDINGS + IMPRESSION
/// predicted from the INDICATION, values in %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedRow {
    pub model: &'static str,
    pub cider: f64,
    pub bleu4: f64,
    pub rouge_l: f64,
    pub radgraph_f1: f64,
}

/// Where the published rows come from, and what they are not.
pub const PUBLISHED_LABEL: &str = "published figures, not reproduced";
pub const PUBLISHED_SOURCE: &str = "PaliGemma 2 (arXiv:2412.03555v1), Table 8: MIMIC-CXR, Tanno et al. split, \
     prior-study mentions removed from references by an LLM; the paper does not name its RadGraph F1 variant";

/// Table 8 of the PaliGemma 2 paper.
pub const PAPER_TABLE_8: [PublishedRow; 4] = [
    PublishedRow {
        model: "Flamingo-CXR (Tanno et al. 2024)",
        cider: 13.8,
        bleu4: 10.1,
        rouge_l: 29.7,
        radgraph_f1: 20.5,
    },
    PublishedRow {
        model: "Med-Gemini-2D (Yang et al. 2024)",
        cider: 17.5,
        bleu4: 20.5,
        rouge_l: 28.3,
        radgraph_f1: 24.4,
    },
    PublishedRow {
        model: "PaliGemma 2 3B 896px²",
        cider: 19.9,
        bleu4: 14.6,
        rouge_l: 31.9,
        radgraph_f1: 28.8,
    },
    PublishedRow {
        model: "PaliGemma 2 10B 896px²",
        cider: 17.4,
        bleu4: 15.0,
        rouge_l: 32.4,
        radgraph_f1: 29.5,
    },
];

/// The summary keys behind Table 8's columns: CIDEr-D, corpus BLEU-4 (as pycocoevalcap reports
/// it), mean ROUGE-L, and `rg_er` (radgraph 0.1.18's `partial` reward, the variant most MIMIC-CXR
/// papers report as RadGraph F1).
pub const TABLE_8_COLUMNS: [(&str, &str); 4] = [
    ("CIDEr", "cider"),
    ("BLEU-4", "bleu4_corpus"),
    ("ROUGE-L", "rougeL"),
    ("RadGraph F1 (rg_er)", "rg_er"),
];

/// Every metric of a summary in a fixed order, with what it is.
pub const ALL_METRICS: [(&str, &str); 8] = [
    ("cider", "CIDEr-D (corpus)"),
    ("bleu4_corpus", "BLEU-4 (corpus)"),
    ("bleu4", "BLEU-4 (mean of per-report)"),
    ("rougeL", "ROUGE-L (mean)"),
    ("rg_e", "RadGraph F1 rg_e (simple)"),
    ("rg_er", "RadGraph F1 rg_er (partial)"),
    ("rg_er_bar", "RadGraph F1 rg_er_bar (complete)"),
    ("radgraph_f1", "RadGraph F1 (Yu et al.)"),
];

/// A value in % with its bootstrap 95 % interval: `19.9 [17.0, 22.1]`; `–` when absent.
pub fn percent_with_interval(metric: Option<&MetricSummary>) -> String {
    match metric {
        None => "–".to_owned(),
        Some(m) => match &m.bootstrap {
            Some(b) => format!(
                "{:.1} [{:.1}, {:.1}]",
                m.value * 100.0,
                b.ci95[0] * 100.0,
                b.ci95[1] * 100.0
            ),
            None => format!("{:.1}", m.value * 100.0),
        },
    }
}

/// Table 8 in Markdown: this run (with 95 % bootstrap intervals) and the published rows,
/// followed by every metric of the run.
pub fn table8_markdown(run_label: &str, summary: &Summary) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "MIMIC-CXR report generation, Table-8 layout (PaliGemma 2 paper). Values in %; this run's \
         intervals are bootstrap 95 % intervals ({}).\n\n",
        bootstrap_note(summary)
    ));
    out.push_str("| model |");
    for (title, _) in TABLE_8_COLUMNS {
        out.push_str(&format!(" {title} |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    out.push_str(&format!(
        "| {} (this run, n = {}) |",
        escape_cell(run_label),
        summary.pairs
    ));
    for (_, key) in TABLE_8_COLUMNS {
        out.push_str(&format!(
            " {} |",
            percent_with_interval(summary.metrics.get(key))
        ));
    }
    out.push('\n');
    for row in PAPER_TABLE_8 {
        out.push_str(&format!(
            "| {} ({PUBLISHED_LABEL}) | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            row.model, row.cider, row.bleu4, row.rouge_l, row.radgraph_f1
        ));
    }
    out.push_str(&format!("\nPublished rows: {PUBLISHED_SOURCE}.\n"));
    if summary.radgraph.status != "scored" {
        out.push_str(&format!("\n{}\n", summary.radgraph.detail));
    }
    out.push_str("\nAll metrics of this run:\n\n| metric | value % | bootstrap median % | 95 % interval % |\n|---|---|---|---|\n");
    for (key, title) in ALL_METRICS {
        let Some(metric) = summary.metrics.get(key) else {
            continue;
        };
        let (median, interval) = match &metric.bootstrap {
            Some(b) => (
                format!("{:.2}", b.median * 100.0),
                format!("[{:.2}, {:.2}]", b.ci95[0] * 100.0, b.ci95[1] * 100.0),
            ),
            None => ("–".into(), "–".into()),
        };
        out.push_str(&format!(
            "| {title} | {:.2} | {median} | {interval} |\n",
            metric.value * 100.0
        ));
    }
    out
}

/// "500 resamples, seed 0" or "no bootstrap".
pub fn bootstrap_note(summary: &Summary) -> String {
    summary
        .metrics
        .values()
        .find_map(|m| m.bootstrap.as_ref())
        .map(|b| format!("{} resamples, seed {}", b.resamples, b.seed))
        .unwrap_or_else(|| "no bootstrap".to_owned())
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|")
}
