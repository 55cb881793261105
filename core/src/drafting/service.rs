//! The drafting service: one loaded model on a background worker, a job queue, streamed token
//! events and cancellation. The CLI and the desktop shell both draft through it.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use raddraft_ingest::{self as dicom, Profile};
use raddraft_models::generation::{self, Decoding, FinishReason, GenerationConfig};
use raddraft_models::Checkpoint;
use serde::{Deserialize, Serialize};

use super::text::{draft_from_tokens, DraftText, DEFAULT_LOW_CONFIDENCE_LOGPROB};

/// What to draft from and how.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    /// A radiograph: DICOM (CR/DX), PNG or JPEG.
    pub image: PathBuf,
    /// The clinical indication; `None` takes it from the DICOM header.
    pub indication: Option<String>,
    pub params: DraftParams,
}

/// Generation parameters, stored with every draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftParams {
    pub profile: Profile,
    pub max_new_tokens: usize,
    /// Beam search with this many beams; greedy (the paper's choice) when 1.
    pub num_beams: usize,
    pub low_confidence_logprob: f32,
}

impl Default for DraftParams {
    fn default() -> Self {
        Self {
            profile: Profile::MimicCxrJpg,
            max_new_tokens: 256,
            num_beams: 1,
            low_confidence_logprob: DEFAULT_LOW_CONFIDENCE_LOGPROB,
        }
    }
}

/// A finished (or cancelled) draft with everything the study store records.
#[derive(Debug, Clone, Serialize)]
pub struct DraftOutcome {
    pub prompt: String,
    pub indication: Option<String>,
    pub draft: DraftText,
    pub token_ids: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub finish_reason: FinishReason,
    pub timings: DraftTimings,
    pub params: DraftParams,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DraftTimings {
    pub preprocess_s: f64,
    pub prefill_s: f64,
    pub decode_s: f64,
    pub total_s: f64,
}

/// Progress of one job, in order: `Started`, any number of `Token`, then exactly one of
/// `Finished` (also for a cancelled job, with `finish_reason: Cancelled`) or `Failed`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DraftEvent {
    Started {
        job: u64,
    },
    Token {
        job: u64,
        index: usize,
        id: u32,
        logprob: f32,
        /// The whole text decoded so far.
        text: String,
        max_new_tokens: usize,
    },
    Finished {
        job: u64,
        outcome: Box<DraftOutcome>,
    },
    Failed {
        job: u64,
        message: String,
    },
}

/// Handle on a queued job.
#[derive(Debug, Clone)]
pub struct JobHandle {
    pub id: u64,
    cancel: Arc<AtomicBool>,
}

impl JobHandle {
    /// Stops the job at the next token (or before it starts); it finishes as `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

type EventSink = Box<dyn FnMut(DraftEvent) + Send>;

struct Job {
    id: u64,
    request: DraftRequest,
    cancel: Arc<AtomicBool>,
    sink: EventSink,
}

/// Identity of the model the service holds.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub dir: PathBuf,
    pub image_size: usize,
    pub dtype: String,
    pub demo_warning: Option<String>,
}

/// Owns a loaded checkpoint on a worker thread; jobs run one at a time in submission order.
pub struct DraftService {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
    next_id: AtomicU64,
    model: ModelInfo,
}

impl DraftService {
    /// Starts the worker with a model loaded once and kept for every job.
    pub fn start(checkpoint: Checkpoint) -> Self {
        let model = ModelInfo {
            dir: checkpoint.dir.clone(),
            image_size: checkpoint.preprocessing.size,
            dtype: checkpoint.dtype.to_string(),
            demo_warning: checkpoint.demo_warning().map(str::to_string),
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("raddraft-drafting".into())
            .spawn(move || {
                let mut checkpoint = checkpoint;
                for mut job in rx {
                    (job.sink)(DraftEvent::Started { job: job.id });
                    let event = match run_job(&mut checkpoint, &mut job) {
                        Ok(outcome) => DraftEvent::Finished {
                            job: job.id,
                            outcome: Box::new(outcome),
                        },
                        Err(message) => DraftEvent::Failed {
                            job: job.id,
                            message,
                        },
                    };
                    (job.sink)(event);
                }
            })
            .ok();
        Self {
            jobs: worker.is_some().then_some(tx),
            worker,
            next_id: AtomicU64::new(1),
            model,
        }
    }

    pub fn model(&self) -> &ModelInfo {
        &self.model
    }

    /// Queues a job; `sink` receives its events on the worker thread.
    pub fn submit(
        &self,
        request: DraftRequest,
        sink: impl FnMut(DraftEvent) + Send + 'static,
    ) -> JobHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            id,
            request,
            cancel: cancel.clone(),
            sink: Box::new(sink),
        };
        let undelivered = match &self.jobs {
            Some(tx) => tx.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(mut job) = undelivered {
            (job.sink)(DraftEvent::Failed {
                job: id,
                message: "the drafting worker is not running".into(),
            });
        }
        JobHandle { id, cancel }
    }

