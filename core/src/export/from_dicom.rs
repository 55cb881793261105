//! Filling [`StudyRef`] and [`ImageRef`] from an ingested radiograph's DICOM metadata.

use chrono::NaiveDate;
use raddraft_ingest::{DicomDate, PatientSex, RadiographMeta};

use super::{ImageRef, Sex, StudyRef};

impl StudyRef {
    /// The patient and study attributes ingest reads. Study Time, Referring Physician's Name and
    /// Study ID are not among them and stay `None`.
    pub fn from_radiograph(meta: &RadiographMeta) -> StudyRef {
        StudyRef {
            study_instance_uid: meta.study.instance_uid.clone(),
            accession: meta.study.accession_number.clone(),
            patient_name: meta.patient.name.clone(),
            patient_id: meta.patient.id.clone(),
            birth_date: meta.patient.birth_date.and_then(calendar_date),
            sex: meta.patient.sex.map(|sex| match sex {
                PatientSex::Male => Sex::Male,
                PatientSex::Female => Sex::Female,
                PatientSex::Other => Sex::Other,
            }),
            study_date: meta.study.date.and_then(calendar_date),
            study_time: None,
            referring_physician: None,
            study_id: None,
            description: meta.study.description.clone(),
        }
    }
}

impl ImageRef {
    /// The radiograph's own identifiers; `None` when any of the three UIDs is absent.
    pub fn from_radiograph(meta: &RadiographMeta) -> Option<ImageRef> {
        Some(ImageRef {
            sop_class_uid: meta.sop_class_uid.clone()?,
            sop_instance_uid: meta.sop_instance_uid.clone()?,
            series_instance_uid: meta.series_instance_uid.clone()?,
        })
    }
}

/// `None` for dates ingest accepted but the calendar lacks (such as 20230231).
fn calendar_date(date: DicomDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
}
