//! The report section parser on synthetic reports: every heading spelling, case, layout
//! (MIMIC-CXR style, one line, no colon), stop sections, the last-paragraph rule, and `___`.

use raddraft_core::research::sections::{hypothesis_text, parse_report, SectionKind};

/// A MIMIC-CXR-style report (lines start with a blank, sections separated by blank lines).
fn mimic_report(
    indication_heading: &str,
    findings_heading: &str,
    impression_heading: &str,
) -> String {
    [
        "                                 FINAL REPORT",
        " EXAMINATION:  CHEST (PA AND LAT)",
        " ",
        &format!(" {indication_heading}  ___ year old woman with cough // ? pneumonia"),
        " ",
        " TECHNIQUE:  Chest PA and lateral",
        " ",
        " COMPARISON:  ___",
        " ",
        &format!(" {findings_heading} "),
        " ",
        " The lungs are clear.  There is no",
        " pleural effusion.",
        " ",
        &format!(" {impression_heading} "),
        " ",
        " No acute cardiopulmonary process.",
        "",
    ]
    .join("\n")
}

const INDICATION: &str = "___ year old woman with cough // ? pneumonia";
const FINDINGS: &str = "The lungs are clear. There is no pleural effusion.";
const IMPRESSION: &str = "No acute cardiopulmonary process.";

#[test]
fn every_indication_spelling_gives_the_prompt() {
    for heading in [
        "INDICATION:",
        "INDICATIONS:",
        "HISTORY:",
        "CLINICAL HISTORY:",
        "REASON FOR EXAM:",
        "REASON FOR EXAMINATION:",
        "CLINICAL INFORMATION:",
        "CLINICAL INDICATION:",
        "PATIENT HISTORY:",
        "Indication:",
        "indications:",
        "History:",
        "Clinical History :",
        "reason for exam:",
    ] {
        let parsed = parse_report(&mimic_report(heading, "FINDINGS:", "IMPRESSION:"));
        assert_eq!(
            parsed.indication().as_deref(),
            Some(INDICATION),
            "{heading}"
        );
        assert_eq!(
            parsed.target(),
            Some(format!("{FINDINGS} {IMPRESSION}")),
            "{heading}"
        );
    }
}

#[test]
fn every_findings_and_impression_spelling_gives_the_reference() {
    for findings in [
        "FINDINGS:",
        "FINDING:",
        "Findings:",
        "findings:",
        "FINDNGS:",
    ] {
        for impression in [
            "IMPRESSION:",
            "IMPRESSIONS:",
            "CONCLUSION:",
            "SUMMARY:",
            "Impression:",
            "impressions:",
            "Conclusion:",
            "IMPRESSON:",
        ] {
            let parsed = parse_report(&mimic_report("INDICATION:", findings, impression));
            assert_eq!(parsed.findings().as_deref(), Some(FINDINGS), "{findings}");
            assert_eq!(
                parsed.impression().as_deref(),
                Some(IMPRESSION),
                "{impression}"
            );
            assert_eq!(parsed.indication().as_deref(), Some(INDICATION));
        }
    }
}

#[test]
fn headings_alone_on_their_line_need_no_colon() {
    let report = "CLINICAL HISTORY\nShortness of breath.\n\nREASON FOR EXAM\nEvaluate for edema.\n\nFINDINGS\nMild edema.\n\nSUMMARY\nCongestive failure.\n";
    let parsed = parse_report(report);
    assert_eq!(
        parsed.indication().as_deref(),
        Some("Shortness of breath. Evaluate for edema.")
    );
    assert_eq!(parsed.findings().as_deref(), Some("Mild edema."));
    assert_eq!(parsed.impression().as_deref(), Some("Congestive failure."));
}

#[test]
fn stop_sections_end_the_findings() {
    let report = "INDICATION: Fever.\nFINDINGS: Clear lungs.\nCOMPARISON: Prior study.\nTECHNIQUE: Portable.\nEXAMINATION: Chest.\nNOTIFICATION: Called Dr. ___.\nIMPRESSION: Normal.\nRECOMMENDATION(S): Follow up.\n";
    let parsed = parse_report(report);
    assert_eq!(parsed.findings().as_deref(), Some("Clear lungs."));
    assert_eq!(parsed.impression().as_deref(), Some("Normal."));
    let kinds: Vec<SectionKind> = parsed.sections.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SectionKind::Indication,
            SectionKind::Findings,
            SectionKind::Comparison,
            SectionKind::Technique,
            SectionKind::Examination,
            SectionKind::Other,
            SectionKind::Impression,
            SectionKind::Other,
        ]
    );
}

