//! DICOM Encapsulated PDF export (PS3.3 A.45.1): Patient, General Study, Encapsulated Document
//! Series, General Equipment, SC Equipment, Encapsulated Document and SOP Common modules around
//! the PDF rendering.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};

use super::dicom_modules::{
    code_item, put, put_content_date_time, put_or_empty, put_patient_and_study, put_sequence,
    put_series_and_equipment, put_sop_common, sop_reference, write_part10, Object,
    DIAGNOSTIC_IMAGING_REPORT,
};
use super::{wording, DicomInstanceIds, ExportError, ExportFormat, ReportDocument, ReportStatus};

const SERIES_NUMBER: u32 = 901;
const SERIES_DESCRIPTION: &str = "Radiology report (PDF)";

pub(super) fn render(
    doc: &ReportDocument,
    pdf: &[u8],
    ids: &DicomInstanceIds,
) -> Result<Vec<u8>, ExportError> {
    let mut obj = Object::new_empty();
    put_patient_and_study(&mut obj, doc);
    put_series_and_equipment(&mut obj, "DOC", SERIES_NUMBER, SERIES_DESCRIPTION, ids);
    // SC Equipment: a workstation-generated document.
    put(&mut obj, tags::CONVERSION_TYPE, VR::CS, "WSD");

    put_content_date_time(&mut obj, doc);
    put_or_empty(&mut obj, tags::ACQUISITION_DATE_TIME, VR::DT, None);
    put(&mut obj, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    let title = match doc.status {
        ReportStatus::Preliminary => format!(
            "{} ({})",
            wording::REPORT_TITLE,
            wording::preliminary_label(doc)
        ),
        ReportStatus::Final => wording::REPORT_TITLE.to_string(),
    };
    put(&mut obj, tags::DOCUMENT_TITLE, VR::ST, title);
    put_sequence(
        &mut obj,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_item(&DIAGNOSTIC_IMAGING_REPORT)],
    );
    if let Some(image) = &doc.source_image {
        put_sequence(
            &mut obj,
            tags::SOURCE_INSTANCE_SEQUENCE,
            vec![sop_reference(image)],
        );
    }
    put(
        &mut obj,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );
    let length = u32::try_from(pdf.len()).map_err(|_| ExportError::Encoding {
        format: ExportFormat::Pdf,
        detail: format!("the PDF is {} bytes, over DICOM's 4 GiB limit", pdf.len()),
    })?;
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        PrimitiveValue::from(length),
    ));
    let mut document = pdf.to_vec();
    // OB values have even length; the Encapsulated Document Length above excludes the pad.
    if document.len() % 2 == 1 {
        document.push(0);
    }
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT,
        VR::OB,
        PrimitiveValue::from(document),
    ));
    put_sop_common(&mut obj, uids::ENCAPSULATED_PDF_STORAGE, ids);
    write_part10(obj, ExportFormat::Pdf)
}
