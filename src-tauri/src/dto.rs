//! The JSON shapes of the IPC contract where they differ from raddraft-core's own types: report
//! versions carry their provenance parsed, a study's detail gathers its versions, addenda and
//! drafts, and the audit log's details are JSON rather than text.

use raddraft_core::drafting::Provenance;
use raddraft_core::report_workflow::provenance_of;
use raddraft_core::store::{
    Addendum, AuditEntry, ChainReport, Draft, Image, ReportVersion, SignOff, Study, StudyStatus,
};
use serde::Serialize;

use crate::error::CommandResult;

#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub db: String,
    pub demo_model_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportVersionDto {
    pub id: i64,
    pub number: i64,
    pub draft_id: Option<i64>,
    pub findings: String,
    pub impression: String,
    pub provenance: Provenance,
    pub author: String,
    pub created_at: String,
}

impl ReportVersionDto {
    pub fn from_version(version: &ReportVersion) -> CommandResult<Self> {
        Ok(ReportVersionDto {
            id: version.id.0,
            number: version.number,
            draft_id: version.draft_id.map(|d| d.0),
            findings: version.findings.clone(),
            impression: version.impression.clone(),
            provenance: provenance_of(version)?,
            author: version.author.clone(),
            created_at: version.created_at.to_rfc3339(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftSummaryDto {
    pub id: i64,
    pub model_name: String,
    pub status: &'static str,
    pub created_at: String,
}

impl From<&Draft> for DraftSummaryDto {
    fn from(draft: &Draft) -> Self {
        DraftSummaryDto {
            id: draft.id.0,
            model_name: draft.model_name.clone(),
            status: draft.status.as_str(),
            created_at: draft.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StudyDetailDto {
    pub study: Study,
    pub status: StudyStatus,
    pub images: Vec<Image>,
    pub signoff: Option<SignOff>,
    pub versions: Vec<ReportVersionDto>,
    pub addenda: Vec<Addendum>,
    pub drafts: Vec<DraftSummaryDto>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntryDto {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub study_uid: Option<String>,
    /// The stored JSON object (kept as a string if it is not JSON).
    pub details: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(entry: AuditEntry) -> Self {
        let details = serde_json::from_str(&entry.details)
            .unwrap_or(serde_json::Value::String(entry.details));
        AuditEntryDto {
            seq: entry.seq,
            at: entry.at.to_rfc3339(),
            actor: entry.actor,
            action: entry.action,
            study_uid: entry.study_uid,
            details,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainBreakDto {
    pub seq: i64,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditVerification {
    pub intact: bool,
    pub entries_checked: u64,
    pub first_break: Option<ChainBreakDto>,
}

impl From<ChainReport> for AuditVerification {
    fn from(report: ChainReport) -> Self {
        AuditVerification {
            intact: report.is_intact(),
            entries_checked: report.entries_checked,
            first_break: report.first_break.map(|b| ChainBreakDto {
                seq: b.seq,
                problem: b.to_string(),
            }),
        }
    }
}

/// Draft events, as emitted (`draft://started|token|finished|failed`).
#[derive(Debug, Clone, Serialize)]
pub struct DraftStarted {
    pub job: u64,
    pub study: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftToken {
    pub job: u64,
    pub study: i64,
    pub index: usize,
    pub text: String,
    pub logprob: f32,
    pub max_new_tokens: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftFinished {
    pub job: u64,
    pub study: i64,
    pub status: &'static str,
    pub version: ReportVersionDto,
    /// Time to first token, tokens/s and the phases, for the draft panel.
    pub timings: raddraft_core::drafting::DraftTimings,
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftFailed {
    pub job: u64,
    pub study: i64,
    pub message: String,
}