#[test]
fn mimic_layout_keeps_section_order_and_drops_the_final_report_line() {
    let parsed = parse_report(&mimic_report("INDICATION:", "FINDINGS:", "IMPRESSION:"));
    let kinds: Vec<SectionKind> = parsed.sections.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SectionKind::Examination,
            SectionKind::Indication,
            SectionKind::Technique,
            SectionKind::Comparison,
            SectionKind::Findings,
            SectionKind::Impression,
        ]
    );
    assert_eq!(parsed.sections[0].text, "CHEST (PA AND LAT)");
    assert!(parsed
        .sections
        .iter()
        .all(|s| !s.text.to_ascii_uppercase().contains("FINAL REPORT")));
}

#[test]
fn unknown_capitalised_headings_end_sections_and_view_headings_are_findings() {
    let report = " FINAL REPORT\n INDICATION: Trauma.\n CHEST, PA AND LATERAL: No fracture.\n ADDITIONAL NOTE: Called.\n";
    let parsed = parse_report(report);
    assert_eq!(parsed.indication().as_deref(), Some("Trauma."));
    assert_eq!(parsed.findings().as_deref(), Some("No fracture."));
    assert_eq!(
        parsed.sections.last().map(|s| s.kind),
        Some(SectionKind::Other)
    );
    assert_eq!(
        parsed.sections.last().map(|s| s.heading.as_str()),
        Some("additional note")
    );
}

#[test]
fn without_findings_or_impression_the_last_paragraph_is_the_target() {
    let report = " FINAL REPORT\n HISTORY:  Cough.\n \n COMPARISON:  None.\n \n The lungs are clear.\n No effusion.\n";
    let parsed = parse_report(report);
    assert_eq!(parsed.findings_and_impression(), None);
    assert_eq!(
        parsed.target().as_deref(),
        Some("The lungs are clear. No effusion.")
    );
    let comparison = parsed
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::Comparison)
        .map(|s| s.text.as_str());
    assert_eq!(comparison, Some("None."));
    assert_eq!(parse_report("INDICATION: Cough.").target(), None);
}

#[test]
fn empty_findings_sections_are_ignored() {
    let report = "FINDINGS:\n\nFINDINGS: Clear.\nIMPRESSION:\n";
    let parsed = parse_report(report);
    assert_eq!(parsed.target().as_deref(), Some("Clear."));
}

#[test]
fn one_line_reports_split_on_capitalised_headings() {
    let report = "INDICATION: Dyspnea. FINDINGS: Small left effusion. IMPRESSION: Effusion.";
    let parsed = parse_report(report);
    assert_eq!(parsed.indication().as_deref(), Some("Dyspnea."));
    assert_eq!(
        parsed.target().as_deref(),
        Some("Small left effusion. Effusion.")
    );
    assert_eq!(
        hypothesis_text("Findings: a ___ b.\nImpression: c."),
        "a ___ b. c."
    );
}

#[test]
fn lower_case_words_and_times_inside_a_line_are_not_headings() {
    let parsed = parse_report("FINDINGS: the overall impression: stable. Called at 10:30 by ___.");
    assert_eq!(
        parsed.findings().as_deref(),
        Some("the overall impression: stable. Called at 10:30 by ___.")
    );
    assert_eq!(parsed.impression(), None);
    let parsed = parse_report("Heart size: normal.\nNote: nothing else.");
    assert_eq!(parsed.sections.len(), 1);
    assert_eq!(parsed.sections[0].kind, SectionKind::Preamble);
}

#[test]
fn model_output_without_headings_is_scored_whole() {
    assert_eq!(
        hypothesis_text("  No acute\n process. ___ \n"),
        "No acute process. ___"
    );
    assert_eq!(
        hypothesis_text("FINDINGS: Clear. IMPRESSION: Normal."),
        "Clear. Normal."
    );
}

#[test]
fn de_identification_placeholders_are_kept() {
    let parsed =
        parse_report("INDICATION: ___M with ___.\nIMPRESSION: Compared to ___, unchanged.");
    assert_eq!(parsed.indication().as_deref(), Some("___M with ___."));
    assert_eq!(
        parsed.target().as_deref(),
        Some("Compared to ___, unchanged.")
    );
}