    /// Runs one job and waits for it, forwarding its events to `on_event`.
    pub fn draft_blocking(
        &self,
        request: DraftRequest,
        mut on_event: impl FnMut(&DraftEvent),
    ) -> Result<DraftOutcome, String> {
        let (tx, rx) = mpsc::channel();
        self.submit(request, move |event| {
            let _ = tx.send(event);
        });
        for event in rx {
            on_event(&event);
            match event {
                DraftEvent::Finished { outcome, .. } => return Ok(*outcome),
                DraftEvent::Failed { message, .. } => return Err(message),
                _ => {}
            }
        }
        Err("the drafting worker stopped".into())
    }
}

impl Drop for DraftService {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn run_job(checkpoint: &mut Checkpoint, job: &mut Job) -> Result<DraftOutcome, String> {
    let start = Instant::now();
    let request = &job.request;
    let params = request.params.clone();
    let (image, meta) = dicom::load_model_image(&request.image, params.profile)
        .map_err(|e| format!("cannot read {}: {e}", request.image.display()))?;
    let indication = request.indication.clone().or_else(|| {
        meta.as_ref()
            .and_then(|m| m.indication.as_ref())
            .map(|i| i.text.clone())
    });
    let indication_text = indication.as_deref().ok_or_else(|| {
        format!(
            "{} carries no indication; give one (the prompt is \"INDICATION: …\")",
            request.image.display()
        )
    })?;
    let prompt = format!("INDICATION: {indication_text}");
    let pixel_values = checkpoint.pixel_values(&image).map_err(|e| e.to_string())?;
    let prefix = checkpoint.prefix_ids(&prompt).map_err(|e| e.to_string())?;
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
    if job.cancel.load(Ordering::Relaxed) {
        return Ok(cancelled_before_start(
            prompt,
            indication,
            params,
            preprocess_s,
        ));
    }
    let tokenizer = &checkpoint.tokenizer;
    let (cancel, sink, id) = (&job.cancel, &mut job.sink, job.id);
    let mut so_far: Vec<u32> = Vec::new();
    let mut on_token = |event: generation::TokenEvent| {
        so_far.push(event.id);
        sink(DraftEvent::Token {
            job: id,
            index: event.index,
            id: event.id,
            logprob: event.logprob,
            text: tokenizer.decode(&so_far).unwrap_or_default(),
            max_new_tokens: params.max_new_tokens,
        });
        if cancel.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let generation = generation::generate(
        &mut checkpoint.model,
        &prefix,
        &pixel_values,
        &config,
        &mut on_token,
        None,
    )
    .map_err(|e| e.to_string())?;
    let draft = draft_from_tokens(
        &checkpoint.tokenizer,
        &generation.token_ids,
        &generation.logprobs,
        &eos,
        params.low_confidence_logprob,
    )
    .map_err(|e| e.to_string())?;
    Ok(DraftOutcome {
        prompt,
        indication,
        draft,
        token_ids: generation.token_ids,
        logprobs: generation.logprobs,
        finish_reason: generation.finish_reason,
        timings: DraftTimings {
            preprocess_s,
            prefill_s: generation.timings.prefill_s,
            decode_s: generation.timings.decode_s,
            total_s: start.elapsed().as_secs_f64(),
        },
        params,
    })
}

fn cancelled_before_start(
    prompt: String,
    indication: Option<String>,
    params: DraftParams,
    preprocess_s: f64,
) -> DraftOutcome {
    DraftOutcome {
        prompt,
        indication,
        draft: DraftText {
            text: String::new(),
            findings: String::new(),
            impression: String::new(),
            provenance: Default::default(),
        },
        token_ids: Vec::new(),
        logprobs: Vec::new(),
        finish_reason: FinishReason::Cancelled,
        timings: DraftTimings {
            preprocess_s,
            total_s: preprocess_s,
            ..Default::default()
        },
        params,
    }
}
