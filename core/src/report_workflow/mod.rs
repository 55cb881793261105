//! The report workflow on stored studies, shared by every front end: recording a model draft
//! as a report version, human edits, accepting model text, and signing only reviewed text.
//!
//! Each step appends to the study store; nothing is overwritten. Model text stays marked
//! AI-generated (see [`crate::drafting::Provenance`]) until a human edits or accepts it.

mod draft_record;
mod review;

pub use draft_record::{begin_draft, fail_draft, finish_draft};
pub use review::{accept_ai, provenance_of, save_edit, sign_report, unreviewed_ai_sentences};

use crate::store::StoreError;

/// Why a step of the report workflow failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Accepting or signing needs a report version.
    #[error("study {study} has no report yet: draft or write one first")]
    NoReport { study: String },
    /// The stored provenance JSON cannot be read (edited by hand or written by other software).
    #[error(
        "report version {version} has unreadable provenance ({detail}): save an edited version to replace it"
    )]
    Provenance { version: i64, detail: String },
    /// Signing was asked while model text is unreviewed.
    #[error(
        "{count} AI-generated sentence(s) are not reviewed: edit or accept them, or sign accepting the remaining AI text as it is"
    )]
    Unreviewed { count: usize },
    /// The version just written could not be read back.
    #[error("report version {version} was written but cannot be read back")]
    VersionMissing { version: i64 },
    /// A value could not be serialised for the store.
    #[error("cannot record {what}: {detail}")]
    Serialize { what: &'static str, detail: String },
}
