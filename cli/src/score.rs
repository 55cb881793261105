//! `raddraft score`: score a drafts file against the manifest's references with the same
//! evaluator as `raddraft eval`, and write summary.json, a Table-8 Markdown table and an HTML page.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::research::drafts::read_drafts;
use raddraft_core::research::html::{render_html, ResultsPage};
use raddraft_core::research::manifest::Manifest;
use raddraft_core::research::merge::in_manifest_order;
use raddraft_core::research::scoring::{scoring_pairs, write_pairs};
use raddraft_core::research::table::{
    table8_markdown, PAPER_TABLE_8, PUBLISHED_LABEL, PUBLISHED_SOURCE,
};
use raddraft_eval::batch::{self, output::read_rows, BatchOptions, CaptionTokenizer};
use raddraft_eval::f1::CaseMode;
use raddraft_eval::radgraph::{LoadOptions, RadGraph, Variant};

use crate::eval::VariantArg;

#[derive(ClapArgs)]
pub struct Args {
    /// Drafts file (merged shards, or a single-process `raddraft batch` output).
    #[arg(long)]
    drafts: PathBuf,
    /// The manifest the drafts were made from (references and view positions).
    #[arg(long)]
    manifest: PathBuf,
    /// RadGraph model (directory or .tar.gz, public archive layout). Without it RadGraph is
    /// skipped and only text metrics are scored.
    #[arg(long, value_name = "DIR")]
    radgraph_model: Option<PathBuf>,
    /// Which label set of the archive to use (default: the only one it has).
    #[arg(long, value_enum)]
    variant: Option<VariantArg>,
    /// The RadGraph encoder's tokenizer and config (default: as `raddraft eval`).
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// Results folder: summary.json, table8.md, results.html, pairs.jsonl, per_report.jsonl.
    #[arg(long)]
    out: PathBuf,
    /// Bootstrap resamples for the 95% intervals (0 = none).
    #[arg(long, default_value_t = 500, value_name = "N")]
    bootstrap: usize,
    /// Seed of the bootstrap draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lower-case entity tokens in rg_e/rg_er/rg_er_bar (upstream master's fix; default: 0.1.18).
    #[arg(long)]
    lowercase: bool,
    /// Worst and best drafts shown in the HTML page (each).
    #[arg(long, default_value_t = 5)]
    examples: usize,
    /// Score even when manifest ids have no draft (otherwise an error listing them).
    #[arg(long)]
    allow_incomplete: bool,
}

pub fn run(args: Args) -> Result<()> {
    let manifest = Manifest::read(&args.manifest)
        .with_context(|| format!("cannot use the manifest {}", args.manifest.display()))?;
    let drafts_file = read_drafts(&args.drafts)
        .with_context(|| format!("cannot read the drafts {}", args.drafts.display()))?;
    if drafts_file.partial_tail.is_some() {
        bail!(
            "{} ends in an interrupted line; resume the run (`raddraft batch … --resume`) first",
            args.drafts.display()
        );
    }
    let located = drafts_file
        .rows
        .into_iter()
        .map(|(line, row)| (row, format!("{} line {line}", args.drafts.display())))
        .collect::<Vec<_>>();
    let drafts = if args.allow_incomplete {
        let known = manifest.by_id();
        located
            .into_iter()
            .map(|(row, _)| row)
            .filter(|row| known.contains_key(row.id.as_str()))
            .collect()
    } else {
        in_manifest_order(located, &manifest).with_context(|| {
            format!(
                "{} does not match {} (merge the shards first, or pass --allow-incomplete)",
                args.drafts.display(),
                args.manifest.display()
            )
        })?
    };
    let run_label = drafts
        .first()
        .map(|row| row.model.clone())
        .unwrap_or_else(|| "no drafts".to_owned());
    let set = scoring_pairs(&drafts, &manifest);

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let pairs_path = args.out.join("pairs.jsonl");
    let per_report_path = args.out.join("per_report.jsonl");
    write_pairs(&pairs_path, &set.pairs)?;
    // Rows of an earlier scoring run would be resumed by the evaluator even if the drafts changed.
    match std::fs::remove_file(&per_report_path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err)
                .with_context(|| format!("cannot replace {}", per_report_path.display()))
        }
        _ => {}
    }

    let radgraph = load_radgraph(&args)?;
    let options = BatchOptions {
        radgraph: radgraph.as_ref(),
        case: if args.lowercase {
            CaseMode::Lowercase
        } else {
            CaseMode::Package0118
        },
        tokenizer: CaptionTokenizer::Port,
        out: Some(per_report_path.clone()),
        bootstrap: args.bootstrap,
        seed: args.seed,
        progress: true,
    };
    let summary = batch::score(&pairs_path, &options)
        .with_context(|| format!("scoring {}", pairs_path.display()))?;
    let scores = read_rows(&per_report_path)
        .with_context(|| format!("reading {}", per_report_path.display()))?;

    let document = serde_json::json!({
        "drafts": args.drafts,
        "manifest": args.manifest,
        "model": run_label,
        "manifest_studies": manifest.items.len(),
        "failed_drafts": set.failed_drafts,
        "without_reference": set.without_reference,
        "published_figures_not_reproduced": {
            "label": PUBLISHED_LABEL,
            "source": PUBLISHED_SOURCE,
            "rows": PAPER_TABLE_8,
        },
    });
    let mut summary_json = serde_json::to_value(&summary)?;
    if let (Some(target), Some(extra)) = (summary_json.as_object_mut(), document.as_object()) {
        target.extend(extra.clone());
    }
    write(
        &args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary_json)?,
    )?;
    write(
        &args.out.join("table8.md"),
        table8_markdown(&run_label, &summary),
    )?;
    let html = render_html(&ResultsPage {
        run_label: &run_label,
        summary: &summary,
        scores: &scores,
        pairs: &set.pairs,
        manifest: &manifest,
        failed_drafts: &set.failed_drafts,
        without_reference: &set.without_reference,
        examples: args.examples,
    });
    write(&args.out.join("results.html"), html)?;

    println!(
        "{} pairs scored ({} failed drafts, {} without reference); {}",
        summary.pairs,
        set.failed_drafts.len(),
        set.without_reference.len(),
        summary.radgraph.detail
    );
    print!("{}", table8_markdown(&run_label, &summary));
    println!(
        "\nwritten: {} (summary.json, table8.md, results.html, pairs.jsonl, per_report.jsonl)",
        args.out.display()
    );
    Ok(())
}

fn load_radgraph(args: &Args) -> Result<Option<RadGraph>> {
    let Some(path) = &args.radgraph_model else {
        return Ok(None);
    };
    let options = LoadOptions {
        model_type: args.variant.map(|v| {
            match v {
                VariantArg::V1 => Variant::V1,
                VariantArg::Xl => Variant::Xl,
            }
            .model_type()
            .to_owned()
        }),
        encoder_dir: args.encoder.clone(),
        ..LoadOptions::default()
    };
    let model = RadGraph::load(path, &options)
        .with_context(|| format!("loading RadGraph model {}", path.display()))?;
    Ok(Some(model))
}

fn write(path: &Path, text: String) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
