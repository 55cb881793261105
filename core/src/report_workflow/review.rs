//! Human review of a report: edits (provenance mapped through the change), accepting model
//! text, and sign-off that refuses unreviewed model text unless the signer accepts it.

use crate::drafting::{Origin, Provenance};
use crate::store::{NewReportVersion, ReportVersion, SignOff, Store, StudyKey, VersionId};

use super::ReportingError;

/// The provenance stored with `version`.
pub fn provenance_of(version: &ReportVersion) -> Result<Provenance, ReportingError> {
    serde_json::from_str(&version.provenance).map_err(|e| ReportingError::Provenance {
        version: version.id.0,
        detail: e.to_string(),
    })
}

/// Model-written sentences neither accepted nor edited.
pub fn unreviewed_ai_sentences(provenance: &Provenance) -> usize {
    provenance
        .findings
        .iter()
        .chain(&provenance.impression)
        .filter(|span| span.origin == Origin::Ai && span.end > span.start)
        .count()
}

/// Appends a human edit of the report; model sentences left exactly as they were stay marked
/// AI-generated, everything typed or changed is the author's.
pub async fn save_edit(
    store: &Store,
    study: StudyKey,
    findings: &str,
    impression: &str,
    author: &str,
) -> Result<ReportVersion, ReportingError> {
    let provenance = match store.latest_report(study.clone()).await? {
        Some(previous) => provenance_of(&previous)?.after_edit(
            (&previous.findings, &previous.impression),
            (findings, impression),
        ),
        None => Provenance::human(findings, impression),
    };
    append(
        store,
        &study,
        None,
        findings,
        impression,
        &provenance,
        author,
    )
    .await
}

/// Appends a version of the latest report with every unreviewed model sentence accepted.
pub async fn accept_ai(
    store: &Store,
    study: StudyKey,
    author: &str,
) -> Result<ReportVersion, ReportingError> {
    let latest = latest_or_error(store, &study).await?;
    let mut provenance = provenance_of(&latest)?;
    provenance.accept_all();
    append(
        store,
        &study,
        latest.draft_id,
        &latest.findings,
        &latest.impression,
        &provenance,
        author,
    )
    .await
}

/// Signs the latest report. Refuses with [`ReportingError::Unreviewed`] while model text is
/// unreviewed, unless `accept_remaining` (the signer reviewed it), which first appends a version
/// accepting it.
pub async fn sign_report(
    store: &Store,
    study: StudyKey,
    signer: &str,
    accept_remaining: bool,
) -> Result<SignOff, ReportingError> {
    let latest = latest_or_error(store, &study).await?;
    let pending = unreviewed_ai_sentences(&provenance_of(&latest)?);
    let to_sign = if pending == 0 {
        latest.id
    } else if accept_remaining {
        accept_ai(store, study.clone(), signer).await?.id
    } else {
        return Err(ReportingError::Unreviewed { count: pending });
    };
    Ok(store.sign(study, to_sign, signer).await?)
}

async fn latest_or_error(store: &Store, study: &StudyKey) -> Result<ReportVersion, ReportingError> {
    store
        .latest_report(study.clone())
        .await?
        .ok_or_else(|| ReportingError::NoReport {
            study: study.to_string(),
        })
}

pub(super) async fn append(
    store: &Store,
    study: &StudyKey,
    draft: Option<crate::store::DraftId>,
    findings: &str,
    impression: &str,
    provenance: &Provenance,
    author: &str,
) -> Result<ReportVersion, ReportingError> {
    let provenance = serde_json::to_string(provenance).map_err(|e| ReportingError::Serialize {
        what: "the provenance",
        detail: e.to_string(),
    })?;
    let id = store
        .add_report_version(&NewReportVersion {
            study: study.clone(),
            draft,
            findings: findings.to_string(),
            impression: impression.to_string(),
            provenance,
            author: author.to_string(),
        })
        .await?;
    version_by_id(store, study, id).await
}

async fn version_by_id(
    store: &Store,
    study: &StudyKey,
    id: VersionId,
) -> Result<ReportVersion, ReportingError> {
    store
        .report_versions(study.clone())
        .await?
        .into_iter()
        .rev()
        .find(|version| version.id == id)
        .ok_or(ReportingError::VersionMissing { version: id.0 })
}
