//! `raddraft model …`: checkpoint utilities.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use raddraft_core::registry::{compare, dir_size, hash_dir, FileHashes};
use raddraft_core::store::NewModel;
use raddraft_models::device::ModelDType;
use raddraft_models::{Checkpoint, LoadOptions};

use crate::db::{current_user, DbArgs, Session};

#[derive(Subcommand)]
pub enum Command {
    /// Load a checkpoint directory, check every tensor against the config, and summarise it.
    Check {
        /// Checkpoint directory in Hugging Face layout.
        dir: PathBuf,
        /// Dtype to load with.
        #[arg(long, default_value = "f32")]
        dtype: ModelDType,
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
            let pulled =
                raddraft_core::hub::pull(&repo, revision.as_deref(), token, &endpoint, cache)?;
            println!(
                "downloaded {} files into {}",
                pulled.files.len(),
                pulled.dir.display()
            );
            let name = name.or_else(|| repo.rsplit('/').next().map(str::to_string));
            add(&pulled.dir, name, &db)
        }
        Command::Check { dir, dtype } => {
            let options = LoadOptions {
                dtype,
                ..LoadOptions::default()
            };
            let checkpoint = Checkpoint::load(&dir, &options).with_context(|| {
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
    let config = Checkpoint::validate(dir)
        .with_context(|| format!("{} is not a usable PaliGemma 2 checkpoint", dir.display()))?;
    let name = match name {
        Some(name) => name,
        None => dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .context("give the model a name with --name")?,
    };
    let hashes = hash_with_progress(dir)?;
    let directory = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let summary = serde_json::json!({
        "image_size": config.vision_config.image_size,
        "text_layers": config.text_config.num_hidden_layers,
        "hidden_size": config.text_config.hidden_size,
        "vocab_size": config.text_config.vocab_size,
        "demo_warning": config.raddraft_demo,
        "weights_sha256": hashes.combined(),
    });
    let session = Session::open(db, &current_user())?;
    session.run(session.store.add_model(&NewModel {
        name: name.clone(),
        directory,
        file_sha256: hashes.0.clone(),
        summary,
    }))?;
    println!(
        "registered {name}: {} files, weights sha256 {}",
        hashes.0.len(),
        hashes.combined()
    );
    if let Some(warning) = &config.raddraft_demo {
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

fn hash_with_progress(dir: &std::path::Path) -> Result<FileHashes> {
    let bar = ProgressBar::new(dir_size(dir)).with_style(
        ProgressStyle::with_template("hashing {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let hashes = hash_dir(dir, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(hashes)
}
