//! `raddraft inspect` and `raddraft preprocess` on the DICOM fixtures (generate.py references).

#[path = "../../ingest/tests/dicom_support/mod.rs"]
mod dicom_support;

use std::process::Command;

use dicom_support::{case, fixtures, read_npy};
use raddraft_models::preprocess::{resize_gray8, ResizeFilter};

fn raddraft(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raddraft"))
        .args(args)
        .output()
        .expect("run raddraft")
}

fn fixture(name: &str) -> String {
    let file = case("cases", name)["file"].as_str().unwrap().to_string();
    fixtures().join(file).display().to_string()
}

#[test]
fn inspect_json_reports_metadata_and_statistics() {
    let output = raddraft(&[
        "inspect",
        "--json",
        &fixture("mono1_inverse_voilut_jpll_fragments"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stored = read_npy(
        case("cases", "mono1_inverse_voilut")["stored"]
            .as_str()
            .unwrap(),
    );
    let min = stored.values.iter().min().unwrap();
    let max = stored.values.iter().max().unwrap();
    let mean = stored.values.iter().sum::<i64>() as f64 / stored.values.len() as f64;
    assert_eq!(report["statistics"]["min"].as_i64(), Some(*min));
    assert_eq!(report["statistics"]["max"].as_i64(), Some(*max));
    assert!((report["statistics"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(report["bits_stored"], 12);
    let meta = &report["meta"];
    assert_eq!(meta["transfer_syntax"]["uid"], "1.2.840.10008.1.2.4.70");
    assert_eq!(
        meta["encoding"]["photometric_interpretation"],
        "MONOCHROME1"
    );
    assert_eq!(meta["patient"]["id"], "SYN-0001");
    assert_eq!(meta["study"]["date"], "2024-02-29");
    assert_eq!(meta["indication"]["text"], "Cough and fever for 3 days");
}

#[test]
fn inspect_text_names_the_transfer_syntax() {
    let output = raddraft(&["inspect", &fixture("mono2_sigmoid_jls")]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        text.contains("JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80)"),
        "{text}"
    );
    assert!(text.contains("SIGMOID"), "{text}");
}

#[test]
fn preprocess_writes_each_profile() {
    let out = std::env::temp_dir().join(format!("raddraft-dicom-cli-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let name = "mono1_inverse_voilut_j2k";
    let entry = case("cases", name);
    for (profile, reference) in [
        ("mimic-cxr-jpg", "mimic"),
        ("display", "display8"),
        ("raw", "stored"),
    ] {
        let png = out.join(format!("{profile}.png"));
        let output = raddraft(&[
            "preprocess",
            &fixture(name),
            "--profile",
            profile,
            "--out",
            png.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let image = image::open(&png).unwrap();
        let values: Vec<i64> = match profile {
            "raw" => image
                .into_luma16()
                .into_raw()
                .into_iter()
                .map(i64::from)
                .collect(),
            _ => image
                .into_luma8()
                .into_raw()
                .into_iter()
                .map(i64::from)
                .collect(),
        };
        let expected = read_npy(entry[reference].as_str().unwrap());
        let (max, _) = dicom_support::difference(&values, &expected.values);
        let tolerance = if profile == "display" { 1 } else { 0 };
        assert!(max <= tolerance, "{profile}: differs by {max}");
    }
    let png = out.join("sized.png");
    let output = raddraft(&[
        "preprocess",
        &fixture(name),
        "--size",
        "64",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    // The grey rendering resized as one grey plane, bit for bit, and stored as grey.
    let image = image::open(&png).unwrap();
    assert_eq!(image.color(), image::ColorType::L8);
    let mimic = read_npy(entry["mimic"].as_str().unwrap());
    let (rows, columns) = (mimic.shape[0] as u32, mimic.shape[1] as u32);
    let grey = image::GrayImage::from_raw(
        columns,
        rows,
        mimic.values.iter().map(|&v| v as u8).collect(),
    )
    .unwrap();
    let expected = resize_gray8(&grey, 64, 64, ResizeFilter::PilBicubic);
    assert_eq!(image.into_luma8(), expected);
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn errors_name_the_file_and_fail() {
    let bad = fixtures().join("bad/jpeg_extended_12bit.dcm");
    let output = raddraft(&["inspect", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("jpeg_extended_12bit.dcm"), "{stderr}");
    assert!(stderr.contains("1.2.840.10008.1.2.4.51"), "{stderr}");
}
