//! Chest radiograph ingest: DICOM Part 10 (CR, DX, DX for presentation) and plain PNG / JPEG,
//! read into one [`Radiograph`] and rendered through a [`Profile`]: the 8-bit image a model
//! starts from, the image a DICOM viewer shows, or the stored values. [`viewer`] gives a viewer
//! that windows and levels itself the values and header facts it needs.
//!
//! The crate reads and renders pixels; it does not resize. Resizing to a model's input size is
//! the model's preprocessing step, so [`Radiograph::model_image`] returns the native-size image.
//!
//! ```no_run
//! use raddraft_ingest::{Profile, Radiograph};
//! let radiograph = Radiograph::open("chest.dcm")?;
//! let for_the_model = radiograph.model_image(Profile::MimicCxrJpg);
//! let for_a_person = radiograph.render(Profile::Display);
//! # Ok::<(), raddraft_ingest::IngestError>(())
//! ```
//!
//! Pixel pipelines are implemented here rather than taken from dicom-pixeldata's renderer,
//! which in 0.10.1 ignores the Modality LUT Sequence, 65,536-entry VOI LUTs and Presentation
//! LUT Shape, and whose codec adapters reject fragmented or highly compressed large frames.
//! Fidelity references: pydicom 3.0.2 + OpenCV `equalizeHist` (`mimic-cxr-jpg`, bit-identical),
//! pydicom `apply_modality_lut` + `apply_voi_lut` (`display`, ±1 grey level), pydicom
//! `pixel_array` (stored values, bit-identical); see `tests/fixtures/dicom/generate.py`.

mod attrs;
mod codec;
mod dicom_file;
mod dicomdir;
mod equalize;
mod error;
mod frame;
mod lut;
mod meta;
mod pixels;
mod plain;
mod render;
mod rle;
mod scan;
mod syntax;
pub mod viewer;

use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};

pub use dicomdir::dicomdir_images;
pub use error::IngestError;
pub(crate) use lut::{voi_lut_items, ModalityTransform};
pub use lut::{VoiFunction, Window};
pub use meta::{
    DicomDate, Indication, IndicationSource, Patient, PatientSex, PixelEncoding, PixelSpacing,
    PixelSpacingSource, PresentationAttributes, RadiographMeta, Study, TransferSyntax,
};
pub use pixels::{PixelStatistics, StoredPixels};
pub use render::{BitDepth, Gray16Image, Profile, RenderedImage};

/// The largest image accepted, in pixels (8192 × 8192). Chest detectors are about 4300 × 4300;
/// anything beyond this is a corrupt header, and refusing it bounds every allocation.
pub const MAX_PIXELS: u64 = 8192 * 8192;
const MAX_PIXELS_TEXT: &str = "67,108,864 pixels, e.g. 8192×8192";

/// The file format a radiograph came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SourceFormat {
    Dicom,
    Png,
    Jpeg,
}

/// One radiograph: its stored pixel values, its DICOM metadata (none for PNG / JPEG), and what
/// is needed to render it.
#[derive(Debug, Clone)]
pub struct Radiograph {
    path: PathBuf,
    format: SourceFormat,
    meta: Option<RadiographMeta>,
    pixels: StoredPixels,
    presentation: lut::Presentation,
    /// PNG / JPEG with 8-bit samples: already an image for viewing, passed through as is.
    prepared_8bit: bool,
    /// Colour PNG / JPEG pixels, kept so the model sees them as PIL's `convert("RGB")` would.
    plain_colour: Option<RgbImage>,
    warnings: Vec<String>,
}

