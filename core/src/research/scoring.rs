//! What `raddraft score` scores: drafts joined with the manifest's references.

use std::path::Path;

use serde::Serialize;

use crate::research::drafts::DraftRow;
use crate::research::manifest::Manifest;
use crate::research::ResearchError;

/// One `{id, hypothesis, reference}` pair, the input format of `raddraft eval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoringPair {
    pub id: String,
    pub hypothesis: String,
    pub reference: String,
}

/// A study whose draft failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedDraft {
    pub id: String,
    pub error: String,
}

/// The pairs to score and the studies that cannot be scored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoringSet {
    /// In the order of `drafts`.
    pub pairs: Vec<ScoringPair>,
    /// Drafts that failed (error rows): id and error.
    pub failed_drafts: Vec<FailedDraft>,
    /// Ids whose manifest item has no reference.
    pub without_reference: Vec<String>,
}

/// Joins drafts with the manifest's references. Ids not in the manifest count as without
/// reference (callers check completeness first).
pub fn scoring_pairs(drafts: &[DraftRow], manifest: &Manifest) -> ScoringSet {
    let items = manifest.by_id();
    let mut set = ScoringSet::default();
    for row in drafts {
        let hypothesis = match (&row.hypothesis, &row.error) {
            (Some(hypothesis), None) => hypothesis,
            (_, error) => {
                set.failed_drafts.push(FailedDraft {
                    id: row.id.clone(),
                    error: error
                        .clone()
                        .unwrap_or_else(|| "the row has no hypothesis".into()),
                });
                continue;
            }
        };
        match items
            .get(row.id.as_str())
            .and_then(|item| item.reference.as_ref())
        {
            Some(reference) => set.pairs.push(ScoringPair {
                id: row.id.clone(),
                hypothesis: hypothesis.clone(),
                reference: reference.clone(),
            }),
            None => set.without_reference.push(row.id.clone()),
        }
    }
    set
}

/// Writes pairs as JSON Lines, the format `raddraft eval --pairs` reads.
pub fn write_pairs(path: &Path, pairs: &[ScoringPair]) -> Result<(), ResearchError> {
    let mut text = Vec::new();
    for pair in pairs {
        serde_json::to_writer(&mut text, pair)
            .map_err(|e| ResearchError::file(path, format!("cannot serialise a pair: {e}")))?;
        text.push(b'\n');
    }
    crate::research::write_atomically(path, &text)
}
