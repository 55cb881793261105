//! `raddraft model …`: checkpoint utilities.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use raddraft_models::device::ModelDType;
use raddraft_models::{Checkpoint, LoadOptions};

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
}

pub fn run(command: Command) -> Result<()> {
    match command {
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
