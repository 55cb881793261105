//! Reading a DICOM Part 10 file: parse with dicom-object, validate the Image Pixel module,
//! decode frame 1 and collect the grey-scale presentation attributes.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions};

use super::attrs::{self, Object};
use super::codec::FrameShape;
use super::error::IngestError;
use super::frame;
use super::lut::Presentation;
use super::meta::{PixelEncoding, RadiographMeta};
use super::pixels::{self, StoredPixels};
use super::scan;
use super::syntax::{self, Codec};
use super::{MAX_PIXELS, MAX_PIXELS_TEXT};

/// A DICOM image read into stored values plus what is needed to render it.
pub(crate) struct DicomImage {
    pub meta: RadiographMeta,
    pub pixels: StoredPixels,
    pub presentation: Presentation,
    pub warnings: Vec<String>,
}

/// Where the file meta group starts: after the 128-byte preamble, or at 0 for preamble-less
/// files (some CD imports); `None` when there is no "DICM" marker.
pub(crate) fn meta_group_offset(bytes: &[u8]) -> Option<usize> {
    if bytes.get(128..132) == Some(b"DICM") {
        Some(128)
    } else if bytes.starts_with(b"DICM") {
        Some(0)
    } else {
        None
    }
}

pub(crate) fn read(bytes: &[u8], start: usize, path: &Path) -> Result<DicomImage, IngestError> {
    // The file meta group first: an unknown transfer syntax makes the data set unparseable, and
    // deserves an error that names it rather than a parse failure.
    scan::check_meta_group(&bytes[start..]).map_err(|problem| scan_error(problem, path))?;
    let file_meta =
        FileMetaTable::from_reader(&bytes[start..]).map_err(|error| parse_error(&error, path))?;
    let transfer_syntax_uid = file_meta.transfer_syntax().to_string();
    let codec = syntax::codec_for(&transfer_syntax_uid).ok_or_else(|| {
        IngestError::UnsupportedTransferSyntax {
            path: path.to_path_buf(),
            uid: transfer_syntax_uid.clone(),
            name: syntax::name_of(&transfer_syntax_uid),
            hint: syntax::unsupported_hint(&transfer_syntax_uid),
        }
    })?;

    scan::check(&bytes[start..], &transfer_syntax_uid)
        .map_err(|problem| scan_error(problem, path))?;

    let mut file = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(&bytes[start..])
        .map_err(|error| parse_error(&error, path))?;
    // Taken out of the data set so that native pixel data is moved, not copied.
    let pixel_data = file.take_element(tags::PIXEL_DATA).ok();
    let obj: &Object = &file;

    let Some(pixel_data) = pixel_data else {
        if attrs::present(obj, tags::FLOAT_PIXEL_DATA)
            || attrs::present(obj, tags::DOUBLE_FLOAT_PIXEL_DATA)
        {
            return Err(IngestError::UnsupportedPixelFormat {
                path: path.to_path_buf(),
                detail: "floating-point pixel data (parametric maps) is not a radiograph".into(),
            });
        }
        return Err(IngestError::NoPixelData {
            path: path.to_path_buf(),
        });
    };

    let layout = ImagePixelModule::read(obj, path)?;
    if transfer_syntax_uid == syntax::JPEG_EXTENDED && layout.bits_stored > 8 {
        return Err(IngestError::UnsupportedTransferSyntax {
            path: path.to_path_buf(),
            uid: transfer_syntax_uid.clone(),
            name: syntax::name_of(&transfer_syntax_uid),
            hint: format!(
                "{}-bit samples; {}",
                layout.bits_stored,
                syntax::unsupported_hint(&transfer_syntax_uid)
            ),
        });
    }
    layout.check_colour_model(codec, path)?;

    let mut warnings = Vec::new();
    if layout.number_of_frames > 1 {
        warnings.push(format!(
            "{} frames; only frame 1 is used",
            layout.number_of_frames
        ));
    }

    let shape = FrameShape {
        rows: layout.rows,
        columns: layout.columns,
        samples_per_pixel: layout.samples_per_pixel,
        bits_allocated: layout.bits_allocated,
    };
    let samples = frame::first_frame_samples(
        pixel_data.into_value(),
        path,
        &transfer_syntax_uid,
        codec,
        &shape,
        layout.number_of_frames,
        layout.planar_configuration,
    )?;
    let colour = layout.samples_per_pixel == 3;
    let samples = if colour {
        pixels::rgb_to_luminance(&samples)
    } else {
        samples
    };
    let pixels = StoredPixels::from_samples(
        layout.columns,
        layout.rows,
        layout.bits_stored as u8,
        layout.signed,
        samples,
    );
    let presentation = if colour {
        Presentation::full_range()
    } else {
        Presentation::read_monochrome(
            obj,
            layout.signed,
            layout.photometric == "MONOCHROME1",
            &mut warnings,
        )
    };
    for warning in &warnings {
        tracing::warn!(file = %path.display(), "{warning}");
    }

    let meta = RadiographMeta::read(
        obj,
        &transfer_syntax_uid,
        layout.rows,
        layout.columns,
        layout.number_of_frames,
        PixelEncoding {
            photometric_interpretation: layout.photometric.clone(),
            samples_per_pixel: layout.samples_per_pixel,
            bits_allocated: layout.bits_allocated,
            bits_stored: layout.bits_stored,
            high_bit: layout.high_bit,
            signed: layout.signed,
        },
    );
    Ok(DicomImage {
        meta,
        pixels,
        presentation,
        warnings,
    })
}

