//! Bad input gets a clear error naming the file and the problem, never a panic (issue 3, check 3).
//! Fixtures: `tests/fixtures/dicom/bad/`, written by `tests/fixtures/dicom/generate.py`.

mod dicom_support;

use dicom_support::{case, fixtures};
use raddraft_ingest::{IngestError, Radiograph};

fn open_bad(name: &str) -> (IngestError, String) {
    let entry = case("bad", name);
    let path = fixtures().join(entry["file"].as_str().unwrap());
    let error = match Radiograph::open(&path) {
        Ok(_) => panic!("{name}: opened without error"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{name}: the message must start with the file name: {message}"
    );
    assert_eq!(error.path(), path.as_path());
    (error, message)
}

#[test]
fn not_dicom() {
    let (error, message) = open_bad("not_dicom");
    assert!(matches!(error, IngestError::NotDicom { .. }), "{error:?}");
    assert!(message.contains("not a DICOM Part 10 file"), "{message}");
}

#[test]
fn truncated_file() {
    let (error, message) = open_bad("truncated");
    assert!(matches!(error, IngestError::Truncated { .. }), "{error:?}");
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn no_pixel_data() {
    for name in ["no_pixel_data", "structured_report"] {
        let (error, message) = open_bad(name);
        assert!(
            matches!(error, IngestError::NoPixelData { .. }),
            "{name}: {error:?}"
        );
        assert!(message.contains("no Pixel Data (7FE0,0010)"), "{message}");
    }
}

#[test]
fn zero_dimensions() {
    let (error, _) = open_bad("zero_rows");
    assert!(
        matches!(
            error,
            IngestError::ZeroDimensions {
                rows: 0,
                columns: 104,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn huge_dimensions() {
    let (error, message) = open_bad("huge_dimensions");
    assert!(
        matches!(
            error,
            IngestError::HugeDimensions {
                rows: 65535,
                columns: 65535,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message.contains("65535×65535"), "{message}");
}

#[test]
fn pixel_data_shorter_than_the_header_says() {
    let (error, _) = open_bad("short_pixel_data");
    // 128 × 104 × 2 bytes expected, half of it present.
    assert!(
        matches!(
            error,
            IngestError::PixelDataLength {
                expected: 26624,
                actual: 13312,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn twelve_bit_jpeg_extended_is_named() {
    let (error, message) = open_bad("jpeg_extended_12bit");
    match &error {
        IngestError::UnsupportedTransferSyntax { uid, name, .. } => {
            assert_eq!(uid, "1.2.840.10008.1.2.4.51");
            assert!(name.contains("JPEG Extended"), "{name}");
        }
        other => panic!("{other:?}"),
    }
    assert!(message.contains("1.2.840.10008.1.2.4.51"), "{message}");
    assert!(
        message.contains("dcmdjpeg"),
        "the message says what to do: {message}"
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixtures().join("bad/does_not_exist.dcm");
    let error = Radiograph::open(&path).unwrap_err();
    assert!(matches!(error, IngestError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("does_not_exist.dcm"));
}

/// Replaces the first occurrence of `from` with `to` (same length) in a fixture's bytes.
fn patched(file: &str, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(fixtures().join(file)).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{file}: pattern not found"));
    bytes[at..at + to.len()].copy_from_slice(to);
    bytes
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    // JPEG lossless SV1 relabelled as the retired JPEG Extended (Process 3 & 5).
    let bytes = patched(
        "synthetic/mono1_inverse_voilut_jpll.dcm",
        b"1.2.840.10008.1.2.4.70",
        b"1.2.840.10008.1.2.4.53",
    );
    let error = Radiograph::from_bytes(&bytes, "relabelled.dcm").unwrap_err();
    assert!(
        matches!(&error, IngestError::UnsupportedTransferSyntax { uid, .. } if uid == "1.2.840.10008.1.2.4.53"),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .starts_with("relabelled.dcm: unsupported transfer syntax"));
}

#[test]
fn codestream_that_disagrees_with_the_header() {
    // Rows (0028,0010) US 128 → 127 in the J2K copy: the codestream is 104 × 128.
    let bytes = patched(
        "synthetic/mono1_inverse_voilut_j2k.dcm",
        &[0x28, 0x00, 0x10, 0x00, b'U', b'S', 0x02, 0x00, 128, 0],
        &[0x28, 0x00, 0x10, 0x00, b'U', b'S', 0x02, 0x00, 127, 0],
    );
    let error = Radiograph::from_bytes(&bytes, "rows.dcm").unwrap_err();
    assert!(
        matches!(
            error,
            IngestError::Decode {
                codec: "JPEG 2000",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("104×128"), "{error}");
}

#[test]
fn truncations_fail_or_lose_nothing() {
    // Cutting a file anywhere must give an error, except where only trailing delimiters are
    // lost and the pixels are complete: then they must be exactly the uncut file's.
    for file in [
        "synthetic/mono1_inverse_voilut_jpll_fragments.dcm",
        "synthetic/mono1_inverse_voilut_rle.dcm",
        "synthetic/mono2_sigmoid_jls.dcm",
        "synthetic/mono1_inverse_voilut_j2k.dcm",
        "synthetic/mono2_sigmoid.dcm",
    ] {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let complete = Radiograph::from_bytes(&bytes, file).unwrap();
        let lengths = (0..bytes.len())
            .step_by(97)
            .chain(bytes.len() - 16..bytes.len());
        for length in lengths {
            if let Ok(cut) = Radiograph::from_bytes(&bytes[..length], file) {
                assert_eq!(
                    cut.pixels(),
                    complete.pixels(),
                    "{file} cut at {length} of {} bytes opened with different pixels",
                    bytes.len()
                );
            }
        }
    }
}

#[test]
fn corrupted_codestreams_never_panic() {
    // Deterministic byte corruption inside the pixel data of each codec's fixture: any outcome
    // but a panic is acceptable (some corruptions still decode).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for file in [
        "synthetic/mono1_inverse_voilut_jpll.dcm",
        "synthetic/mono1_inverse_voilut_rle.dcm",
        "synthetic/mono2_sigmoid_jls.dcm",
        "synthetic/mono1_inverse_voilut_j2k.dcm",
        "synthetic/mono1_8bit_jpeg_baseline.dcm",
    ] {
        let original = std::fs::read(fixtures().join(file)).unwrap();
        let start = original.len() - original.len() / 2;
        for _ in 0..40 {
            let mut bytes = original.clone();
            for _ in 0..8 {
                let at = start + (next() as usize) % (bytes.len() - start);
                bytes[at] = next() as u8;
            }
            let _ = Radiograph::from_bytes(&bytes, file);
        }
    }
}

#[test]
fn declared_length_beyond_the_file_is_refused_before_allocating() {
    // Found by `cargo fuzz run ingest`: an element declaring 2.4 GB in a 28 KB file made
    // dicom-parser 0.10.1 allocate and zero-fill 2.4 GB before reading.
    // The second declared 2.3 GB in the file meta group.
    for file in ["fuzz_oom_declared_length.dcm", "fuzz_oom_meta_length.dcm"] {
        let path = fixtures().join("bad").join(file);
        let error = Radiograph::open(&path).unwrap_err();
        assert!(
            matches!(error, IngestError::Truncated { .. }),
            "{file}: {error:?}"
        );
        assert!(error.to_string().contains("declares"), "{error}");
    }
}
