//! Synthetic DX fixtures against pydicom 3.0.2 + OpenCV 5.0.0 references.
//!
//! Fixtures and references: `tests/fixtures/dicom/generate.py` (pinned in requirements.txt).
//! Tolerances (issue 3): stored values bit-identical to pydicom `pixel_array`; `mimic-cxr-jpg`
//! bit-identical to pydicom + `cv2.equalizeHist`; `display` within 1 grey level of pydicom
//! `apply_modality_lut` + `apply_voi_lut`.

mod dicom_support;

use dicom_support::{case, difference, fixtures, read_npy, sha256_le};
use raddraft_ingest::{
    BitDepth, Profile, Radiograph, RenderedImage, SourceFormat, VoiFunction, Window,
};

fn open_case(name: &str) -> (Radiograph, serde_json::Value) {
    let entry = case("cases", name);
    let file = entry["file"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not in cases.json"));
    let radiograph =
        Radiograph::open(fixtures().join(file)).unwrap_or_else(|error| panic!("{name}: {error}"));
    (radiograph, entry)
}

fn image_values(image: &RenderedImage) -> Vec<i64> {
    match image {
        RenderedImage::Gray8(image) => image.as_raw().iter().map(|&v| i64::from(v)).collect(),
        RenderedImage::Gray16(image) => image.as_raw().iter().map(|&v| i64::from(v)).collect(),
    }
}

/// Checks a case against every reference generate.py wrote for it.
fn check(name: &str) -> Radiograph {
    let (radiograph, entry) = open_case(name);
    let pixels = radiograph.pixels();

    let stored = read_npy(entry["stored"].as_str().unwrap());
    assert_eq!(
        stored.shape[..2],
        [pixels.height() as usize, pixels.width() as usize],
        "{name}: image size"
    );
    let actual: Vec<i64> = pixels.values().map(i64::from).collect();
    assert_eq!(
        difference(&actual, &stored.values),
        (0, 0),
        "{name}: stored values must equal pydicom pixel_array (max |Δ|, pixels differing)"
    );
    if !pixels.is_signed() {
        let raw = image_values(&radiograph.render(Profile::Raw));
        assert_eq!(
            raw, stored.values,
            "{name}: raw profile must be the stored values"
        );
    }

    if let Some(mimic) = entry["mimic"].as_str() {
        let expected = read_npy(mimic);
        let actual = image_values(&radiograph.render(Profile::MimicCxrJpg));
        assert_eq!(
            difference(&actual, &expected.values),
            (0, 0),
            "{name}: mimic-cxr-jpg must be bit-identical to pydicom + cv2.equalizeHist"
        );
    }
    for (key, depth) in [
        ("display8", BitDepth::Eight),
        ("display16", BitDepth::Sixteen),
    ] {
        if let Some(display) = entry[key].as_str() {
            let expected = read_npy(display);
            let actual = image_values(&radiograph.render_display(None, depth));
            let (max, _) = difference(&actual, &expected.values);
            assert!(
                max <= 1,
                "{name}: {key} differs from pydicom apply_modality_lut + apply_voi_lut by {max} grey levels"
            );
        }
    }
    if entry.get("display8").is_some() {
        assert_eq!(
            radiograph.render(Profile::Display),
            radiograph.render_display(None, BitDepth::Eight),
            "{name}: Profile::Display is the 8-bit display rendering"
        );
    }
    radiograph
}

#[test]
fn monochrome1_with_inverse_shape_and_voi_lut_sequence() {
    check("mono1_inverse_voilut");
}

#[test]
fn voi_lut_sequence_survives_every_lossless_syntax() {
    for syntax in ["rle", "j2k", "jls", "jpll"] {
        check(&format!("mono1_inverse_voilut_{syntax}"));
    }
}

#[test]
fn jpeg_lossless_split_into_many_fragments() {
    let name = "mono1_inverse_voilut_jpll_fragments";
    let fragments = case("cases", name)["fragments"].as_u64().unwrap();
    assert!(
        fragments > 10,
        "the fixture should have many fragments, has {fragments}"
    );
    check(name);
}

#[test]
fn sigmoid_window() {
    check("mono2_sigmoid");
}

#[test]
fn native_encodings_decode_identically() {
    for variant in ["implicit", "deflated", "big_endian", "no_preamble", "jls"] {
        check(&format!("mono2_sigmoid_{variant}"));
    }
}

#[test]
fn linear_window_uses_the_first_of_several() {
    check("mono2_linear");
}

#[test]
fn linear_exact_window() {
    check("mono2_linear_exact");
}

#[test]
fn voi_lut_with_65536_entries() {
    // LUT Descriptor [0, 0, 16]: dicom-rs 0.10.1 drops this LUT silently.
    check("lut65536");
    check("lut65536_j2k");
}

#[test]
fn rescale_slope_and_intercept() {
    check("rescale_window");
}

#[test]
fn modality_lut_sequence() {
    check("modality_lut_sequence");
}

#[test]
fn monochrome2_with_inverse_presentation_lut_shape() {
    let radiograph = check("mono2_inverse_shape");
    // The MIMIC profile follows Photometric Interpretation only: it equals the plain MONOCHROME2
    // case's, while the display (checked above) is inverted.
    let plain = read_npy(case("cases", "mono2_linear")["mimic"].as_str().unwrap());
    assert_eq!(
        image_values(&radiograph.render(Profile::MimicCxrJpg)),
        plain.values
    );
}

#[test]
fn no_voi_and_garbage_in_unused_high_bits() {
    check("no_voi_high_bits");
}

#[test]
fn eight_bit_monochrome1() {
    check("mono1_8bit");
}

#[test]
fn jpeg_baseline_is_close_to_libjpeg() {
    // Lossy baseline JPEG: jpeg-decoder's IDCT is not libjpeg's, so the stored values may differ
    // by rounding. The bound is measured, not assumed.
    let name = "mono1_8bit_jpeg_baseline";
    let (radiograph, entry) = open_case(name);
    let stored = read_npy(entry["stored"].as_str().unwrap());
    let actual: Vec<i64> = radiograph.pixels().values().map(i64::from).collect();
    let (max, count) = difference(&actual, &stored.values);
    assert!(
        max <= 1,
        "{name}: {count} stored values differ from libjpeg's decode, by up to {max}"
    );
}

#[test]
fn lossy_jpeg_2000_decodes_like_openjpeg() {
    check("mono2_linear_j2k_lossy");
}

#[test]
fn multi_frame_takes_frame_one_with_a_warning() {
    for name in ["multiframe", "multiframe_rle", "multiframe_j2k"] {
        let radiograph = check(name);
        assert!(
            radiograph.warnings().iter().any(|w| w.contains("2 frames")),
            "{name}: warnings {:?}",
            radiograph.warnings()
        );
        assert_eq!(radiograph.meta().unwrap().number_of_frames, 2);
    }
}

#[test]
fn rgb_becomes_opencv_luminance() {
    for name in ["rgb", "rgb_planar", "rgb_rle"] {
        let radiograph = check(name);
        assert_eq!(
            radiograph
                .meta()
                .unwrap()
                .encoding
                .photometric_interpretation,
            "RGB"
        );
    }
}

#[test]
fn viewer_window_matches_pydicom_for_that_window() {
    // mono2_sigmoid and mono2_linear hold the same stored values; the latter's header window is
    // LINEAR 1800 / 1200, so setting that window on the former must reproduce its reference.
    let (radiograph, _) = open_case("mono2_sigmoid");
    let window = Window {
        center: 1800.0,
        width: 1200.0,
        function: VoiFunction::Linear,
    };
    let expected = read_npy(case("cases", "mono2_linear")["display16"].as_str().unwrap());
    let actual = image_values(&radiograph.render_display(Some(window), BitDepth::Sixteen));
    let (max, _) = difference(&actual, &expected.values);
    assert!(max <= 1, "custom window differs by {max}");
    assert_eq!(
        radiograph.header_window().map(|w| w.function),
        Some(VoiFunction::Sigmoid)
    );
}

#[test]
fn metadata_is_typed() {
    // Values written by generate.py's dx_dataset().
    let (radiograph, _) = open_case("mono1_inverse_voilut");
    let meta = radiograph.meta().expect("DICOM metadata");
    assert_eq!(meta.patient.id.as_deref(), Some("SYN-0001"));
    assert_eq!(meta.patient.name.as_deref(), Some("Synthetic^Patient"));
    assert_eq!(meta.patient.sex, Some(raddraft_ingest::PatientSex::Other));
    assert_eq!(
        meta.patient.birth_date.map(|d| d.to_string()).as_deref(),
        Some("1970-01-01")
    );
    assert_eq!(
        meta.study.date.map(|d| d.to_string()).as_deref(),
        Some("2024-02-29")
    );
    assert_eq!(meta.study.accession_number.as_deref(), Some("ACC-0001"));
    assert_eq!(meta.study.description.as_deref(), Some("XR CHEST PA"));
    assert!(meta
        .study
        .instance_uid
        .as_deref()
        .is_some_and(|uid| uid.starts_with("1.2.826.0.1.3680043.8.498.")));
    assert!(meta.series_instance_uid.is_some() && meta.sop_instance_uid.is_some());
    assert_eq!(meta.modality.as_deref(), Some("DX"));
    assert_eq!(meta.view_position.as_deref(), Some("PA"));
    assert_eq!(meta.laterality.as_deref(), Some("U"));
    assert_eq!(meta.body_part_examined.as_deref(), Some("CHEST"));
    assert_eq!(meta.manufacturer.as_deref(), Some("raddraft synthetic"));
    let spacing = meta.pixel_spacing.expect("pixel spacing");
    assert_eq!((spacing.row_mm, spacing.column_mm), (0.143, 0.143));
    assert_eq!((meta.rows, meta.columns), (128, 104));
    assert_eq!(meta.transfer_syntax.uid, "1.2.840.10008.1.2.1");
    assert_eq!(meta.transfer_syntax.name, "Explicit VR Little Endian");
    assert_eq!(meta.encoding.photometric_interpretation, "MONOCHROME1");
    assert_eq!(meta.encoding.bits_stored, 12);
    assert_eq!(
        meta.presentation.presentation_lut_shape.as_deref(),
        Some("INVERSE")
    );
    assert_eq!(meta.presentation.voi_lut_sequence_items, 1);
    assert_eq!(meta.presentation.window_centers, vec![2048.0, 1500.0]);
    let indication = meta.indication.as_ref().expect("indication");
    assert_eq!(indication.text, "Cough and fever for 3 days");
    assert_eq!(
        indication.source,
        raddraft_ingest::IndicationSource::ReasonForTheRequestedProcedure
    );
}

#[test]
fn eight_bit_png_passes_through_every_profile() {
    let (radiograph, entry) = open_case("plain_png8");
    assert_eq!(radiograph.format(), SourceFormat::Png);
    assert!(radiograph.meta().is_none());
    let expected = read_npy(entry["stored"].as_str().unwrap());
    for profile in [Profile::MimicCxrJpg, Profile::Display] {
        assert_eq!(
            image_values(&radiograph.render(profile)),
            expected.values,
            "{profile}"
        );
    }
    // The model sees PIL's convert("RGB"): the grey value in all three channels.
    let rgb = radiograph.model_image(Profile::MimicCxrJpg);
    let replicated: Vec<u8> = expected.values.iter().flat_map(|&v| [v as u8; 3]).collect();
    assert_eq!(rgb.as_raw(), &replicated);
}

#[test]
fn sixteen_bit_png_is_treated_as_stored_values() {
    check("plain_png16");
}

#[test]
fn model_image_is_grey_replicated_to_rgb() {
    let (radiograph, entry) = open_case("mono1_inverse_voilut");
    let mimic = read_npy(entry["mimic"].as_str().unwrap());
    let (rgb, meta) = raddraft_ingest::load_model_image(
        fixtures().join(entry["file"].as_str().unwrap()),
        Profile::MimicCxrJpg,
    )
    .unwrap();
    assert!(meta.is_some());
    let replicated: Vec<u8> = mimic.values.iter().flat_map(|&v| [v as u8; 3]).collect();
    assert_eq!(rgb.as_raw(), &replicated);
    // At native size: resizing to the model's input is the model processor's step.
    let pixels = radiograph.pixels();
    assert_eq!(rgb.dimensions(), (pixels.width(), pixels.height()));
    assert_eq!(radiograph.model_image(Profile::MimicCxrJpg), rgb);
}

/// Opens a "large" fixture (3000 × 3000, above dicom-rs 0.10.1's 16 MiB allocation guard).
fn open_large(name: &str) -> (Radiograph, serde_json::Value) {
    let entry = case("large", name);
    let path = fixtures().join(entry["file"].as_str().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let bytes = if entry["gzip"].as_bool().unwrap() {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .unwrap();
        out
    } else {
        bytes
    };
    let radiograph =
        Radiograph::from_bytes(&bytes, &path).unwrap_or_else(|error| panic!("{name}: {error}"));
    (radiograph, entry)
}

fn check_large(name: &str) {
    let (radiograph, entry) = open_large(name);
    let pixels = radiograph.pixels();
    assert_eq!((pixels.width(), pixels.height()), (3000, 3000));
    let stored = sha256_le(pixels.values().map(i64::from), 2);
    assert_eq!(
        stored,
        entry["stored_sha256"].as_str().unwrap(),
        "{name}: stored values"
    );
    let mimic = image_values(&radiograph.render(Profile::MimicCxrJpg));
    assert_eq!(
        sha256_le(mimic.into_iter(), 1),
        entry["mimic_sha256"].as_str().unwrap(),
        "{name}: mimic-cxr-jpg"
    );
    let statistics = pixels.statistics();
    assert_eq!(
        i64::from(statistics.min),
        entry["stored_min"].as_i64().unwrap()
    );
    assert_eq!(
        i64::from(statistics.max),
        entry["stored_max"].as_i64().unwrap()
    );
    assert!((statistics.mean - entry["stored_mean"].as_f64().unwrap()).abs() < 1e-6);
}

#[test]
fn large_jpeg_lossless_in_64_kib_fragments() {
    let entry = case("large", "jpll_3000_fragments");
    assert!(entry["fragments"].as_u64().unwrap() > 30);
    check_large("jpll_3000_fragments");
}

#[test]
fn large_lossy_jpeg_2000_beyond_64_to_1() {
    let entry = case("large", "j2k_3000_lossy_134");
    assert!(entry["compression_ratio"].as_f64().unwrap() > 64.0);
    check_large("j2k_3000_lossy_134");
}
