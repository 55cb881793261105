//! Pixel values for a viewer that windows and levels itself: one little-endian `u16` per pixel.

use crate::dicom::{Profile, Radiograph, RenderedImage};

/// Pixel values ready to upload as a 16-bit texture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerPixels {
    pub rows: u32,
    pub columns: u32,
    /// Bits that carry the values (values are below 2^bits_stored).
    pub bits_stored: u8,
    /// MONOCHROME1 (minimum is white) or MONOCHROME2.
    pub photometric: &'static str,
    /// Added to the true value to make it non-negative (signed data); 0 otherwise. Window
    /// centres from the header must be shifted by it.
    pub value_offset: i32,
    /// Whether the values are the Modality LUT's output. `false` only for a Modality LUT
    /// Sequence, whose table this viewer path does not apply: the stored values are sent.
    pub modality_applied: bool,
    /// `rows × columns` little-endian `u16`, row by row.
    pub le_bytes: Vec<u8>,
}

/// The values of `radiograph` after Modality Rescale (stored values when there is none): the
/// unit Window Center / Width are given in. Rescaled values are rounded and clamped to 0–65535.
pub fn viewer_pixels(radiograph: &Radiograph) -> ViewerPixels {
    let pixels = radiograph.pixels();
    let meta = radiograph.meta();
    let photometric = match meta.map(|m| m.encoding.photometric_interpretation.as_str()) {
        Some("MONOCHROME1") => "MONOCHROME1",
        _ => "MONOCHROME2",
    };
    let presentation = meta.map(|m| &m.presentation);
    let rescale = presentation.and_then(|p| match (p.rescale_slope, p.rescale_intercept) {
        (Some(slope), Some(intercept)) if !p.modality_lut_sequence => {
            (slope != 1.0 || intercept != 0.0).then_some((slope, intercept))
        }
        _ => None,
    });
    let modality_applied = !presentation.is_some_and(|p| p.modality_lut_sequence);
    let (values, bits_stored, value_offset): (Vec<u16>, u8, i32) = match rescale {
        Some((slope, intercept)) => {
            let values: Vec<u16> = pixels
                .values()
                .map(|v| {
                    (f64::from(v) * slope + intercept)
                        .round()
                        .clamp(0.0, 65535.0) as u16
                })
                .collect();
            let max = values.iter().copied().max().unwrap_or(0);
            (values, bits_for(max), 0)
        }
        None => {
            let offset = if pixels.is_signed() {
                1i32 << (pixels.bits_stored() - 1)
            } else {
                0
            };
            let values = match radiograph.render(Profile::Raw) {
                RenderedImage::Gray16(image) => image.into_raw(),
                RenderedImage::Gray8(image) => {
                    image.into_raw().into_iter().map(u16::from).collect()
                }
            };
            (values, pixels.bits_stored(), offset)
        }
    };
    ViewerPixels {
        rows: pixels.height(),
        columns: pixels.width(),
        bits_stored,
        photometric,
        value_offset,
        modality_applied,
        le_bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn bits_for(max: u16) -> u8 {
    (16 - max.leading_zeros() as u8).max(1)
}

#[cfg(test)]
mod tests {
    use super::bits_for;

    #[test]
    fn bits_cover_the_largest_value() {
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(4095), 12);
        assert_eq!(bits_for(4096), 13);
        assert_eq!(bits_for(65535), 16);
    }
}
