//! Report versions (append-only: every edit is a new row), the sign-off that makes one final, and
//! the addenda that may follow it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Db};
use super::studies::{ensure_unsigned, resolve};
use super::{
    audit, now, sha256_hex, AddendumId, DraftId, SignOffId, Store, StoreError, StudyId, StudyKey,
    VersionId,
};

/// A report version to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReportVersion {
    pub study: StudyKey,
    /// The draft this version was made from (must be one of the study's drafts).
    pub draft: Option<DraftId>,
    pub findings: String,
    pub impression: String,
    /// JSON defined by the drafting module (which spans are AI-written, accepted, edited,
    /// low-confidence); stored as given.
    pub provenance: String,
    pub author: String,
}

/// A stored report version.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ReportVersion {
    pub id: VersionId,
    pub study_id: StudyId,
    /// 1, 2, 3 … within the study.
    pub number: i64,
    pub draft_id: Option<DraftId>,
    pub findings: String,
    pub impression: String,
    pub provenance: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// The final sign-off of a study's report.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SignOff {
    pub id: SignOffId,
    pub study_id: StudyId,
    /// The exact version signed.
    pub report_version_id: VersionId,
    pub signer: String,
    pub signed_at: DateTime<Utc>,
    /// [`signed_content_sha256`] of the signed version.
    pub content_sha256: String,
}

/// A note added to a signed report.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Addendum {
    pub id: AddendumId,
    pub study_id: StudyId,
    pub text: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// The SHA-256 recorded at sign-off: lower-case hex SHA-256 of the compact JSON array
/// `["raddraft-signoff-v1", study_uid, number, findings, impression]`. Exports recompute it to
/// show that the text they print is the text that was signed.
pub fn signed_content_sha256(study_uid: &str, version: &ReportVersion) -> String {
    let content = serde_json::json!([
        "raddraft-signoff-v1",
        study_uid,
        version.number,
        version.findings,
        version.impression
    ]);
    sha256_hex(content.to_string())
}

const VERSION_SELECT: &str = "SELECT id, study_id, number, draft_id, findings, impression, \
    provenance, author, created_at FROM report_versions";

pub(crate) async fn signoff_of(
    db: &mut Db<'_>,
    study: StudyId,
) -> Result<Option<SignOff>, StoreError> {
    sql!(db, c => sqlx::query_as(
        "SELECT id, study_id, report_version_id, signer, signed_at, content_sha256 \
         FROM signoffs WHERE study_id = $1"
    )
    .bind(study)
    .fetch_optional(c)
    .await)
    .map_err(|e| db.error("reading a sign-off", e))
}

async fn latest_version(
    db: &mut Db<'_>,
    study: StudyId,
) -> Result<Option<ReportVersion>, StoreError> {
    let query = format!("{VERSION_SELECT} WHERE study_id = $1 ORDER BY number DESC LIMIT 1");
    sql!(db, c => sqlx::query_as(&query).bind(study).fetch_optional(c).await)
        .map_err(|e| db.error("reading the latest report version", e))
}

fn require_text(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::InvalidInput {
            field,
            reason: "empty".to_owned(),
        });
    }
    Ok(())
}

impl Store {
    /// Appends a version of the study's report (every edit is a new version). Refused for a
    /// signed study.
    pub async fn add_report_version(
        &self,
        version: &NewReportVersion,
    ) -> Result<VersionId, StoreError> {
        require_text("author", &version.author)?;
        serde_json::from_str::<serde_json::Value>(&version.provenance).map_err(|e| {
            StoreError::InvalidInput {
                field: "provenance",
                reason: format!("not valid JSON: {e}"),
            }
        })?;
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        let study = resolve(&mut db, &version.study).await?;
        ensure_unsigned(&mut db, &study).await?;
        if let Some(draft) = version.draft {
            let owner: Option<StudyId> = sql!(db, c => sqlx::query_scalar(
                "SELECT study_id FROM drafts WHERE id = $1"
            )
            .bind(draft)
            .fetch_optional(c)
            .await)
            .map_err(|e| db.error("looking up a draft", e))?;
            match owner {
                None => return Err(StoreError::DraftNotFound { draft: draft.0 }),
                Some(owner) if owner != study.id => {
                    return Err(StoreError::DraftNotInStudy {
                        draft: draft.0,
                        study: study.uid,
                    })
                }
                Some(_) => {}
            }
        }
        let number = latest_version(&mut db, study.id)
            .await?
            .map_or(1, |latest| latest.number + 1);
        let id: VersionId = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO report_versions (study_id, number, draft_id, findings, impression, \
             provenance, author, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
        )
        .bind(study.id)
        .bind(number)
        .bind(version.draft)
        .bind(&version.findings)
        .bind(&version.impression)
        .bind(&version.provenance)
        .bind(&version.author)
        .bind(now())
        .fetch_one(c)
        .await)
        .map_err(|e| db.error("storing a report version", e))?;
        let details = serde_json::json!({
            "version_id": id,
            "number": number,
            "draft_id": version.draft,
            "findings_sha256": sha256_hex(&version.findings),
            "impression_sha256": sha256_hex(&version.impression),
        });
        audit::append(
            &mut db,
            &version.author,
            "report.version_added",
            Some(&study.uid),
            details,
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// The study's newest report version, if any.
    pub async fn latest_report(
        &self,
        study: impl Into<StudyKey>,
    ) -> Result<Option<ReportVersion>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        latest_version(&mut db, study.id).await
    }

