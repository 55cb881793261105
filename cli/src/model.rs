//! `raddraft model …`: checkpoint utilities.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use raddraft_core::model_registry::{
    compare, dir_size, hash_dir, prepare_model, register_model, FileHashes,
};
use raddraft_models::Checkpoint;

use crate::db::{current_user, DbArgs, Session};
use crate::model_args::LoadArgs;

#[derive(Subcommand)]
pub enum Command {
    /// Load a checkpoint directory, check every tensor against the config, and summarise it.
    Check {
        /// Checkpoint directory in Hugging Face layout.
        dir: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Register a checkpoint: validate its config and every tensor's name and shape (without
    /// loading the weights) and record the SHA-256 of each file.
    Add {
        dir: PathBuf,
        /// Name used by `raddraft draft --model` (default: the directory name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List registered models.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Download a checkpoint from the Hugging Face Hub (online machines only) and register it.
    Pull {
        /// Hub repository, e.g. google/paligemma2-3b-pt-448.
        repo: String,
        #[arg(long)]
        revision: Option<String>,
        /// Access token for gated repositories.
        #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[arg(long, env = "HF_ENDPOINT", default_value = "https://huggingface.co")]
        endpoint: String,
        /// Name to register it under (default: the repository name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Re-hash a registered model's files and report any change since registration.
    Verify {
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Add { dir, name, db } => add(&dir, name, &db),
        Command::List { json, db } => list(json, &db),
        Command::Verify { name, db } => verify(&name, &db),
        Command::Pull {
            repo,
            revision,
            token,
            endpoint,
            name,
            db,
        } => {
            let cache = std::env::var_os("HF_HOME")
                .map(|home| PathBuf::from(home).join("hub"))
                .or_else(|| dirs::cache_dir().map(|c| c.join("huggingface/hub")))
                .context("no cache directory for downloads: set HF_HOME")?;
            let pulled = raddraft_core::model_registry::hub::pull(
                &repo,
                revision.as_deref(),
                token,
                &endpoint,
                cache,
            )?;
            println!(
                "downloaded {} files into {}",
                pulled.files.len(),
                pulled.dir.display()
            );
            let name = name.or_else(|| repo.rsplit('/').next().map(str::to_string));
            add(&pulled.dir, name, &db)
        }
        Command::Check { dir, load } => {
            let checkpoint = Checkpoint::load(&dir, &load.load_options()?).with_context(|| {
                format!("{} is not a usable PaliGemma 2 checkpoint", dir.display())
            })?;
            let (t, v) = (
                &checkpoint.config.text_config,
                &checkpoint.config.vision_config,
            );
            println!("checkpoint: {}", dir.display());
            if let Some(warning) = checkpoint.demo_warning() {
                println!("WARNING: {warning}");
            }
            println!(
                "text: Gemma 2, {} layers, hidden {}, {} heads / {} kv heads, head_dim {}, vocab {}",
                t.num_hidden_layers, t.hidden_size, t.num_attention_heads, t.num_key_value_heads, t.head_dim, t.vocab_size
            );
            println!(
                "vision: SigLIP, {} layers, hidden {}, image {} px, patch {} => {} image tokens",
                v.num_hidden_layers,
                v.hidden_size,
                v.image_size,
                v.patch_size,
                v.num_image_tokens()
            );
            println!(
                "soft-caps: attention {:?}, final {:?}; sliding window {:?}",
                t.attn_logit_softcapping, t.final_logit_softcapping, t.sliding_window
            );
            println!(
                "resize: {:?}; loaded in {:.2} s",
                checkpoint.preprocessing.filter, checkpoint.load_s
            );
            Ok(())
        }
    }
}

fn add(dir: &std::path::Path, name: Option<String>, db: &DbArgs) -> Result<()> {
    let bar = hashing_bar(dir);
    let model = prepare_model(dir, name, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    let session = Session::open(db, &current_user())?;
    let record = session.run(register_model(&session.store, &model))?;
    let weights = FileHashes(record.file_sha256.clone()).combined();
    println!(
        "registered {}: {} files, weights sha256 {weights}",
        record.name,
        record.file_sha256.len()
    );
    if let Some(warning) = model.summary["demo_warning"].as_str() {
        println!("WARNING: {warning}");
    }
    Ok(())
}

fn list(json: bool, db: &DbArgs) -> Result<()> {
    let session = Session::open(db, &current_user())?;
    let models = session.run(session.store.models())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models)?);
        return Ok(());
    }
    for m in &models {
        let weights = FileHashes(m.file_sha256.clone()).combined();
        println!("{:<24} {} (weights sha256 {weights})", m.name, m.directory);
    }
    Ok(())
}

fn verify(name: &str, db: &DbArgs) -> Result<()> {
    let session = Session::open(db, &current_user())?;
    let model = session.run(session.store.model(name))?;
    let now = hash_with_progress(std::path::Path::new(&model.directory))?;
    let changes = compare(&FileHashes(model.file_sha256.clone()), &now);
    if changes.is_empty() {
        println!("{name}: all {} files unchanged", now.0.len());
        return Ok(());
    }
    for change in &changes {
        eprintln!("  {change}");
    }
    bail!(
        "{name}: {} file(s) changed since registration in {}",
        changes.len(),
        model.directory
    )
}

fn hashing_bar(dir: &std::path::Path) -> ProgressBar {
    ProgressBar::new(dir_size(dir)).with_style(
        ProgressStyle::with_template("hashing {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

fn hash_with_progress(dir: &std::path::Path) -> Result<FileHashes> {
    let bar = hashing_bar(dir);
    let hashes = hash_dir(dir, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(hashes)
}
