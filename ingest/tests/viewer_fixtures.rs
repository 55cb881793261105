//! The viewer's header and pixel values against the synthetic fixtures and their pydicom 3.0.2
//! references (`tests/fixtures/dicom/generate.py`): a viewer that applies the offered VOI LUT
//! tables or header windows to the offered values must reproduce pydicom `apply_modality_lut` +
//! `apply_voi_lut` (the `display16` references) within 1 grey level of 65,535.

mod dicom_support;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{open_file, InMemDicomObject};
use dicom_support::{case, difference, fixtures, read_npy};
use raddraft_ingest::viewer::{image_header, viewer_pixels, ImageHeader, ViewerPixels};
use raddraft_ingest::{Radiograph, VoiFunction, Window};

fn fixture(name: &str) -> std::path::PathBuf {
    let entry = case("cases", name);
    fixtures().join(entry["file"].as_str().expect("case in cases.json"))
}

fn open(name: &str) -> (ImageHeader, ViewerPixels) {
    let path = fixture(name);
    let header = image_header(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let radiograph = Radiograph::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    (header, viewer_pixels(&radiograph))
}

/// The modality values a viewer computes from the offered values, `(value − value_offset) ×
/// slope + intercept`: the unit windows and VOI LUTs apply to.
fn values(pixels: &ViewerPixels) -> Vec<f64> {
    pixels
        .le_bytes
        .chunks_exact(2)
        .map(|b| {
            let value =
                i64::from(u16::from_le_bytes([b[0], b[1]])) - i64::from(pixels.value_offset);
            value as f64 * pixels.rescale_slope + pixels.rescale_intercept
        })
        .collect()
}

/// Fractions 0 … 1 rounded to the 16-bit display range, inverted when the header inverts the
/// display.
fn to_display16(fractions: impl Iterator<Item = f64>, inverted: bool) -> Vec<i64> {
    fractions
        .map(|f| if inverted { 1.0 - f } else { f })
        .map(|f| (f * 65535.0).round() as i64)
        .collect()
}

fn assert_display16(name: &str, actual: &[i64], what: &str) {
    let expected = read_npy(
        case("cases", name)["display16"]
            .as_str()
            .expect("display16"),
    );
    let (max, _) = difference(actual, &expected.values);
    assert!(
        max <= 1,
        "{name}: {what} differs from pydicom apply_modality_lut + apply_voi_lut by {max}"
    );
}

/// The display a viewer gets by applying VOI LUT preset `index` as the UI does: input clamped
/// to the table, output over 2^bits − 1.
fn through_voi_lut(header: &ImageHeader, index: usize, pixels: &ViewerPixels) -> Vec<i64> {
    let lut = &header.voi_luts[index];
    let max = f64::from((1u32 << lut.bits) - 1);
    let last = lut.entries.len() as i64 - 1;
    let fractions = values(pixels).into_iter().map(|v| {
        let index = (v.floor() as i64 - lut.first_mapped).clamp(0, last) as usize;
        f64::from(lut.entries[index]) / max
    });
    to_display16(fractions, pixels.invert_display)
}

#[test]
fn voi_lut_sequence_is_offered_as_a_table() {
    let (header, pixels) = open("mono1_inverse_voilut");
    assert!(header.voi_lut);
    assert_eq!(header.voi_luts.len(), 1);
    let lut = &header.voi_luts[0];
    assert_eq!(lut.explanation.as_deref(), Some("S-curve"));
    assert_eq!(
        (lut.first_mapped, lut.bits, lut.entries.len()),
        (0, 12, 4096)
    );
    assert!(
        lut.entries.windows(2).all(|w| w[0] <= w[1]),
        "an S-curve rises"
    );
    assert_eq!(
        header.windows.len(),
        2,
        "the alternative windows stay presets"
    );
    assert_eq!(header.voi_function, "LINEAR");
    assert_eq!(pixels.value_offset, 0);
    assert_display16(
        "mono1_inverse_voilut",
        &through_voi_lut(&header, 0, &pixels),
        "the VOI LUT preset",
    );
}

#[test]
fn voi_lut_with_65536_entries_is_offered_whole() {
    let (header, pixels) = open("lut65536");
    let lut = &header.voi_luts[0];
    assert_eq!(lut.explanation.as_deref(), Some("65536-entry S-curve"));
    assert_eq!(
        (lut.first_mapped, lut.bits, lut.entries.len()),
        (0, 16, 65536)
    );
    assert_display16(
        "lut65536",
        &through_voi_lut(&header, 0, &pixels),
        "the VOI LUT preset",
    );
}

/// The display a viewer gets from header window `index` under the header's VOI LUT Function.
fn through_header_window(header: &ImageHeader, index: usize, pixels: &ViewerPixels) -> Vec<i64> {
    let function = match header.voi_function {
        "LINEAR" => VoiFunction::Linear,
        "LINEAR_EXACT" => VoiFunction::LinearExact,
        "SIGMOID" => VoiFunction::Sigmoid,
        other => panic!("unexpected VOI function {other}"),
    };
    let window = Window {
        center: header.windows[index].center,
        width: header.windows[index].width,
        function,
    };
    let fractions = values(pixels).into_iter().map(|v| window.fraction(v));
    to_display16(fractions, pixels.invert_display)
}

#[test]
fn header_windows_carry_the_voi_lut_function() {
    // rescale_window: Rescale Slope 0.5 / Intercept −300, so modality values are fractional and
    // partly negative; the viewer gets the stored values and the rescale.
    for (name, function) in [
        ("mono2_sigmoid", "SIGMOID"),
        ("mono2_linear", "LINEAR"),
        ("rescale_window", "LINEAR"),
    ] {
        let (header, pixels) = open(name);
        assert_eq!(header.voi_function, function, "{name}");
        assert!(!header.voi_lut && header.voi_luts.is_empty(), "{name}");
        assert_display16(
            name,
            &through_header_window(&header, 0, &pixels),
            "the first header window",
        );
    }
    // Presentation LUT Shape INVERSE on MONOCHROME2 (as some CR write) inverts the display
    // (8-bit reference only); MONOCHROME1 inverts; plain MONOCHROME2 does not.
    let (header, pixels) = open("mono2_inverse_shape");
    assert_eq!(
        (pixels.photometric, pixels.invert_display),
        ("MONOCHROME2", true)
    );
    assert_display8(
        "mono2_inverse_shape",
        &through_header_window(&header, 0, &pixels),
    );
    assert!(open("mono1_inverse_voilut").1.invert_display);
    assert!(!open("mono2_linear").1.invert_display);
    // LINEAR_EXACT has only an 8-bit reference.
    let (header, pixels) = open("mono2_linear_exact");
    assert_eq!(header.voi_function, "LINEAR_EXACT");
    assert_eq!(
        (header.windows[0].center, header.windows[0].width),
        (1700.5, 999.5)
    );
    assert_display8(
        "mono2_linear_exact",
        &through_header_window(&header, 0, &pixels),
    );
}

/// A 16-bit display against a case's 8-bit pydicom reference, within 1 grey level of 255.
fn assert_display8(name: &str, display16: &[i64]) {
    let expected = read_npy(case("cases", name)["display8"].as_str().expect("display8"));
    let actual: Vec<i64> = display16
        .iter()
        .map(|&v| (v as f64 / 65535.0 * 255.0).round() as i64)
        .collect();
    let (max, _) = difference(&actual, &expected.values);
    assert!(max <= 1, "{name}: the 8-bit display differs by {max}");
}

#[test]
fn header_serialises_the_new_fields_for_the_shell() {
    let (header, _) = open("mono1_inverse_voilut");
    let json = serde_json::to_value(&header).expect("serialisable");
    assert_eq!(json["voi_function"], "LINEAR");
    assert_eq!(json["voi_lut"], true);
    let lut = &json["voi_luts"][0];
    assert_eq!(lut["explanation"], "S-curve");
    assert_eq!(lut["first_mapped"], 0);
    assert_eq!(lut["bits"], 12);
    assert_eq!(lut["entries"].as_array().map(Vec::len), Some(4096));
    let (sigmoid, _) = open("mono2_sigmoid");
    assert_eq!(
        serde_json::to_value(&sigmoid).expect("json")["voi_function"],
        "SIGMOID"
    );
}

#[test]
fn modality_lut_sequence_is_applied_to_the_viewer_values() {
    let name = "modality_lut_sequence";
    let path = fixture(name);
    let (header, pixels) = open(name);
    assert_eq!((pixels.bits_stored, pixels.value_offset), (16, 0));

    // pydicom apply_modality_lut for this table (first mapped 0, 4096 entries): the LUT Data
    // entry at each stored value (pydicom pixel_array), read here straight from the file.
    let object = open_file(&path).expect("readable");
    let item = &object
        .element(tags::MODALITY_LUT_SEQUENCE)
        .expect("Modality LUT Sequence")
        .items()
        .expect("items")[0];
    let table = item
        .element(tags::LUT_DATA)
        .expect("LUT Data")
        .to_multi_int::<i64>()
        .expect("integers");
    assert_eq!(table.len(), 4096);
    let stored = read_npy(case("cases", name)["stored"].as_str().expect("stored"));
    let expected: Vec<i64> = stored
        .values
        .iter()
        .map(|&s| table[s.clamp(0, 4095) as usize])
        .collect();
    assert_eq!((pixels.rescale_slope, pixels.rescale_intercept), (1.0, 0.0));
    let offered: Vec<i64> = values(&pixels).into_iter().map(|v| v as i64).collect();
    assert_eq!(
        difference(&offered, &expected),
        (0, 0),
        "viewer values must be the Modality LUT output"
    );
    // The header window is in LUT output units: windowing these values gives pydicom's display.
    assert_eq!(header.voi_function, "LINEAR");
    assert_display16(
        name,
        &through_header_window(&header, 0, &pixels),
        "the header window over the Modality LUT output",
    );
}

/// A copy of `source` whose VOI LUT Sequence is `items`, in a temporary directory.
fn with_voi_luts(
    source: &str,
    items: Vec<InMemDicomObject>,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut object = open_file(fixture(source)).expect("readable");
    object.put(DataElement::new(
        tags::VOILUT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(items),
    ));
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("edited.dcm");
    object.write_to_file(&path).expect("written");
    (dir, path)
}

fn lut_item(
    descriptor: &[u16],
    data: Option<&[u16]>,
    explanation: Option<&str>,
) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::LUT_DESCRIPTOR,
        VR::US,
        PrimitiveValue::U16(descriptor.iter().copied().collect()),
    ));
    if let Some(data) = data {
        item.put(DataElement::new(
            tags::LUT_DATA,
            VR::US,
            PrimitiveValue::U16(data.iter().copied().collect()),
        ));
    }
    if let Some(text) = explanation {
        item.put(DataElement::new(
            tags::LUT_EXPLANATION,
            VR::LO,
            PrimitiveValue::from(text),
        ));
    }
    item
}

