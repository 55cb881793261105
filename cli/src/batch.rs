//! `raddraft batch`: draft every study of a manifest, or one shard of it, with one model load.
//! Output rows are appended and synced one by one, so a run can be killed and resumed.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::drafting::{DraftPipeline, DraftRequest};
use raddraft_core::research::drafts::{DraftRow, DraftWriter, OpenMode};
use raddraft_core::research::manifest::{Manifest, ManifestItem};
use raddraft_core::research::sections::hypothesis_text;
use raddraft_core::research::shard::ShardSpec;

use crate::model_args::DraftSetup;

/// Without a terminal (cluster logs), progress is a plain line this often.
const LOG_EVERY: Duration = Duration::from_secs(30);

#[derive(ClapArgs)]
pub struct Args {
    /// Dataset manifest (JSONL or CSV: id, images, indication, reference, view_position).
    #[arg(long)]
    manifest: PathBuf,
    #[command(flatten)]
    setup: DraftSetup,
    /// Drafts output (JSON Lines, appended one synced row per study).
    #[arg(long)]
    out: PathBuf,
    /// Draft only shard K of N (0-based), chosen by the FNV-1a hash of each id.
    #[arg(long, default_value = "0/1", value_name = "K/N")]
    shard: ShardSpec,
    /// Continue an existing --out: skip ids already there, drop an interrupted last line.
    #[arg(long)]
    resume: bool,
}

pub fn run(args: Args) -> Result<()> {
    let manifest = Manifest::read(&args.manifest)
        .with_context(|| format!("cannot use the manifest {}", args.manifest.display()))?;
    let shard = args.shard.to_string();
    let model = args.setup.model.resolve(&args.setup.db, None)?;
    let mode = if args.resume {
        OpenMode::Resume
    } else {
        OpenMode::Create
    };
    let (mut writer, existing) = DraftWriter::open(&args.out, mode)
        .with_context(|| format!("cannot open the drafts output {}", args.out.display()))?;
    if let Some(bytes) = existing.partial_tail {
        eprintln!(
            "{}: dropped an interrupted last line ({bytes} bytes); that study is drafted again",
            args.out.display()
        );
    }
    let mut done = std::collections::HashSet::new();
    for (line, row) in &existing.rows {
        if row.shard != shard || row.model != model.label {
            bail!(
                "{} line {line} was drafted as shard {} with model {:?}; this run is shard {shard} with {:?}. \
                 Resume with the same --shard and --model, or choose another --out",
                args.out.display(),
                row.shard,
                row.model,
                model.label
            );
        }
        done.insert(row.id.clone());
    }
    let owned: Vec<&ManifestItem> = manifest
        .items
        .iter()
        .filter(|item| args.shard.owns(&item.id))
        .collect();
    let todo: Vec<&ManifestItem> = owned
        .iter()
        .copied()
        .filter(|item| !done.contains(&item.id))
        .collect();
    eprintln!(
        "shard {shard}: {} of {} studies in {}; {} already in {}, {} to draft",
        owned.len(),
        manifest.items.len(),
        args.manifest.display(),
        owned.len() - todo.len(),
        args.out.display(),
        todo.len()
    );
    if todo.is_empty() {
        return Ok(());
    }

    let mut pipeline = DraftPipeline::new(args.setup.model.load(&model)?);
    let params = args.setup.drafting.params();

    let bar = progress_bar(todo.len());
    let started = Instant::now();
    let mut last_log = Instant::now();
    let mut failures = 0;
    for (position, item) in todo.iter().enumerate() {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            draft(
                &mut pipeline,
                &params,
                &manifest,
                item,
                &model.label,
                &shard,
            )
        }));
        let row = match outcome {
            Ok(Ok(row)) => row,
            Ok(Err(err)) => DraftRow::failure(&item.id, &model.label, &shard, error_text(&err)),
            Err(panic) => DraftRow::failure(
                &item.id,
                &model.label,
                &shard,
                format!("internal error while drafting: {}", panic_message(&panic)),
            ),
        };
        if let Some(error) = &row.error {
            failures += 1;
            bar.suspend(|| eprintln!("{}: {error}", item.id));
        }
        writer
            .append(&row)
            .with_context(|| format!("cannot write to {}", args.out.display()))?;
        bar.inc(1);
        if bar.is_hidden() && last_log.elapsed() >= LOG_EVERY {
            last_log = Instant::now();
            log_progress(&shard, position + 1, todo.len(), started.elapsed());
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "shard {shard}: drafted {} studies ({failures} failed) in {elapsed:.2} s: {:.3} items/s \
         (model load {:.2} s not counted); rows in {}",
        todo.len(),
        todo.len() as f64 / elapsed.max(1e-9),
        pipeline.checkpoint().load_s,
        args.out.display()
    );
    Ok(())
}

fn draft(
    pipeline: &mut DraftPipeline,
    params: &raddraft_core::drafting::DraftParams,
    manifest: &Manifest,
    item: &ManifestItem,
    model: &str,
    shard: &str,
) -> Result<DraftRow> {
    let first = item
        .images
        .first()
        .context("the manifest item has no image")?;
    let request = DraftRequest::new(
        manifest.resolve(first),
        item.indication.clone(),
        params.clone(),
    );
    let outcome = pipeline.draft(&request, &mut ())?;
    let text = outcome.draft.text;
    let finish_reason = serde_json::to_value(outcome.finish_reason)?
        .as_str()
        .map(str::to_owned);
    Ok(DraftRow {
        id: item.id.clone(),
        hypothesis: Some(hypothesis_text(&text)),
        error: None,
        model: model.to_owned(),
        shard: shard.to_owned(),
        tokens: Some(outcome.token_ids.len()),
        token_ids: Some(outcome.token_ids),
        finish_reason,
        image: Some(first.clone()),
        prompt: Some(outcome.prompt),
        generated_text: Some(text),
        timings: Some(outcome.timings),
    })
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} studies  {per_sec}  elapsed {elapsed}  eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn log_progress(shard: &str, done: usize, total: usize, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let eta = (total - done) as f64 / rate.max(1e-9);
    eprintln!(
        "shard {shard}: {done}/{total} studies, {rate:.3} items/s, eta {:.0} s",
        eta
    );
}

/// The error and its causes, without repeating a cause that a message already includes.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
