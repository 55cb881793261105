//! A stored study's current report as an export document: the latest report version, its
//! sign-off and addenda, the model that drafted it, and the source image's DICOM identity.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use raddraft_ingest::{PatientSex, Radiograph};

use super::{Addendum, ImageRef, ReportDocument, ReportStatus, Sex, StudyRef};
use crate::drafting::Provenance;
use crate::store::{Store, StoreError, StudyKey};

#[derive(Debug, thiserror::Error)]
pub enum ReportDocumentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("study {0} has no report yet: draft or edit one first")]
    NoReport(String),
    #[error("report version {version} has unreadable provenance: {detail}")]
    Provenance { version: i64, detail: String },
}

/// Builds the export document of `study`'s latest report. The source image's header supplies
/// what the store does not keep (SOP Class, Series UID, study time, referring physician) when
/// its file is still readable; otherwise the export goes without the image reference.
pub async fn report_document(
    store: &Store,
    study: StudyKey,
) -> Result<ReportDocument, ReportDocumentError> {
    let detail = store.study(study.clone()).await?;
    let latest = store
        .latest_report(study.clone())
        .await?
        .ok_or_else(|| ReportDocumentError::NoReport(detail.study.study_uid.clone()))?;
    let provenance: Provenance =
        serde_json::from_str(&latest.provenance).map_err(|e| ReportDocumentError::Provenance {
            version: latest.id.0,
            detail: e.to_string(),
        })?;
    let drafts = store.drafts(study.clone()).await?;
    let model = latest
        .draft_id
        .and_then(|id| drafts.iter().find(|d| d.id == id))
        .or(drafts.last())
        .map(|d| {
            let short: String = d.weights_sha256.chars().take(12).collect();
            format!("{} (weights sha256 {short}…)", d.model_name)
        });
    let addenda = store
        .addenda(study)
        .await?
        .into_iter()
        .map(|a| Addendum {
            text: a.text,
            author: a.author,
            at: utc(a.created_at),
        })
        .collect();
    let s = &detail.study;
    let mut study_ref = StudyRef {
        study_instance_uid: Some(s.study_uid.clone()),
        accession: s.accession.clone(),
        patient_name: s.patient_name.clone(),
        patient_id: s.patient_id.clone(),
        birth_date: s.birth_date.as_deref().and_then(date),
        sex: s.sex.as_deref().and_then(|x| match x {
            "M" => Some(Sex::Male),
            "F" => Some(Sex::Female),
            "O" => Some(Sex::Other),
            _ => None,
        }),
        study_date: s.study_date.as_deref().and_then(date),
        description: s.description.clone(),
        ..StudyRef::default()
    };
    let source_image = detail.images.first().and_then(|image| {
        let radiograph = Radiograph::open(Path::new(&image.path)).ok()?;
        let meta = radiograph.meta()?;
        if study_ref.sex.is_none() {
            study_ref.sex = meta.patient.sex.map(|sex| match sex {
                PatientSex::Male => Sex::Male,
                PatientSex::Female => Sex::Female,
                PatientSex::Other => Sex::Other,
            });
        }
        Some(ImageRef {
            sop_class_uid: meta.sop_class_uid.clone()?,
            sop_instance_uid: image.sop_instance_uid.clone(),
            series_instance_uid: meta.series_instance_uid.clone()?,
        })
    });
    let signed = detail.signoff.as_ref();
    Ok(ReportDocument {
        id: format!("raddraft-{}-{}", s.id.0, latest.number),
        status: if signed.is_some() {
            ReportStatus::Final
        } else {
            ReportStatus::Preliminary
        },
        findings: latest.findings.clone(),
        impression: latest.impression.clone(),
        ai_generated: provenance.has_unreviewed_ai_text(),
        model,
        signed_by: signed.map(|x| x.signer.clone()),
        signed_at: signed.map(|x| utc(x.signed_at)),
        organization: None,
        addenda,
        study: study_ref,
        source_image,
        created_at: utc(latest.created_at),
    })
}

fn utc(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.fixed_offset()
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y%m%d"))
        .ok()
}
