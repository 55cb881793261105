//! Drafting reports with a PaliGemma 2 checkpoint: the background service that runs jobs, the
//! split of model output into sections, and the span-by-span record of what the model wrote
//! versus what a human wrote or accepted.

pub mod provenance;
pub mod service;
pub mod text;

pub use provenance::{Origin, Provenance, Span};
pub use service::{DraftEvent, DraftOutcome, DraftParams, DraftRequest, DraftService, JobHandle};
pub use text::{draft_from_tokens, DraftText};
