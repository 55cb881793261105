//! The self-contained HTML results page of `raddraft score`: Table 8 with published reference
//! rows, score distributions, scores by report length and by view position, and the worst and
//! best drafts beside their references with RadGraph entities coloured. No scripts, fonts,
//! images or links to anything outside the file; charts are inline SVG.

use std::collections::HashMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use raddraft_eval::batch::output::ReportRow;
use raddraft_eval::batch::Summary;
use raddraft_eval::radgraph::Graph;

use crate::research::manifest::Manifest;
use crate::research::plots::{bar_chart, histogram, Bar};
use crate::research::scoring::{FailedDraft, ScoringPair};
use crate::research::table::{
    percent_with_interval, ALL_METRICS, PAPER_TABLE_8, PUBLISHED_LABEL, PUBLISHED_SOURCE,
    TABLE_8_COLUMNS,
};

/// What the page shows.
pub struct ResultsPage<'a> {
    /// The model (and anything else that names the run).
    pub run_label: &'a str,
    pub summary: &'a Summary,
    /// Per-report scores, as `raddraft eval --out` writes them.
    pub scores: &'a [ReportRow],
    pub pairs: &'a [ScoringPair],
    pub manifest: &'a Manifest,
    pub failed_drafts: &'a [FailedDraft],
    pub without_reference: &'a [String],
    /// How many worst and how many best examples to show.
    pub examples: usize,
}

/// Reads one per-report metric from a row.
type MetricGetter = fn(&ReportRow) -> Option<f64>;

/// Per-report metrics, in display order, with how to read them from a row.
const PER_REPORT: [(&str, MetricGetter); 6] = [
    ("rg_er", |r| r.rg_er),
    ("rg_e", |r| r.rg_e),
    ("rg_er_bar", |r| r.rg_er_bar),
    ("radgraph_f1", |r| r.radgraph_f1),
    ("bleu4", |r| Some(r.bleu4)),
    ("rougeL", |r| Some(r.rouge_l)),
];

