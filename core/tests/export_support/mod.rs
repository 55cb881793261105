//! Shared helpers for the export tests: report documents built on a DICOM fixture, and the
//! external validators (dicom3tools `dciodvfy`, dcmtk `dsrdump` / `dcm2pdf`, poppler
//! `pdftotext`), which `scripts/bootstrap.sh` installs.

#![allow(dead_code)]

pub mod fhir_r4;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, FixedOffset, NaiveTime};
use raddraft_core::export::{
    Addendum, DicomInstanceIds, ImageRef, ReportDocument, ReportStatus, StudyRef,
};
use raddraft_ingest::Radiograph;

pub const MODEL: &str = "paligemma2-3b-pt-448 (sha256:5f0e3c1a)";
pub const FINDINGS: &str = "The lungs are clear without focal consolidation, pleural effusion or \
pneumothorax. The cardiomediastinal silhouette is within normal limits.\n\
No acute osseous abnormality.";
pub const IMPRESSION: &str = "No acute cardiopulmonary process.";
pub const FINDINGS_NON_ASCII: &str = "Small right apical pneumothorax — résolution partielle, \
rim ≤ 5 mm. Naïve façade of the Ærø protocol; no effusion.";
pub const IMPRESSION_NON_ASCII: &str = "Pneumothorax — résolution";

/// The synthetic DX chest fixture the documents refer to.
pub fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dicom/synthetic/mono2_linear.dcm")
}

/// The fixture's study and image, with the General Study attributes ingest does not read.
pub fn study_and_image() -> (StudyRef, ImageRef) {
    let path = fixture_path();
    let radiograph = Radiograph::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let meta = radiograph.meta().expect("the fixture is a DICOM file");
    let mut study = StudyRef::from_radiograph(meta);
    study.study_time = NaiveTime::from_hms_opt(10, 15, 0);
    study.study_id = Some("1".to_string());
    study.referring_physician = Some("Referrer^Rita".to_string());
    let image = ImageRef::from_radiograph(meta).expect("the fixture has all three UIDs");
    (study, image)
}

pub fn time(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).expect("a valid RFC 3339 time in the test")
}

/// An unsigned AI draft with text still unreviewed.
pub fn preliminary_draft() -> ReportDocument {
    let (study, image) = study_and_image();
    ReportDocument {
        id: "42".to_string(),
        status: ReportStatus::Preliminary,
        findings: FINDINGS.to_string(),
        impression: IMPRESSION.to_string(),
        ai_generated: true,
        model: Some(MODEL.to_string()),
        signed_by: None,
        signed_at: None,
        organization: None,
        addenda: vec![],
        study,
        source_image: Some(image),
        created_at: time("2024-02-29T10:20:00+01:00"),
    }
}

/// The draft signed by a radiologist, no addenda.
pub fn signed_report() -> ReportDocument {
    ReportDocument {
        status: ReportStatus::Final,
        ai_generated: false,
        signed_by: Some("Smith^Jane".to_string()),
        signed_at: Some(time("2024-02-29T11:05:30+01:00")),
        organization: Some("St Elsewhere Radiology".to_string()),
        ..preliminary_draft()
    }
}

/// A signed report with non-ASCII text everywhere and two addenda.
pub fn signed_non_ascii_with_addenda() -> ReportDocument {
    let mut report = signed_report();
    report.findings = FINDINGS_NON_ASCII.to_string();
    report.impression = IMPRESSION_NON_ASCII.to_string();
    report.signed_by = Some("Müller^Jürgen".to_string());
    report.addenda = vec![
        Addendum {
            text: "Comparison with the prior study: the pneumothorax is smaller.".to_string(),
            author: "Müller^Jürgen".to_string(),
            at: time("2024-03-01T08:00:00+01:00"),
        },
        Addendum {
            text: "Clinician informed by telephone — Dr Ødegård.".to_string(),
            author: "Smith^Jane".to_string(),
            at: time("2024-03-01T09:30:00+01:00"),
        },
    ];
    report
}

/// An unsigned draft with non-ASCII findings and impression.
pub fn preliminary_non_ascii() -> ReportDocument {
    ReportDocument {
        findings: FINDINGS_NON_ASCII.to_string(),
        impression: IMPRESSION_NON_ASCII.to_string(),
        ..preliminary_draft()
    }
}

/// A report written and signed by a person with no AI involved: all ASCII.
pub fn signed_without_ai() -> ReportDocument {
    ReportDocument {
        model: None,
        ai_generated: false,
        source_image: None,
        ..signed_report()
    }
}

/// Every document the format tests run through, with a name for messages.
pub fn all_documents() -> Vec<(&'static str, ReportDocument)> {
    vec![
        ("preliminary draft", preliminary_draft()),
        ("preliminary non-ASCII draft", preliminary_non_ascii()),
        ("signed report", signed_report()),
        (
            "signed non-ASCII report with addenda",
            signed_non_ascii_with_addenda(),
        ),
        ("signed report without AI", signed_without_ai()),
    ]
}

pub fn fixed_ids() -> DicomInstanceIds {
    DicomInstanceIds {
        series_instance_uid: "2.25.111111111111111111111111111111111111".to_string(),
        sop_instance_uid: "2.25.222222222222222222222222222222222222".to_string(),
        created_at: time("2024-03-02T12:00:00Z"),
    }
}

/// The path of a program scripts/bootstrap.sh installs; fails the test when it is missing.
pub fn required_tool(program: &str, debian_package: &str) -> PathBuf {
    find_program(program).unwrap_or_else(|| {
        panic!(
            "{program} not found on PATH: run scripts/bootstrap.sh, which installs the Debian \
             package {debian_package}"
        )
    })
}

pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs a program and returns its stdout and stderr together.
pub fn run(program: &Path, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// dciodvfy's messages about a file: (errors, warnings).
pub fn dciodvfy(file: &Path) -> (Vec<String>, Vec<String>) {
    let program = required_tool("dciodvfy", "dicom3tools");
    let (_, output) = run(&program, &[file.as_os_str()]);
    let errors = output
        .lines()
        .filter(|line| line.contains("Error"))
        .map(str::to_string)
        .collect();
    let warnings = output
        .lines()
        .filter(|line| line.contains("Warning"))
        .map(str::to_string)
        .collect();
    (errors, warnings)
}
