//! The header facts a viewer shows: window presets (Window Center / Width with their
//! explanations and the VOI LUT Function), the VOI LUT Sequence's tables, and the top-level
//! attributes for a tag browser.

use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::Value;
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::OpenFileOptions;
use serde::Serialize;

use crate::{voi_lut_items, IngestError, Radiograph, VoiFunction};

/// Longest attribute value shown in the tag browser, in characters.
const MAX_VALUE_CHARS: usize = 256;

/// Header summary of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageHeader {
    pub rows: u32,
    pub columns: u32,
    pub bits_stored: u16,
    pub photometric: String,
    pub windows: Vec<WindowPreset>,
    /// VOI LUT Function (0028,1056) of the windows: "LINEAR" (also when absent or not a DICOM
    /// term), "LINEAR_EXACT" or "SIGMOID".
    pub voi_function: &'static str,
    /// A VOI LUT Sequence is present (the `display` rendering uses its first item instead of the
    /// windows), even if none of its items is usable.
    pub voi_lut: bool,
    /// Every usable item of the VOI LUT Sequence, in order; malformed items are left out.
    pub voi_luts: Vec<VoiLutPreset>,
    pub tags: Vec<TagEntry>,
}

/// One VOI LUT Sequence item as a table: input `first_mapped + i` (a value after the Modality
/// LUT stage) maps to `entries[i]`; inputs beyond either end take the end entry. The output
/// range is 0 … 2^bits − 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiLutPreset {
    /// LUT Explanation (0028,3003), when given.
    pub explanation: Option<String>,
    pub first_mapped: i64,
    pub bits: u32,
    /// 1 to 65,536 entries.
    pub entries: Vec<u16>,
}

/// One Window Center / Width pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowPreset {
    pub center: f64,
    pub width: f64,
    /// Window Center & Width Explanation (0028,1055), when given for this pair.
    pub explanation: Option<String>,
}

/// One top-level attribute. Sequences are summarised by their item count, binary values by their
/// length; Pixel Data is left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagEntry {
    /// `(gggg,eeee)` in upper-case hex.
    pub tag: String,
    /// The dictionary keyword, or `Unknown` for private and unlisted attributes.
    pub name: String,
    pub vr: String,
    pub value: String,
}

/// Reads the header of the image at `path`. The file is first read as a radiograph, so only
/// files that pass its checks are parsed further.
pub fn image_header(path: &Path) -> Result<ImageHeader, IngestError> {
    let radiograph = Radiograph::open(path)?;
    let Some(meta) = radiograph.meta() else {
        let pixels = radiograph.pixels();
        return Ok(ImageHeader {
            rows: pixels.height(),
            columns: pixels.width(),
            bits_stored: u16::from(pixels.bits_stored()),
            photometric: "MONOCHROME2".into(),
            windows: Vec::new(),
            voi_function: VoiFunction::Linear.dicom_name(),
            voi_lut: false,
            voi_luts: Vec::new(),
            tags: Vec::new(),
        });
    };
    let object = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| IngestError::Malformed {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let explanations: Vec<String> = object
        .element_opt(tags::WINDOW_CENTER_WIDTH_EXPLANATION)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok().map(|s| s.to_string()))
        .map(|s| s.split('\\').map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    let presentation = &meta.presentation;
    let windows = presentation
        .window_centers
        .iter()
        .zip(&presentation.window_widths)
        .enumerate()
        .map(|(i, (&center, &width))| WindowPreset {
            center,
            width,
            explanation: explanations.get(i).filter(|s| !s.is_empty()).cloned(),
        })
        .collect();
    // The display rendering warns about an unusable first item; the others are skipped quietly.
    let voi_luts = voi_lut_items(&object, meta.encoding.signed)
        .into_iter()
        .filter_map(Result::ok)
        .map(|item| VoiLutPreset {
            explanation: item.explanation,
            first_mapped: item.table.first_mapped,
            bits: item.table.bits,
            entries: item.table.entries,
        })
        .collect();
    let tags = object
        .iter()
        .filter(|element| element.header().tag != tags::PIXEL_DATA)
        .map(|element| {
            let tag = element.header().tag;
            let name = StandardDataDictionary
                .by_tag(tag)
                .map(|entry| entry.alias().to_string())
                .unwrap_or_else(|| "Unknown".into());
            let vr = element.header().vr().to_string().to_string();
            let value = match element.value() {
                Value::Sequence(sequence) => {
                    format!("sequence of {} item(s)", sequence.items().len())
                }
                Value::PixelSequence(_) => "encapsulated data".into(),
                Value::Primitive(primitive) if is_binary(&vr) => {
                    format!("{} bytes", primitive.calculate_byte_len())
                }
                Value::Primitive(primitive) => {
                    shorten(primitive.to_str().trim_end_matches(['\0', ' ']))
                }
            };
            TagEntry {
                tag: format!("({:04X},{:04X})", tag.group(), tag.element()),
                name,
                vr,
                value,
            }
        })
        .collect();
    Ok(ImageHeader {
        rows: meta.rows,
        columns: meta.columns,
        bits_stored: meta.encoding.bits_stored,
        photometric: meta.encoding.photometric_interpretation.clone(),
        windows,
        voi_function: VoiFunction::read(&object).unwrap_or_default().dicom_name(),
        voi_lut: presentation.voi_lut_sequence_items > 0,
        voi_luts,
        tags,
    })
}

fn is_binary(vr: &str) -> bool {
    matches!(vr, "OB" | "OW" | "OF" | "OD" | "OL" | "OV" | "UN")
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}
