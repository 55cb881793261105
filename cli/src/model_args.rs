//! The flags every command that loads a model or drafts shares, defined once: which checkpoint
//! and how to load it ([`ModelArgs`]), and how to draft ([`DraftingArgs`]), together as
//! [`DraftSetup`].

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::drafting::{DraftParams, DEFAULT_PROMPT_PREFIX};
use raddraft_core::model_registry::{as_directory, load_checkpoint, resolve_model, ResolvedModel};
use raddraft_ingest::Profile;
use raddraft_models::device::{parse_device, ModelDType, Quantization};
use raddraft_models::gemma2::WindowMode;
use raddraft_models::paligemma2::{ImageScaling, ModelOptions};
use raddraft_models::preprocess::ResizeFilter;
use raddraft_models::{Checkpoint, LoadOptions};

use crate::db::{current_user, DbArgs, Session};

/// What every drafting command takes: the model, how to draft, and the study database (where
/// registered model names are looked up).
#[derive(ClapArgs, Debug, Clone)]
pub struct DraftSetup {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub drafting: DraftingArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct ModelArgs {
    /// Checkpoint directory in Hugging Face layout (config.json, *.safetensors, tokenizer.json),
    /// or the name of a registered model (`raddraft model list`, in the --db study database).
    /// Default: the only registered model.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// How a checkpoint is loaded: every command that loads one takes these.
#[derive(ClapArgs, Debug, Clone)]
pub struct LoadArgs {
    /// Model dtype: f32 (reference precision), bf16 or f16.
    #[arg(long, default_value = "f32")]
    pub dtype: ModelDType,
    /// Decoder weights: none (as --dtype) or int8 (one scale per output row; about half the
    /// decoding time of bf16 on CPU, logits within the error stated in bench/RESULTS.md).
    #[arg(long, default_value = "none")]
    pub quant: Quantization,
    /// With --dtype bf16 on CPU, round activations to bf16 between operations as transformers
    /// does (slower). By default only the weight matrices are bf16 and activations stay f32.
    #[arg(long)]
    pub bf16_activations: bool,
    /// Device: cpu, cuda[:N] (build with --features cuda) or metal (--features metal).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Sliding-window semantics: hf (transformers 5.x) or global (big_vision training, no window).
    #[arg(long, default_value = "hf")]
    pub window: WindowMode,
    /// Image-embedding scaling: legacy (transformers 4.x) or unscaled (transformers 5.24, big_vision).
    #[arg(long, default_value = "legacy")]
    pub image_scaling: ImageScaling,
    /// Disable the final logit soft-cap (big_vision fine-tunes train without it).
    #[arg(long)]
    pub no_final_softcap: bool,
    /// Resize filter: pil-bicubic (HF), bv-bilinear or bv-bilinear-aa (big_vision); default from
    /// preprocessor_config.json.
    #[arg(long)]
    pub resize: Option<ResizeFilter>,
}

impl LoadArgs {
    pub fn load_options(&self) -> Result<LoadOptions> {
        Ok(LoadOptions {
            dtype: self.dtype,
            device: parse_device(&self.device)?,
            model: ModelOptions {
                window_mode: self.window,
                image_scaling: self.image_scaling,
                final_softcap: self.no_final_softcap.then_some(None),
                quantization: self.quant,
                bf16_activations: self.bf16_activations,
            },
            resize: self.resize,
        })
    }
}

impl ModelArgs {
    /// The checkpoint the user means. A directory needs no study database, and none is opened
    /// for it unless `session` is already open (then a registered directory comes back with
    /// its registry row); a name, or no `--model`, looks in the registry.
    pub fn resolve(&self, db: &DbArgs, session: Option<&Session>) -> Result<ResolvedModel> {
        let given = self.model.as_deref();
        if let Some(session) = session {
            return Ok(session.run(resolve_model(given, &session.store))?);
        }
        if let Some(model) = given.map(as_directory).transpose()?.flatten() {
            return Ok(model);
        }
        match Session::open(db, &current_user()) {
            Ok(session) => Ok(session.run(resolve_model(given, &session.store))?),
            Err(e) => Err(e).with_context(|| match given {
                Some(given) => {
                    format!("{given:?} is not a directory, and the model registry is unavailable")
                }
                None => "no --model given, and the model registry is unavailable".to_owned(),
            }),
        }
    }

    /// Loads the resolved checkpoint with these flags, printing the demo checkpoint's warning.
    pub fn load(&self, model: &ResolvedModel) -> Result<Checkpoint> {
        let checkpoint = load_checkpoint(model, &self.load.load_options()?)?;
        if let Some(warning) = checkpoint.demo_warning() {
            eprintln!("WARNING: {warning}");
        }
        Ok(checkpoint)
    }
}

#[derive(ClapArgs, Debug, Clone)]
pub struct DraftingArgs {
    /// Pixel profile for DICOM input: mimic-cxr-jpg (what MIMIC-CXR-JPG fine-tunes saw), display
    /// or raw. 8-bit PNG/JPEG input is used as it is.
    #[arg(long, default_value = "mimic-cxr-jpg")]
    pub profile: Profile,
    /// Stop each draft after this many generated tokens.
    #[arg(long, default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Beam search with this many beams (1 = greedy, the paper's choice and the default).
    #[arg(long, default_value_t = 1)]
    pub beams: usize,
    /// The prompt template's text before the indication. Without an indication (none given and
    /// none in the DICOM header) the prompt is this alone, trimmed: "INDICATION:".
    #[arg(long, default_value = DEFAULT_PROMPT_PREFIX)]
    pub prompt_prefix: String,
}

impl DraftingArgs {
    pub fn params(&self) -> DraftParams {
        DraftParams {
            profile: self.profile,
            max_new_tokens: self.max_new_tokens,
            num_beams: self.beams.max(1),
            prompt_prefix: self.prompt_prefix.clone(),
            ..DraftParams::default()
        }
    }
}
