//! PNG and JPEG input (MIMIC-CXR-JPG and similar exports), read into the same stored-pixel form.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageReader, RgbImage};

use super::error::IngestError;
use super::pixels::{self, StoredPixels};
use super::MAX_PIXELS;

/// The container format of a plain image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainFormat {
    Png,
    Jpeg,
}

/// Recognises PNG and JPEG by their signatures, not by the file name.
pub(crate) fn sniff(bytes: &[u8]) -> Option<PlainFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PlainFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(PlainFormat::Jpeg)
    } else {
        None
    }
}

/// A decoded plain image: grey stored values, and the colour pixels when the file is 8-bit RGB.
pub(crate) struct PlainImage {
    pub pixels: StoredPixels,
    /// 8-bit files are already rendered images (a MIMIC-CXR-JPG file is the model's training
    /// input as it stands), so every 8-bit profile passes them through.
    pub eight_bit: bool,
    pub colour: Option<RgbImage>,
}

pub(crate) fn read(
    bytes: &[u8],
    format: PlainFormat,
    path: &Path,
) -> Result<PlainImage, IngestError> {
    let image_error = |source| IngestError::Image {
        path: path.to_path_buf(),
        source,
    };
    let format = match format {
        PlainFormat::Png => image::ImageFormat::Png,
        PlainFormat::Jpeg => image::ImageFormat::Jpeg,
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(image_error)?;
    if width == 0 || height == 0 {
        return Err(IngestError::ZeroDimensions {
            path: path.to_path_buf(),
            rows: height,
            columns: width,
        });
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(IngestError::HugeDimensions {
            path: path.to_path_buf(),
            rows: height,
            columns: width,
            limit: super::MAX_PIXELS_TEXT,
        });
    }
    let decoded = ImageReader::with_format(Cursor::new(bytes), format)
        .decode()
        .map_err(image_error)?;
    let (bits, samples, colour): (u8, Vec<u16>, Option<RgbImage>) = match decoded {
        DynamicImage::ImageLuma8(grey) => {
            (8, grey.pixels().map(|p| u16::from(p.0[0])).collect(), None)
        }
        DynamicImage::ImageLumaA8(grey) => {
            (8, grey.pixels().map(|p| u16::from(p.0[0])).collect(), None)
        }
        DynamicImage::ImageLuma16(grey) => (16, grey.into_raw(), None),
        DynamicImage::ImageLumaA16(grey) => (16, grey.pixels().map(|p| p.0[0]).collect(), None),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) => {
            let rgb = decoded.into_rgb16();
            (16, pixels::rgb_to_luminance(rgb.as_raw()), None)
        }
        other => {
            let rgb = other.into_rgb8();
            let wide: Vec<u16> = rgb.as_raw().iter().map(|&b| u16::from(b)).collect();
            (8, pixels::rgb_to_luminance(&wide), Some(rgb))
        }
    };
    Ok(PlainImage {
        pixels: StoredPixels::from_samples(width, height, bits, false, samples),
        eight_bit: bits == 8,
        colour,
    })
}
