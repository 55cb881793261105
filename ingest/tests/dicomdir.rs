//! DICOMDIR import: IMAGE records resolve to files (ISO 9660 upper-case names matched
//! case-insensitively), other record types are skipped, and absent files are listed.

use std::path::Path;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use raddraft_ingest::{dicomdir_images, IngestError};

fn record(kind: &str, file_id: Option<&[&str]>) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::DIRECTORY_RECORD_TYPE,
        VR::CS,
        PrimitiveValue::from(kind),
    ));
    if let Some(parts) = file_id {
        item.put(DataElement::new(
            tags::REFERENCED_FILE_ID,
            VR::CS,
            PrimitiveValue::Strs(parts.iter().map(|s| s.to_string()).collect()),
        ));
    }
    item
}

fn write_dicomdir(path: &Path, records: Vec<InMemDicomObject>) {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::DIRECTORY_RECORD_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(records),
    ));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.1.3.10")
            .media_storage_sop_instance_uid("2.25.1")
            .transfer_syntax("1.2.840.10008.1.2.1"),
    )
    .unwrap()
    .write_to_file(path)
    .unwrap();
}

#[test]
fn image_records_resolve_case_insensitively_and_missing_files_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/sample-cxr.dcm");
    std::fs::create_dir(dir.path().join("IMAGES")).unwrap();
    std::fs::copy(&sample, dir.path().join("IMAGES/IM0001")).unwrap();
    std::fs::create_dir(dir.path().join("images2")).unwrap();
    std::fs::copy(&sample, dir.path().join("images2/im0002")).unwrap();
    let dicomdir = dir.path().join("DICOMDIR");
    write_dicomdir(
        &dicomdir,
        vec![
            record("PATIENT", None),
            record("STUDY", None),
            record("SERIES", None),
            record("IMAGE", Some(&["IMAGES", "IM0001"])),
            record("IMAGE", Some(&["IMAGES2", "IM0002"])),
            record("IMAGE", Some(&["IMAGES", "IM0003"])),
            record("IMAGE", Some(&["..", "ETC"])),
            record("PRIVATE", Some(&["IMAGES", "IM0001"])),
        ],
    );
    let (found, missing) = dicomdir_images(&dicomdir).unwrap();
    assert_eq!(
        found,
        vec![
            dir.path().join("IMAGES/IM0001"),
            dir.path().join("images2/im0002")
        ]
    );
    assert_eq!(missing, vec!["IMAGES\\IM0003", "..\\ETC"]);
}

#[test]
fn a_file_that_is_not_a_dicomdir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("DICOMDIR");
    std::fs::write(&path, b"not dicom at all").unwrap();
    assert!(matches!(
        dicomdir_images(&path),
        Err(IngestError::NotDicom { .. })
    ));
    // A DICOM image is not a directory either.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/sample-cxr.dcm");
    let err = dicomdir_images(&sample).unwrap_err();
    assert!(
        err.to_string().contains("Directory Record Sequence"),
        "{err}"
    );
}
