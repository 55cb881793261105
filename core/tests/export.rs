//! Report exports: text and Markdown layouts, FHIR R4 structure, and DICOM SR / Encapsulated
//! PDF files checked by dicom3tools `dciodvfy` (no errors, no warnings), dcmtk `dsrdump` /
//! `dcm2pdf` and poppler `pdftotext`. The tools come from scripts/bootstrap.sh; without
//! `dciodvfy` or `pdftotext` the DICOM and PDF tests fail and say so.

mod export_support;

use std::path::Path;

use base64::Engine as _;
use dicom_dictionary_std::tags;
use dicom_object::{open_file, DefaultDicomObject, InMemDicomObject};
use raddraft_core::export::{
    export, to_basic_text_sr, to_encapsulated_pdf, to_fhir, to_fhir_json, to_markdown, to_pdf,
    to_text, ExportError, ExportFormat, ReportDocument, ReportStatus, PRELIMINARY_AI_LABEL,
};
use serde_json::{json, Value};

use export_support::fhir_r4::validate_diagnostic_report;
use export_support::*;

fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("'{needle}' is missing from:\n{haystack}"))
}

fn assert_in_order(text: &str, parts: &[&str]) {
    let positions: Vec<usize> = parts.iter().map(|part| position(text, part)).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "expected {parts:?} in this order in:\n{text}"
    );
}

#[test]
fn format_names_parse_from_the_command_line_spelling() {
    let names: Vec<ExportFormat> = ["txt", "md", "fhir", "sr", "pdf"]
        .iter()
        .map(|name| name.parse().expect("a known format"))
        .collect();
    assert_eq!(names, ExportFormat::ALL);
    assert_eq!("PDF".parse::<ExportFormat>(), Ok(ExportFormat::Pdf));
    let error = "docx".parse::<ExportFormat>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown export format 'docx': expected txt, md, fhir, sr or pdf"
    );
}

#[test]
fn text_of_a_draft_carries_the_preliminary_label_and_the_header() {
    let draft = preliminary_draft();
    let text = to_text(&draft).unwrap();
    assert_eq!(
        text,
        to_text(&draft).unwrap(),
        "the layout is deterministic"
    );
    assert!(text.starts_with("DIAGNOSTIC IMAGING REPORT\n"));
    assert!(text.contains(&format!("*** {PRELIMINARY_AI_LABEL} ***")));
    for field in [
        "Patient:",
        "Patient Synthetic",
        "SYN-0001",
        "1970-01-01",
        "Other",
        "2024-02-29 10:15",
        "XR CHEST PA",
        "ACC-0001",
        "Rita Referrer",
        "1.2.826.0.1.3680043.8.498.28297049576375174484306708099726760203",
    ] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
    assert_in_order(
        &text,
        &[
            "FINDINGS\n--------\nThe lungs are clear",
            "No acute osseous abnormality.",
            "IMPRESSION\n----------\nNo acute cardiopulmonary process.",
            "SIGNATURE\n---------\nNot signed.",
            "AI DISCLOSURE",
        ],
    );
    assert!(text.contains(MODEL), "the disclosure names the model");
    assert!(text.contains("not signed"));
    assert!(!text.contains("Electronically signed"));
}

#[test]
fn text_of_a_signed_report_names_the_signer_and_keeps_the_ai_disclosure() {
    let text = to_text(&signed_report()).unwrap();
    assert!(!text.contains("PRELIMINARY"), "{text}");
    assert!(text.contains("Status: FINAL — signed\n"));
    assert!(text.contains(
        "Electronically signed by Jane Smith, St Elsewhere Radiology, on 2024-02-29 11:05 +01:00."
    ));
    let disclosure = &text[position(&text, "AI DISCLOSURE")..];
    assert!(disclosure.contains(&format!("drafted by an AI system ({MODEL})")));
    assert!(disclosure.contains("Jane Smith (St Elsewhere Radiology) reviewed it"));
    assert!(disclosure.contains("signed it on 2024-02-29 11:05 +01:00"));
}

