//! Shared helpers for the DICOM tests: fixture paths, the generator's manifest, `.npy` reading.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `tests/fixtures/dicom/`, written by `tests/fixtures/dicom/generate.py`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dicom")
}

/// `cases.json`: every fixture file and the reference arrays pydicom / OpenCV produced for it.
pub fn manifest() -> Value {
    let path = fixtures().join("cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run tests/fixtures/dicom/generate.py",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("cases.json is valid JSON")
}

/// One entry of `cases.json` ("cases", "large" or "bad" section).
pub fn case(section: &str, name: &str) -> Value {
    let manifest = manifest();
    manifest[section][name].clone()
}

/// A reference array from an `.npy` file (numpy format 1.0 – 3.0, C order, `|u1`, `<u2` or `<i2`).
#[derive(Debug)]
pub struct Reference {
    pub shape: Vec<usize>,
    pub values: Vec<i64>,
}

pub fn read_npy(relative: &str) -> Reference {
    let path = fixtures().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..6],
        b"\x93NUMPY",
        "{}: not an .npy file",
        path.display()
    );
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[header_start..header_start + header_len]).unwrap();
    let data = &bytes[header_start + header_len..];
    assert!(header.contains("'fortran_order': False"), "{header}");
    let descr = header
        .split("'descr': '")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values: Vec<i64> = match descr {
        "|u1" => data.iter().map(|&b| i64::from(b)).collect(),
        "<u2" => data
            .chunks_exact(2)
            .map(|b| i64::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        "<i2" => data
            .chunks_exact(2)
            .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        other => panic!("{}: dtype {other} not handled", path.display()),
    };
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "{}",
        path.display()
    );
    Reference { shape, values }
}

/// Largest absolute difference and number of differing values.
pub fn difference(actual: &[i64], expected: &[i64]) -> (i64, usize) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    actual
        .iter()
        .zip(expected)
        .fold((0, 0), |(max, count), (a, e)| {
            let d = (a - e).abs();
            (max.max(d), count + usize::from(d != 0))
        })
}

/// SHA-256 of the values as little-endian bytes of `width` bytes each, as generate.py hashes
/// numpy arrays.
pub fn sha256_le(values: impl Iterator<Item = i64>, width: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for value in values {
        hasher.update(&value.to_le_bytes()[..width]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
