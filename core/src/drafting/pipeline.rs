//! The drafting pipeline, the one path from a radiograph to a draft that every front end takes
//! (`raddraft generate`, `raddraft batch`, `raddraft draft` and the desktop's drafting service):
//! radiograph (DICOM / PNG / JPEG) → pixel profile → model input → prompt from the template and
//! the indication → streamed generation with cancellation → sections, provenance and timings.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Tensor;
use raddraft_models::generation::{self, Decoding, FinishReason, GenerationConfig, TokenEvent};
use raddraft_models::prompt::PromptTokenizer;
use raddraft_models::{Checkpoint, ModelError};
use serde::{Deserialize, Serialize};

use super::text::{draft_from_tokens, DraftText, DEFAULT_LOW_CONFIDENCE_LOGPROB};
use raddraft_ingest::{self as dicom, IngestError, Profile};

/// The prompt template's text before the indication, as PaliGemma 2 was fine-tuned on
/// MIMIC-CXR ("INDICATION: …" as the prefix, FINDINGS and IMPRESSION as the target).
pub const DEFAULT_PROMPT_PREFIX: &str = "INDICATION: ";

/// The prompt for an indication. Without one (absent, or only whitespace) the prompt is the
/// template's prefix alone, trimmed ("INDICATION:"): a study without a clinical question is
/// still drafted, the same way by every front end, and the draft records that it had none.
pub fn prompt_for(prefix: &str, indication: Option<&str>) -> String {
    match indication.filter(|text| !is_blank(text)) {
        Some(text) => format!("{prefix}{text}"),
        None => prefix.trim_end().to_owned(),
    }
}

/// The indication if it says something: an absent or blank one is none.
pub fn meaningful_indication(indication: Option<String>) -> Option<String> {
    indication.filter(|text| !is_blank(text))
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// What to draft from and how.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    /// A radiograph: DICOM (CR/DX), PNG or JPEG.
    pub image: PathBuf,
    /// The clinical indication; `None` takes it from the DICOM header.
    pub indication: Option<String>,
    /// The whole prompt, replacing the template and the indication (for experiments).
    pub prompt: Option<String>,
    pub params: DraftParams,
    /// Keep the f32 logits each token was chosen from (greedy only), e.g. for `--dump-logits`.
    pub record_logits: bool,
}

impl DraftRequest {
    /// A request with the indication from the header (or `indication`) and default settings.
    pub fn new(image: impl Into<PathBuf>, indication: Option<String>, params: DraftParams) -> Self {
        Self {
            image: image.into(),
            indication,
            prompt: None,
            params,
            record_logits: false,
        }
    }
}

/// Generation parameters, stored with every draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftParams {
    pub profile: Profile,
    pub max_new_tokens: usize,
    /// Beam search with this many beams; greedy (the paper's choice) when 1.
    pub num_beams: usize,
    pub low_confidence_logprob: f32,
    /// The prompt template's text before the indication.
    #[serde(default = "default_prompt_prefix")]
    pub prompt_prefix: String,
}

fn default_prompt_prefix() -> String {
    DEFAULT_PROMPT_PREFIX.to_owned()
}

impl Default for DraftParams {
    fn default() -> Self {
        Self {
            profile: Profile::MimicCxrJpg,
            max_new_tokens: 256,
            num_beams: 1,
            low_confidence_logprob: DEFAULT_LOW_CONFIDENCE_LOGPROB,
            prompt_prefix: default_prompt_prefix(),
        }
    }
}

/// A finished (or cancelled) draft with everything the study store and a research run record.
#[derive(Debug, Clone, Serialize)]
pub struct DraftOutcome {
    pub prompt: String,
    /// The indication the prompt carries; `None` when the study had none.
    pub indication: Option<String>,
    /// Prefix length in tokens: image tokens, `<bos>`, the prompt and its newline.
    pub prefix_len: usize,
    pub draft: DraftText,
    /// Generated ids, including the EOS id when generation stopped on it.
    pub token_ids: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub finish_reason: FinishReason,
    pub timings: DraftTimings,
    pub params: DraftParams,
    /// With [`DraftRequest::record_logits`]: the logits each token was chosen from.
    #[serde(skip)]
    pub step_logits: Vec<Tensor>,
}

/// Where a draft's time went, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftTimings {
    /// Reading the radiograph, the pixel profile, the model input and the prompt's tokens.
    pub preprocess_s: f64,
    pub prefill_s: f64,
    pub decode_s: f64,
    /// Decoding time per generated token after the first, in milliseconds.
    #[serde(default)]
    pub decode_ms_per_token: f64,
    /// From the start of the draft to its first generated token: what the radiologist waits
    /// before text appears (reading, preprocessing, the vision tower and the prefill).
    #[serde(default)]
    pub time_to_first_token_s: f64,
    /// Generated tokens per second after the first (`1000 / decode_ms_per_token`); 0 when fewer
    /// than two tokens were generated.
    #[serde(default)]
    pub tokens_per_s: f64,
    pub total_s: f64,
}

/// Why a draft could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("cannot read {}: {source}", path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: IngestError,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("recording logits needs greedy decoding (one beam)")]
    LogitsNeedGreedy,
}

