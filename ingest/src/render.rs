//! The three pixel profiles: `mimic-cxr-jpg` (what MIMIC-trained models saw), `display` (what a
//! conformant DICOM viewer shows) and `raw` (the stored values).
//!
//! Every profile is computed as a table over the possible stored codes (at most 2^16), built
//! from the code histogram, then applied in one pass: exact, and fast on 3000² radiographs.

use image::{GrayImage, ImageBuffer, Luma};
use serde::Serialize;

use super::equalize::equalize_table;
use super::lut::{Presentation, Voi, Window};
use super::pixels::StoredPixels;

/// A 16-bit grey image.
pub type Gray16Image = ImageBuffer<Luma<u16>, Vec<u16>>;

/// How stored pixel values become the image a model or a person sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The MIMIC-CXR-JPG conversion (PhysioNet MIMIC-CXR-JPG 2.1.0, Methods): stored values,
    /// min-max scaled to 0–255 with truncation, MONOCHROME1 inverted, then global histogram
    /// equalisation as OpenCV `equalizeHist`. No rescale, no windowing. The default for drafting.
    #[default]
    MimicCxrJpg,
    /// Modality LUT (sequence or rescale) → VOI LUT Sequence, else the first window (LINEAR,
    /// LINEAR_EXACT or SIGMOID), else min-max → MONOCHROME1 / INVERSE polarity.
    Display,
    /// The stored values, 16-bit (signed data offset by 2^(Bits Stored − 1)).
    Raw,
}

impl Profile {
    /// The name used on the command line and in files: `mimic-cxr-jpg`, `display`, `raw`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::MimicCxrJpg => "mimic-cxr-jpg",
            Profile::Display => "display",
            Profile::Raw => "raw",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mimic-cxr-jpg" => Ok(Profile::MimicCxrJpg),
            "display" => Ok(Profile::Display),
            "raw" => Ok(Profile::Raw),
            other => Err(format!(
                "unknown profile {other:?}; expected mimic-cxr-jpg, display or raw"
            )),
        }
    }
}

/// Output bit depth of the `display` rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitDepth {
    #[default]
    Eight,
    Sixteen,
}

/// A rendered grey image, 8- or 16-bit.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderedImage {
    Gray8(GrayImage),
    Gray16(Gray16Image),
}

impl RenderedImage {
    pub fn width(&self) -> u32 {
        match self {
            RenderedImage::Gray8(image) => image.width(),
            RenderedImage::Gray16(image) => image.width(),
        }
    }

    pub fn height(&self) -> u32 {
        match self {
            RenderedImage::Gray8(image) => image.height(),
            RenderedImage::Gray16(image) => image.height(),
        }
    }

    /// Writes the image as PNG (8- or 16-bit grey).
    pub fn save_png(&self, path: &std::path::Path) -> image::ImageResult<()> {
        match self {
            RenderedImage::Gray8(image) => image.save_with_format(path, image::ImageFormat::Png),
            RenderedImage::Gray16(image) => image.save_with_format(path, image::ImageFormat::Png),
        }
    }
}

/// `mimic-cxr-jpg`: `trunc((x − min) / (max − min) × 255)` in double precision (numpy's
/// `astype(uint8)` truncation), `255 − y` for MONOCHROME1, then `equalizeHist`.
pub(crate) fn mimic_cxr_jpg(pixels: &StoredPixels, monochrome1: bool) -> GrayImage {
    let codes = pixels.code_histogram();
    let (min, max) = value_range(pixels, &codes);
    let scaled: Vec<u8> = (0..codes.len())
        .map(|code| {
            let value = pixels.value(code as u16);
            let y = if max > min {
                // (x - min) and (max - min) are exact in f64, as numpy's are.
                ((f64::from(value) - f64::from(min)) / (f64::from(max) - f64::from(min)) * 255.0)
                    as u8
            } else {
                0
            };
            if monochrome1 {
                255 - y
            } else {
                y
            }
        })
        .collect();
    let mut histogram = [0u64; 256];
    for (code, &count) in codes.iter().enumerate() {
        histogram[scaled[code] as usize] += u64::from(count);
    }
    let equalized = equalize_table(&histogram);
    let table: Vec<u8> = scaled.iter().map(|&y| equalized[y as usize]).collect();
    to_gray8(pixels, pixels.map_codes(&table))
}

/// `display` at 8 bits: Modality LUT → VOI (the header's, or `window` when the viewer sets its
/// own) → polarity, rounded to 0–255.
pub(crate) fn display8(
    pixels: &StoredPixels,
    presentation: &Presentation,
    window: Option<Window>,
) -> GrayImage {
    let table = display_table(pixels, presentation, window, 255);
    let table: Vec<u8> = table.into_iter().map(|v| v as u8).collect();
    to_gray8(pixels, pixels.map_codes(&table))
}

