//! Compressed frame decoding: JPEG (jpeg-decoder), JPEG-LS (CharLS), JPEG 2000 (OpenJPEG's Rust
//! port, through jpeg2k) and RLE, called directly on the joined fragments of one frame.
//!
//! dicom-rs 0.10.1's adapters refuse decoded frames ≥ 16 MiB whose compressed size is below
//! 1/64 of it ("Could not allocate frame"), estimating that size from the first fragment only;
//! that rejects fragmented JPEG-lossless radiographs and genuine > 64:1 lossy JPEG 2000. We call
//! the same codecs ourselves instead, after checking that the codestream header agrees with the
//! DICOM header, so the decoded size is bounded by the dimension limits checked at open.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The DICOM header's description of the frame the codec must produce.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameShape {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
}

impl FrameShape {
    fn pixels(&self) -> usize {
        self.rows as usize * self.columns as usize
    }
}

/// A failure inside a codec, with its name for the error message.
#[derive(Debug)]
pub(crate) struct CodecFailure {
    pub codec: &'static str,
    pub detail: String,
    /// The codec reported a sample precision it cannot decode (12-bit JPEG extended).
    pub unsupported_precision: bool,
}

impl CodecFailure {
    fn new(codec: &'static str, detail: impl Into<String>) -> CodecFailure {
        CodecFailure {
            codec,
            detail: detail.into(),
            unsupported_precision: false,
        }
    }
}

/// Runs a codec, turning a panic inside it into an error: codecs parse untrusted bytes.
fn guarded<T>(
    codec: &'static str,
    decode: impl FnOnce() -> Result<T, CodecFailure>,
) -> Result<T, CodecFailure> {
    catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|_| {
        Err(CodecFailure::new(
            codec,
            "the decoder panicked on this data",
        ))
    })
}

fn check_size(
    codec: &'static str,
    shape: &FrameShape,
    width: u32,
    height: u32,
    components: u32,
) -> Result<(), CodecFailure> {
    if width != shape.columns
        || height != shape.rows
        || components != u32::from(shape.samples_per_pixel)
    {
        return Err(CodecFailure::new(
            codec,
            format!(
                "the codestream is {width}×{height} with {components} component(s) but the DICOM header says {}×{} with {} sample(s) per pixel",
                shape.columns, shape.rows, shape.samples_per_pixel
            ),
        ));
    }
    Ok(())
}

/// JPEG baseline, 8-bit extended and lossless (processes 1, 2, 14 and 14 SV1).
pub(crate) fn decode_jpeg(data: &[u8], shape: &FrameShape) -> Result<Vec<u16>, CodecFailure> {
    const CODEC: &str = "JPEG";
    guarded(CODEC, || {
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(data));
        let fail = |error: jpeg_decoder::Error| CodecFailure {
            codec: CODEC,
            unsupported_precision: matches!(
                error,
                jpeg_decoder::Error::Unsupported(
                    jpeg_decoder::UnsupportedFeature::SamplePrecision(_)
                )
            ),
            detail: error.to_string(),
        };
        decoder.read_info().map_err(fail)?;
        let info = decoder
            .info()
            .ok_or_else(|| CodecFailure::new(CODEC, "no frame header in the JPEG stream"))?;
        let components = match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::L16 => 1,
            jpeg_decoder::PixelFormat::RGB24 => 3,
            jpeg_decoder::PixelFormat::CMYK32 => 4,
        };
        check_size(
            CODEC,
            shape,
            u32::from(info.width),
            u32::from(info.height),
            components,
        )?;
        let decoded = decoder.decode().map_err(fail)?;
        let samples = shape.pixels() * usize::from(shape.samples_per_pixel);
        let out: Vec<u16> = match info.pixel_format {
            // jpeg-decoder returns 16-bit samples in native byte order.
            jpeg_decoder::PixelFormat::L16 => decoded
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect(),
            _ => decoded.iter().map(|&b| u16::from(b)).collect(),
        };
        if out.len() != samples {
            return Err(CodecFailure::new(
                CODEC,
                format!("decoded {} samples, expected {samples}", out.len()),
            ));
        }
        Ok(out)
    })
}

