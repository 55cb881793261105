//! Transfer syntaxes: which decoder handles each one, and their names for messages.

use dicom_encoding::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// The pixel data codec a transfer syntax needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Native pixel data in little-endian byte order (implicit, explicit, deflated).
    NativeLittleEndian,
    /// Native pixel data in big-endian byte order (retired Explicit VR Big Endian).
    NativeBigEndian,
    /// RLE Lossless (PS3.5 Annex G).
    Rle,
    /// JPEG baseline, 8-bit extended and lossless (ITU T.81), through `jpeg-decoder`.
    Jpeg,
    /// JPEG-LS lossless and near-lossless, through CharLS.
    JpegLs,
    /// JPEG 2000 and High-Throughput JPEG 2000, through the pure-Rust OpenJPEG port.
    Jpeg2000,
}

pub(crate) const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// The codec for a transfer syntax UID, or `None` when this build cannot decode it.
pub(crate) fn codec_for(uid: &str) -> Option<Codec> {
    Some(match uid {
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.1.99" => {
            Codec::NativeLittleEndian
        }
        "1.2.840.10008.1.2.2" => Codec::NativeBigEndian,
        "1.2.840.10008.1.2.5" => Codec::Rle,
        // Baseline (Process 1), Extended (Process 2 & 4; 8-bit only, checked by the caller),
        // Lossless Process 14 and Process 14 Selection Value 1.
        "1.2.840.10008.1.2.4.50"
        | JPEG_EXTENDED
        | "1.2.840.10008.1.2.4.57"
        | "1.2.840.10008.1.2.4.70" => Codec::Jpeg,
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Codec::JpegLs,
        "1.2.840.10008.1.2.4.90"
        | "1.2.840.10008.1.2.4.91"
        | "1.2.840.10008.1.2.4.92"
        | "1.2.840.10008.1.2.4.93"
        | "1.2.840.10008.1.2.4.201"
        | "1.2.840.10008.1.2.4.202"
        | "1.2.840.10008.1.2.4.203" => Codec::Jpeg2000,
        _ => return None,
    })
}

/// The standard name of a transfer syntax, e.g. "JPEG Extended (Process 2 & 4)".
pub(crate) fn name_of(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map(|ts| ts.name().to_string())
        .unwrap_or_else(|| "unknown transfer syntax".to_string())
}

/// What to tell the user about an unsupported transfer syntax.
pub(crate) fn unsupported_hint(uid: &str) -> String {
    if uid == JPEG_EXTENDED {
        "12-bit JPEG Extended has no pure-Rust decoder; ask the PACS or router to send JPEG-LS, \
         JPEG 2000 or an uncompressed syntax, or transcode the file first (for example \
         `dcmdjpeg in.dcm out.dcm` from DCMTK or `gdcmconv --raw in.dcm out.dcm`)"
            .to_string()
    } else {
        "raddraft decodes uncompressed, deflated, RLE, JPEG baseline, 8-bit JPEG extended, JPEG \
         lossless, JPEG-LS and JPEG 2000 pixel data; transcode the file to one of those first"
            .to_string()
    }
}
