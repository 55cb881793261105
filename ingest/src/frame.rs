//! The samples of frame 1: native pixel data sliced and byte-ordered, or encapsulated fragments
//! joined into one codestream and handed to the codec.

use std::borrow::Cow;
use std::path::Path;

use dicom_core::value::{PrimitiveValue, Value};

use super::attrs::Object;
use super::codec::{self, CodecFailure, FrameShape};
use super::error::IngestError;
use super::rle;
use super::syntax::{self, Codec};

/// The value of Pixel Data (7FE0,0010) as dicom-object holds it.
pub(crate) type PixelDataValue = Value<Object, Vec<u8>>;

/// Decodes frame 1 into interleaved samples (bit patterns, not yet masked to Bits Stored).
pub(crate) fn first_frame_samples(
    pixel_data: PixelDataValue,
    path: &Path,
    transfer_syntax_uid: &str,
    codec: Codec,
    shape: &FrameShape,
    number_of_frames: u32,
    planar_configuration: u16,
) -> Result<Vec<u16>, IngestError> {
    match (codec, pixel_data) {
        (Codec::NativeLittleEndian | Codec::NativeBigEndian, Value::Primitive(value)) => {
            let samples = native_samples(
                value,
                path,
                shape,
                number_of_frames,
                codec == Codec::NativeBigEndian,
            )?;
            Ok(
                if planar_configuration == 1 && shape.samples_per_pixel > 1 {
                    codec::planar_to_interleaved(&samples, usize::from(shape.samples_per_pixel))
                } else {
                    samples
                },
            )
        }
        (Codec::NativeLittleEndian | Codec::NativeBigEndian, _) => Err(IngestError::Malformed {
            path: path.to_path_buf(),
            detail: "the transfer syntax is uncompressed but the pixel data is encapsulated"
                .to_string(),
        }),
        (_, Value::PixelSequence(ref sequence)) => {
            let data = first_frame_codestream(
                sequence.offset_table(),
                sequence.fragments(),
                number_of_frames,
                codec,
            )
            .map_err(|detail| IngestError::Malformed {
                path: path.to_path_buf(),
                detail,
            })?;
            decode_codestream(&data, path, transfer_syntax_uid, codec, shape)
        }
        (_, _) => Err(IngestError::Malformed {
            path: path.to_path_buf(),
            detail: format!(
                "the transfer syntax {} is compressed but the pixel data is not encapsulated",
                transfer_syntax_uid
            ),
        }),
    }
}