/// A generated token as it streams, with the text decoded so far on request.
pub struct StreamedToken<'a> {
    pub index: usize,
    pub id: u32,
    pub logprob: f32,
    generated: &'a [u32],
    tokenizer: &'a PromptTokenizer,
}

impl StreamedToken<'_> {
    /// The whole text generated so far (empty if it cannot be decoded yet).
    pub fn text_so_far(&self) -> String {
        self.tokenizer.decode(self.generated).unwrap_or_default()
    }
}

/// Follows a draft as it runs; every method has a default that does nothing.
pub trait DraftObserver {
    /// Checked before generation starts and after every token; `true` stops the draft, which
    /// then finishes as [`FinishReason::Cancelled`] with the text so far.
    fn cancelled(&self) -> bool {
        false
    }
    /// Each generated token, in order.
    fn token(&mut self, _token: StreamedToken<'_>) {}
}

/// Observes nothing and never cancels.
impl DraftObserver for () {}

/// A loaded checkpoint and the one way to draft with it.
pub struct DraftPipeline {
    checkpoint: Checkpoint,
}

impl DraftPipeline {
    pub fn new(checkpoint: Checkpoint) -> Self {
        Self { checkpoint }
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Drafts one report, streaming tokens to `observer`.
    pub fn draft(
        &mut self,
        request: &DraftRequest,
        observer: &mut dyn DraftObserver,
    ) -> Result<DraftOutcome, DraftError> {
        let start = Instant::now();
        let params = request.params.clone();
        if request.record_logits && params.num_beams > 1 {
            return Err(DraftError::LogitsNeedGreedy);
        }
        let (image, meta) =
            dicom::load_model_image(&request.image, params.profile).map_err(|source| {
                DraftError::Image {
                    path: request.image.clone(),
                    source,
                }
            })?;
        let indication = meaningful_indication(request.indication.clone()).or_else(|| {
            meaningful_indication(meta.and_then(|meta| meta.indication).map(|i| i.text))
        });
        let prompt = match &request.prompt {
            Some(prompt) => prompt.clone(),
            None => prompt_for(&params.prompt_prefix, indication.as_deref()),
        };
        let checkpoint = &mut self.checkpoint;
        let pixel_values = checkpoint.pixel_values(&image)?;
        let prefix = checkpoint.prefix_ids(&prompt)?;
        let preprocess_s = start.elapsed().as_secs_f64();

        let eos = checkpoint.config.eos_token_ids();
        let config = GenerationConfig {
            max_new_tokens: params.max_new_tokens,
            eos_token_ids: eos.clone(),
            decoding: if params.num_beams > 1 {
                Decoding::Beam {
                    num_beams: params.num_beams,
                    length_penalty: 1.0,
                }
            } else {
                Decoding::Greedy
            },
        };
        let mut outcome = DraftOutcome {
            prompt,
            indication,
            prefix_len: prefix.len(),
            draft: DraftText::default(),
            token_ids: Vec::new(),
            logprobs: Vec::new(),
            finish_reason: FinishReason::Cancelled,
            timings: DraftTimings {
                preprocess_s,
                ..DraftTimings::default()
            },
            params,
            step_logits: Vec::new(),
        };
        if observer.cancelled() {
            outcome.timings.total_s = start.elapsed().as_secs_f64();
            return Ok(outcome);
        }

        let tokenizer = &checkpoint.tokenizer;
        let mut generated: Vec<u32> = Vec::new();
        let mut first_token_s = None;
        let mut on_token = |event: TokenEvent| {
            first_token_s.get_or_insert_with(|| start.elapsed().as_secs_f64());
            generated.push(event.id);
            observer.token(StreamedToken {
                index: event.index,
                id: event.id,
                logprob: event.logprob,
                generated: &generated,
                tokenizer,
            });
            if observer.cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let step_logits = &mut outcome.step_logits;
        let mut record = |logits: &Tensor| -> raddraft_models::Result<()> {
            step_logits.push(logits.clone());
            Ok(())
        };
        let sink: Option<generation::LogitsSink> = request.record_logits.then_some(&mut record);
        let generation = generation::generate(
            &mut checkpoint.model,
            &prefix,
            &pixel_values,
            &config,
            &mut on_token,
            sink,
        )?;
        outcome.draft = draft_from_tokens(
            tokenizer,
            &generation.token_ids,
            &generation.logprobs,
            &eos,
            outcome.params.low_confidence_logprob,
        )?;
        outcome.token_ids = generation.token_ids;
        outcome.logprobs = generation.logprobs;
        outcome.finish_reason = generation.finish_reason;
        outcome.timings.prefill_s = generation.timings.prefill_s;
        outcome.timings.decode_s = generation.timings.decode_s;
        outcome.timings.decode_ms_per_token = generation.timings.decode_ms_per_token;
        outcome.timings.time_to_first_token_s = first_token_s.unwrap_or_default();
        if generation.timings.decode_ms_per_token > 0.0 {
            outcome.timings.tokens_per_s = 1000.0 / generation.timings.decode_ms_per_token;
        }
        outcome.timings.total_s = start.elapsed().as_secs_f64();
        Ok(outcome)
    }
}
