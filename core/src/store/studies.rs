//! Studies and their images: idempotent import keyed by SOP Instance UID, the worklist, lookups.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use raddraft_ingest::{PatientSex, RadiographMeta};
use serde::Serialize;

use super::db::{sql, Db};
use super::{audit, now, ImageId, SignOff, Store, StoreError, StudyId};

/// A study named by its row id or its Study Instance UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyKey {
    Id(StudyId),
    Uid(String),
}

impl StudyKey {
    /// Reads what a user typed: digits only is a row id, anything else a Study Instance UID
    /// (real UIDs always contain dots).
    pub fn parse(input: &str) -> StudyKey {
        let input = input.trim();
        match input.parse::<i64>() {
            Ok(id) if input.bytes().all(|b| b.is_ascii_digit()) => StudyKey::Id(StudyId(id)),
            _ => StudyKey::Uid(input.to_owned()),
        }
    }
}

impl From<StudyId> for StudyKey {
    fn from(id: StudyId) -> StudyKey {
        StudyKey::Id(id)
    }
}

impl From<&str> for StudyKey {
    /// A Study Instance UID.
    fn from(uid: &str) -> StudyKey {
        StudyKey::Uid(uid.to_owned())
    }
}

impl From<String> for StudyKey {
    /// A Study Instance UID.
    fn from(uid: String) -> StudyKey {
        StudyKey::Uid(uid)
    }
}

impl std::fmt::Display for StudyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StudyKey::Id(id) => write!(f, "#{id}"),
            StudyKey::Uid(uid) => f.write_str(uid),
        }
    }
}

/// Where a study is in the report workflow, for the worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyStatus {
    /// No report yet and no draft running.
    New,
    /// A draft is running (and the study is unsigned).
    Drafting,
    /// A report version exists; not signed.
    DraftReady,
    /// Signed: final.
    Signed,
}

impl StudyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StudyStatus::New => "new",
            StudyStatus::Drafting => "drafting",
            StudyStatus::DraftReady => "draft_ready",
            StudyStatus::Signed => "signed",
        }
    }
}

impl TryFrom<String> for StudyStatus {
    type Error = String;
    fn try_from(value: String) -> Result<StudyStatus, String> {
        [
            StudyStatus::New,
            StudyStatus::Drafting,
            StudyStatus::DraftReady,
            StudyStatus::Signed,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
        .ok_or_else(|| format!("unknown study status {value:?}"))
    }
}

/// The study-level attributes of an image being imported (the first image of a study sets them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewStudy {
    pub study_uid: String,
    /// As stored in DICOM (`Family^Given…`).
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    /// ISO 8601 `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// DICOM code: `M`, `F` or `O`.
    pub sex: Option<String>,
    /// ISO 8601 `YYYY-MM-DD`.
    pub study_date: Option<String>,
    pub accession: Option<String>,
    pub description: Option<String>,
    pub view_position: Option<String>,
    /// The clinical indication found in the DICOM header, if any.
    pub indication: Option<String>,
}

/// An image to import.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    pub study: NewStudy,
    pub sop_instance_uid: String,
    /// Where the file was imported from (stored as text; a non-UTF-8 path is stored lossily).
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub modality: Option<String>,
    pub rows: u32,
    pub columns: u32,
}

impl NewImage {
    /// Builds the import record of a radiograph read by [`raddraft_ingest`].
    ///
    /// `sha256` is the hex SHA-256 of the file ([`super::sha256_hex`] of its bytes).
    pub fn from_meta(
        path: impl Into<PathBuf>,
        meta: &RadiographMeta,
        sha256: impl Into<String>,
    ) -> Result<NewImage, StoreError> {
        let path = path.into();
        let required = |value: &Option<String>, field: &'static str| {
            value.clone().ok_or_else(|| StoreError::InvalidInput {
                field,
                reason: format!(
                    "missing in {}: raddraft files images by study and instance UID",
                    path.display()
                ),
            })
        };
        let study_uid = required(&meta.study.instance_uid, "Study Instance UID (0020,000D)")?;
        let sop_instance_uid = required(&meta.sop_instance_uid, "SOP Instance UID (0008,0018)")?;
        let sex = meta.patient.sex.map(|sex| {
            match sex {
                PatientSex::Male => "M",
                PatientSex::Female => "F",
                PatientSex::Other => "O",
            }
            .to_owned()
        });
        Ok(NewImage {
            study: NewStudy {
                study_uid,
                patient_name: meta.patient.name.clone(),
                patient_id: meta.patient.id.clone(),
                birth_date: meta.patient.birth_date.map(|date| date.to_string()),
                sex,
                study_date: meta.study.date.map(|date| date.to_string()),
                accession: meta.study.accession_number.clone(),
                description: meta.study.description.clone(),
                view_position: meta.view_position.clone(),
                indication: meta.indication.as_ref().map(|i| i.text.clone()),
            },
            sop_instance_uid,
            sha256: sha256.into(),
            modality: meta.modality.clone(),
            rows: meta.rows,
            columns: meta.columns,
            path,
        })
    }

    fn validate(&self) -> Result<(), StoreError> {
        let invalid = |field, reason: &str| StoreError::InvalidInput {
            field,
            reason: reason.to_owned(),
        };
        if self.study.study_uid.trim().is_empty() {
            return Err(invalid("study_uid", "empty"));
        }
        if self.sop_instance_uid.trim().is_empty() {
            return Err(invalid("sop_instance_uid", "empty"));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("sha256", "not a 64-digit hex SHA-256"));
        }
        Ok(())
    }
}

