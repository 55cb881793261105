//! Shared by the CLI integration tests: the `raddraft` binary, a registered demo model, and
//! small synthetic DX files with their own UIDs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `raddraft ARGS` with `RADDRAFT_DB=db`.
pub fn raddraft(db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_raddraft"));
    cmd.env("RADDRAFT_DB", db)
        .env("RUST_LOG", "error")
        .args(args);
    cmd
}

/// Runs and returns the output; panics with stderr if the command fails.
pub fn ok(db: &Path, args: &[&str]) -> String {
    let out = raddraft(db, args).output().expect("raddraft runs");
    assert!(
        out.status.success(),
        "raddraft {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its output.
pub fn fails(db: &Path, args: &[&str]) -> Output {
    let out = raddraft(db, args).output().expect("raddraft runs");
    assert!(
        !out.status.success(),
        "raddraft {args:?} succeeded but should not have"
    );
    out
}

pub fn register_demo_model(db: &Path) {
    let demo = repo().join("demo/checkpoint");
    ok(
        db,
        &[
            "model",
            "add",
            demo.to_str().unwrap_or_default(),
            "--name",
            "demo",
        ],
    );
}

/// Writes a 64×64 DX "for presentation" file with its own study, series and instance UIDs and an
/// indication, and returns the Study Instance UID.
pub fn write_dx(path: &Path, n: u32) -> String {
    let study_uid = format!("2.25.{}", 1_000_000 + n);
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| obj.put(DataElement::new(tag, vr, value));
    let sop_uid = format!("{study_uid}.1.1");
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.1.1".into(),
    );
    put(tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str().into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, study_uid.as_str().into());
    put(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        format!("{study_uid}.1").as_str().into(),
    );
    put(tags::MODALITY, VR::CS, "DX".into());
    put(
        tags::PATIENT_NAME,
        VR::PN,
        format!("TEST^PATIENT{n}").as_str().into(),
    );
    put(tags::PATIENT_ID, VR::LO, format!("P{n}").as_str().into());
    put(tags::STUDY_DATE, VR::DA, "20260102".into());
    put(tags::VIEW_POSITION, VR::CS, "PA".into());
    put(
        tags::REASON_FOR_THE_REQUESTED_PROCEDURE,
        VR::LO,
        "Cough. Evaluate for pneumonia.".into(),
    );
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(64u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(64u16));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    let pixels: Vec<u16> = (0..64u32 * 64)
        .map(|i| ((i * 37 + n * 101) % 4096) as u16)
        .collect();
    put(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into()));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.1.1")
            .media_storage_sop_instance_uid(sop_uid.as_str())
            .transfer_syntax("1.2.840.10008.1.2.1"),
    )
    .expect("a valid file meta group")
    .write_to_file(path)
    .expect("the DX file is written");
    study_uid
}
