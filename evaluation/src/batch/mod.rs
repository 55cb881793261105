//! Batch scoring of `{id, hypothesis, reference}` pairs: RadGraph F1 variants (when a model is
//! given), BLEU-4 and ROUGE-L per report, corpus BLEU-4 and CIDEr-D, bootstrap intervals.
//!
//! Resumable: with an output file, ids already written there are skipped and new rows are
//! appended, one flushed write per row, so an interrupted run loses at most the row being written.
//! Input is read and checked completely before anything is written.

pub mod compare;
pub mod input;
pub mod output;
pub mod summary;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{EvalError, Result};
use crate::f1::{self, CaseMode};
use crate::radgraph::{Annotation, Provenance, RadGraph, NEAR_TIE_MARGIN};
use crate::text::{bleu::BleuStats, rouge::rouge_l, CiderD, CoreNlpJar, PtbTokenizer};
use input::{read_pairs, Pair};
use output::{ReportRow, RowWriter};
use summary::{summarise_columns, Columns, MetricSummary};

/// How captions are tokenised for the text metrics.
#[derive(Debug, Clone)]
pub enum CaptionTokenizer {
    /// The Rust port of CoreNLP 3.4.1's PTBLexer (no java needed).
    Port,
    /// The real `stanford-corenlp-3.4.1.jar`, run as pycocoevalcap runs it.
    CoreNlp(CoreNlpJar),
}

/// Options of [`score`].
pub struct BatchOptions<'a> {
    /// `None`: RadGraph is skipped and its fields are `null`.
    pub radgraph: Option<&'a RadGraph>,
    pub case: CaseMode,
    pub tokenizer: CaptionTokenizer,
    /// Per-report JSONL output (resumable).
    pub out: Option<PathBuf>,
    /// Bootstrap resamples (0: none).
    pub bootstrap: usize,
    pub seed: u64,
    /// Show a progress bar on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
}

/// Whether and how RadGraph was scored; always part of the output.
#[derive(Debug, Clone, Serialize)]
pub struct RadGraphStatus {
    /// "scored" or "skipped".
    pub status: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Provenance>,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub pairs: usize,
    pub scored_now: usize,
    pub resumed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    pub radgraph: RadGraphStatus,
    pub text_metrics: String,
    pub metrics: BTreeMap<String, MetricSummary>,
    pub notes: Vec<String>,
}

/// Pairs per RadGraph call (their reports share encoder batches).
const CHUNK: usize = 16;
const GRAPH_CACHE_LIMIT: usize = 20_000;