/// What [`Store::import_image`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub study_id: StudyId,
    pub image_id: ImageId,
    /// False when an image with this SOP Instance UID was already there (nothing was written).
    pub image_was_new: bool,
    pub study_was_new: bool,
}

/// A stored study.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Study {
    pub id: StudyId,
    pub study_uid: String,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub study_date: Option<String>,
    pub accession: Option<String>,
    pub description: Option<String>,
    pub view_position: Option<String>,
    pub indication: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Image {
    pub id: ImageId,
    pub study_id: StudyId,
    pub sop_instance_uid: String,
    pub path: String,
    pub sha256: String,
    pub modality: Option<String>,
    #[sqlx(rename = "pixel_rows", try_from = "i64")]
    pub rows: u32,
    #[sqlx(rename = "pixel_columns", try_from = "i64")]
    pub columns: u32,
    pub created_at: DateTime<Utc>,
}

/// A worklist line.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StudySummary {
    #[sqlx(flatten)]
    pub study: Study,
    pub image_count: i64,
    /// All drafts, whatever their status.
    pub draft_count: i64,
    #[sqlx(try_from = "String")]
    pub status: StudyStatus,
}

/// One study with its images and, once signed, its sign-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyDetail {
    pub study: Study,
    pub status: StudyStatus,
    pub images: Vec<Image>,
    pub signoff: Option<SignOff>,
}

/// A study's id and UID, resolved from a [`StudyKey`].
pub(crate) struct StudyRef {
    pub(crate) id: StudyId,
    pub(crate) uid: String,
}

/// Every study column, the counts and the worklist status of study `s`, as SQL both backends run.
const SUMMARY_SELECT: &str = "SELECT s.id, s.study_uid, s.patient_name, s.patient_id, \
    s.birth_date, s.sex, s.study_date, s.accession, s.description, s.view_position, s.indication, \
    s.created_at, \
    (SELECT COUNT(*) FROM images i WHERE i.study_id = s.id) AS image_count, \
    (SELECT COUNT(*) FROM drafts d WHERE d.study_id = s.id) AS draft_count, \
    CASE \
    WHEN EXISTS (SELECT 1 FROM signoffs g WHERE g.study_id = s.id) THEN 'signed' \
    WHEN EXISTS (SELECT 1 FROM drafts d WHERE d.study_id = s.id AND d.status = 'running') \
    THEN 'drafting' \
    WHEN EXISTS (SELECT 1 FROM report_versions r WHERE r.study_id = s.id) THEN 'draft_ready' \
    ELSE 'new' END AS status \
    FROM studies s";

