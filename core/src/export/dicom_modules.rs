//! The DICOM modules the SR and Encapsulated PDF exports share (Patient, General Study, series,
//! General Equipment, SOP Common), element helpers, and writing a Part 10 file.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use super::{DicomInstanceIds, ExportError, ExportFormat, ImageRef, ReportDocument, Sex};

pub(super) type Object = InMemDicomObject;

pub(super) const MANUFACTURER: &str = "raddraft";

/// A coded concept: (Code Value, Coding Scheme Designator, Code Meaning).
pub(super) struct Code(pub &'static str, pub &'static str, pub &'static str);

pub(super) const DIAGNOSTIC_IMAGING_REPORT: Code =
    Code("18748-4", "LN", "Diagnostic Imaging Report");

pub(super) fn put(obj: &mut Object, tag: Tag, vr: VR, value: impl Into<String>) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::from(value.into()),
    ));
}

/// A Type 2 attribute: the value when known, else present and empty.
pub(super) fn put_or_empty(obj: &mut Object, tag: Tag, vr: VR, value: Option<&str>) {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        Some(value) => put(obj, tag, vr, value),
        None => {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
        }
    }
}

pub(super) fn put_sequence(obj: &mut Object, tag: Tag, items: Vec<Object>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

pub(super) fn code_item(code: &Code) -> Object {
    let mut item = Object::new_empty();
    put(&mut item, tags::CODE_VALUE, VR::SH, code.0);
    put(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, code.1);
    put(&mut item, tags::CODE_MEANING, VR::LO, code.2);
    item
}

/// Patient module and General Study module, from [`StudyRef`](super::StudyRef).
pub(super) fn put_patient_and_study(obj: &mut Object, doc: &ReportDocument) {
    let study = &doc.study;
    put_or_empty(
        obj,
        tags::PATIENT_NAME,
        VR::PN,
        study.patient_name.as_deref(),
    );
    put_or_empty(obj, tags::PATIENT_ID, VR::LO, study.patient_id.as_deref());
    let birth_date = study.birth_date.map(dicom_date);
    put_or_empty(obj, tags::PATIENT_BIRTH_DATE, VR::DA, birth_date.as_deref());
    let sex = study.sex.map(|sex| match sex {
        Sex::Male => "M",
        Sex::Female => "F",
        Sex::Other => "O",
    });
    put_or_empty(obj, tags::PATIENT_SEX, VR::CS, sex);

    put_or_empty(
        obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        study.study_instance_uid.as_deref(),
    );
    let study_date = study.study_date.map(dicom_date);
    put_or_empty(obj, tags::STUDY_DATE, VR::DA, study_date.as_deref());
    let study_time = study.study_time.map(dicom_time);
    put_or_empty(obj, tags::STUDY_TIME, VR::TM, study_time.as_deref());
    put_or_empty(
        obj,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        study.referring_physician.as_deref(),
    );
    put_or_empty(obj, tags::STUDY_ID, VR::SH, study.study_id.as_deref());
    put_or_empty(
        obj,
        tags::ACCESSION_NUMBER,
        VR::SH,
        study.accession.as_deref(),
    );
    if let Some(description) = study.description.as_deref().map(str::trim) {
        if !description.is_empty() {
            put(obj, tags::STUDY_DESCRIPTION, VR::LO, description);
        }
    }
}

/// The series attributes both series modules share (SR Document Series, Encapsulated Document
/// Series), and General Equipment.
pub(super) fn put_series_and_equipment(
    obj: &mut Object,
    modality: &str,
    series_number: u32,
    series_description: &str,
    ids: &DicomInstanceIds,
) {
    put(obj, tags::MODALITY, VR::CS, modality);
    put(
        obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &ids.series_instance_uid,
    );
    put(obj, tags::SERIES_NUMBER, VR::IS, series_number.to_string());
    put(obj, tags::SERIES_DESCRIPTION, VR::LO, series_description);
    put(obj, tags::MANUFACTURER, VR::LO, MANUFACTURER);
    put(
        obj,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );
}

/// SOP Common module (the character set is added by [`write_part10`]).
pub(super) fn put_sop_common(obj: &mut Object, sop_class_uid: &str, ids: &DicomInstanceIds) {
    put(obj, tags::SOP_CLASS_UID, VR::UI, sop_class_uid);
    put(obj, tags::SOP_INSTANCE_UID, VR::UI, &ids.sop_instance_uid);
    put(
        obj,
        tags::INSTANCE_CREATION_DATE,
        VR::DA,
        dicom_date(ids.created_at.date_naive()),
    );
    put(
        obj,
        tags::INSTANCE_CREATION_TIME,
        VR::TM,
        dicom_time(ids.created_at.time()),
    );
    put(obj, tags::INSTANCE_NUMBER, VR::IS, "1");
}

/// Content Date and Content Time: when this version of the report was made, in its own offset.
pub(super) fn put_content_date_time(obj: &mut Object, doc: &ReportDocument) {
    let at = doc.issued_at();
    put(obj, tags::CONTENT_DATE, VR::DA, dicom_date(at.date_naive()));
    put(obj, tags::CONTENT_TIME, VR::TM, dicom_time(at.time()));
}

/// Referenced SOP Class UID + Referenced SOP Instance UID.
pub(super) fn sop_reference(image: &ImageRef) -> Object {
    let mut item = Object::new_empty();
    put(
        &mut item,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        &image.sop_class_uid,
    );
    put(
        &mut item,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &image.sop_instance_uid,
    );
    item
}

pub(super) fn dicom_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

pub(super) fn dicom_time(time: NaiveTime) -> String {
    time.format("%H%M%S").to_string()
}

/// DT with its UTC offset: `YYYYMMDDHHMMSS+ZZZZ`.
pub(super) fn dicom_datetime(at: &DateTime<FixedOffset>) -> String {
    at.format("%Y%m%d%H%M%S%z").to_string()
}

/// Adds Specific Character Set `ISO_IR 192` (UTF-8) when any text is not ASCII, then encodes the
/// object as an Explicit VR Little Endian Part 10 file.
pub(super) fn write_part10(mut obj: Object, format: ExportFormat) -> Result<Vec<u8>, ExportError> {
    if has_non_ascii_text(&obj) {
        put(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
    let encoding_failed = |detail: String| ExportError::Encoding { format, detail };
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|error| encoding_failed(error.to_string()))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|error| encoding_failed(error.to_string()))?;
    Ok(bytes)
}

fn has_non_ascii_text(obj: &Object) -> bool {
    obj.iter().any(|element| match element.value() {
        Value::Primitive(PrimitiveValue::Str(text)) => !text.is_ascii(),
        Value::Primitive(PrimitiveValue::Strs(texts)) => texts.iter().any(|text| !text.is_ascii()),
        Value::Sequence(sequence) => sequence.items().iter().any(has_non_ascii_text),
        _ => false,
    })
}
