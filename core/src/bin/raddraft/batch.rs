//! `raddraft batch`: draft every study of a manifest, or one shard of it, with one model load.
//! Output rows are appended and synced one by one, so a run can be killed and resumed.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::research::drafts::{DraftRow, DraftTimings, DraftWriter, OpenMode};
use raddraft_core::research::manifest::{Manifest, ManifestItem};
use raddraft_core::research::sections::hypothesis_text;
use raddraft_core::research::shard::ShardSpec;
use raddraft_ingest::{self as dicom, Profile};
use raddraft_models::device::{parse_device, ModelDType};
use raddraft_models::gemma2::WindowMode;
use raddraft_models::generation::{self, GenerationConfig};
use raddraft_models::paligemma2::{ImageScaling, ModelOptions};
use raddraft_models::preprocess::ResizeFilter;
use raddraft_models::{Checkpoint, LoadOptions};

/// Without a terminal (cluster logs), progress is a plain line this often.
const LOG_EVERY: Duration = Duration::from_secs(30);

#[derive(ClapArgs)]
pub struct Args {
    /// Dataset manifest (JSONL or CSV: id, images, indication, reference, view_position).
    #[arg(long)]
    manifest: PathBuf,
    /// Checkpoint directory in Hugging Face layout, or the name of a registered model
    /// (`raddraft model list`; looked up in the study database given by --db / RADDRAFT_DB).
    #[arg(long)]
    model: String,
    #[command(flatten)]
    db: crate::db::DbArgs,
    /// Drafts output (JSON Lines, appended one synced row per study).
    #[arg(long)]
    out: PathBuf,
    /// Draft only shard K of N (0-based), chosen by the FNV-1a hash of each id.
    #[arg(long, default_value = "0/1", value_name = "K/N")]
    shard: ShardSpec,
    /// Continue an existing --out: skip ids already there, drop an interrupted last line.
    #[arg(long)]
    resume: bool,
    /// Stop each draft after this many generated tokens.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Model dtype: f32 (reference precision), bf16 or f16.
    #[arg(long, default_value = "f32")]
    dtype: ModelDType,
    /// Device: cpu, cuda[:N] (build with --features cuda) or metal (--features metal).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Pixel profile for DICOM input: mimic-cxr-jpg, display or raw (8-bit PNG/JPEG is used as it is).
    #[arg(long, default_value = "mimic-cxr-jpg")]
    profile: Profile,
    /// Text before the indication in the prompt; without an indication the prompt is this,
    /// trimmed.
    #[arg(long, default_value = "INDICATION: ")]
    prompt_prefix: String,
    /// Sliding-window semantics: hf (transformers 5.x) or global (big_vision training).
    #[arg(long, default_value = "hf")]
    window: WindowMode,
    /// Image-embedding scaling: legacy (transformers 4.x) or unscaled (transformers 5.24, big_vision).
    #[arg(long, default_value = "legacy")]
    image_scaling: ImageScaling,
    /// Disable the final logit soft-cap (big_vision fine-tunes train without it).
    #[arg(long)]
    no_final_softcap: bool,
    /// Resize filter: pil-bicubic, bv-bilinear or bv-bilinear-aa; default from preprocessor_config.json.
    #[arg(long)]
    resize: Option<ResizeFilter>,
}

