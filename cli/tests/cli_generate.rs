//! End to end: the `raddraft generate` binary on the transformers 5.24 parity fixture gives the
//! reference greedy ids and logits, labels the demo checkpoint, and fails cleanly on bad input.

use std::path::PathBuf;
use std::process::Command;

use candle_core::{Device, Tensor};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn raddraft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_raddraft"))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn generate_reproduces_the_transformers_fixture() {
    let fixture = workspace().join("tests/fixtures/paligemma2/tiny-v4-hub");
    let reference =
        candle_core::safetensors::load(fixture.join("reference.safetensors"), &Device::Cpu)
            .unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("reference.json")).unwrap())
            .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let dump = out_dir.path().join("logits.safetensors");
    let output = raddraft()
        .args(["generate", "--json", "--max-new-tokens", "12", "--model"])
        .arg(&fixture)
        .arg("--image")
        .arg(fixture.join("input.png"))
        .args([
            "--prompt",
            meta["prompt"]["text"].as_str().unwrap(),
            "--dump-logits",
        ])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<i64> = json["token_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = reference["greedy_ids"].to_vec1().unwrap();
    assert_eq!(ids, expected);
    assert_eq!(json["logprobs"].as_array().unwrap().len(), 12);
    assert!(json["logprobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|lp| lp.as_f64().unwrap() <= 0.0));
    assert_eq!(json["prefix_len"], meta["prompt"]["prefix_len"]);

    let dumped = candle_core::safetensors::load(&dump, &Device::Cpu).unwrap();
    assert!(max_abs_diff(&dumped["prefill_logits"], &reference["prefill_logits"]) <= 1e-4);
    assert!(max_abs_diff(&dumped["step_logits"], &reference["step_logits"]) <= 1e-4);
}

#[test]
fn demo_checkpoint_output_is_labelled_as_random() {
    let root = workspace();
    let output = raddraft()
        .args([
            "generate",
            "--max-new-tokens",
            "4",
            "--prompt",
            "INDICATION: Cough.",
            "--model",
        ])
        .arg(root.join("demo/checkpoint"))
        .arg("--image")
        .arg(root.join("demo/sample-cxr.png"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("RANDOM WEIGHTS"));
    assert!(!String::from_utf8_lossy(&output.stdout).trim().is_empty());
}

#[test]
fn bad_model_directory_fails_with_a_message() {
    let root = workspace();
    let output = raddraft()
        .args([
            "generate",
            "--prompt",
            "x",
            "--model",
            "/nonexistent/model",
            "--image",
        ])
        .arg(root.join("demo/sample-cxr.png"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/model"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn dicom_input_takes_its_indication_as_the_prompt() {
    let root = workspace();
    let output = raddraft()
        .args(["generate", "--json", "--max-new-tokens", "3", "--model"])
        .arg(root.join("demo/checkpoint"))
        .arg("--image")
        .arg(root.join("demo/sample-cxr.dcm"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["prompt"],
        "INDICATION: Cough and fever. Evaluate for pneumonia."
    );
    assert_eq!(json["token_ids"].as_array().unwrap().len(), 3);
    assert!(json["model"]["warning"]
        .as_str()
        .unwrap()
        .contains("RANDOM WEIGHTS"));
}

#[test]
fn png_without_indication_is_drafted_with_the_bare_template_and_a_note() {
    let root = workspace();
    let output = raddraft()
        .args(["generate", "--json", "--max-new-tokens", "3", "--model"])
        .arg(root.join("demo/checkpoint"))
        .arg("--image")
        .arg(root.join("demo/sample-cxr.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("carries no indication"), "{stderr}");
    assert!(stderr.contains("--indication"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["prompt"], "INDICATION:");
    assert_eq!(json["indication"], serde_json::Value::Null);
}
