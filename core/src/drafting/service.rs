//! The drafting service: one loaded model on a background worker, a job queue, streamed token
//! events and cancellation, over the [drafting pipeline](super::pipeline). The desktop shell and
//! `raddraft draft` draft through it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use raddraft_models::Checkpoint;
use serde::Serialize;

use super::pipeline::{DraftObserver, DraftOutcome, DraftPipeline, DraftRequest, StreamedToken};

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
    /// `none` or `int8` (the decoder's weights).
    pub quantization: String,
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
            quantization: checkpoint.quantization.to_string(),
            demo_warning: checkpoint.demo_warning().map(str::to_string),
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("raddraft-drafting".into())
            .spawn(move || {
                let mut pipeline = DraftPipeline::new(checkpoint);
                for mut job in rx {
                    (job.sink)(DraftEvent::Started { job: job.id });
                    let event = match run_job(&mut pipeline, &mut job) {
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

fn run_job(pipeline: &mut DraftPipeline, job: &mut Job) -> Result<DraftOutcome, String> {
    let mut observer = JobObserver {
        job: job.id,
        cancel: &job.cancel,
        sink: &mut job.sink,
        max_new_tokens: job.request.params.max_new_tokens,
    };
    pipeline
        .draft(&job.request, &mut observer)
        .map_err(|e| e.to_string())
}

/// Forwards a job's tokens as [`DraftEvent::Token`] and reads its cancel flag.
struct JobObserver<'a> {
    job: u64,
    cancel: &'a AtomicBool,
    sink: &'a mut EventSink,
    max_new_tokens: usize,
}

impl DraftObserver for JobObserver<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn token(&mut self, token: StreamedToken<'_>) {
        (self.sink)(DraftEvent::Token {
            job: self.job,
            index: token.index,
            id: token.id,
            logprob: token.logprob,
            text: token.text_so_far(),
            max_new_tokens: self.max_new_tokens,
        });
    }
}