/// JPEG-LS lossless and near-lossless.
pub(crate) fn decode_jpeg_ls(data: &[u8], shape: &FrameShape) -> Result<Vec<u16>, CodecFailure> {
    const CODEC: &str = "JPEG-LS";
    guarded(CODEC, || {
        // CharLS 2.4 spends seconds rejecting a truncated stream; a complete one ends with EOI.
        if !super::frame::ends_with_end_marker(data) {
            return Err(CodecFailure::new(
                CODEC,
                "the stream is truncated (it does not end with the EOI marker FFD9)",
            ));
        }
        let mut charls = charls::CharLS::default();
        let info = charls
            .get_frame_info(data)
            .map_err(|e| CodecFailure::new(CODEC, e.to_string()))?;
        check_size(
            CODEC,
            shape,
            info.width,
            info.height,
            u32::try_from(info.component_count).unwrap_or(0),
        )?;
        if !(2..=16).contains(&info.bits_per_sample) {
            return Err(CodecFailure::new(
                CODEC,
                format!("{} bits per sample", info.bits_per_sample),
            ));
        }
        let mut charls = charls::CharLS::default();
        let decoded = charls
            .decode(data)
            .map_err(|e| CodecFailure::new(CODEC, e.to_string()))?;
        let samples = shape.pixels() * usize::from(shape.samples_per_pixel);
        // CharLS writes 1 byte per sample up to 8 bits, else 2 (native order), in the
        // interleave mode of the scan: by plane for ILV 0, by pixel otherwise.
        let out: Vec<u16> = if info.bits_per_sample <= 8 {
            decoded.iter().map(|&b| u16::from(b)).collect()
        } else {
            decoded
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect()
        };
        if out.len() != samples {
            return Err(CodecFailure::new(
                CODEC,
                format!("decoded {} samples, expected {samples}", out.len()),
            ));
        }
        let spp = usize::from(shape.samples_per_pixel);
        if spp > 1 && jpeg_ls_interleave_mode(data) == Some(0) {
            return Ok(planar_to_interleaved(&out, spp));
        }
        Ok(out)
    })
}

/// JPEG 2000 (Part 1 and 2) and High-Throughput JPEG 2000. Colour transforms signalled in the
/// codestream (YBR_RCT / YBR_ICT) are undone by the decoder, so colour comes out as RGB.
pub(crate) fn decode_jpeg_2000(data: &[u8], shape: &FrameShape) -> Result<Vec<u16>, CodecFailure> {
    const CODEC: &str = "JPEG 2000";
    guarded(CODEC, || {
        let fail = |e: jpeg2k::error::Error| CodecFailure::new(CODEC, e.to_string());
        let image = jpeg2k::DumpImage::from_bytes(data).map_err(fail)?;
        check_size(
            CODEC,
            shape,
            image.img.width(),
            image.img.height(),
            image.img.num_components(),
        )?;
        image.decode().map_err(fail)?;
        let components = image.img.components();
        let spp = usize::from(shape.samples_per_pixel);
        let pixels = shape.pixels();
        if components.len() != spp {
            return Err(CodecFailure::new(
                CODEC,
                format!("decoded {} components, expected {spp}", components.len()),
            ));
        }
        let mut out = vec![0u16; pixels * spp];
        for (index, component) in components.iter().enumerate() {
            let samples = component.data();
            if component.width() != shape.columns
                || component.height() != shape.rows
                || samples.len() != pixels
            {
                return Err(CodecFailure::new(
                    CODEC,
                    format!(
                        "component {index} is {}×{}, subsampled components are not supported",
                        component.width(),
                        component.height()
                    ),
                ));
            }
            // Keep the two's-complement bit pattern; Bits Stored and Pixel Representation
            // decide how it is read, as pydicom's J2K sign correction does.
            for (pixel, &sample) in samples.iter().enumerate() {
                out[pixel * spp + index] = sample as u16;
            }
        }
        Ok(out)
    })
}

/// The ILV byte of the first scan header of a JPEG-LS stream (0 = by plane, 1 = by line,
/// 2 = by sample), found by walking the marker segments.
fn jpeg_ls_interleave_mode(data: &[u8]) -> Option<u8> {
    let mut pos = 2; // after SOI
    while pos + 4 <= data.len() {
        if data[pos] != 0xFF {
            return None;
        }
        let marker = data[pos + 1];
        if marker == 0xFF {
            pos += 1; // fill byte
            continue;
        }
        let length = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
        if marker == 0xDA {
            // SOS: length, Ns, Ns × (Ci, Tmi), NEAR, ILV, …
            let components = usize::from(*data.get(pos + 4)?);
            return data.get(pos + 4 + 1 + 2 * components + 1).copied();
        }
        pos += 2 + length;
    }
    None
}

/// Planar Configuration 1 (RRR…GGG…BBB…) to pixel-interleaved (RGBRGB…).
pub(crate) fn planar_to_interleaved(planar: &[u16], samples_per_pixel: usize) -> Vec<u16> {
    let pixels = planar.len() / samples_per_pixel;
    let mut out = vec![0u16; planar.len()];
    for (sample, plane) in planar.chunks_exact(pixels).enumerate() {
        for (pixel, &value) in plane.iter().enumerate() {
            out[pixel * samples_per_pixel + sample] = value;
        }
    }
    out
}
