//! Ingest errors: every variant names the file and says what is wrong with it.

use std::path::PathBuf;

/// Why a radiograph could not be read.
///
/// Each message starts with the file it is about, so a caller can show it as it is.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read from disk.
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The bytes are neither a DICOM Part 10 file nor a PNG or JPEG image.
    #[error(
        "{path}: not a DICOM Part 10 file (no 'DICM' marker at byte 128 or 0) and not a PNG or JPEG image"
    )]
    NotDicom { path: PathBuf },

    /// The file ends before the data it announces.
    #[error("{path}: the file is truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },

    /// The DICOM structure could not be parsed.
    #[error("{path}: malformed DICOM file: {detail}")]
    Malformed { path: PathBuf, detail: String },

    /// The pixel data is encoded with a transfer syntax this build cannot decode.
    #[error("{path}: unsupported transfer syntax {uid} ({name}): {hint}")]
    UnsupportedTransferSyntax {
        path: PathBuf,
        uid: String,
        name: String,
        hint: String,
    },

    /// The object holds no Pixel Data (7FE0,0010): it is not an image (an SR, a KO, a PDF …).
    #[error("{path}: no Pixel Data (7FE0,0010): this DICOM object is not an image")]
    NoPixelData { path: PathBuf },

    /// An attribute that every image must carry is absent.
    #[error("{path}: the required attribute {attribute} is missing")]
    MissingAttribute {
        path: PathBuf,
        attribute: &'static str,
    },

    /// An attribute holds a value that cannot describe a radiograph.
    #[error("{path}: {attribute} is {value}, but {expected}")]
    InvalidAttribute {
        path: PathBuf,
        attribute: &'static str,
        value: String,
        expected: &'static str,
    },

    /// Rows or Columns is zero.
    #[error("{path}: the image has zero size ({columns}×{rows} pixels)")]
    ZeroDimensions {
        path: PathBuf,
        rows: u32,
        columns: u32,
    },

    /// Rows × Columns exceeds what a radiograph can plausibly be.
    #[error(
        "{path}: the image is {columns}×{rows} pixels, more than this reader accepts ({limit}); the header is probably corrupt"
    )]
    HugeDimensions {
        path: PathBuf,
        rows: u32,
        columns: u32,
        limit: &'static str,
    },

    /// Native (uncompressed) pixel data shorter than Rows × Columns × samples × bytes × frames.
    #[error("{path}: the pixel data holds {actual} bytes but the header needs {expected}")]
    PixelDataLength {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    /// A pixel layout (bit depth, photometric interpretation …) outside what a radiograph uses.
    #[error("{path}: unsupported pixel format: {detail}")]
    UnsupportedPixelFormat { path: PathBuf, detail: String },

    /// The codec rejected the compressed frame, or returned something other than the header says.
    #[error("{path}: cannot decode the {codec} pixel data: {detail}")]
    Decode {
        path: PathBuf,
        codec: &'static str,
        detail: String,
    },

    /// A PNG or JPEG file could not be decoded.
    #[error("{path}: cannot decode the image: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
}

impl IngestError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            IngestError::Io { path, .. }
            | IngestError::NotDicom { path }
            | IngestError::Truncated { path, .. }
            | IngestError::Malformed { path, .. }
            | IngestError::UnsupportedTransferSyntax { path, .. }
            | IngestError::NoPixelData { path }
            | IngestError::MissingAttribute { path, .. }
            | IngestError::InvalidAttribute { path, .. }
            | IngestError::ZeroDimensions { path, .. }
            | IngestError::HugeDimensions { path, .. }
            | IngestError::PixelDataLength { path, .. }
            | IngestError::UnsupportedPixelFormat { path, .. }
            | IngestError::Decode { path, .. }
            | IngestError::Image { path, .. } => path,
        }
    }
}