/// Score the pairs in `pairs_path`.
pub fn score(pairs_path: &Path, options: &BatchOptions) -> Result<Summary> {
    let pairs = read_pairs(pairs_path)?;
    let mut notes = Vec::new();
    let (hyp_tokens, ref_tokens) = tokenize_all(&pairs, &options.tokenizer)?;

    let mut done: HashMap<String, ReportRow> = HashMap::new();
    let mut writer = None;
    if let Some(out) = &options.out {
        let (w, resumed) = RowWriter::open(out)?;
        if let Some(bytes) = resumed.dropped_partial_line {
            notes.push(format!(
                "{}: dropped an incomplete last line ({bytes} bytes) left by an interrupted run",
                out.display()
            ));
        }
        let wanted: std::collections::HashSet<&str> = pairs.iter().map(|p| p.id.as_str()).collect();
        let mut foreign = 0;
        for row in resumed.rows {
            if !wanted.contains(row.id.as_str()) {
                foreign += 1;
                continue;
            }
            if row.rg_e.is_some() != options.radgraph.is_some() {
                return Err(EvalError::invalid_file(
                    out,
                    format!(
                        "row {:?} was written {} RadGraph, this run is {} it; use another --out file",
                        row.id,
                        if row.rg_e.is_some() { "with" } else { "without" },
                        if options.radgraph.is_some() { "with" } else { "without" }
                    ),
                ));
            }
            done.insert(row.id.clone(), row);
        }
        if foreign > 0 {
            notes.push(format!(
                "{}: {foreign} rows have ids not in the pairs file; ignored",
                out.display()
            ));
        }
        writer = Some(w);
    }
    let resumed = done.len();

    let todo: Vec<usize> = (0..pairs.len())
        .filter(|&i| !done.contains_key(&pairs[i].id))
        .collect();
    let bar = progress_bar(todo.len(), options.progress);
    let mut cache: HashMap<String, Annotation> = HashMap::new();
    for chunk in todo.chunks(CHUNK) {
        if let Some(model) = options.radgraph {
            annotate_chunk(model, chunk.iter().map(|&i| &pairs[i]), &mut cache)?;
        }
        for &i in chunk {
            let row = score_pair(&pairs[i], &hyp_tokens[i], &ref_tokens[i], options, &cache);
            if let Some(w) = writer.as_mut() {
                w.write(&row)?;
            }
            done.insert(row.id.clone(), row);
            bar.inc(1);
        }
        if cache.len() > GRAPH_CACHE_LIMIT {
            cache.clear();
        }
    }
    bar.finish_and_clear();

    let rows: Vec<&ReportRow> = pairs.iter().map(|p| &done[&p.id]).collect();
    let mut per_report: Vec<(&'static str, Vec<f64>)> = Vec::new();
    if options.radgraph.is_some() {
        per_report.push(("rg_e", rows.iter().filter_map(|r| r.rg_e).collect()));
        per_report.push(("rg_er", rows.iter().filter_map(|r| r.rg_er).collect()));
        per_report.push((
            "rg_er_bar",
            rows.iter().filter_map(|r| r.rg_er_bar).collect(),
        ));
        per_report.push((
            "radgraph_f1",
            rows.iter().filter_map(|r| r.radgraph_f1).collect(),
        ));
    }
    per_report.push(("bleu4", rows.iter().map(|r| r.bleu4).collect()));
    per_report.push(("rougeL", rows.iter().map(|r| r.rouge_l).collect()));
    let mut cider = CiderD::default();
    let mut bleu_stats = Vec::with_capacity(pairs.len());
    for i in 0..pairs.len() {
        cider.add(&hyp_tokens[i], &[&ref_tokens[i]]);
        bleu_stats.push(BleuStats::new(&hyp_tokens[i], &[&ref_tokens[i]]));
    }
    let columns = Columns {
        per_report,
        bleu_stats,
        cider,
    };
    let metrics = summarise_columns(&columns, options.bootstrap, options.seed);
    let near_ties: Vec<&str> = rows
        .iter()
        .filter(|r| {
            r.rg_min_margin
                .is_some_and(|m| m < f64::from(NEAR_TIE_MARGIN))
        })
        .map(|r| r.id.as_str())
        .collect();
    if !near_ties.is_empty() {
        notes.push(format!(
            "{} pair(s) have a RadGraph decision within {NEAR_TIE_MARGIN:e} of going the other way \
             (rg_min_margin), where another implementation may produce a different graph: {}{}",
            near_ties.len(),
            near_ties[..near_ties.len().min(10)].join(", "),
            if near_ties.len() > 10 { ", …" } else { "" }
        ));
    }
    if !pairs.is_empty() && !metrics.contains_key("cider") {
        notes
            .push("CIDEr-D undefined: no reference has any word (pycocoevalcap fails here)".into());
    }
    Ok(Summary {
        pairs: pairs.len(),
        scored_now: todo.len(),
        resumed,
        out: options.out.clone(),
        radgraph: radgraph_status(options),
        text_metrics: text_metrics_description(&options.tokenizer),
        metrics,
        notes,
    })
}

fn radgraph_status(options: &BatchOptions) -> RadGraphStatus {
    match options.radgraph {
        Some(model) => RadGraphStatus {
            status: "scored",
            detail: format!(
                "rg_e/rg_er/rg_er_bar: Delbrouck et al. as radgraph 0.1.18 F1RadGraph ({}); radgraph_f1: \
                 Yu et al. (CXR-Report-Metric) mean of entity and relation F1, here with the {} model",
                match options.case {
                    CaseMode::Package0118 => "case-sensitive except rg_er_bar relations",
                    CaseMode::Lowercase => "--lowercase: entity tokens lower-cased, upstream master 87f11a1",
                },
                model.model_type()
            ),
            model: Some(model.provenance().clone()),
        },
        None => RadGraphStatus {
            status: "skipped",
            detail: "RadGraph was skipped (no --radgraph-model given): rg_e, rg_er, rg_er_bar, radgraph_f1, \
                     hyp_graph and ref_graph are null"
                .into(),
            model: None,
        },
    }
}

fn text_metrics_description(tokenizer: &CaptionTokenizer) -> String {
    let tokenizer = match tokenizer {
        CaptionTokenizer::Port => "raddraft's port of the CoreNLP 3.4.1 PTBTokenizer".to_owned(),
        CaptionTokenizer::CoreNlp(jar) => {
            format!("CoreNLP PTBTokenizer from {}", jar.jar.display())
        }
    };
    format!(
        "BLEU-4 (per report and corpus), ROUGE-L, CIDEr-D (corpus) as pycocoevalcap 1.2; captions tokenised by {tokenizer}"
    )
}

fn tokenize_all(
    pairs: &[Pair],
    tokenizer: &CaptionTokenizer,
) -> Result<(Vec<String>, Vec<String>)> {
    match tokenizer {
        CaptionTokenizer::Port => {
            let mut ptb = PtbTokenizer::new();
            let hyps = pairs
                .iter()
                .map(|p| ptb.tokenize_caption(&p.hypothesis))
                .collect();
            let refs = pairs
                .iter()
                .map(|p| ptb.tokenize_caption(&p.reference))
                .collect();
            Ok((hyps, refs))
        }
        CaptionTokenizer::CoreNlp(jar) => {
            let hyps: Vec<String> = pairs.iter().map(|p| p.hypothesis.clone()).collect();
            let refs: Vec<String> = pairs.iter().map(|p| p.reference.clone()).collect();
            Ok((jar.tokenize_captions(&hyps)?, jar.tokenize_captions(&refs)?))
        }
    }
}

/// Annotate the non-empty reports of these pairs that are not cached yet, in one batch.
fn annotate_chunk<'p>(
    model: &RadGraph,
    pairs: impl Iterator<Item = &'p Pair>,
    cache: &mut HashMap<String, Annotation>,
) -> Result<()> {
    let mut texts: Vec<&str> = Vec::new();
    for pair in pairs {
        for text in [pair.hypothesis.as_str(), pair.reference.as_str()] {
            if !text.is_empty() && !cache.contains_key(text) && !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    for (text, annotation) in texts.iter().zip(model.annotate_with_margins(&texts)?) {
        cache.insert((*text).to_owned(), annotation);
    }
    Ok(())
}

fn score_pair(
    pair: &Pair,
    hyp_tokens: &str,
    ref_tokens: &str,
    options: &BatchOptions,
    cache: &HashMap<String, Annotation>,
) -> ReportRow {
    // Without a model the cache stays empty; empty reports are never annotated.
    let annotation = |text: &str| cache.get(text);
    let (hyp, reference) = (annotation(&pair.hypothesis), annotation(&pair.reference));
    let (hyp_graph, ref_graph) = (
        hyp.map(|a| a.graph.clone()),
        reference.map(|a| a.graph.clone()),
    );
    let rg_min_margin = [hyp, reference]
        .into_iter()
        .flatten()
        .map(|a| f64::from(a.decision_margin))
        .filter(|m| m.is_finite())
        .reduce(f64::min);
    let (delbrouck, yu) = match options.radgraph {
        Some(_) => (
            Some(f1::delbrouck(
                hyp_graph.as_ref(),
                ref_graph.as_ref(),
                options.case,
            )),
            Some(f1::yu(hyp_graph.as_ref(), ref_graph.as_ref())),
        ),
        None => (None, None),
    };
    ReportRow {
        id: pair.id.clone(),
        rg_e: delbrouck.map(|d| d.rg_e),
        rg_er: delbrouck.map(|d| d.rg_er),
        rg_er_bar: delbrouck.map(|d| d.rg_er_bar),
        radgraph_f1: yu.map(|y| y.radgraph_f1),
        bleu4: BleuStats::new(hyp_tokens, &[ref_tokens]).sentence_bleu()[3],
        rouge_l: rouge_l(hyp_tokens, &[ref_tokens]),
        hyp_graph,
        ref_graph,
        rg_min_margin,
    }
}

fn progress_bar(len: usize, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pairs  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}