pub(crate) async fn resolve(db: &mut Db<'_>, key: &StudyKey) -> Result<StudyRef, StoreError> {
    let found: Option<(StudyId, String)> = match key {
        StudyKey::Id(id) => sql!(db, c => sqlx::query_as(
            "SELECT id, study_uid FROM studies WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await),
        StudyKey::Uid(uid) => sql!(db, c => sqlx::query_as(
            "SELECT id, study_uid FROM studies WHERE study_uid = $1"
        )
        .bind(uid)
        .fetch_optional(c)
        .await),
    }
    .map_err(|e| db.error("looking up a study", e))?;
    let (id, uid) = found.ok_or_else(|| StoreError::StudyNotFound {
        key: key.to_string(),
    })?;
    Ok(StudyRef { id, uid })
}

/// Refuses any change to a signed study.
pub(crate) async fn ensure_unsigned(db: &mut Db<'_>, study: &StudyRef) -> Result<(), StoreError> {
    match super::reports::signoff_of(db, study.id).await? {
        Some(signoff) => Err(StoreError::Signed {
            study: study.uid.clone(),
            signed_by: signoff.signer,
            signed_at: signoff.signed_at,
        }),
        None => Ok(()),
    }
}

impl Store {
    /// Files an image under its study, creating the study on its first image. Idempotent: an
    /// image whose SOP Instance UID is already stored is left as it is and reported with
    /// `image_was_new: false` (several importers may race; exactly one row results).
    /// A new image for a signed study is refused with [`StoreError::Signed`].
    pub async fn import_image(&self, image: &NewImage) -> Result<ImportOutcome, StoreError> {
        image.validate()?;
        let mut tx = self.write().await?;
        let mut db = tx.db(&self.location);
        if let Some((image_id, study_id)) = find_image(&mut db, &image.sop_instance_uid).await? {
            return Ok(ImportOutcome {
                study_id,
                image_id,
                image_was_new: false,
                study_was_new: false,
            });
        }
        let (study, study_was_new) = find_or_insert_study(&mut db, &image.study).await?;
        if !study_was_new {
            ensure_unsigned(&mut db, &study).await?;
        }
        let inserted: Option<ImageId> = sql!(db, c => sqlx::query_scalar(
            "INSERT INTO images (study_id, sop_instance_uid, path, sha256, modality, pixel_rows, \
             pixel_columns, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING id"
        )
        .bind(study.id)
        .bind(&image.sop_instance_uid)
        .bind(image.path.to_string_lossy())
        .bind(&image.sha256)
        .bind(&image.modality)
        .bind(i64::from(image.rows))
        .bind(i64::from(image.columns))
        .bind(now())
        .fetch_optional(c)
        .await)
        .map_err(|e| db.error("storing an image", e))?;
        let Some(image_id) = inserted else {
            // Unreachable under the write lock; kept so a concurrent writer can never duplicate.
            let (image_id, study_id) = find_image(&mut db, &image.sop_instance_uid)
                .await?
                .ok_or_else(|| db.bad_row("images", 0, "conflicting insert vanished".into()))?;
            return Ok(ImportOutcome {
                study_id,
                image_id,
                image_was_new: false,
                study_was_new: false,
            });
        };
        let details = serde_json::json!({
            "image_id": image_id,
            "sop_instance_uid": image.sop_instance_uid,
            "sha256": image.sha256,
            "path": image.path.to_string_lossy(),
            "study_was_new": study_was_new,
        });
        audit::append(
            &mut db,
            &self.actor,
            "study.image_imported",
            Some(&study.uid),
            details,
        )
        .await?;
        self.commit(tx).await?;
        Ok(ImportOutcome {
            study_id: study.id,
            image_id,
            image_was_new: true,
            study_was_new,
        })
    }

    /// The worklist: every study with its status, most recently imported first.
    pub async fn studies(&self) -> Result<Vec<StudySummary>, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let query = format!("{SUMMARY_SELECT} ORDER BY s.id DESC");
        sql!(db, c => sqlx::query_as(&query).fetch_all(c).await)
            .map_err(|e| db.error("listing studies", e))
    }

    /// One study with its images, status and sign-off.
    pub async fn study(&self, key: impl Into<StudyKey>) -> Result<StudyDetail, StoreError> {
        let mut conn = self.read().await?;
        let mut db = conn.db(&self.location);
        let study_ref = resolve(&mut db, &key.into()).await?;
        let query = format!("{SUMMARY_SELECT} WHERE s.id = $1");
        let summary: StudySummary = sql!(db, c => sqlx::query_as(&query)
            .bind(study_ref.id)
            .fetch_one(c)
            .await)
        .map_err(|e| db.error("reading a study", e))?;
        let images: Vec<Image> = sql!(db, c => sqlx::query_as(
            "SELECT id, study_id, sop_instance_uid, path, sha256, modality, pixel_rows, \
             pixel_columns, created_at FROM images WHERE study_id = $1 ORDER BY id"
        )
        .bind(study_ref.id)
        .fetch_all(c)
        .await)
        .map_err(|e| db.error("reading a study's images", e))?;
        let signoff = super::reports::signoff_of(&mut db, study_ref.id).await?;
        Ok(StudyDetail {
            study: summary.study,
            status: summary.status,
            images,
            signoff,
        })
    }
}

async fn find_image(
    db: &mut Db<'_>,
    sop_instance_uid: &str,
) -> Result<Option<(ImageId, StudyId)>, StoreError> {
    sql!(db, c => sqlx::query_as("SELECT id, study_id FROM images WHERE sop_instance_uid = $1")
        .bind(sop_instance_uid)
        .fetch_optional(c)
        .await)
    .map_err(|e| db.error("looking up an image", e))
}

async fn find_or_insert_study(
    db: &mut Db<'_>,
    study: &NewStudy,
) -> Result<(StudyRef, bool), StoreError> {
    let inserted: Option<StudyId> = sql!(db, c => sqlx::query_scalar(
        "INSERT INTO studies (study_uid, patient_name, patient_id, birth_date, sex, study_date, \
         accession, description, view_position, indication, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (study_uid) DO NOTHING RETURNING id"
    )
    .bind(&study.study_uid)
    .bind(&study.patient_name)
    .bind(&study.patient_id)
    .bind(&study.birth_date)
    .bind(&study.sex)
    .bind(&study.study_date)
    .bind(&study.accession)
    .bind(&study.description)
    .bind(&study.view_position)
    .bind(&study.indication)
    .bind(now())
    .fetch_optional(c)
    .await)
    .map_err(|e| db.error("storing a study", e))?;
    match inserted {
        Some(id) => Ok((
            StudyRef {
                id,
                uid: study.study_uid.clone(),
            },
            true,
        )),
        None => Ok((
            resolve(db, &StudyKey::Uid(study.study_uid.clone())).await?,
            false,
        )),
    }
}