#[test]
fn addenda_follow_the_signed_report_in_every_text_format() {
    let report = signed_non_ascii_with_addenda();
    let text = to_text(&report).unwrap();
    assert!(text.contains("Status: FINAL — signed, with 2 addenda"));
    assert_in_order(
        &text,
        &[
            "IMPRESSION",
            IMPRESSION_NON_ASCII,
            "Electronically signed by Jürgen Müller",
            "ADDENDUM 1 — JÜRGEN MÜLLER",
            "Comparison with the prior study",
            "ADDENDUM 2",
            "Clinician informed by telephone — Dr Ødegård.",
        ],
    );
    assert!(text.contains("ADDENDUM 1 — JÜRGEN MÜLLER, 2024-03-01 08:00 +01:00\n"));

    let markdown = to_markdown(&report).unwrap();
    assert_in_order(
        &markdown,
        &[
            "## Impression",
            "## Signature",
            "## Addendum 1 — Jürgen Müller, 2024-03-01 08:00 +01:00",
            "## Addendum 2 — Jane Smith, 2024-03-01 09:30 +01:00",
            "Clinician informed by telephone — Dr Ødegård.",
        ],
    );
}

#[test]
fn markdown_has_a_header_table_sections_and_escaped_text() {
    let mut draft = preliminary_draft();
    draft.findings = "1. Line *one* with <tag>\n2. Line two | pipe\n\nSecond paragraph".into();
    let markdown = to_markdown(&draft).unwrap();
    assert!(markdown.starts_with("# Diagnostic Imaging Report\n\n"));
    assert!(markdown.contains(&format!("> **{PRELIMINARY_AI_LABEL}**")));
    assert!(markdown.contains("| Field | Value |\n|---|---|\n| Patient | Patient Synthetic |"));
    assert!(markdown.contains(
        "## Findings\n\n1\\. Line \\*one\\* with \\<tag\\>\\\n2\\. Line two \\| pipe\n\nSecond paragraph\n"
    ));
    assert!(markdown.contains("## Impression\n\nNo acute cardiopulmonary process.\n"));

    let signed = to_markdown(&signed_report()).unwrap();
    assert!(signed.contains("**Status:** FINAL — signed"));
    assert!(!signed.contains("PRELIMINARY"));
}

#[test]
fn an_empty_impression_is_exported_as_none() {
    let mut draft = preliminary_draft();
    draft.impression = "  ".to_string();
    let text = to_text(&draft).unwrap();
    assert!(text.contains("IMPRESSION\n----------\n(none)\n"));
    let fhir = to_fhir(&draft).unwrap();
    assert!(fhir.get("conclusion").is_none());
    assert!(validate_diagnostic_report(&fhir).is_empty());
    let sr = to_basic_text_sr(&draft, &fixed_ids()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty-impression-sr.dcm");
    std::fs::write(&path, sr).unwrap();
    let (errors, _) = dciodvfy(&path);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn fhir_export_conforms_to_the_r4_diagnostic_report_definition() {
    for (name, doc) in all_documents() {
        let resource = to_fhir(&doc).unwrap();
        let problems = validate_diagnostic_report(&resource);
        assert!(problems.is_empty(), "{name}: {problems:#?}");

        let expected_status = match (doc.status, doc.addenda.is_empty()) {
            (ReportStatus::Preliminary, _) => "preliminary",
            (ReportStatus::Final, true) => "final",
            (ReportStatus::Final, false) => "appended",
        };
        assert_eq!(resource["status"], expected_status, "{name}");
        assert_eq!(resource["id"], "42");
        assert_eq!(resource["category"][0]["coding"][0]["code"], "RAD");
        assert_eq!(
            resource["code"]["coding"][0],
            json!({ "system": "http://loinc.org", "code": "18748-4",
                    "display": "Diagnostic imaging study" })
        );
        assert_eq!(
            resource["imagingStudy"][0]["identifier"],
            json!({ "system": "urn:dicom:uid", "value":
                "urn:oid:1.2.826.0.1.3680043.8.498.28297049576375174484306708099726760203" })
        );
        assert_eq!(resource["subject"]["identifier"]["value"], "SYN-0001");
        assert_eq!(resource["effectiveDateTime"], "2024-02-29");
        assert_eq!(resource["conclusion"], doc.impression.as_str());

        let form = &resource["presentedForm"][0];
        assert_eq!(form["contentType"], "text/plain; charset=utf-8");
        let data = form["data"].as_str().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), to_text(&doc).unwrap());

        let narrative = resource["text"]["div"].as_str().unwrap();
        let security = resource.pointer("/meta/security/0/code");
        match doc.status {
            ReportStatus::Preliminary => {
                assert!(narrative.contains(PRELIMINARY_AI_LABEL), "{name}");
                assert_eq!(security, Some(&json!("AIAST")), "{name}");
                assert!(resource.get("resultsInterpreter").is_none());
                assert_eq!(resource["issued"], "2024-02-29T10:20:00+01:00");
            }
            ReportStatus::Final => {
                let signer = &resource["resultsInterpreter"][0]["display"];
                assert!(
                    signer == "Jane Smith" || signer == "Jürgen Müller",
                    "{name}"
                );
                assert!(!narrative.contains("PRELIMINARY"), "{name}");
                if doc.model.is_some() {
                    assert_eq!(security, Some(&json!("CLINAST_AIRPT")), "{name}");
                    assert!(narrative.contains("drafted by an AI system"), "{name}");
                } else {
                    assert!(resource.get("meta").is_none(), "{name}");
                }
                let issued = if doc.addenda.is_empty() {
                    "2024-02-29T11:05:30+01:00"
                } else {
                    "2024-03-01T09:30:00+01:00"
                };
                assert_eq!(resource["issued"], issued, "{name}");
            }
        }
        let json_text = to_fhir_json(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&json_text).unwrap(), resource);
    }
}

