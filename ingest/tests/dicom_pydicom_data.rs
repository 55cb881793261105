//! Real radiographs: NEMA WG04 RG1 (PA chest CR, MONOCHROME1, 15-bit) and RG3 (CR, 10-bit) in
//! uncompressed and JPEG 2000 (lossless and lossy) syntaxes, plus pydicom's Modality LUT Sequence
//! (mlut_18) and VOI LUT Sequence (vlut_04) files, from the PyPI wheel pydicom-data 1.0.0.
//!
//! Setup: `tests/fixtures/dicom/fetch_pydicom_data.sh` puts them in `$RADDRAFT_PYDICOM_DATA`
//! (default `~/.cache/raddraft/pydicom-data`); without them the test says so and passes.
//! References: `tests/fixtures/dicom/pydicom_data_reference.py` (pydicom 3.0.2 + OpenCV 5.0.0):
//! stored values and `mimic-cxr-jpg` by SHA-256 (bit-identical), `display` within 1 grey level of
//! pydicom's mapping of every stored value.

mod dicom_support;

use std::path::PathBuf;

use dicom_support::{fixtures, read_npy, sha256_le};
use raddraft_ingest::{Profile, Radiograph};

fn data_dir() -> PathBuf {
    match std::env::var_os("RADDRAFT_PYDICOM_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/raddraft/pydicom-data"),
    }
}

#[test]
fn real_radiographs_match_pydicom() {
    let dir = data_dir();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("pydicom_data.json")).unwrap(),
    )
    .unwrap();
    let files = manifest["files"].as_object().unwrap();
    if !dir.join("RG1_UNCR.dcm").exists() {
        eprintln!(
            "SKIPPED real_radiographs_match_pydicom: no pydicom-data files in {} \
             (run tests/fixtures/dicom/fetch_pydicom_data.sh, or set RADDRAFT_PYDICOM_DATA)",
            dir.display()
        );
        return;
    }
    for (name, entry) in files {
        let path = dir.join(name);
        let radiograph = Radiograph::open(&path).unwrap_or_else(|error| panic!("{name}: {error}"));
        let meta = radiograph.meta().unwrap();
        assert_eq!(
            meta.transfer_syntax.uid,
            entry["transfer_syntax"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            u64::from(meta.rows),
            entry["rows"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            u64::from(meta.columns),
            entry["columns"].as_u64().unwrap(),
            "{name}"
        );

        let pixels = radiograph.pixels();
        let stored = sha256_le(pixels.values().map(i64::from), 2);
        assert_eq!(
            stored,
            entry["stored_sha256"].as_str().unwrap(),
            "{name}: stored values"
        );
        let statistics = pixels.statistics();
        assert_eq!(
            i64::from(statistics.min),
            entry["stored_min"].as_i64().unwrap(),
            "{name}"
        );
        assert_eq!(
            i64::from(statistics.max),
            entry["stored_max"].as_i64().unwrap(),
            "{name}"
        );

        let mimic = match radiograph.render(Profile::MimicCxrJpg) {
            raddraft_ingest::RenderedImage::Gray8(image) => image.into_raw(),
            other => panic!("{name}: mimic-cxr-jpg is 8-bit, got {other:?}"),
        };
        assert_eq!(
            sha256_le(mimic.iter().map(|&v| i64::from(v)), 1),
            entry["mimic_sha256"].as_str().unwrap(),
            "{name}: mimic-cxr-jpg must be bit-identical to pydicom + cv2.equalizeHist"
        );

        let table = read_npy(entry["display8_table"].as_str().unwrap()).values;
        let first = entry["display8_table_first_value"].as_i64().unwrap();
        let display = match radiograph.render(Profile::Display) {
            raddraft_ingest::RenderedImage::Gray8(image) => image.into_raw(),
            other => panic!("{name}: display is 8-bit, got {other:?}"),
        };
        let mut worst = 0;
        for (value, shown) in pixels.values().zip(&display) {
            let expected = table[(i64::from(value) - first) as usize];
            worst = worst.max((i64::from(*shown) - expected).abs());
        }
        assert!(
            worst <= 1,
            "{name}: display differs from pydicom by {worst} grey levels"
        );
        eprintln!("{name}: stored and mimic-cxr-jpg identical, display within {worst}");
    }
}