#[test]
fn malformed_voi_luts_are_skipped_and_the_rest_kept_in_order() {
    let ramp: Vec<u16> = (0..4).map(|i| i * 1000).collect();
    let items = vec![
        lut_item(&[4, 0], Some(&ramp), Some("two-value descriptor")),
        lut_item(&[4, 0, 12], Some(&ramp), Some("first")),
        lut_item(&[4, 0, 12], None, Some("no data")),
        lut_item(&[8, 0, 12], Some(&ramp), Some("too short")),
        lut_item(&[4, 0, 40], Some(&ramp), Some("40 bits")),
        lut_item(&[2, 100, 8], Some(&[0xFF00]), None),
    ];
    let (_dir, path) = with_voi_luts("mono2_linear", items);
    let header = image_header(&path).expect("header despite malformed LUTs");
    assert!(header.voi_lut);
    let kept: Vec<_> = header
        .voi_luts
        .iter()
        .map(|l| {
            (
                l.explanation.as_deref(),
                l.first_mapped,
                l.bits,
                l.entries.clone(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (Some("first"), 0, 12, ramp.clone()),
            // 8-bit entries packed two per word, low byte first.
            (None, 100, 8, vec![0x00, 0xFF]),
        ]
    );
    assert!(Radiograph::open(&path).is_ok());

    let (_dir, path) = with_voi_luts("mono2_linear", vec![lut_item(&[4], None, None)]);
    let header = image_header(&path).expect("header");
    assert!(header.voi_lut && header.voi_luts.is_empty());
}
