//! Drafting reports with a PaliGemma 2 checkpoint: the one pipeline from radiograph to draft,
//! the background service that runs drafting jobs, the split of model output into sections, and
//! the span-by-span record of what the model wrote versus what a human wrote or accepted.

pub mod pipeline;
pub mod provenance;
pub mod service;
pub mod text;

pub use pipeline::{
    meaningful_indication, prompt_for, DraftError, DraftObserver, DraftOutcome, DraftParams,
    DraftPipeline, DraftRequest, DraftTimings, StreamedToken, DEFAULT_PROMPT_PREFIX,
};
pub use provenance::{Origin, Provenance, Span};
pub use service::{DraftEvent, DraftService, JobHandle, ModelInfo};
pub use text::{draft_from_tokens, DraftText};
