//! Parity of `raddraft_models::preprocess` with its references, using the fixtures written by
//! `tests/fixtures/preprocess/generate.py` (Pillow 13.0.0, tensorflow-cpu 2.21.0,
//! transformers 5.24.0; the regenerate command is at the top of that script).
//!
//! Tolerances: `pil-bicubic`, `bv-bilinear` and `bv-bilinear-aa` resizes are bit-identical;
//! `pixel_values` equal HF's PIL-backend `SiglipImageProcessor` within 1e-7 (measured: exactly);
//! PNG loading is exact; JPEG decoding may differ from Pillow's libjpeg-turbo by the manifest's
//! `max_diff` (3 grey levels).

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device};
use image::{GrayImage, RgbImage};
use raddraft_models::preprocess::{
    load_image, pixel_values, resize_gray8, resize_rgb8, ResizeFilter,
};
use raddraft_models::ModelError;
use serde::Deserialize;

/// Bilinear modes: allowed |Δ| in grey levels against TensorFlow (measured: 0).
const BILINEAR_MAX_DIFF: u8 = 0;
const PIXEL_VALUES_TOLERANCE: f32 = 1e-7;

/// `resize` only for the uncommitted `--stress` sets.
#[derive(Deserialize)]
struct Manifest {
    resize: Vec<ResizeCase>,
    #[serde(default)]
    load: Vec<LoadCase>,
    #[serde(default)]
    pixel_values: Vec<PixelValuesCase>,
    #[serde(default)]
    pixel_values_file: String,
}

#[derive(Deserialize)]
struct ResizeCase {
    input: String,
    channels: u8,
    filter: ResizeFilter,
    width: u32,
    height: u32,
    expected: String,
}

#[derive(Deserialize)]
struct LoadCase {
    input: String,
    expected: String,
    max_diff: u8,
}

#[derive(Deserialize)]
struct PixelValuesCase {
    input: String,
    size: usize,
    tensor: String,
}

fn committed_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/preprocess")
}

/// The committed fixtures, or `RADDRAFT_PREPROCESS_FIXTURES` (a `generate.py --stress` set).
fn fixture_dir() -> PathBuf {
    std::env::var_os("RADDRAFT_PREPROCESS_FIXTURES").map_or_else(committed_fixtures, PathBuf::from)
}

fn manifest() -> Manifest {
    let path = fixture_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("fixture manifest");
    serde_json::from_str(&text).expect("manifest parses")
}

fn open(relative: &str) -> image::DynamicImage {
    image::open(fixture_dir().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Number of differing samples, the largest |Δ| and where it first occurs.
fn compare(actual: &[u8], expected: &[u8]) -> (usize, u8, Option<usize>) {
    assert_eq!(actual.len(), expected.len(), "sample counts differ");
    let mut differing = 0;
    let mut max = 0;
    let mut first = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let diff = a.abs_diff(e);
        if diff > 0 {
            differing += 1;
            first.get_or_insert(i);
            max = max.max(diff);
        }
    }
    (differing, max, first)
}

fn resize_case(case: &ResizeCase) -> Vec<u8> {
    let input = open(&case.input);
    let (w, h) = (case.width, case.height);
    match case.channels {
        1 => resize_gray8(&input.to_luma8(), w, h, case.filter).into_raw(),
        _ => resize_rgb8(&input.to_rgb8(), w, h, case.filter).into_raw(),
    }
}

#[test]
fn resizes_match_pillow_and_tensorflow() {
    let mut failures = Vec::new();
    let mut worst = std::collections::BTreeMap::new();
    for case in manifest().resize {
        let expected = open(&case.expected);
        let expected = match case.channels {
            1 => expected.to_luma8().into_raw(),
            _ => expected.to_rgb8().into_raw(),
        };
        let (differing, max, first) = compare(&resize_case(&case), &expected);
        let worst_max = worst.entry(case.filter.as_str()).or_insert(0u8);
        *worst_max = (*worst_max).max(max);
        let allowed = match case.filter {
            ResizeFilter::PilBicubic => 0,
            _ => BILINEAR_MAX_DIFF,
        };
        if max > allowed {
            failures.push(format!(
                "{} {} -> {}x{}: {differing} samples differ, max {max}, first at sample {first:?}",
                case.filter, case.input, case.width, case.height
            ));
        }
    }
    println!("max |Δ| per filter: {worst:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pixel_values_match_transformers_pil_backend() {
    let manifest = manifest();
    if manifest.pixel_values.is_empty() {
        return;
    }
    let bytes = std::fs::read(fixture_dir().join(&manifest.pixel_values_file)).expect("tensors");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors parses");
    for case in manifest.pixel_values {
        let image = load_image(&fixture_dir().join(&case.input)).expect("fixture loads");
        let pixels = pixel_values(
            &image,
            case.size,
            ResizeFilter::PilBicubic,
            &Device::Cpu,
            DType::F32,
        )
        .expect("pixel values");
        assert_eq!(pixels.dims(), &[1, 3, case.size, case.size]);
        let actual = pixels.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let view = tensors.tensor(&case.tensor).expect("reference tensor");
        assert_eq!(view.shape(), &[1, 3, case.size, case.size]);
        let expected: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let max = actual
            .iter()
            .zip(&expected)
            .map(|(a, e)| (a - e).abs())
            .fold(0f32, f32::max);
        println!("{}: max |Δ pixel_values| = {max:e}", case.tensor);
        assert!(
            max <= PIXEL_VALUES_TOLERANCE,
            "{}: max |Δ| {max:e}",
            case.tensor
        );
    }
}

#[test]
fn pixel_values_cast_to_the_requested_dtype() {
    let image = RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 7]));
    let pixels = pixel_values(
        &image,
        14,
        ResizeFilter::BigVisionBilinearAntialias,
        &Device::Cpu,
        DType::BF16,
    )
    .expect("pixel values");
    assert_eq!(pixels.dtype(), DType::BF16);
    assert_eq!(pixels.dims(), &[1, 3, 14, 14]);
}

