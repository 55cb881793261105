//! The HTML results page opens in headless Debian chromium without console errors or outside
//! requests, and its screenshot is not blank. Needs node, `/usr/bin/chromium` (scripts/bootstrap.sh
//! installs both) and `npm ci --prefix tests/html` (scripts/test.sh runs it); without them this
//! test fails, saying what is missing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use raddraft_core::research::drafts::DraftRow;
use raddraft_core::research::manifest::{write_manifest, ManifestItem};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

const REFERENCES: [&str; 6] = [
    "The lungs are clear. No pleural effusion. Heart size is normal.",
    "Small left pleural effusion with adjacent atelectasis.",
    "Mild pulmonary edema. Cardiomegaly is unchanged.",
    "Right lower lobe consolidation concerning for pneumonia.",
    "No acute cardiopulmonary process.",
    "Endotracheal tube terminates 4 cm above the carina. Lungs are clear.",
];

/// A manifest and a drafts file written directly: 12 studies over three views and an unknown
/// one, one study without reference, one failed draft.
fn write_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let views = [Some("PA"), Some("AP"), Some("LATERAL"), None];
    let mut items = Vec::new();
    let mut drafts = String::new();
    for i in 0..12 {
        let id = format!("study{i:02}");
        let reference = REFERENCES[i % REFERENCES.len()];
        items.push(ManifestItem {
            id: id.clone(),
            images: vec![PathBuf::from(format!("{id}.png"))],
            indication: Some("Cough.".into()),
            reference: (i != 5).then(|| reference.repeat(1 + i % 3)),
            view_position: views[i % views.len()].map(str::to_owned),
        });
        let mut row = DraftRow::failure(&id, "demo", "0/1", "cannot read study07.png".into());
        if i != 7 {
            row.error = None;
            row.hypothesis = Some(REFERENCES[(i * 5) % REFERENCES.len()].to_owned());
        }
        drafts.push_str(&serde_json::to_string(&row).unwrap());
        drafts.push('\n');
    }
    let manifest = dir.join("manifest.jsonl");
    write_manifest(&manifest, &items).unwrap();
    let drafts_path = dir.join("drafts.jsonl");
    std::fs::write(&drafts_path, drafts).unwrap();
    (manifest, drafts_path)
}

#[test]
fn html_results_page_opens_in_chromium_without_errors_and_is_not_blank() {
    let html_check = workspace().join("tests/html");
    assert!(
        html_check.join("node_modules/playwright-core").is_dir(),
        "tests/html/node_modules is missing: run `npm ci --prefix tests/html` (scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (manifest, drafts) = write_inputs(dir.path());
    let results = dir.path().join("results");
    let output = Command::new(env!("CARGO_BIN_EXE_raddraft"))
        .arg("score")
        .arg("--drafts")
        .arg(&drafts)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--radgraph-model")
        .arg(workspace().join("tests/fixtures/radgraph/models/radgraph"))
        .args(["--bootstrap", "20", "--out"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["pairs"], 10);
    assert_eq!(summary["failed_drafts"][0]["id"], "study07");
    assert_eq!(summary["without_reference"], serde_json::json!(["study05"]));
    let html = std::fs::read_to_string(results.join("results.html")).unwrap();
    assert!(
        html.contains("cannot read study07.png"),
        "failed drafts are listed"
    );
    for view in ["PA", "AP", "LATERAL", "unknown"] {
        assert!(
            html.contains(&format!("<td>{view}</td>")),
            "view {view} missing"
        );
    }

    let screenshot = dir.path().join("results.png");
    let output = Command::new("node")
        .arg(html_check.join("check_results.mjs"))
        .arg(results.join("results.html"))
        .arg(&screenshot)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): install nodejs (scripts/bootstrap.sh does)")
        });
    assert!(
        output.status.success(),
        "chromium check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let image = image::open(&screenshot).unwrap().to_rgb8();
    assert!(
        image.height() > 900,
        "a full-page screenshot is taller than the window"
    );
    let colours: HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    // Text, tables, bars and entity highlights give hundreds of colours; a blank page has one.
    assert!(
        colours.len() > 50,
        "only {} colours: blank page?",
        colours.len()
    );
    let blueish = image.pixels().filter(|p| p.0 == [0x4a, 0x78, 0xb5]).count();
    assert!(
        blueish > 1000,
        "chart bars are not drawn ({blueish} bar pixels)"
    );
}
