//! The audit log: one hash-chained row per change, written in the changing transaction.
//!
//! Row `seq` stores `hash = sha256_hex(prev_hash + "\n" + canonical)`, where `prev_hash` is the
//! previous row's hash ([`GENESIS_HASH`] for seq 1) and `canonical` is the compact JSON array
//! `[seq, at, actor, action, study_uid, details]`, with `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`,
//! `study_uid` `null` when absent and `details` the stored JSON text as a string. Changing, removing
//! or reordering any row breaks the chain at that row or the next; [`Store::verify_audit_chain`]
//! finds the first break. Removing the newest rows leaves a shorter chain that still verifies:
//! compare [`ChainReport::last_good_hash`] with a copy kept elsewhere to detect that.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Db};
use super::{now, sha256_hex, Store, StoreError, StudyKey};

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rows read per query while verifying.
const VERIFY_PAGE: i64 = 1000;

/// One audit-log row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    /// 1, 2, 3 … without gaps.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// What happened: `study.image_imported`, `model.added`, `draft.added`, `draft.finished`,
    /// `report.version_added`, `report.signed`, `report.addendum_added`.
    pub action: String,
    pub study_uid: Option<String>,
    /// JSON object with the action's ids and content hashes (no report text).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of [`Store::verify_audit_chain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    /// Entries checked, up to and including a break.
    pub entries_checked: u64,
    /// Hash of the last intact entry ([`GENESIS_HASH`] for an empty log).
    pub last_good_hash: String,
    /// The first entry that does not follow from the ones before it.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: ChainProblem,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChainProblem {
    /// Entries are missing before this one.
    Gap { expected_seq: i64 },
    /// `prev_hash` is not the previous entry's hash.
    PrevHashMismatch { expected: String, stored: String },
    /// The entry's fields do not hash to its stored `hash`: it was changed after writing.
    HashMismatch { computed: String, stored: String },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            ChainProblem::Gap { expected_seq } => write!(
                f,
                "audit entry {} follows a gap: entry {expected_seq} is missing",
                self.seq
            ),
            ChainProblem::PrevHashMismatch { .. } => write!(
                f,
                "audit entry {} does not link to the entry before it (an entry was changed or removed)",
                self.seq
            ),
            ChainProblem::HashMismatch { .. } => write!(
                f,
                "audit entry {} was changed after it was written (its hash does not match)",
                self.seq
            ),
        }
    }
}

/// The hash of one entry, as stored in `audit_log.hash` (see the module documentation).
pub fn audit_entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &DateTime<Utc>,
    actor: &str,
    action: &str,
    study_uid: Option<&str>,
    details: &str,
) -> String {
    let at = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let canonical = serde_json::json!([seq, at, actor, action, study_uid, details]).to_string();
    sha256_hex(format!("{prev_hash}\n{canonical}"))
}

/// Appends an entry; call inside the write transaction that makes the change.
pub(crate) async fn append(
    db: &mut Db<'_>,
    actor: &str,
    action: &str,
    study_uid: Option<&str>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let last: Option<(i64, String)> = sql!(db, c => sqlx::query_as(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    .fetch_optional(c)
    .await)
    .map_err(|e| db.error("reading the audit log head", e))?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let at = now();
    let details = details.to_string();
    let hash = audit_entry_hash(&prev_hash, seq, &at, actor, action, study_uid, &details);
    sql!(db, c => sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, study_uid, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(seq)
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(study_uid)
    .bind(&details)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(c)
    .await
    .map(drop))
    .map_err(|e| db.error("appending to the audit log", e))?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "seq, at, actor, action, study_uid, details, prev_hash, hash";

impl Store {
    /// The audit log, oldest first; only one study's entries when `study` is given.
    pub async fn audit_log(&self, study: Option<StudyKey>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let entries = match study {
            Some(key) => {
                let study = super::studies::resolve(&mut db, &key).await?;
                sql!(db, c => sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE study_uid = $1 ORDER BY seq"
                ))
                .bind(&study.uid)
                .fetch_all(c)
                .await)
            }
            None => sql!(db, c => sqlx::query_as(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq"
            ))
            .fetch_all(c)
            .await),
        };
        entries.map_err(|e| db.error("reading the audit log", e))
    }

    /// Recomputes every entry's hash and link, and names the first entry that breaks the chain.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let mut report = ChainReport {
            entries_checked: 0,
            last_good_hash: GENESIS_HASH.to_owned(),
            first_break: None,
        };
        let mut last_seq = 0;
        loop {
            let page: Vec<AuditEntry> = sql!(db, c => sqlx::query_as(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(last_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(c)
            .await)
            .map_err(|e| db.error("reading the audit log", e))?;
            if page.is_empty() {
                return Ok(report);
            }
            for entry in page {
                report.entries_checked += 1;
                if let Some(problem) = check_link(&entry, last_seq, &report.last_good_hash) {
                    report.first_break = Some(ChainBreak {
                        seq: entry.seq,
                        problem,
                    });
                    return Ok(report);
                }
                last_seq = entry.seq;
                report.last_good_hash = entry.hash;
            }
        }
    }
}

fn check_link(entry: &AuditEntry, previous_seq: i64, previous_hash: &str) -> Option<ChainProblem> {
    if entry.seq != previous_seq + 1 {
        return Some(ChainProblem::Gap {
            expected_seq: previous_seq + 1,
        });
    }
    if entry.prev_hash != previous_hash {
        return Some(ChainProblem::PrevHashMismatch {
            expected: previous_hash.to_owned(),
            stored: entry.prev_hash.clone(),
        });
    }
    let computed = audit_entry_hash(
        &entry.prev_hash,
        entry.seq,
        &entry.at,
        &entry.actor,
        &entry.action,
        entry.study_uid.as_deref(),
        &entry.details,
    );
    (computed != entry.hash).then(|| ChainProblem::HashMismatch {
        computed,
        stored: entry.hash.clone(),
    })
}