    /// Every version of the study's report, oldest first.
    pub async fn report_versions(
        &self,
        study: impl Into<StudyKey>,
    ) -> Result<Vec<ReportVersion>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        let query = format!("{VERSION_SELECT} WHERE study_id = $1 ORDER BY number");
        sql!(db, c => sqlx::query_as(&query).bind(study.id).fetch_all(c).await)
            .map_err(|e| db.error("listing report versions", e))
    }

    /// Signs `version`, which must be the study's latest report version (the one the signer
    /// reviewed; otherwise [`StoreError::StaleVersion`]). Final: a signed study accepts only
    /// addenda, and a second sign-off is refused with [`StoreError::Signed`].
    pub async fn sign(
        &self,
        study: impl Into<StudyKey>,
        version: VersionId,
        signer: &str,
    ) -> Result<SignOff, StoreError> {
        require_text("signer", signer)?;
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        ensure_unsigned(&mut db, &study).await?;
        let latest =
            latest_version(&mut db, study.id)
                .await?
                .ok_or_else(|| StoreError::NothingToSign {
                    study: study.uid.clone(),
                })?;
        if latest.id != version {
            return Err(StoreError::StaleVersion {
                study: study.uid,
                requested: version.0,
                latest: latest.id.0,
            });
        }
        let content_sha256 = signed_content_sha256(&study.uid, &latest);
        let signed_at = now();
        let id: SignOffId = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO signoffs (study_id, report_version_id, signer, signed_at, content_sha256) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(study.id)
        .bind(latest.id)
        .bind(signer)
        .bind(signed_at)
        .bind(&content_sha256)
        .fetch_one(c)
        .await)
        .map_err(|e| db.error("storing a sign-off", e))?;
        let details = serde_json::json!({
            "signoff_id": id,
            "version_id": latest.id,
            "number": latest.number,
            "content_sha256": content_sha256,
        });
        audit::append(&mut db, signer, "report.signed", Some(&study.uid), details).await?;
        self.commit(tx).await?;
        Ok(SignOff {
            id,
            study_id: study.id,
            report_version_id: latest.id,
            signer: signer.to_owned(),
            signed_at,
            content_sha256,
        })
    }

    /// Adds a note to a signed report ([`StoreError::NotSigned`] before sign-off).
    pub async fn add_addendum(
        &self,
        study: impl Into<StudyKey>,
        text: &str,
        author: &str,
    ) -> Result<AddendumId, StoreError> {
        require_text("addendum text", text)?;
        require_text("author", author)?;
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        if signoff_of(&mut db, study.id).await?.is_none() {
            return Err(StoreError::NotSigned { study: study.uid });
        }
        let id: AddendumId = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO addenda (study_id, text, author, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id"
        )
        .bind(study.id)
        .bind(text)
        .bind(author)
        .bind(now())
        .fetch_one(c)
        .await)
        .map_err(|e| db.error("storing an addendum", e))?;
        let details = serde_json::json!({ "addendum_id": id, "text_sha256": sha256_hex(text) });
        audit::append(
            &mut db,
            author,
            "report.addendum_added",
            Some(&study.uid),
            details,
        )
        .await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// The study's addenda, oldest first.
    pub async fn addenda(&self, study: impl Into<StudyKey>) -> Result<Vec<Addendum>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let study = resolve(&mut db, &study.into()).await?;
        sql!(db, c => sqlx::query_as(
            "SELECT id, study_id, text, author, created_at FROM addenda WHERE study_id = $1 \
             ORDER BY id"
        )
        .bind(study.id)
        .fetch_all(c)
        .await)
        .map_err(|e| db.error("listing addenda", e))
    }
}