/// The Image Pixel module (PS3.3 C.7.6.3), validated for a radiograph.
struct ImagePixelModule {
    rows: u32,
    columns: u32,
    samples_per_pixel: u16,
    photometric: String,
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    signed: bool,
    planar_configuration: u16,
    number_of_frames: u32,
}

impl ImagePixelModule {
    fn read(obj: &Object, path: &Path) -> Result<Self, IngestError> {
        let required = |tag, attribute: &'static str| {
            attrs::int(obj, tag).ok_or_else(|| IngestError::MissingAttribute {
                path: path.to_path_buf(),
                attribute,
            })
        };
        let invalid = |attribute: &'static str, value: String, expected: &'static str| {
            IngestError::InvalidAttribute {
                path: path.to_path_buf(),
                attribute,
                value,
                expected,
            }
        };
        let rows = required(tags::ROWS, "Rows (0028,0010)")?;
        let columns = required(tags::COLUMNS, "Columns (0028,0011)")?;
        let (rows, columns) = match (u32::try_from(rows), u32::try_from(columns)) {
            (Ok(r), Ok(c)) if r <= 0xFFFF && c <= 0xFFFF => (r, c),
            _ => {
                return Err(invalid(
                    "Rows × Columns",
                    format!("{columns}×{rows}"),
                    "each must be 0 … 65535",
                ))
            }
        };
        if rows == 0 || columns == 0 {
            return Err(IngestError::ZeroDimensions {
                path: path.to_path_buf(),
                rows,
                columns,
            });
        }
        if u64::from(rows) * u64::from(columns) > MAX_PIXELS {
            return Err(IngestError::HugeDimensions {
                path: path.to_path_buf(),
                rows,
                columns,
                limit: MAX_PIXELS_TEXT,
            });
        }