impl Radiograph {
    /// Reads a DICOM Part 10 file, or a PNG or JPEG image (recognised by content).
    pub fn open(path: impl AsRef<Path>) -> Result<Radiograph, IngestError> {
        let path = path.as_ref();
        let io_error = |source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        // SAFETY: the map is only read, and only while `file` is open; as with any mapped
        // file, another process truncating it meanwhile is outside what we can guard against.
        let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error)?;
        Radiograph::from_bytes(&bytes, path)
    }

    /// Reads a radiograph from memory; `name` is used in error messages and [`Radiograph::path`].
    pub fn from_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Radiograph, IngestError> {
        let path = name.as_ref();
        if let Some(start) = dicom_file::meta_group_offset(bytes) {
            let image = dicom_file::read(bytes, start, path)?;
            return Ok(Radiograph {
                path: path.to_path_buf(),
                format: SourceFormat::Dicom,
                meta: Some(image.meta),
                pixels: image.pixels,
                presentation: image.presentation,
                prepared_8bit: false,
                plain_colour: None,
                warnings: image.warnings,
            });
        }
        let Some(format) = plain::sniff(bytes) else {
            return Err(IngestError::NotDicom {
                path: path.to_path_buf(),
            });
        };
        let image = plain::read(bytes, format, path)?;
        Ok(Radiograph {
            path: path.to_path_buf(),
            format: match format {
                plain::PlainFormat::Png => SourceFormat::Png,
                plain::PlainFormat::Jpeg => SourceFormat::Jpeg,
            },
            meta: None,
            pixels: image.pixels,
            presentation: lut::Presentation::full_range(),
            prepared_8bit: image.eight_bit,
            plain_colour: image.colour,
            warnings: Vec::new(),
        })
    }

    /// The file this radiograph was read from (or the name given to [`Radiograph::from_bytes`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> SourceFormat {
        self.format
    }

    /// The DICOM metadata; `None` for PNG and JPEG input.
    pub fn meta(&self) -> Option<&RadiographMeta> {
        self.meta.as_ref()
    }

    /// The stored values of frame 1 (colour reduced to luminance).
    pub fn pixels(&self) -> &StoredPixels {
        &self.pixels
    }

    /// Problems found while reading that did not stop it (extra frames, unusable LUTs …).
    /// Each was also logged with `tracing::warn!`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The window the header asks for (first Window Center / Width and its function), if the
    /// display uses one: a viewer's starting point for its own window and level.
    pub fn header_window(&self) -> Option<Window> {
        match &self.presentation.voi {
            lut::Voi::Window(window) => Some(*window),
            _ => None,
        }
    }

    /// The Modality LUT stage the display rendering applies: identity, rescale, or the first
    /// usable Modality LUT Sequence table (an unusable one falls back to rescale, with a warning).
    pub(crate) fn modality(&self) -> &ModalityTransform {
        &self.presentation.modality
    }

    /// Whether the display inverts the VOI output: MONOCHROME1, or Presentation LUT Shape
    /// INVERSE (one inversion when both).
    pub(crate) fn inverts_display(&self) -> bool {
        self.presentation.invert_display
    }

    /// Renders a profile: 8-bit for `mimic-cxr-jpg` and `display`, 16-bit for `raw`.
    pub fn render(&self, profile: Profile) -> RenderedImage {
        match profile {
            Profile::Raw => RenderedImage::Gray16(render::raw(&self.pixels)),
            _ => RenderedImage::Gray8(self.render_gray8(profile)),
        }
    }

    /// Renders a profile at 8 bits; `raw` is scaled from its Bits Stored range.
    ///
    /// 8-bit PNG / JPEG input is already an image for viewing (a MIMIC-CXR-JPG file is exactly
    /// what the model was trained on), so every profile returns it unchanged.
    pub fn render_gray8(&self, profile: Profile) -> GrayImage {
        if self.prepared_8bit {
            return render::raw_as_8bit(&self.pixels);
        }
        match profile {
            Profile::MimicCxrJpg => {
                render::mimic_cxr_jpg(&self.pixels, self.presentation.monochrome1)
            }
            Profile::Display => render::display8(&self.pixels, &self.presentation, None),
            Profile::Raw => render::raw_as_8bit(&self.pixels),
        }
    }

    /// The `display` rendering at 8 or 16 bits, with the header's VOI or, for a viewer's own
    /// window and level, with `window` (applied after the Modality LUT, before polarity).
    pub fn render_display(&self, window: Option<Window>, depth: BitDepth) -> RenderedImage {
        match depth {
            BitDepth::Eight => {
                RenderedImage::Gray8(render::display8(&self.pixels, &self.presentation, window))
            }
            BitDepth::Sixteen => {
                RenderedImage::Gray16(render::display16(&self.pixels, &self.presentation, window))
            }
        }
    }

    /// The 8-bit RGB image the model's processor starts from for a profile, at native size:
    /// grey replicated to three channels (as PIL's `convert("RGB")`); colour PNG / JPEG input
    /// keeps its colour. Resizing to the model's input size is the processor's step.
    pub fn model_image(&self, profile: Profile) -> RgbImage {
        if let Some(colour) = &self.plain_colour {
            return colour.clone();
        }
        grey_to_rgb(&self.render_gray8(profile))
    }
}

/// Opens a radiograph and returns the image the model sees for `profile` at native size, with
/// the DICOM metadata (`None` for PNG / JPEG). The model's processor does the resizing.
pub fn load_model_image(
    path: impl AsRef<Path>,
    profile: Profile,
) -> Result<(RgbImage, Option<RadiographMeta>), IngestError> {
    let radiograph = Radiograph::open(path)?;
    let image = radiograph.model_image(profile);
    Ok((image, radiograph.meta))
}

/// Whether a path looks like a DICOM file by its content ("DICM" marker), for callers that
/// accept both DICOM and plain images.
pub fn is_dicom_file(path: impl AsRef<Path>) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .and_then(|file| file.take(132).read_to_end(&mut head))
        .map(|_| dicom_file::meta_group_offset(&head).is_some())
        .unwrap_or(false)
}

/// Grey to RGB by replicating the value into R, G and B.
pub fn grey_to_rgb(grey: &GrayImage) -> RgbImage {
    let data: Vec<u8> = grey.as_raw().iter().flat_map(|&v| [v, v, v]).collect();
    RgbImage::from_raw(grey.width(), grey.height(), data)
        .unwrap_or_else(|| RgbImage::new(grey.width(), grey.height()))
}
