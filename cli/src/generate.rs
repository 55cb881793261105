//! `raddraft generate`: draft text from one image, streamed to the terminal, without the study
//! store.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use candle_core::Tensor;
use clap::Args as ClapArgs;
use raddraft_core::drafting::{DraftObserver, DraftPipeline, DraftRequest, StreamedToken};

use crate::model_args::DraftSetup;

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    setup: DraftSetup,
    /// Input radiograph: DICOM (CR/DX), PNG or JPEG.
    #[arg(long)]
    image: PathBuf,
    /// Clinical indication for the prompt; default: the DICOM header's Reason for the Requested
    /// Procedure / Reason for Study.
    #[arg(long)]
    indication: Option<String>,
    /// The whole prompt placed after the image tokens, replacing the template and the indication.
    #[arg(long)]
    prompt: Option<String>,
    /// Print one JSON object with text, token ids, log-probabilities and timings.
    #[arg(long)]
    json: bool,
    /// Write f32 `prefill_logits` (vocab, last prefix position) and `step_logits` (steps × vocab: row k
    /// is what token k was chosen from, so row 0 equals prefill_logits) to a safetensors file (greedy only).
    #[arg(long)]
    dump_logits: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let model = args.setup.model.resolve(&args.setup.db, None)?;
    let checkpoint = args.setup.model.load(&model)?;
    let load_s = checkpoint.load_s;
    let mut pipeline = DraftPipeline::new(checkpoint);
    let request = DraftRequest {
        prompt: args.prompt.clone(),
        record_logits: args.dump_logits.is_some(),
        ..DraftRequest::new(
            &args.image,
            args.indication.clone(),
            args.setup.drafting.params(),
        )
    };
    let mut terminal = TerminalStream {
        enabled: !args.json,
        shown: String::new(),
    };
    let outcome = pipeline.draft(&request, &mut terminal)?;
    if outcome.indication.is_none() && args.prompt.is_none() {
        eprintln!(
            "note: {} carries no indication and none was given (--indication); the prompt is {:?}",
            args.image.display(),
            outcome.prompt
        );
    }
    let checkpoint = pipeline.checkpoint();
    let text = &outcome.draft.text;

    if let Some(path) = &args.dump_logits {
        write_logits(path, &outcome.step_logits)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        let output = serde_json::json!({
            "text": text,
            "token_ids": outcome.token_ids,
            "logprobs": outcome.logprobs,
            "finish_reason": outcome.finish_reason,
            "prefix_len": outcome.prefix_len,
            "prompt": outcome.prompt,
            "indication": outcome.indication,
            "timings": {
                "load_s": load_s,
                "preprocess_s": outcome.timings.preprocess_s,
                "prefill_s": outcome.timings.prefill_s,
                "decode_s": outcome.timings.decode_s,
                "decode_ms_per_token": outcome.timings.decode_ms_per_token,
                "time_to_first_token_s": outcome.timings.time_to_first_token_s,
                "tokens_per_s": outcome.timings.tokens_per_s,
            },
            "model": {
                "dir": checkpoint.dir,
                "dtype": checkpoint.dtype.to_string(),
                "quantization": checkpoint.quantization.to_string(),
                "image_size": checkpoint.preprocessing.size,
                "warning": checkpoint.demo_warning(),
            },
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        if terminal.shown != *text {
            print!(
                "{}",
                text.strip_prefix(terminal.shown.as_str()).unwrap_or(text)
            );
        }
        println!();
        if let Some(warning) = checkpoint.demo_warning() {
            eprintln!("WARNING: {warning}");
        }
    }
    Ok(())
}

/// Prints each token's new text as it arrives.
struct TerminalStream {
    enabled: bool,
    shown: String,
}

impl DraftObserver for TerminalStream {
    fn token(&mut self, token: StreamedToken<'_>) {
        if !self.enabled {
            return;
        }
        let text = token.text_so_far();
        if let Some(new) = text.strip_prefix(self.shown.as_str()) {
            print!("{new}");
            let _ = std::io::stdout().flush();
        }
        self.shown = text;
    }
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
