//! The commands the UI invokes, grouped by what they touch. Every one is declared in build.rs
//! and granted in capabilities/default.json.

pub mod audit;
pub mod drafting;
pub mod radgraph;
pub mod report_workflow;
pub mod settings;
pub mod studies;

use raddraft_core::store::{StudyId, StudyKey};

/// The store key of a study row id sent by the UI.
fn study_key(study: i64) -> StudyKey {
    StudyKey::Id(StudyId(study))
}
