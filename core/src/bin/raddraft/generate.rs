//! `raddraft generate`: draft text from one image with a checkpoint directory.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Args as ClapArgs;
use raddraft_ingest::{self as dicom, Profile};
use raddraft_models::device::{parse_device, ModelDType};
use raddraft_models::gemma2::WindowMode;
use raddraft_models::generation::{self, Decoding, GenerationConfig};
use raddraft_models::paligemma2::{ImageScaling, ModelOptions};
use raddraft_models::preprocess::ResizeFilter;
use raddraft_models::{Checkpoint, LoadOptions};

#[derive(ClapArgs)]
pub struct Args {
    /// Checkpoint directory in Hugging Face layout (config.json, *.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// Input radiograph: DICOM (CR/DX), PNG or JPEG.
    #[arg(long)]
    image: PathBuf,
    /// Pixel profile for DICOM input: mimic-cxr-jpg (what MIMIC-CXR-JPG fine-tunes saw), display or raw.
    /// 8-bit PNG/JPEG input is used as it is.
    #[arg(long, default_value = "mimic-cxr-jpg")]
    profile: Profile,
    /// Prompt placed after the image tokens, e.g. "INDICATION: …". Default for DICOM input:
    /// "INDICATION: " + the header's Reason for the Requested Procedure / Reason for Study.
    #[arg(long)]
    prompt: Option<String>,
    /// Stop after this many generated tokens.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Model dtype: f32 (reference precision), bf16 or f16.
    #[arg(long, default_value = "f32")]
    dtype: ModelDType,
    /// Device: cpu, cuda[:N] (build with --features cuda) or metal (--features metal).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Sliding-window semantics: hf (transformers 5.x) or global (big_vision training, no window).
    #[arg(long, default_value = "hf")]
    window: WindowMode,
    /// Image-embedding scaling: legacy (transformers 4.x) or unscaled (transformers 5.24, big_vision).
    #[arg(long, default_value = "legacy")]
    image_scaling: ImageScaling,
    /// Disable the final logit soft-cap (big_vision fine-tunes train without it).
    #[arg(long)]
    no_final_softcap: bool,
    /// Resize filter: pil-bicubic (HF), bv-bilinear or bv-bilinear-aa (big_vision); default from preprocessor_config.json.
    #[arg(long)]
    resize: Option<ResizeFilter>,
    /// Beam search with this many beams instead of greedy decoding.
    #[arg(long)]
    beams: Option<usize>,
    /// Print one JSON object with text, token ids, log-probabilities and timings.
    #[arg(long)]
    json: bool,
    /// Write f32 `prefill_logits` (vocab, last prefix position) and `step_logits` (steps × vocab: row k
    /// is what token k was chosen from, so row 0 equals prefill_logits) to a safetensors file (greedy only).
    #[arg(long)]
    dump_logits: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let device = parse_device(&args.device)?;
    let options = LoadOptions {
        dtype: args.dtype,
        device,
        model: ModelOptions {
            window_mode: args.window,
            image_scaling: args.image_scaling,
            final_softcap: args.no_final_softcap.then_some(None),
        },
        resize: args.resize,
    };
    let mut checkpoint = Checkpoint::load(&args.model, &options)
        .with_context(|| format!("cannot load the model from {}", args.model.display()))?;
    if let Some(warning) = checkpoint.demo_warning() {
        eprintln!("WARNING: {warning}");
    }

    let preprocess_start = Instant::now();
    let (image, meta) = dicom::load_model_image(&args.image, args.profile)
        .with_context(|| format!("cannot read the radiograph {}", args.image.display()))?;
    let prompt = match (
        &args.prompt,
        meta.as_ref().and_then(|m| m.indication.as_ref()),
    ) {
        (Some(prompt), _) => prompt.clone(),
        (None, Some(indication)) => format!("INDICATION: {}", indication.text),
        (None, None) => anyhow::bail!(
            "{} carries no indication; give the prompt with --prompt \"INDICATION: …\"",
            args.image.display()
        ),
    };
    let pixel_values = checkpoint.pixel_values(&image)?;
    let prefix = checkpoint.prefix_ids(&prompt)?;
    let preprocess_s = preprocess_start.elapsed().as_secs_f64();

    let decoding = match args.beams {
        Some(n) if n > 1 => {
            anyhow::ensure!(
                args.dump_logits.is_none(),
                "--dump-logits needs greedy decoding (drop --beams)"
            );
            Decoding::Beam {
                num_beams: n,
                length_penalty: 1.0,
            }
        }
        _ => Decoding::Greedy,
    };
    let config = GenerationConfig {
        max_new_tokens: args.max_new_tokens,
        eos_token_ids: checkpoint.config.eos_token_ids(),
        decoding,
    };

    let mut recorded: Vec<Tensor> = Vec::new();
    let mut record = |logits: &Tensor| -> raddraft_models::Result<()> {
        recorded.push(logits.clone());
        Ok(())
    };
    let mut streamed = String::new();
    let mut generated: Vec<u32> = Vec::new();
    let tokenizer = &checkpoint.tokenizer;
    let stream = !args.json;
    let mut on_token = |event: generation::TokenEvent| {
        if stream {
            generated.push(event.id);
            if let Ok(text) = tokenizer.decode(&generated) {
                if let Some(new) = text.strip_prefix(streamed.as_str()) {
                    print!("{new}");
                    let _ = std::io::stdout().flush();
                }
                streamed = text;
            }
        }
        ControlFlow::Continue(())
    };
    let sink: Option<generation::LogitsSink> = if args.dump_logits.is_some() {
        Some(&mut record)
    } else {
        None
    };
    let result = generation::generate(
        &mut checkpoint.model,
        &prefix,
        &pixel_values,
        &config,
        &mut on_token,
        sink,
    )?;
    let text = checkpoint.tokenizer.decode(&result.token_ids)?;

    if let Some(path) = &args.dump_logits {
        write_logits(path, &recorded)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let output = serde_json::json!({
            "text": text,
            "token_ids": result.token_ids,
            "logprobs": result.logprobs,
            "finish_reason": result.finish_reason,
            "prefix_len": prefix.len(),
            "prompt": prompt,
            "timings": {
                "load_s": checkpoint.load_s,
                "preprocess_s": preprocess_s,
                "prefill_s": result.timings.prefill_s,
                "decode_s": result.timings.decode_s,
                "decode_ms_per_token": result.timings.decode_ms_per_token,
            },
            "model": {
                "dir": checkpoint.dir,
                "dtype": checkpoint.dtype.to_string(),
                "image_size": checkpoint.preprocessing.size,
                "warning": checkpoint.demo_warning(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        if streamed != text {
            print!("{}", text.strip_prefix(streamed.as_str()).unwrap_or(&text));
        }
        println!();
        if let Some(warning) = checkpoint.demo_warning() {
            eprintln!("WARNING: {warning}");
        }
    }
    Ok(())
}

fn write_logits(path: &std::path::Path, recorded: &[Tensor]) -> Result<()> {
    let prefill = recorded.first().context("no logits were produced")?;
    let tensors = [
        ("prefill_logits".to_string(), prefill.clone()),
        ("step_logits".to_string(), Tensor::stack(recorded, 0)?),
    ];
    candle_core::safetensors::save(&tensors.into_iter().collect(), path)?;
    Ok(())
}
