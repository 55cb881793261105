//! DICOM Basic Text SR export (PS3.3 A.35.1): Patient, General Study, SR Document Series,
//! General Equipment, SR Document General, SR Document Content and SOP Common modules.
//!
//! Unsigned: Completion Flag PARTIAL, Verification Flag UNVERIFIED, Preliminary Flag
//! PRELIMINARY, and the preliminary label as the Completion Flag Description. Signed: COMPLETE,
//! VERIFIED with a Verifying Observer Sequence (the signer, then each addendum's author, with
//! organisation and time), FINAL.

use chrono::{DateTime, FixedOffset};
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};

use super::dicom_modules::{
    dicom_datetime, put, put_content_date_time, put_patient_and_study, put_sequence,
    put_series_and_equipment, put_sop_common, sop_reference, write_part10, Object,
};
use super::{sr_content, wording};
use super::{DicomInstanceIds, ExportError, ExportFormat, ReportDocument, ReportStatus};

const SERIES_NUMBER: u32 = 900;
const SERIES_DESCRIPTION: &str = "Radiology report";

pub(super) fn render(doc: &ReportDocument, ids: &DicomInstanceIds) -> Result<Vec<u8>, ExportError> {
    let mut obj = Object::new_empty();
    put_patient_and_study(&mut obj, doc);
    put_series_and_equipment(&mut obj, "SR", SERIES_NUMBER, SERIES_DESCRIPTION, ids);
    // SR Document Series: Type 2, no Performed Procedure Step is known.
    put_sequence(
        &mut obj,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    put_document_general(&mut obj, doc);
    sr_content::put_content(&mut obj, doc);
    put_sop_common(&mut obj, uids::BASIC_TEXT_SR_STORAGE, ids);
    write_part10(obj, ExportFormat::Sr)
}

fn verifying_observer(name: &str, organization: &str, at: &DateTime<FixedOffset>) -> Object {
    let mut observer = Object::new_empty();
    put(
        &mut observer,
        tags::VERIFYING_OBSERVER_NAME,
        VR::PN,
        name.trim(),
    );
    put_sequence(
        &mut observer,
        tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
        vec![],
    );
    put(
        &mut observer,
        tags::VERIFYING_ORGANIZATION,
        VR::LO,
        organization,
    );
    put(
        &mut observer,
        tags::VERIFICATION_DATE_TIME,
        VR::DT,
        dicom_datetime(at),
    );
    observer
}

/// SR Document General module.
fn put_document_general(obj: &mut Object, doc: &ReportDocument) {
    put_content_date_time(obj, doc);
    match (doc.status, &doc.signed_by, &doc.signed_at) {
        (ReportStatus::Final, Some(signer), Some(signed_at)) => {
            put(obj, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
            put(obj, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
            put(obj, tags::PRELIMINARY_FLAG, VR::CS, "FINAL");
            // The signer, then each addendum's author, who signed that addendum.
            let organization = wording::organization(doc);
            let mut observers = vec![verifying_observer(signer, organization, signed_at)];
            observers.extend(
                doc.addenda.iter().map(|addendum| {
                    verifying_observer(&addendum.author, organization, &addendum.at)
                }),
            );
            put_sequence(obj, tags::VERIFYING_OBSERVER_SEQUENCE, observers);
        }
        _ => {
            put(obj, tags::COMPLETION_FLAG, VR::CS, "PARTIAL");
            put(
                obj,
                tags::COMPLETION_FLAG_DESCRIPTION,
                VR::LO,
                wording::preliminary_label(doc),
            );
            put(obj, tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED");
            put(obj, tags::PRELIMINARY_FLAG, VR::CS, "PRELIMINARY");
        }
    }
    put_sequence(obj, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]);
    if let (Some(image), Some(study_uid)) =
        (&doc.source_image, doc.study.study_instance_uid.as_deref())
    {
        let mut series = Object::new_empty();
        put(
            &mut series,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &image.series_instance_uid,
        );
        put_sequence(
            &mut series,
            tags::REFERENCED_SOP_SEQUENCE,
            vec![sop_reference(image)],
        );
        let mut study = Object::new_empty();
        put(
            &mut study,
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            study_uid.trim(),
        );
        put_sequence(&mut study, tags::REFERENCED_SERIES_SEQUENCE, vec![series]);
        put_sequence(
            obj,
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![study],
        );
    }
}