const HISTOGRAM_BINS: usize = 10;
const LENGTH_GROUPS: usize = 5;
const LISTED_IDS: usize = 50;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1100px; color: #1d232a; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #ccd; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #eef1f5; } tr.published td { color: #555; font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 0.75rem; }
.chart { background: #fafbfc; border: 1px solid #dde; }
.chart-title { font-size: 12px; font-weight: 600; fill: #1d232a; } .tick { font-size: 10px; fill: #444; } .note { font-size: 9px; fill: #333; }
.axis { stroke: #666; stroke-width: 1; } .bar { fill: #4a78b5; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0.75rem; border: 1px solid #dde; padding: 0.5rem; margin: 0.5rem 0; }
.pair h4 { margin: 0 0 0.25rem 0; font-size: 0.9rem; } .pair p { margin: 0; line-height: 1.6; }
.meta { grid-column: 1 / 3; font-size: 0.85rem; color: #444; }
.ent { border-radius: 3px; padding: 0 2px; } .legend span { margin-right: 0.75rem; }
.ent-ANAT-DP { background: #cfe3ff; } .ent-OBS-DP { background: #c9f2c7; } .ent-OBS-U { background: #ffe8a8; }
.ent-OBS-DA { background: #ffc9c9; } .ent-other { background: #e4d4f7; }
.warning { background: #fff4d6; border: 1px solid #e6c667; padding: 0.5rem; }
";

/// Renders the page.
pub fn render_html(page: &ResultsPage) -> String {
    let summary = page.summary;
    let rows_by_id: HashMap<&str, &ReportRow> =
        page.scores.iter().map(|r| (r.id.as_str(), r)).collect();
    let present: Vec<(&str, MetricGetter)> = PER_REPORT
        .iter()
        .copied()
        .filter(|(_, get)| page.scores.iter().any(|r| get(r).is_some()))
        .collect();
    let primary = present.first().copied();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { "raddraft results: " (page.run_label) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Report generation results: " (page.run_label) }
                (overview(page))
                h2 { "Table 8 layout" }
                (table8(summary))
                h2 { "All metrics" }
                (all_metrics(summary))
                h2 { "Score distributions" }
                p { "Per-report scores; CIDEr-D and corpus BLEU-4 are corpus-level and have no per-report value." }
                div class="charts" {
                    @for (name, get) in &present {
                        @let values: Vec<f64> = page.scores.iter().filter_map(get).collect();
                        (histogram(name, &values, HISTOGRAM_BINS))
                    }
                }
                @if let Some((primary_name, primary_get)) = primary {
                    h2 { "Score by report length" }
                    p { "Reference length in words, in groups of about equal size; bars show mean " (primary_name) "." }
                    (by_group(&rows_by_id, &present, primary_name, primary_get, &length_groups(page.pairs)))
                    h2 { "Score by view position" }
                    p { "View position of the drafted image, from the manifest; bars show mean " (primary_name) "." }
                    (by_group(&rows_by_id, &present, primary_name, primary_get, &view_groups(page)))
                    h2 { "Worst and best drafts by " (primary_name) }
                    (legend())
                    (examples(page, &rows_by_id, primary_name, primary_get))
                }
                @if !page.failed_drafts.is_empty() {
                    h2 { "Failed drafts" }
                    table {
                        tr { th { "id" } th { "error" } }
                        @for failure in page.failed_drafts {
                            tr { td { (failure.id) } td { (failure.error) } }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn overview(page: &ResultsPage) -> Markup {
    let summary = page.summary;
    html! {
        p {
            (summary.pairs) " scored pairs from " (page.manifest.items.len()) " manifest studies. "
            (summary.text_metrics) "."
        }
        p { "RadGraph: " (summary.radgraph.detail) }
        @if !page.failed_drafts.is_empty() || !page.without_reference.is_empty() {
            p class="warning" {
                @if !page.failed_drafts.is_empty() {
                    (page.failed_drafts.len()) " draft(s) failed and are not scored (listed at the end). "
                }
                @if !page.without_reference.is_empty() {
                    (page.without_reference.len()) " study(ies) have no reference and are not scored: "
                    (listed(page.without_reference))
                }
            }
        }
        @for note in &summary.notes {
            p class="warning" { (note) }
        }
    }
}

/// Ids joined by commas, the first [`LISTED_IDS`] of them.
fn listed(ids: &[String]) -> String {
    let shown = ids
        .iter()
        .take(LISTED_IDS)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match ids.len().checked_sub(LISTED_IDS) {
        Some(rest) if rest > 0 => format!("{shown} and {rest} more (see summary.json)"),
        _ => shown,
    }
}

fn table8(summary: &Summary) -> Markup {
    html! {
        table {
            tr {
                th { "model" }
                @for (title, _) in TABLE_8_COLUMNS { th { (title) " %" } }
            }
            tr {
                td { "this run (n = " (summary.pairs) ")" }
                @for (_, key) in TABLE_8_COLUMNS {
                    td { (percent_with_interval(summary.metrics.get(key))) }
                }
            }
            @for row in PAPER_TABLE_8 {
                tr class="published" {
                    td { (row.model) " (" (PUBLISHED_LABEL) ")" }
                    td { (format!("{:.1}", row.cider)) }
                    td { (format!("{:.1}", row.bleu4)) }
                    td { (format!("{:.1}", row.rouge_l)) }
                    td { (format!("{:.1}", row.radgraph_f1)) }
                }
            }
        }
        p { "This run: value [bootstrap 95 % interval]. Published rows: " (PUBLISHED_SOURCE) "." }
    }
}

fn all_metrics(summary: &Summary) -> Markup {
    html! {
        table {
            tr { th { "metric" } th { "value %" } th { "bootstrap median %" } th { "95 % interval %" } }
            @for (key, title) in ALL_METRICS {
                @if let Some(metric) = summary.metrics.get(key) {
                    tr {
                        td { (title) }
                        td { (format!("{:.2}", metric.value * 100.0)) }
                        @match &metric.bootstrap {
                            Some(b) => {
                                td { (format!("{:.2}", b.median * 100.0)) }
                                td { (format!("[{:.2}, {:.2}]", b.ci95[0] * 100.0, b.ci95[1] * 100.0)) }
                            }
                            None => { td { "–" } td { "–" } }
                        }
                    }
                }
            }
        }
    }
}

/// Ids grouped under labels, in display order.
type Groups = Vec<(String, Vec<String>)>;

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Pairs in up to [`LENGTH_GROUPS`] groups of about equal size by reference length.
fn length_groups(pairs: &[ScoringPair]) -> Groups {
    let mut by_length: Vec<(usize, &str)> = pairs
        .iter()
        .map(|p| (word_count(&p.reference), p.id.as_str()))
        .collect();
    by_length.sort();
    let groups = LENGTH_GROUPS.min(by_length.len()).max(1);
    let mut out: Groups = Vec::new();
    for chunk_index in 0..groups {
        let start = chunk_index * by_length.len() / groups;
        let end = (chunk_index + 1) * by_length.len() / groups;
        let chunk = &by_length[start..end];
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let label = format!("{}–{} words", first.0, last.0);
        let ids = chunk.iter().map(|(_, id)| (*id).to_owned()).collect();
        match out.last_mut() {
            // Equal lengths at a boundary would give two groups the same label; join them.
            Some((previous, previous_ids)) if *previous == label => {
                previous_ids.extend::<Vec<String>>(ids)
            }
            _ => out.push((label, ids)),
        }
    }
    out
}

fn view_groups(page: &ResultsPage) -> Groups {
    let items = page.manifest.by_id();
    let mut groups: Groups = Vec::new();
    for pair in page.pairs {
        let view = items
            .get(pair.id.as_str())
            .and_then(|item| item.view_position.clone())
            .map(|v| v.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "unknown".to_owned());
        match groups.iter_mut().find(|(label, _)| *label == view) {
            Some((_, ids)) => ids.push(pair.id.clone()),
            None => groups.push((view, vec![pair.id.clone()])),
        }
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    groups
}

fn mean_of(ids: &[String], rows: &HashMap<&str, &ReportRow>, get: MetricGetter) -> Option<f64> {
    let values: Vec<f64> = ids
        .iter()
        .filter_map(|id| rows.get(id.as_str()))
        .filter_map(|row| get(row))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn by_group(
    rows: &HashMap<&str, &ReportRow>,
    present: &[(&str, MetricGetter)],
    primary_name: &str,
    primary_get: MetricGetter,
    groups: &Groups,
) -> Markup {
    let bars: Vec<Bar> = groups
        .iter()
        .map(|(label, ids)| Bar {
            label: label.clone(),
            value: mean_of(ids, rows, primary_get).unwrap_or(0.0),
            note: format!("n={}", ids.len()),
        })
        .collect();
    html! {
        div class="charts" {
            (bar_chart(&format!("mean {primary_name}"), &bars, 1.0, primary_name))
            table {
                tr {
                    th { "group" } th { "n" }
                    @for (name, _) in present { th { (name) } }
                }
                @for (label, ids) in groups {
                    tr {
                        td { (label) } td { (ids.len()) }
                        @for (_, get) in present {
                            td { (mean_of(ids, rows, *get).map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())) }
                        }
                    }
                }
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        p class="legend" {
            "RadGraph entities: "
            span class="ent ent-ANAT-DP" { "ANAT-DP anatomy" }
            span class="ent ent-OBS-DP" { "OBS-DP observation present" }
            span class="ent ent-OBS-U" { "OBS-U uncertain" }
            span class="ent ent-OBS-DA" { "OBS-DA absent" }
            span class="ent ent-other" { "other label" }
        }
    }
}

fn examples(
    page: &ResultsPage,
    rows: &HashMap<&str, &ReportRow>,
    primary_name: &str,
    primary_get: MetricGetter,
) -> Markup {
    let mut ranked: Vec<(&ScoringPair, &ReportRow, f64)> = page
        .pairs
        .iter()
        .filter_map(|pair| {
            let row = rows.get(pair.id.as_str())?;
            Some((pair, *row, primary_get(row)?))
        })
        .collect();
    ranked.sort_by(|a, b| a.2.total_cmp(&b.2).then_with(|| a.0.id.cmp(&b.0.id)));
    // Worst and best never show the same draft: with few drafts each side gets half.
    let worst_count = page.examples.min(ranked.len().div_ceil(2));
    let best_count = page.examples.min(ranked.len() - worst_count);
    let worst = &ranked[..worst_count];
    let best: Vec<_> = ranked[ranked.len() - best_count..].iter().rev().collect();
    let items = page.manifest.by_id();
    let view = |id: &str| {
        items
            .get(id)
            .and_then(|item| item.view_position.clone())
            .unwrap_or_else(|| "unknown view".into())
    };
    html! {
        h3 { "Worst " (worst_count) }
        @for (pair, row, score) in worst {
            (example(pair, row, primary_name, *score, &view(&pair.id)))
        }
        h3 { "Best " (best_count) }
        @for (pair, row, score) in best {
            (example(pair, row, primary_name, *score, &view(&pair.id)))
        }
    }
}

fn example(
    pair: &ScoringPair,
    row: &ReportRow,
    primary_name: &str,
    score: f64,
    view: &str,
) -> Markup {
    html! {
        div class="pair" {
            div class="meta" {
                strong { (pair.id) } " · " (view) " · " (primary_name) " " (format!("{score:.3}"))
                " · BLEU-4 " (format!("{:.3}", row.bleu4)) " · ROUGE-L " (format!("{:.3}", row.rouge_l))
            }
            div { h4 { "reference" } p { (coloured(&pair.reference, row.ref_graph.as_ref())) } }
            div { h4 { "draft" } p { (coloured(&pair.hypothesis, row.hyp_graph.as_ref())) } }
        }
    }
}

/// The graph's words with entity spans marked; the plain text when there is no graph.
fn coloured(text: &str, graph: Option<&Graph>) -> Markup {
    let Some(graph) = graph else {
        return html! { (text) };
    };
    let words: Vec<&str> = graph.text.split(' ').collect();
    let mut label_of: Vec<Option<&str>> = vec![None; words.len()];
    for entity in &graph.entities {
        for slot in label_of
            .iter_mut()
            .take(entity.end_ix.saturating_add(1))
            .skip(entity.start_ix)
        {
            slot.get_or_insert(entity.label.as_str());
        }
    }
    let mut runs: Vec<(Option<&str>, String)> = Vec::new();
    for (word, label) in words.iter().zip(&label_of) {
        match runs.last_mut() {
            Some((last, run)) if last == label => {
                run.push(' ');
                run.push_str(word);
            }
            _ => runs.push((*label, (*word).to_owned())),
        }
    }
    html! {
        @for (i, (label, run)) in runs.iter().enumerate() {
            @if i > 0 { " " }
            @match label {
                Some(label) => span class=(format!("ent {}", entity_class(label))) title=(label) { (run) },
                None => (run),
            }
        }
    }
}

fn entity_class(label: &str) -> &'static str {
    match label {
        "ANAT-DP" => "ent-ANAT-DP",
        "OBS-DP" => "ent-OBS-DP",
        "OBS-U" => "ent-OBS-U",
        "OBS-DA" => "ent-OBS-DA",
        _ => "ent-other",
    }
}