/// Slices frame 1 out of native pixel data, checking that every frame is present.
fn native_samples(
    value: PrimitiveValue,
    path: &Path,
    shape: &FrameShape,
    number_of_frames: u32,
    big_endian: bool,
) -> Result<Vec<u16>, IngestError> {
    let bytes_per_sample = usize::from(shape.bits_allocated / 8);
    let frame_samples =
        shape.rows as usize * shape.columns as usize * usize::from(shape.samples_per_pixel);
    let expected = (frame_samples * bytes_per_sample) as u64 * u64::from(number_of_frames);
    let length_error = |actual: u64| IngestError::PixelDataLength {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    match (value, bytes_per_sample) {
        // OW already decoded to 16-bit words in the file's byte order.
        (PrimitiveValue::U16(words), 2) => {
            let actual = words.len() as u64 * 2;
            if actual < expected {
                return Err(length_error(actual));
            }
            let mut words = words.into_vec();
            words.truncate(frame_samples);
            Ok(words)
        }
        (PrimitiveValue::U16(words), _) => {
            let actual = words.len() as u64 * 2;
            if actual < expected {
                return Err(length_error(actual));
            }
            // 8-bit samples packed in 16-bit words: the word order is the byte stream order.
            let mut bytes = Vec::with_capacity(frame_samples + 1);
            for word in words.iter().take(frame_samples.div_ceil(2)) {
                let pair = if big_endian {
                    word.to_be_bytes()
                } else {
                    word.to_le_bytes()
                };
                bytes.extend_from_slice(&pair);
            }
            Ok(bytes[..frame_samples]
                .iter()
                .map(|&b| u16::from(b))
                .collect())
        }
        (other, _) => {
            let bytes = other.to_bytes();
            let actual = bytes.len() as u64;
            if actual < expected {
                return Err(length_error(actual));
            }
            Ok(if bytes_per_sample == 2 {
                bytes[..frame_samples * 2]
                    .chunks_exact(2)
                    .map(|b| {
                        if big_endian {
                            u16::from_be_bytes([b[0], b[1]])
                        } else {
                            u16::from_le_bytes([b[0], b[1]])
                        }
                    })
                    .collect()
            } else {
                bytes[..frame_samples]
                    .iter()
                    .map(|&b| u16::from(b))
                    .collect()
            })
        }
    }
}

/// Joins the fragments that make up frame 1 into one codestream.
///
/// One frame: all fragments (large frames are often split into many, e.g. 64 KiB each). As many
/// fragments as frames: the first. Otherwise the Basic Offset Table bounds frame 1; without one,
/// frame 1 ends with the first fragment that ends with the JPEG EOI / J2K EOC marker.
pub(crate) fn first_frame_codestream<'a>(
    offset_table: &[u32],
    fragments: &'a [Vec<u8>],
    number_of_frames: u32,
    codec: Codec,
) -> Result<Cow<'a, [u8]>, String> {
    let join = |parts: &[Vec<u8>]| -> Cow<'a, [u8]> { Cow::Owned(parts.concat()) };
    match fragments {
        [] => return Err("the encapsulated pixel data has no fragments".to_string()),
        [only] => return Ok(Cow::Borrowed(only.as_slice())),
        _ => {}
    }
    if number_of_frames <= 1 {
        return Ok(join(fragments));
    }
    if fragments.len() == number_of_frames as usize || codec == Codec::Rle {
        return Ok(Cow::Borrowed(fragments[0].as_slice()));
    }
    if let [start, end, ..] = offset_table {
        // Offsets count from the first fragment's item tag; each item has an 8-byte header.
        let (start, end) = (*start as usize, *end as usize);
        let mut offset = 0usize;
        let mut first = Vec::new();
        for fragment in fragments {
            if offset >= end {
                break;
            }
            if offset >= start {
                first.push(fragment.clone());
            }
            offset += fragment.len() + 8;
        }
        return if first.is_empty() {
            Err(format!(
                "the Basic Offset Table ({start}, {end}, …) selects no fragment"
            ))
        } else {
            Ok(Cow::Owned(first.concat()))
        };
    }
    let end = fragments
        .iter()
        .position(|f| ends_with_end_marker(f))
        .ok_or_else(|| {
            "multi-frame pixel data without a Basic Offset Table, and no fragment ends frame 1"
                .to_string()
        })?;
    Ok(join(&fragments[..=end]))
}

/// Whether a fragment ends with FFD9 (JPEG EOI, JPEG 2000 EOC), allowing DICOM's padding byte.
pub(crate) fn ends_with_end_marker(fragment: &[u8]) -> bool {
    let trimmed = match fragment {
        [rest @ .., 0] => rest,
        all => all,
    };
    trimmed.ends_with(&[0xFF, 0xD9])
}

fn decode_codestream(
    data: &[u8],
    path: &Path,
    transfer_syntax_uid: &str,
    codec: Codec,
    shape: &FrameShape,
) -> Result<Vec<u16>, IngestError> {
    let codec_error = |failure: CodecFailure| {
        if failure.unsupported_precision {
            IngestError::UnsupportedTransferSyntax {
                path: path.to_path_buf(),
                uid: transfer_syntax_uid.to_string(),
                name: syntax::name_of(transfer_syntax_uid),
                hint: format!(
                    "{}; {}",
                    failure.detail,
                    syntax::unsupported_hint(syntax::JPEG_EXTENDED)
                ),
            }
        } else {
            IngestError::Decode {
                path: path.to_path_buf(),
                codec: failure.codec,
                detail: failure.detail,
            }
        }
    };
    match codec {
        Codec::Jpeg => codec::decode_jpeg(data, shape).map_err(codec_error),
        Codec::JpegLs => codec::decode_jpeg_ls(data, shape).map_err(codec_error),
        Codec::Jpeg2000 => codec::decode_jpeg_2000(data, shape).map_err(codec_error),
        Codec::Rle => rle::decode_frame(
            data,
            shape.rows,
            shape.columns,
            shape.samples_per_pixel,
            usize::from(shape.bits_allocated / 8),
        )
        .map_err(|detail| IngestError::Decode {
            path: path.to_path_buf(),
            codec: "RLE",
            detail,
        }),
        Codec::NativeLittleEndian | Codec::NativeBigEndian => Err(IngestError::Malformed {
            path: path.to_path_buf(),
            detail: "the transfer syntax is uncompressed but the pixel data is encapsulated"
                .to_string(),
        }),
    }
}