        let samples_per_pixel = attrs::int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        let samples_per_pixel = match samples_per_pixel {
            1 | 3 => samples_per_pixel as u16,
            other => {
                return Err(invalid(
                    "Samples per Pixel (0028,0002)",
                    other.to_string(),
                    "radiographs have 1 (grey) or 3 (colour)",
                ))
            }
        };
        let photometric = attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION).ok_or(
            IngestError::MissingAttribute {
                path: path.to_path_buf(),
                attribute: "Photometric Interpretation (0028,0004)",
            },
        )?;
        let bits_allocated = required(tags::BITS_ALLOCATED, "Bits Allocated (0028,0100)")?;
        let bits_allocated = match bits_allocated {
            8 | 16 => bits_allocated as u16,
            other => {
                return Err(IngestError::UnsupportedPixelFormat {
                    path: path.to_path_buf(),
                    detail: format!("Bits Allocated is {other}; radiographs use 8 or 16"),
                })
            }
        };
        let bits_stored = attrs::int(obj, tags::BITS_STORED).unwrap_or(i64::from(bits_allocated));
        if !(1..=i64::from(bits_allocated)).contains(&bits_stored) {
            return Err(invalid(
                "Bits Stored (0028,0101)",
                bits_stored.to_string(),
                "it must be 1 … Bits Allocated",
            ));
        }
        let bits_stored = bits_stored as u16;
        let high_bit = attrs::int(obj, tags::HIGH_BIT)
            .and_then(|h| u16::try_from(h).ok())
            .unwrap_or(bits_stored - 1);
        let signed = attrs::int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
        let planar_configuration = attrs::int(obj, tags::PLANAR_CONFIGURATION).unwrap_or(0);
        let number_of_frames = match attrs::int(obj, tags::NUMBER_OF_FRAMES) {
            None => 1,
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => n as u32,
            Some(n) => {
                return Err(invalid(
                    "Number of Frames (0028,0008)",
                    n.to_string(),
                    "it must be at least 1",
                ))
            }
        };
        Ok(ImagePixelModule {
            rows,
            columns,
            samples_per_pixel,
            photometric,
            bits_allocated,
            bits_stored,
            high_bit,
            signed,
            planar_configuration: u16::from(planar_configuration == 1),
            number_of_frames,
        })
    }

    /// Grey images must be MONOCHROME1/2; colour must reach us as RGB (native RGB, or YBR
    /// that the JPEG / JPEG 2000 decoder converts back to RGB).
    fn check_colour_model(&self, codec: Codec, path: &Path) -> Result<(), IngestError> {
        let photometric = self.photometric.as_str();
        let accepted = match (self.samples_per_pixel, photometric) {
            (1, "MONOCHROME1" | "MONOCHROME2") => true,
            (3, "RGB") => true,
            (3, "YBR_FULL" | "YBR_FULL_422") => codec == Codec::Jpeg,
            (3, "YBR_ICT" | "YBR_RCT") => codec == Codec::Jpeg2000,
            _ => false,
        };
        if !accepted {
            return Err(IngestError::UnsupportedPixelFormat {
                path: path.to_path_buf(),
                detail: format!(
                    "{} sample(s) per pixel with Photometric Interpretation {photometric} in this transfer syntax; \
                     radiographs are MONOCHROME1, MONOCHROME2 or RGB",
                    self.samples_per_pixel
                ),
            });
        }
        if self.samples_per_pixel == 3 && self.signed {
            return Err(IngestError::UnsupportedPixelFormat {
                path: path.to_path_buf(),
                detail: "signed colour samples".into(),
            });
        }
        Ok(())
    }
}

pub(super) fn scan_error(problem: scan::Problem, path: &Path) -> IngestError {
    match problem {
        scan::Problem::Truncated(detail) => IngestError::Truncated {
            path: path.to_path_buf(),
            detail,
        },
        scan::Problem::Malformed(detail) => IngestError::Malformed {
            path: path.to_path_buf(),
            detail,
        },
    }
}

/// Maps a dicom-object parse failure to "truncated" when the input ran out, else "malformed".
pub(super) fn parse_error(error: &(dyn std::error::Error + 'static), path: &Path) -> IngestError {
    let mut detail = error.to_string();
    let mut truncated = false;
    let mut source = error.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            truncated |= io.kind() == std::io::ErrorKind::UnexpectedEof;
        }
        source = cause.source();
    }
    if truncated {
        IngestError::Truncated {
            path: path.to_path_buf(),
            detail,
        }
    } else {
        IngestError::Malformed {
            path: path.to_path_buf(),
            detail,
        }
    }
}