/// An element name and an edit that breaks it.
type Breakage<'a> = (&'a str, &'a dyn Fn(&mut Value));

#[test]
fn the_fhir_check_rejects_what_r4_forbids() {
    let valid = to_fhir(&signed_report()).unwrap();
    assert!(validate_diagnostic_report(&valid).is_empty());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut resource = valid.clone();
        edit(&mut resource);
        validate_diagnostic_report(&resource)
    };
    let cases: [Breakage; 10] = [
        ("status", &|r| r["status"] = json!("draft")),
        ("status", &|r| {
            r.as_object_mut().unwrap().remove("status");
        }),
        ("code", &|r| {
            r.as_object_mut().unwrap().remove("code");
        }),
        ("note", &|r| r["note"] = json!([{ "text": "R5 only" }])),
        ("issued", &|r| r["issued"] = json!("2024-02-29T11:05")),
        ("effectiveDateTime", &|r| {
            r["effectiveDateTime"] = json!("2024-02-29T10:15:00")
        }),
        ("data", &|r| {
            r["presentedForm"][0]["data"] = json!("not base64!")
        }),
        ("category", &|r| r["category"] = json!({ "text": "single" })),
        ("conclusion", &|r| r["conclusion"] = json!("")),
        ("shoeSize", &|r| r["code"]["shoeSize"] = json!(42)),
    ];
    for (element, edit) in cases {
        let problems = broken(edit);
        assert!(
            problems.iter().any(|problem| problem.contains(element)),
            "breaking {element} was not reported: {problems:#?}"
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn sr_and_encapsulated_pdf_pass_dciodvfy_without_errors_or_warnings() {
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in all_documents() {
        let ids = fixed_ids();
        let files = [
            ("sr", to_basic_text_sr(&doc, &ids).unwrap()),
            ("pdf", to_encapsulated_pdf(&doc, &ids).unwrap()),
        ];
        for (format, bytes) in files {
            let path = write(
                dir.path(),
                &format!("{}-{format}.dcm", name.replace(' ', "-")),
                &bytes,
            );
            let (errors, warnings) = dciodvfy(&path);
            assert!(errors.is_empty(), "{name} {format}: {errors:#?}");
            assert!(warnings.is_empty(), "{name} {format}: {warnings:#?}");
        }
    }

    // The check can fail: dciodvfy reports an SR without its Verification Flag.
    let mut broken = read_dicom(&to_basic_text_sr(&preliminary_draft(), &fixed_ids()).unwrap());
    broken.remove_element(tags::VERIFICATION_FLAG);
    let path = dir.path().join("broken-sr.dcm");
    broken.write_to_file(&path).unwrap();
    let (errors, _) = dciodvfy(&path);
    assert!(
        errors
            .iter()
            .any(|error| error.contains("<VerificationFlag>")),
        "{errors:#?}"
    );
}

fn read_dicom(bytes: &[u8]) -> DefaultDicomObject {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "object.dcm", bytes);
    open_file(&path).unwrap()
}

fn text_of(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap_or_else(|_| panic!("{tag} is missing"))
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &InMemDicomObject {
    obj.element(tag)
        .unwrap_or_else(|_| panic!("{tag} is missing"))
        .items()
        .and_then(|items| items.first())
        .unwrap_or_else(|| panic!("{tag} has no item"))
}

#[test]
fn sr_flags_say_whether_a_radiologist_verified_the_report() {
    let draft = read_dicom(&to_basic_text_sr(&preliminary_draft(), &fixed_ids()).unwrap());
    assert_eq!(
        text_of(&draft, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.88.11"
    );
    assert_eq!(text_of(&draft, tags::MODALITY), "SR");
    assert_eq!(text_of(&draft, tags::VERIFICATION_FLAG), "UNVERIFIED");
    assert_eq!(text_of(&draft, tags::COMPLETION_FLAG), "PARTIAL");
    assert_eq!(text_of(&draft, tags::PRELIMINARY_FLAG), "PRELIMINARY");
    assert_eq!(
        text_of(&draft, tags::COMPLETION_FLAG_DESCRIPTION),
        PRELIMINARY_AI_LABEL
    );
    assert!(draft.element(tags::VERIFYING_OBSERVER_SEQUENCE).is_err());
    // The label's em dash is not ASCII.
    assert_eq!(text_of(&draft, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    assert_eq!(text_of(&draft, tags::PATIENT_NAME), "Synthetic^Patient");
    assert_eq!(
        text_of(&draft, tags::SERIES_INSTANCE_UID),
        fixed_ids().series_instance_uid
    );

    let evidence = first_item(&draft, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE);
    let series = first_item(evidence, tags::REFERENCED_SERIES_SEQUENCE);
    let image = first_item(series, tags::REFERENCED_SOP_SEQUENCE);
    let (_, source) = study_and_image();
    assert_eq!(
        text_of(series, tags::SERIES_INSTANCE_UID),
        source.series_instance_uid
    );
    assert_eq!(
        text_of(image, tags::REFERENCED_SOP_INSTANCE_UID),
        source.sop_instance_uid
    );

    let signed = read_dicom(&to_basic_text_sr(&signed_report(), &fixed_ids()).unwrap());
    assert_eq!(text_of(&signed, tags::VERIFICATION_FLAG), "VERIFIED");
    assert_eq!(text_of(&signed, tags::COMPLETION_FLAG), "COMPLETE");
    assert_eq!(text_of(&signed, tags::PRELIMINARY_FLAG), "FINAL");
    let observer = first_item(&signed, tags::VERIFYING_OBSERVER_SEQUENCE);
    assert_eq!(
        text_of(observer, tags::VERIFYING_OBSERVER_NAME),
        "Smith^Jane"
    );
    assert_eq!(
        text_of(observer, tags::VERIFYING_ORGANIZATION),
        "St Elsewhere Radiology"
    );
    assert_eq!(
        text_of(observer, tags::VERIFICATION_DATE_TIME),
        "20240229110530+0100"
    );
    assert_eq!(text_of(&signed, tags::CONTENT_DATE), "20240229");
    assert_eq!(text_of(&signed, tags::CONTENT_TIME), "110530");

    // Each addendum's author verified their addendum, after the signer.
    let appended =
        read_dicom(&to_basic_text_sr(&signed_non_ascii_with_addenda(), &fixed_ids()).unwrap());
    let observers: Vec<(String, String)> = appended
        .element(tags::VERIFYING_OBSERVER_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .map(|item| {
            (
                text_of(item, tags::VERIFYING_OBSERVER_NAME),
                text_of(item, tags::VERIFICATION_DATE_TIME),
            )
        })
        .collect();
    assert_eq!(
        observers,
        [
            (
                "Müller^Jürgen".to_string(),
                "20240229110530+0100".to_string()
            ),
            (
                "Müller^Jürgen".to_string(),
                "20240301080000+0100".to_string()
            ),
            ("Smith^Jane".to_string(), "20240301093000+0100".to_string()),
        ]
    );
    assert_eq!(text_of(&appended, tags::CONTENT_DATE), "20240301");

    let mut unnamed_organisation = signed_report();
    unnamed_organisation.organization = None;
    let signed = read_dicom(&to_basic_text_sr(&unnamed_organisation, &fixed_ids()).unwrap());
    let observer = first_item(&signed, tags::VERIFYING_OBSERVER_SEQUENCE);
    assert_eq!(
        text_of(observer, tags::VERIFYING_ORGANIZATION),
        "raddraft workstation"
    );

    let ascii = read_dicom(&to_basic_text_sr(&signed_without_ai(), &fixed_ids()).unwrap());
    assert!(
        ascii.element(tags::SPECIFIC_CHARACTER_SET).is_err(),
        "an all-ASCII report needs no Specific Character Set"
    );
    assert!(ascii
        .element(tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)
        .is_err());
}

#[test]
fn dsrdump_shows_the_report_text_in_the_sr_tree() {
    let Some(dsrdump) = find_program("dsrdump") else {
        eprintln!(
            "dsrdump (Debian package dcmtk) not found: skipping; scripts/bootstrap.sh installs it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (preliminary_draft(), "UNVERIFIED", FINDINGS, IMPRESSION),
        (
            signed_non_ascii_with_addenda(),
            "VERIFIED",
            FINDINGS_NON_ASCII,
            IMPRESSION_NON_ASCII,
        ),
    ];
    for (index, (doc, verification, findings, impression)) in cases.into_iter().enumerate() {
        let path = write(
            dir.path(),
            &format!("sr-{index}.dcm"),
            &to_basic_text_sr(&doc, &fixed_ids()).unwrap(),
        );
        let options = ["+U8", "+Pl", "+Pc", "+Pu"].map(std::ffi::OsStr::new);
        let (ok, dump) = run(&dsrdump, &[&options[..], &[path.as_os_str()]].concat());
        assert!(ok, "dsrdump failed:\n{dump}");
        assert!(dump.contains(verification), "{dump}");
        assert!(
            dump.contains("<contains CONTAINER:(121070,DCM,\"Findings\")=SEPARATE>"),
            "{dump}"
        );
        assert!(
            dump.contains("<contains CONTAINER:(121072,DCM,\"Impressions\")=SEPARATE>"),
            "{dump}"
        );
        assert!(dump.contains("<inferred from IMAGE:"), "{dump}");
        // dsrdump prints the first line of a text value.
        let first_line = findings.lines().next().unwrap();
        assert!(dump.contains(&first_line[..40]), "{first_line}\n{dump}");
        assert!(dump.contains(impression), "{dump}");
        assert!(
            dump.contains("(121005,DCM,\"Observer Type\")=(121007,DCM,\"Device\")"),
            "{dump}"
        );
        assert!(dump.contains(MODEL), "{dump}");
        if doc.status == ReportStatus::Final {
            assert!(dump.contains("(121005,DCM,\"Observer Type\")=(121006,DCM,\"Person\")"));
            assert!(dump.contains("<contains CONTAINER:(55107-7,LN,\"Addendum\")=SEPARATE>"));
            assert!(dump.contains("Clinician informed by telephone"), "{dump}");
        } else {
            assert!(dump.contains(PRELIMINARY_AI_LABEL), "{dump}");
        }
    }
}

#[test]
fn encapsulated_pdf_holds_the_pdf_rendering() {
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in all_documents() {
        let pdf = to_pdf(&doc).unwrap();
        let file = to_encapsulated_pdf(&doc, &fixed_ids()).unwrap();
        let obj = read_dicom(&file);
        assert_eq!(
            text_of(&obj, tags::SOP_CLASS_UID),
            "1.2.840.10008.5.1.4.1.1.104.1"
        );
        assert_eq!(text_of(&obj, tags::MODALITY), "DOC");
        assert_eq!(
            text_of(&obj, tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT),
            "application/pdf"
        );
        let stored = obj
            .element(tags::ENCAPSULATED_DOCUMENT)
            .unwrap()
            .to_bytes()
            .unwrap();
        assert_eq!(stored.len() % 2, 0, "{name}: OB values have even length");
        let length = obj
            .element(tags::ENCAPSULATED_DOCUMENT_LENGTH)
            .unwrap()
            .to_int::<usize>()
            .unwrap();
        assert_eq!(length, pdf.len(), "{name}");
        assert_eq!(&stored[..length], pdf.as_slice(), "{name}");
        assert!(stored.starts_with(b"%PDF-"), "{name}");

        if let Some(dcm2pdf) = find_program("dcm2pdf") {
            let dicom_path = write(dir.path(), "report.dcm", &file);
            let pdf_path = dir.path().join("extracted.pdf");
            let (ok, output) = run(&dcm2pdf, &[dicom_path.as_os_str(), pdf_path.as_os_str()]);
            assert!(ok, "{name}: dcm2pdf failed: {output}");
            let extracted = std::fs::read(&pdf_path).unwrap();
            assert!(extracted.starts_with(b"%PDF-"), "{name}");
            assert_eq!(&extracted[..pdf.len()], pdf.as_slice(), "{name}");
        }
    }
}

fn pdf_text(pdf: &[u8]) -> String {
    let pdftotext = required_tool("pdftotext", "poppler-utils");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "report.pdf", pdf);
    let (ok, text) = run(
        &pdftotext,
        &["-layout".as_ref(), path.as_os_str(), "-".as_ref()],
    );
    assert!(ok, "pdftotext failed: {text}");
    text
}

/// pdftotext -layout keeps words but not our line breaks: compare word sequences.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn pdf_renders_every_part_of_the_report() {
    let draft = words(&pdf_text(&to_pdf(&preliminary_draft()).unwrap()));
    assert_in_order(
        &draft,
        &[
            "Diagnostic Imaging Report",
            PRELIMINARY_AI_LABEL,
            "Patient Patient Synthetic",
            "Accession ACC-0001",
            "Findings",
            &words(FINDINGS),
            "Impression",
            IMPRESSION,
            "Signature Not signed.",
            "AI disclosure",
            MODEL,
            "Page 1 of 1",
        ],
    );

    let signed = words(&pdf_text(
        &to_pdf(&signed_non_ascii_with_addenda()).unwrap(),
    ));
    assert!(!signed.contains("PRELIMINARY"));
    assert_in_order(
        &signed,
        &[
            "FINAL — signed, with 2 addenda",
            &words(FINDINGS_NON_ASCII).replace('≤', "<="),
            IMPRESSION_NON_ASCII,
            "Electronically signed by Jürgen Müller",
            "reviewed it, edited it where needed and signed it",
            "Addendum 1 — Jürgen Müller",
            "Comparison with the prior study",
            "Addendum 2 — Jane Smith",
            "Clinician informed by telephone — Dr Ødegård.",
        ],
    );
}

#[test]
fn a_long_report_continues_on_further_pages() {
    let mut long = preliminary_draft();
    long.findings = (1..=120)
        .map(|n| format!("Sentence {n} of a very long findings section."))
        .collect::<Vec<_>>()
        .join(" ");
    let text = words(&pdf_text(&to_pdf(&long).unwrap()));
    assert!(text.contains("Page 2 of 2"), "{text}");
    assert_eq!(
        text.matches(PRELIMINARY_AI_LABEL).count(),
        3,
        "banner + two footers"
    );
    // Wrapping and paging keep every word, in order (page 1's footer comes before page 2).
    let body = text.replace(&format!("{PRELIMINARY_AI_LABEL} Page 1 of 2 "), "");
    assert!(body.contains(&words(&long.findings)), "{text}");
}

#[test]
fn dicom_exports_are_reproducible_given_their_ids() {
    let doc = signed_non_ascii_with_addenda();
    let ids = fixed_ids();
    assert_eq!(
        to_basic_text_sr(&doc, &ids).unwrap(),
        to_basic_text_sr(&doc, &ids).unwrap()
    );
    assert_eq!(
        to_encapsulated_pdf(&doc, &ids).unwrap(),
        to_encapsulated_pdf(&doc, &ids).unwrap()
    );
    let fresh = raddraft_core::export::DicomInstanceIds::generate();
    assert_ne!(fresh.sop_instance_uid, fresh.series_instance_uid);
    assert!(fresh.sop_instance_uid.starts_with("2.25."));
    assert!(fresh.sop_instance_uid.len() <= 64);
}

#[test]
fn export_writes_each_format_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let doc = signed_non_ascii_with_addenda();
    for format in ExportFormat::ALL {
        let path = dir
            .path()
            .join(format!("report.{}", format.file_extension()));
        export(&doc, format, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        match format {
            ExportFormat::Text => assert_eq!(bytes, to_text(&doc).unwrap().into_bytes()),
            ExportFormat::Markdown => assert_eq!(bytes, to_markdown(&doc).unwrap().into_bytes()),
            ExportFormat::Fhir => {
                let resource: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(resource, to_fhir(&doc).unwrap());
            }
            ExportFormat::Sr | ExportFormat::Pdf => assert_eq!(&bytes[128..132], b"DICM"),
        }
    }
    let missing_dir = dir.path().join("no/such/dir/report.txt");
    let error = export(&doc, ExportFormat::Text, &missing_dir).unwrap_err();
    assert!(matches!(error, ExportError::Write { .. }));
    assert!(
        error.to_string().contains("no/such/dir/report.txt"),
        "{error}"
    );
}

fn error_text(result: Result<impl std::fmt::Debug, ExportError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn errors_name_the_format_and_the_field_to_fix() {
    let mut no_study = preliminary_draft();
    no_study.study.study_instance_uid = None;
    assert!(
        to_text(&no_study).is_ok(),
        "text needs no Study Instance UID"
    );
    assert!(to_markdown(&no_study).is_ok());
    let message = error_text(to_basic_text_sr(&no_study, &fixed_ids()));
    assert!(
        message.starts_with("sr export: study.study_instance_uid is missing"),
        "{message}"
    );
    assert!(error_text(to_fhir(&no_study)).starts_with("fhir export: study.study_instance_uid"));
    assert!(error_text(to_encapsulated_pdf(&no_study, &fixed_ids())).starts_with("pdf export"));

    let mut bad_uid = preliminary_draft();
    bad_uid.study.study_instance_uid = Some("1.2.03.abc".into());
    assert!(error_text(to_fhir(&bad_uid)).contains("'1.2.03.abc' is not a DICOM UID"));

    let mut unsigned_final = preliminary_draft();
    unsigned_final.status = ReportStatus::Final;
    assert_eq!(
        error_text(to_text(&unsigned_final)),
        "txt export: signed_by is missing; a final report names the radiologist who signed it"
    );
    unsigned_final.signed_by = Some("Smith^Jane".into());
    assert!(error_text(to_text(&unsigned_final)).contains("signed_at is missing"));

    let mut draft_with_addendum = signed_non_ascii_with_addenda();
    draft_with_addendum.status = ReportStatus::Preliminary;
    draft_with_addendum.signed_by = None;
    draft_with_addendum.signed_at = None;
    assert!(error_text(to_markdown(&draft_with_addendum)).contains("has addenda"));

    let mut signed_draft = preliminary_draft();
    signed_draft.signed_by = Some("Smith^Jane".into());
    assert!(error_text(to_text(&signed_draft)).contains("carries a signature"));

    let mut bad_id = preliminary_draft();
    bad_id.id = "report #42".into();
    assert!(
        error_text(to_fhir(&bad_id)).starts_with("fhir export: id 'report #42' is not a FHIR id")
    );
    assert!(to_text(&bad_id).is_ok());

    let mut long_accession = preliminary_draft();
    long_accession.study.accession = Some("ACC-0001-2024-02-29".into());
    assert_eq!(
        error_text(to_basic_text_sr(&long_accession, &fixed_ids())),
        "sr export: study.accession is 19 characters long; DICOM SH allows 16"
    );

    let mut empty_addendum = signed_non_ascii_with_addenda();
    empty_addendum.addenda[1].text = " ".into();
    assert!(error_text(to_text(&empty_addendum)).contains("addenda[1].text is empty"));
}

#[test]
fn report_documents_round_trip_through_json() {
    let doc = signed_non_ascii_with_addenda();
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["signed_at"], "2024-02-29T11:05:30+01:00");
    assert_eq!(json["study"]["study_date"], "2024-02-29");
    assert_eq!(json["study"]["study_time"], "10:15:00");
    assert_eq!(json["status"], "final");
    let back: ReportDocument = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);

    let mut bad = serde_json::to_value(&doc).unwrap();
    bad["signed_at"] = json!("29/02/2024");
    let error = serde_json::from_value::<ReportDocument>(bad).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("'29/02/2024' is not an RFC 3339 time"),
        "{error}"
    );
}