#[test]
fn load_image_matches_pillow_convert_rgb() {
    for case in manifest().load {
        let loaded = load_image(&fixture_dir().join(&case.input)).expect("fixture loads");
        let expected = open(&case.expected).to_rgb8();
        assert_eq!(loaded.dimensions(), expected.dimensions(), "{}", case.input);
        let (differing, max, _) = compare(loaded.as_raw(), expected.as_raw());
        println!("{}: {differing} samples differ, max |Δ| {max}", case.input);
        assert!(
            max <= case.max_diff,
            "{}: max |Δ| {max} > {}",
            case.input,
            case.max_diff
        );
    }
}

fn write_temp(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("temp file");
    (dir, path)
}

fn assert_image_error(path: &Path) {
    match load_image(path) {
        Err(ModelError::Image {
            path: reported,
            reason,
        }) => {
            assert_eq!(reported, path);
            assert!(!reason.is_empty());
        }
        other => panic!("{}: expected an image error, got {other:?}", path.display()),
    }
}

#[test]
fn non_image_file_is_an_image_error() {
    let (_dir, path) = write_temp(
        "report.png",
        b"Findings: no acute cardiopulmonary process.\n",
    );
    assert_image_error(&path);
    let (_dir, empty) = write_temp("empty.jpg", b"");
    assert_image_error(&empty);
    assert_image_error(&committed_fixtures().join("does-not-exist.png"));
}

#[test]
fn truncated_images_are_image_errors() {
    for input in ["inputs/rgb_71x53.png", "inputs/gradient_64x48.jpg"] {
        let bytes = std::fs::read(committed_fixtures().join(input)).expect("fixture");
        for keep in [8, 33, 60, bytes.len() / 2, bytes.len() - 13] {
            let name = Path::new(input).file_name().unwrap().to_string_lossy();
            let (_dir, path) = write_temp(&name, &bytes[..keep]);
            // A truncated JPEG may still decode (the decoder pads missing data); it must not panic.
            if input.ends_with(".png") {
                assert_image_error(&path);
            } else {
                let _ = load_image(&path);
            }
        }
    }
}

#[test]
fn zero_sized_png_is_an_image_error() {
    let (_dir, path) = write_temp("zero.png", &png_with_size(0, 5));
    assert_image_error(&path);
}

/// A PNG signature and IHDR chunk (8-bit grey) with the given size and a valid CRC.
fn png_with_size(width: u32, height: u32) -> Vec<u8> {
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&width.to_be_bytes());
    chunk.extend_from_slice(&height.to_be_bytes());
    chunk.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Timing of radiograph-sized inputs; run with
/// `cargo test --release -p raddraft-models --test preprocess -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run in release"]
fn time_3000_square_to_896() {
    let level = |x: u32, y: u32| ((x * 7 + y * 13) % 251) as u8;
    let grey = GrayImage::from_fn(3000, 3000, |x, y| image::Luma([level(x, y)]));
    let grey_rgb = RgbImage::from_fn(3000, 3000, |x, y| image::Rgb([level(x, y); 3]));
    let colour = RgbImage::from_fn(3000, 3000, |x, y| {
        image::Rgb([level(x, y), level(y, x), level(x + 1, y)])
    });
    let threads = rayon::current_num_threads();
    for filter in ResizeFilter::ALL {
        let grey_ms = best_of_ms(|| drop(resize_gray8(&grey, 896, 896, filter)));
        let grey_rgb_ms = best_of_ms(|| drop(resize_rgb8(&grey_rgb, 896, 896, filter)));
        let colour_ms = best_of_ms(|| drop(resize_rgb8(&colour, 896, 896, filter)));
        println!(
            "{filter}: 3000x3000 -> 896x896: grey {grey_ms:.1} ms, grey RGB {grey_rgb_ms:.1} ms, \
             colour RGB {colour_ms:.1} ms ({threads} threads)"
        );
    }
    let pixels_ms = best_of_ms(|| {
        let pixels = pixel_values(
            &grey_rgb,
            896,
            ResizeFilter::PilBicubic,
            &Device::Cpu,
            DType::F32,
        );
        drop(pixels.expect("pixel values"));
    });
    println!("pixel_values(3000x3000 grey RGB, 896, pil-bicubic): {pixels_ms:.1} ms");
}

fn best_of_ms(mut run: impl FnMut()) -> f64 {
    run();
    (0..7)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}
