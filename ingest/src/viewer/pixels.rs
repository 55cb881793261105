//! Pixel values for a viewer that windows and levels itself: one little-endian `u16` per pixel,
//! with what it needs to finish the Modality LUT stage (a Modality LUT Sequence is applied here;
//! Rescale Slope / Intercept is passed on, so that fractional and negative values survive).

use crate::{ModalityTransform, Profile, Radiograph, RenderedImage};

/// Pixel values ready to upload as a 16-bit texture.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewerPixels {
    pub rows: u32,
    pub columns: u32,
    /// Bits that carry the values (values are below 2^bits_stored): Bits Stored, or the
    /// Modality LUT Sequence's output bits.
    pub bits_stored: u8,
    /// MONOCHROME1 (minimum is white) or MONOCHROME2.
    pub photometric: &'static str,
    /// Whether the display inverts the VOI output (PS3.3 C.11.6): MONOCHROME1, or a
    /// Presentation LUT Shape of INVERSE (which some CR write with MONOCHROME2); one inversion
    /// when both.
    pub invert_display: bool,
    /// Added to the stored value to make it non-negative (signed data); 0 otherwise.
    pub value_offset: i32,
    /// The modality value (the unit of Window Center / Width and of VOI LUT inputs) is
    /// `(value − value_offset) × rescale_slope + rescale_intercept`; 1 and 0 without Rescale
    /// Slope / Intercept or after a Modality LUT Sequence.
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    /// `rows × columns` little-endian `u16`, row by row.
    pub le_bytes: Vec<u8>,
}

/// The values of `radiograph` for a viewer: the Modality LUT Sequence's table output, or the
/// stored values (offset when signed) with the rescale the viewer applies.
pub fn viewer_pixels(radiograph: &Radiograph) -> ViewerPixels {
    let pixels = radiograph.pixels();
    let photometric = match radiograph
        .meta()
        .map(|m| m.encoding.photometric_interpretation.as_str())
    {
        Some("MONOCHROME1") => "MONOCHROME1",
        _ => "MONOCHROME2",
    };
    // The viewer applies a rescale itself; a Modality LUT Sequence is applied here.
    let (values, bits_stored, value_offset, (slope, intercept)) = match radiograph.modality() {
        ModalityTransform::Lut(table) => {
            // One lookup per code, then a table pass over the pixels.
            let by_code: Vec<u16> = (0..1u32 << pixels.bits_stored())
                .map(|code| table.lookup(f64::from(pixels.value(code as u16))))
                .collect();
            let values = pixels.map_codes(&by_code);
            // Entries above 2^bits − 1 (a malformed table) widen the range rather than wrap.
            let bits = u8::try_from(table.bits).unwrap_or(16);
            let max = values.iter().copied().max().unwrap_or(0);
            (values, bits.max(bits_for(max)), 0, (1.0, 0.0))
        }
        &ModalityTransform::Rescale { slope, intercept } => {
            let (values, offset) = stored_values(radiograph);
            (values, pixels.bits_stored(), offset, (slope, intercept))
        }
        ModalityTransform::Identity => {
            let (values, offset) = stored_values(radiograph);
            (values, pixels.bits_stored(), offset, (1.0, 0.0))
        }
    };
    ViewerPixels {
        rows: pixels.height(),
        columns: pixels.width(),
        bits_stored,
        photometric,
        invert_display: radiograph.inverts_display(),
        value_offset,
        rescale_slope: slope,
        rescale_intercept: intercept,
        le_bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The stored values, offset to be non-negative when signed, and that offset.
fn stored_values(radiograph: &Radiograph) -> (Vec<u16>, i32) {
    let pixels = radiograph.pixels();
    let offset = if pixels.is_signed() {
        1i32 << (pixels.bits_stored() - 1)
    } else {
        0
    };
    let values = match radiograph.render(Profile::Raw) {
        RenderedImage::Gray16(image) => image.into_raw(),
        RenderedImage::Gray8(image) => image.into_raw().into_iter().map(u16::from).collect(),
    };
    (values, offset)
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
