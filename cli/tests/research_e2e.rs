//! End to end with the real `raddraft` binary on a synthetic MIMIC-CXR-JPG tree (24 studies, 21 in
//! the test split, varied report headings): manifest, three shard processes (one SIGKILLed while a
//! study is in flight, left with a torn last line, then resumed), merge, and score. The merged
//! drafts must equal a single-process run, and summary.json must hold exactly the numbers
//! `raddraft eval` computes on the same pairs. Uses the random-weight demo checkpoint with a few
//! tokens per draft and the tiny RadGraph fixture, so it runs in seconds.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use raddraft_core::research::shard::shard_of;
use serde_json::Value;

const SHARDS: u64 = 3;
const MAX_NEW_TOKENS: &str = "6";
const BOOTSTRAP: &str = "40";
/// The killed shard is blocked on this many-th study of its own (1-based).
const BLOCKED_POSITION: usize = 3;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn raddraft() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_raddraft"));
    command.env("RAYON_NUM_THREADS", "1");
    command
}

fn succeed(command: &mut Command) -> Output {
    let output = command.output().expect("raddraft runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

const SENTENCES: [&str; 8] = [
    "The lungs are clear.",
    "There is no pleural effusion or pneumothorax.",
    "Heart size is normal.",
    "Mild pulmonary vascular congestion is seen.",
    "A small left basilar opacity may reflect atelectasis.",
    "Median sternotomy wires are intact.",
    "The mediastinal contour is unremarkable.",
    "No focal consolidation.",
];

/// Report text for study `i`, cycling through heading spellings and layouts; `None` for a study
/// without a report file.
fn report_text(i: usize) -> Option<String> {
    let findings: Vec<&str> = (0..1 + i % 5).map(|k| SENTENCES[(i + k) % 8]).collect();
    let findings = findings.join("  ");
    let impression = SENTENCES[(i * 3) % 8];
    let indication = format!("___ year old with cough number {i} // ? pneumonia");
    let (ind, fin, imp) = match i % 7 {
        0 => ("INDICATION:", "FINDINGS:", "IMPRESSION:"),
        1 => ("HISTORY:", "FINDINGS:", "IMPRESSION:"),
        2 => ("CLINICAL HISTORY:", "FINDING:", "CONCLUSION:"),
        3 => ("REASON FOR EXAM:", "Findings:", "Impression:"),
        4 => ("Indications:", "findings:", "IMPRESSIONS:"),
        5 => ("CLINICAL HISTORY", "FINDINGS", "SUMMARY"),
        _ => {
            if i == 13 {
                return None;
            }
            // No findings or impression heading: the last paragraph is the reference.
            return Some(format!(
                "                                 FINAL REPORT\n HISTORY:  {indication}\n \n COMPARISON:  ___\n \n {findings}\n"
            ));
        }
    };
    let line = |heading: &str, text: &str| {
        if heading.ends_with(':') {
            format!(" {heading}  {text}\n \n")
        } else {
            format!(" {heading}\n {text}\n \n")
        }
    };
    Some(format!(
        "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n \n{}{}{}{}",
        line(ind, &indication),
        line("TECHNIQUE:", "Chest PA and lateral."),
        line(fin, &findings),
        line(imp, impression),
    ))
}

/// Writes the MIMIC-CXR-JPG tree: 24 studies (21 test, 3 train), a PA and, for every other
/// study, a lateral image; split and metadata files.
fn make_dataset(root: &Path) {
    let mut split = String::from("dicom_id,study_id,subject_id,split\n");
    let mut metadata = String::from("dicom_id,subject_id,study_id,ViewPosition\n");
    for i in 0..24 {
        let subject = format!("1{:07}", 1000 + i / 2);
        let study = format!("5{:07}", 2000 + i);
        let dir = root.join(format!("files/p{}/p{subject}/s{study}", &subject[..2]));
        std::fs::create_dir_all(&dir).unwrap();
        let views: &[&str] = if i % 2 == 0 {
            &["LATERAL", "PA"]
        } else {
            &["AP"]
        };
        for (v, view) in views.iter().enumerate() {
            let dicom_id = format!("img{i:02}{v}");
            let image = image::GrayImage::from_fn(96, 96, |x, y| {
                image::Luma([((x * (i as u32 + 3) + y * 7 + v as u32 * 40) % 256) as u8])
            });
            image.save(dir.join(format!("{dicom_id}.jpg"))).unwrap();
            let which = if i < 21 { "test" } else { "train" };
            split.push_str(&format!("{dicom_id},{study},{subject},{which}\n"));
            metadata.push_str(&format!("{dicom_id},{subject},{study},{view}\n"));
        }
        if let Some(text) = report_text(i) {
            std::fs::write(dir.with_extension("txt"), text).unwrap();
        }
    }
    std::fs::write(root.join("mimic-cxr-2.0.0-split.csv"), split).unwrap();
    std::fs::write(root.join("mimic-cxr-2.0.0-metadata.csv"), metadata).unwrap();
}

/// Kills the process when dropped, so a failing test leaves no blocked shard behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn complete_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count())
        .unwrap_or(0)
}

fn batch_args(command: &mut Command, manifest: &Path, out: &Path, shard: &str) {
    command
        .arg("batch")
        .arg("--manifest")
        .arg(manifest)
        .arg("--model")
        .arg(workspace().join("demo/checkpoint"))
        .arg("--out")
        .arg(out)
        .args(["--shard", shard, "--max-new-tokens", MAX_NEW_TOKENS]);
}

#[test]
fn shards_killed_resumed_and_merged_equal_one_process_and_score_equals_eval() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mimic");
    make_dataset(&root);
    let manifest = dir.path().join("manifest.jsonl");
    let output = succeed(
        raddraft()
            .args(["manifest", "mimic"])
            .arg(&root)
            .args(["--split", "test", "--out"])
            .arg(&manifest),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("21 studies (20 with an indication, 20 with a reference)"),
        "{stdout}"
    );
    let items = read_jsonl(&manifest);
    let ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();

    // Block shard 1 on its third study: that study's image becomes a FIFO, so the process
    // waits in open() with two rows written, and is killed there.
    let owned_by_1: Vec<&Value> = items
        .iter()
        .filter(|item| shard_of(item["id"].as_str().unwrap(), SHARDS) == 1)
        .collect();
    assert!(
        owned_by_1.len() > BLOCKED_POSITION,
        "shard 1 owns too few studies"
    );
    let blocked_image = dir.path().join(
        owned_by_1[BLOCKED_POSITION - 1]["images"][0]
            .as_str()
            .unwrap(),
    );
    let image_bytes = std::fs::read(&blocked_image).unwrap();
    std::fs::remove_file(&blocked_image).unwrap();
    let status = Command::new("mkfifo").arg(&blocked_image).status().unwrap();
    assert!(status.success(), "mkfifo failed");

    let shard_out = |k: u64| dir.path().join(format!("drafts-{k}.jsonl"));
    let mut killed = raddraft();
    batch_args(&mut killed, &manifest, &shard_out(1), "1/3");
    let log = dir.path().join("shard-1.log");
    let mut killed = KillOnDrop(
        killed
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    for k in [0, 2] {
        let mut command = raddraft();
        batch_args(&mut command, &manifest, &shard_out(k), &format!("{k}/3"));
        succeed(&mut command);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while complete_lines(&shard_out(1)) < BLOCKED_POSITION - 1 {
        if let Some(status) = killed.0.try_wait().unwrap() {
            panic!(
                "shard 1 ended ({status}) before it was killed: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "shard 1 made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        killed.0.try_wait().unwrap().is_none(),
        "shard 1 should be blocked in flight"
    );
    killed.0.kill().unwrap(); // SIGKILL
    killed.0.wait().unwrap();
    assert_eq!(complete_lines(&shard_out(1)), BLOCKED_POSITION - 1);

    // A kill during a write leaves a torn line; resuming must drop it and not duplicate.
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(shard_out(1))
        .unwrap();
    std::io::Write::write_all(&mut torn, b"{\"id\":\"s5000").unwrap();
    drop(torn);
    std::fs::remove_file(&blocked_image).unwrap();
    std::fs::write(&blocked_image, image_bytes).unwrap();

    let mut without_resume = raddraft();
    batch_args(&mut without_resume, &manifest, &shard_out(1), "1/3");
    let output = without_resume.output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pass --resume"));

    let mut resume = raddraft();
    batch_args(&mut resume, &manifest, &shard_out(1), "1/3");
    let output = succeed(resume.arg("--resume"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("dropped an interrupted last line"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} already in", BLOCKED_POSITION - 1)),
        "{stderr}"
    );

    // Merging without shard 1 names its ids.
    let output = raddraft()
        .arg("merge")
        .arg(shard_out(0))
        .arg(shard_out(2))
        .arg("--manifest")
        .arg(&manifest)
        .arg("--out")
        .arg(dir.path().join("incomplete.jsonl"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{} manifest id(s) have no row", owned_by_1.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains(owned_by_1[0]["id"].as_str().unwrap()),
        "{stderr}"
    );

    let merged = dir.path().join("merged.jsonl");
    succeed(
        raddraft()
            .arg("merge")
            .arg(shard_out(0))
            .arg(shard_out(1))
            .arg(shard_out(2))
            .arg("--manifest")
            .arg(&manifest)
            .arg("--out")
            .arg(&merged),
    );
    let single = dir.path().join("single.jsonl");
    let mut one_process = raddraft();
    batch_args(&mut one_process, &manifest, &single, "0/1");
    succeed(&mut one_process);

    let merged_rows = read_jsonl(&merged);
    let single_rows = read_jsonl(&single);
    let texts = |rows: &[Value]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|r| {
                assert!(r.get("error").is_none(), "{r}");
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["hypothesis"].as_str().unwrap().to_owned(),
                    r["generated_text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(texts(&merged_rows), texts(&single_rows));
    let merged_ids: Vec<&str> = merged_rows
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(merged_ids, ids);
    for row in &merged_rows {
        let id = row["id"].as_str().unwrap();
        assert_eq!(row["shard"], format!("{}/3", shard_of(id, SHARDS)));
        let tokens = row["tokens"].as_u64().unwrap();
        assert!((1..=6).contains(&tokens), "{row}");
    }
    let distinct: HashSet<&str> = merged_rows
        .iter()
        .map(|r| r["hypothesis"].as_str().unwrap())
        .collect();
    assert!(distinct.len() > 1, "every draft is the same text");

    // `raddraft score`, and `raddraft eval` on pairs built here from the merged drafts.
    let radgraph = workspace().join("tests/fixtures/radgraph/models/radgraph");
    let results = dir.path().join("results");
    succeed(
        raddraft()
            .arg("score")
            .arg("--drafts")
            .arg(&merged)
            .arg("--manifest")
            .arg(&manifest)
            .arg("--radgraph-model")
            .arg(&radgraph)
            .args(["--bootstrap", BOOTSTRAP, "--out"])
            .arg(&results),
    );
    let references: std::collections::HashMap<&str, &str> = items
        .iter()
        .filter_map(|i| Some((i["id"].as_str()?, i["reference"].as_str()?)))
        .collect();
    let pairs: String = merged_rows
        .iter()
        .filter_map(|row| {
            let id = row["id"].as_str()?;
            let reference = references.get(id)?;
            Some(
                serde_json::json!({"id": id, "hypothesis": row["hypothesis"], "reference": reference})
                    .to_string()
                    + "\n",
            )
        })
        .collect();
    let pairs_path = dir.path().join("pairs.jsonl");
    std::fs::write(&pairs_path, pairs).unwrap();
    let output = succeed(
        raddraft()
            .arg("eval")
            .arg("--pairs")
            .arg(&pairs_path)
            .arg("--radgraph-model")
            .arg(&radgraph)
            .args(["--bootstrap", BOOTSTRAP, "--json"]),
    );
    let eval: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The encoder's kernels are stated; f32 kernels give the same scores (the fixture's decisions
    // are far from ties), whichever `auto` picked on this CPU.
    let auto_kernels = eval["radgraph"]["model"]["matmul"].as_str().unwrap();
    assert!(
        ["f32", "amx-bf16x6"].contains(&auto_kernels),
        "{auto_kernels}"
    );
    let f32_output = succeed(
        raddraft()
            .arg("eval")
            .arg("--pairs")
            .arg(&pairs_path)
            .arg("--radgraph-model")
            .arg(&radgraph)
            .args(["--matmul", "f32", "--bootstrap", BOOTSTRAP, "--json"]),
    );
    let f32_eval: Value = serde_json::from_slice(&f32_output.stdout).unwrap();
    assert_eq!(f32_eval["radgraph"]["model"]["matmul"], "f32");
    assert_eq!(f32_eval["metrics"], eval["metrics"]);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["pairs"], 20);
    assert_eq!(eval["pairs"], 20);
    assert_eq!(summary["metrics"], eval["metrics"]);
    for metric in ["cider", "bleu4_corpus", "rougeL", "rg_er", "radgraph_f1"] {
        assert!(
            summary["metrics"][metric]["value"].is_f64(),
            "{metric} missing"
        );
        assert!(summary["metrics"][metric]["bootstrap"]["ci95"].is_array());
    }
    assert_eq!(summary["radgraph"]["status"], "scored");
    assert_eq!(
        summary["without_reference"],
        serde_json::json!(["s50002013"])
    );
    assert_eq!(summary["failed_drafts"], serde_json::json!([]));

    let table = std::fs::read_to_string(results.join("table8.md")).unwrap();
    assert!(table.contains("(this run, n = 20)"), "{table}");
    assert!(
        table.contains("| PaliGemma 2 3B 896px² (published figures, not reproduced) | 19.9 | 14.6 | 31.9 | 28.8 |"),
        "{table}"
    );
    let rouge = summary["metrics"]["rougeL"]["value"].as_f64().unwrap() * 100.0;
    assert!(table.contains(&format!("{rouge:.1} [")), "{table}");

    let html = std::fs::read_to_string(results.join("results.html")).unwrap();
    for section in [
        "Score distributions",
        "Score by report length",
        "Score by view position",
        "Worst and best drafts",
        "published figures, not reproduced",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
    assert!(html.contains("<svg"));
    assert!(
        html.contains("class=\"ent ent-"),
        "no RadGraph entity is coloured"
    );
    let without_svg_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for external in ["http://", "https://", "<script", "src="] {
        assert!(
            !without_svg_namespace.contains(external),
            "{external} in the HTML"
        );
    }
}

#[test]
fn report_still_runs_score_for_existing_scripts_but_is_not_listed() {
    let score = succeed(raddraft().args(["score", "--help"]));
    let report = succeed(raddraft().args(["report", "--help"]));
    assert_eq!(report.stdout, score.stdout);
    let help = succeed(raddraft().arg("--help"));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("\n  score "), "{help}");
    assert!(!help.contains("\n  report "), "{help}");
}

#[test]
fn a_study_that_fails_becomes_an_error_row_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let demo = workspace().join("demo/sample-cxr.dcm");
    let manifest = dir.path().join("manifest.jsonl");
    let items = [
        serde_json::json!({"id": "first", "images": [demo]}),
        serde_json::json!({"id": "missing", "images": ["nowhere/x.dcm"], "indication": "Cough."}),
        serde_json::json!({"id": "last", "images": [demo], "indication": "Fever."}),
    ];
    let text: String = items.iter().map(|i| i.to_string() + "\n").collect();
    std::fs::write(&manifest, text).unwrap();
    let out = dir.path().join("drafts.jsonl");
    let mut command = raddraft();
    batch_args(&mut command, &manifest, &out, "0/1");
    let output = succeed(&mut command);
    assert!(String::from_utf8_lossy(&output.stdout).contains("drafted 3 studies (1 failed)"));
    let rows = read_jsonl(&out);
    assert_eq!(rows.len(), 3);
    // Without a manifest indication the DICOM header's is used.
    assert_eq!(
        rows[0]["prompt"],
        "INDICATION: Cough and fever. Evaluate for pneumonia."
    );
    assert_eq!(rows[2]["prompt"], "INDICATION: Fever.");
    assert!(rows[1].get("hypothesis").is_none());
    let error = rows[1]["error"].as_str().unwrap();
    assert!(
        error.contains("nowhere/x.dcm") && error.contains("No such file"),
        "{error}"
    );
}