/// `display` at 16 bits (0–65535), for viewers that window and level themselves.
pub(crate) fn display16(
    pixels: &StoredPixels,
    presentation: &Presentation,
    window: Option<Window>,
) -> Gray16Image {
    let table = display_table(pixels, presentation, window, 65535);
    to_gray16(pixels, pixels.map_codes(&table))
}

fn display_table(
    pixels: &StoredPixels,
    presentation: &Presentation,
    window: Option<Window>,
    full: u16,
) -> Vec<u16> {
    let codes = pixels.code_histogram();
    let modality: Vec<f64> = (0..codes.len())
        .map(|code| presentation.modality.apply(pixels.value(code as u16)))
        .collect();
    fraction_table(pixels, presentation, window, &codes, &modality)
        .into_iter()
        .map(|t| quantize(t, f64::from(full)) as u16)
        .map(|v| {
            if presentation.invert_display {
                full - v
            } else {
                v
            }
        })
        .collect()
}

/// The VOI output of every code as a fraction 0 … 1 of the output range.
fn fraction_table(
    pixels: &StoredPixels,
    presentation: &Presentation,
    window: Option<Window>,
    codes: &[u32],
    modality: &[f64],
) -> Vec<f64> {
    let voi = match window {
        Some(window) => &Voi::Window(window),
        None => &presentation.voi,
    };
    match voi {
        Voi::Window(window) => modality.iter().map(|&x| window.fraction(x)).collect(),
        Voi::Lut(table) => modality
            .iter()
            .map(|&x| f64::from(table.lookup(x)) / table.output_max())
            .collect(),
        Voi::MinMax => {
            let present = || {
                codes
                    .iter()
                    .zip(modality)
                    .filter(|(&count, _)| count > 0)
                    .map(|(_, &m)| m)
            };
            let low = present().fold(f64::INFINITY, f64::min);
            let high = present().fold(f64::NEG_INFINITY, f64::max);
            modality
                .iter()
                .map(|&m| {
                    if high > low {
                        ((m - low) / (high - low)).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        Voi::FullRange => {
            let full = f64::from((1u32 << pixels.bits_stored()) - 1);
            modality
                .iter()
                .map(|&m| (m / full).clamp(0.0, 1.0))
                .collect()
        }
    }
}

fn quantize(fraction: f64, full: f64) -> f64 {
    if fraction.is_nan() {
        0.0
    } else {
        (fraction.clamp(0.0, 1.0) * full).round()
    }
}

/// `raw`: stored values as 16-bit; signed values offset by 2^(Bits Stored − 1) so that they fit.
pub(crate) fn raw(pixels: &StoredPixels) -> Gray16Image {
    let offset = if pixels.is_signed() {
        1i32 << (pixels.bits_stored() - 1)
    } else {
        0
    };
    let table: Vec<u16> = (0..1usize << pixels.bits_stored())
        .map(|code| (pixels.value(code as u16) + offset) as u16)
        .collect();
    to_gray16(pixels, pixels.map_codes(&table))
}

/// The stored values scaled from the Bits Stored range to 8 bits (truncating), for showing or
/// feeding a `raw` rendering where only 8 bits fit.
pub(crate) fn raw_as_8bit(pixels: &StoredPixels) -> GrayImage {
    let bits = u32::from(pixels.bits_stored());
    let full = (1u32 << bits) - 1;
    let offset = if pixels.is_signed() {
        1i32 << (bits - 1)
    } else {
        0
    };
    let table: Vec<u8> = (0..1usize << bits)
        .map(|code| {
            let unsigned = (pixels.value(code as u16) + offset) as u32;
            (unsigned * 255 / full) as u8
        })
        .collect();
    to_gray8(pixels, pixels.map_codes(&table))
}

/// Smallest and largest stored value present.
fn value_range(pixels: &StoredPixels, codes: &[u32]) -> (i32, i32) {
    codes
        .iter()
        .enumerate()
        .filter(|(_, &count)| count > 0)
        .map(|(code, _)| pixels.value(code as u16))
        .fold((i32::MAX, i32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

fn to_gray8(pixels: &StoredPixels, data: Vec<u8>) -> GrayImage {
    GrayImage::from_raw(pixels.width(), pixels.height(), data)
        .unwrap_or_else(|| GrayImage::new(pixels.width(), pixels.height()))
}

fn to_gray16(pixels: &StoredPixels, data: Vec<u16>) -> Gray16Image {
    Gray16Image::from_raw(pixels.width(), pixels.height(), data)
        .unwrap_or_else(|| Gray16Image::new(pixels.width(), pixels.height()))
}