pub fn run(args: Args) -> Result<()> {
    let manifest = Manifest::read(&args.manifest)
        .with_context(|| format!("cannot use the manifest {}", args.manifest.display()))?;
    let shard = args.shard.to_string();
    let model_dir = resolve_model(&args.model, &args.db)?;
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
        if row.shard != shard || row.model != args.model {
            bail!(
                "{} line {line} was drafted as shard {} with model {:?}; this run is shard {shard} with {:?}. \
                 Resume with the same --shard and --model, or choose another --out",
                args.out.display(),
                row.shard,
                row.model,
                args.model
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

    let mut checkpoint = load_model(&model_dir, &args)?;
    if let Some(warning) = checkpoint.demo_warning() {
        eprintln!("WARNING: {warning}");
    }
    let config = GenerationConfig::greedy(args.max_new_tokens, checkpoint.config.eos_token_ids());

    let bar = progress_bar(todo.len());
    let started = Instant::now();
    let mut last_log = Instant::now();
    let mut failures = 0;
    for (position, item) in todo.iter().enumerate() {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            draft(&mut checkpoint, &config, &manifest, item, &args, &shard)
        }));
        let row = match outcome {
            Ok(Ok(row)) => row,
            Ok(Err(err)) => DraftRow::failure(&item.id, &args.model, &shard, error_text(&err)),
            Err(panic) => DraftRow::failure(
                &item.id,
                &args.model,
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
        checkpoint.load_s,
        args.out.display()
    );
    Ok(())
}

fn load_model(dir: &Path, args: &Args) -> Result<Checkpoint> {
    let options = LoadOptions {
        dtype: args.dtype,
        device: parse_device(&args.device)?,
        model: ModelOptions {
            window_mode: args.window,
            image_scaling: args.image_scaling,
            final_softcap: args.no_final_softcap.then_some(None),
        },
        resize: args.resize,
    };
    Checkpoint::load(dir, &options)
        .with_context(|| format!("cannot load the model from {}", dir.display()))
}

/// The checkpoint directory for `--model`.
/// A checkpoint directory as given, else a registered model's directory.
fn resolve_model(model: &str, db: &crate::db::DbArgs) -> Result<PathBuf> {
    let path = Path::new(model);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let session = crate::db::Session::open(db, &crate::db::current_user()).with_context(|| {
        format!("{model:?} is not a directory, and the model registry is unavailable")
    })?;
    let record = session.run(session.store.model(model)).with_context(|| {
        format!("{model:?} is neither a checkpoint directory nor a registered model")
    })?;
    Ok(PathBuf::from(record.directory))
}

fn draft(
    checkpoint: &mut Checkpoint,
    config: &GenerationConfig,
    manifest: &Manifest,
    item: &ManifestItem,
    args: &Args,
    shard: &str,
) -> Result<DraftRow> {
    let start = Instant::now();
    let first = item
        .images
        .first()
        .context("the manifest item has no image")?;
    let image_path = manifest.resolve(first);
    // The ingest error names the file.
    let (image, meta) =
        dicom::load_model_image(&image_path, args.profile).context("cannot read the radiograph")?;
    let indication = item
        .indication
        .clone()
        .or_else(|| meta.and_then(|m| m.indication.map(|i| i.text)));
    let prompt = match indication {
        Some(text) => format!("{}{text}", args.prompt_prefix),
        None => args.prompt_prefix.trim_end().to_owned(),
    };
    let pixel_values = checkpoint.pixel_values(&image)?;
    let prefix = checkpoint.prefix_ids(&prompt)?;
    let preprocess_s = start.elapsed().as_secs_f64();
    let result = generation::generate(
        &mut checkpoint.model,
        &prefix,
        &pixel_values,
        config,
        &mut |_| ControlFlow::Continue(()),
        None,
    )?;
    let text = checkpoint.tokenizer.decode(&result.token_ids)?;
    let finish_reason = serde_json::to_value(result.finish_reason)?
        .as_str()
        .map(str::to_owned);
    Ok(DraftRow {
        id: item.id.clone(),
        hypothesis: Some(hypothesis_text(&text)),
        error: None,
        model: args.model.clone(),
        shard: shard.to_owned(),
        tokens: Some(result.token_ids.len()),
        finish_reason,
        image: Some(first.clone()),
        prompt: Some(prompt),
        generated_text: Some(text),
        timings: Some(DraftTimings {
            preprocess_s,
            prefill_s: result.timings.prefill_s,
            decode_s: result.timings.decode_s,
            total_s: start.elapsed().as_secs_f64(),
        }),
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
