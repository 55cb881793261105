//! The grey-scale pipeline's stages as the header defines them (PS3.3 C.11): Modality LUT or
//! rescale, VOI LUT or window, and the polarity of the display.

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use serde::Serialize;

use super::attrs::{self, Object};

/// A lookup table from a Modality or VOI LUT Sequence item (PS3.3 C.11.1.1, C.11.2.1.1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LookupTable {
    /// The input value mapped to the first entry.
    pub first_mapped: i64,
    /// Nominal bits per entry (LUT Descriptor value 3); the output range is 0 … 2^bits − 1.
    pub bits: u32,
    pub entries: Vec<u16>,
}

impl LookupTable {
    /// Reads LUT Descriptor and LUT Data. A descriptor entry count of 0 means 65,536 entries
    /// (C.11.2.1.1; dicom-rs 0.10.1 rejects it and silently drops such LUTs).
    pub(crate) fn read(item: &Object, signed_input: bool) -> Result<LookupTable, String> {
        let descriptor = attrs::ints(item, tags::LUT_DESCRIPTOR);
        let [count, first, bits] = descriptor[..] else {
            return Err(format!(
                "LUT Descriptor has {} values instead of 3",
                descriptor.len()
            ));
        };
        // Each descriptor value is 16 bits wide. The first mapped value is SS for signed input:
        // honour a negative value as stored, and read a US bit pattern as signed if so.
        let count = match count as u16 {
            0 => 65_536,
            n => usize::from(n),
        };
        let first_mapped = if first < 0 {
            first
        } else if signed_input {
            i64::from(first as u16 as i16)
        } else {
            i64::from(first as u16)
        };
        let bits = u32::try_from(bits)
            .ok()
            .filter(|b| (1..=16).contains(b))
            .ok_or_else(|| format!("LUT Descriptor declares {bits} bits per entry"))?;
        let words = lut_data_words(item).ok_or_else(|| "LUT Data is missing".to_string())?;
        let entries = if words.len() >= count {
            words[..count].to_vec()
        } else if bits <= 8 && words.len() * 2 >= count {
            // 8-bit entries packed two per 16-bit word, low byte first.
            words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .take(count)
                .map(u16::from)
                .collect()
        } else {
            return Err(format!(
                "LUT Data holds {} entries but the descriptor announces {count}",
                words.len()
            ));
        };
        Ok(LookupTable {
            first_mapped,
            bits,
            entries,
        })
    }

    /// The entry for an input value: inputs below the first mapped value take the first entry,
    /// inputs past the end the last, fractional inputs are truncated (as pydicom does).
    pub(crate) fn lookup(&self, input: f64) -> u16 {
        let offset = input - self.first_mapped as f64;
        let last = self.entries.len() - 1;
        let index = if offset.is_nan() || offset <= 0.0 {
            0
        } else {
            (offset.floor() as usize).min(last)
        };
        self.entries[index]
    }

    /// The largest value the table can output, 2^bits − 1.
    pub(crate) fn output_max(&self) -> f64 {
        f64::from((1u32 << self.bits) - 1)
    }
}

/// LUT Data (0028,3006) as 16-bit words, whatever VR it was stored with (US, SS, OW, or UN).
fn lut_data_words(item: &Object) -> Option<Vec<u16>> {
    let element = item.element_opt(tags::LUT_DATA).ok().flatten()?;
    let Value::Primitive(value) = element.value() else {
        return None;
    };
    let words = match value {
        PrimitiveValue::U16(words) => words.to_vec(),
        PrimitiveValue::I16(words) => words.iter().map(|&w| w as u16).collect(),
        other => other
            .to_bytes()
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect(),
    };
    (!words.is_empty()).then_some(words)
}

/// One item of the VOI LUT Sequence (0028,3010) with its LUT Explanation (0028,3003).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VoiLutItem {
    pub explanation: Option<String>,
    pub table: LookupTable,
}

/// Every item of the VOI LUT Sequence, in order: its table, or why it is unusable. The display
/// rendering uses only the first; a viewer offers them all.
pub(crate) fn voi_lut_items(obj: &Object, signed_input: bool) -> Vec<Result<VoiLutItem, String>> {
    attrs::items(obj, tags::VOILUT_SEQUENCE)
        .iter()
        .map(|item| {
            LookupTable::read(item, signed_input).map(|table| VoiLutItem {
                explanation: attrs::text(item, tags::LUT_EXPLANATION),
                table,
            })
        })
        .collect()
}

/// The Modality LUT stage: stored values to modality values (e.g. log exposure, OD).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModalityTransform {
    Identity,
    Rescale { slope: f64, intercept: f64 },
    Lut(LookupTable),
}

impl ModalityTransform {
    pub(crate) fn apply(&self, stored: i32) -> f64 {
        match self {
            ModalityTransform::Identity => f64::from(stored),
            ModalityTransform::Rescale { slope, intercept } => {
                f64::from(stored) * slope + intercept
            }
            ModalityTransform::Lut(table) => f64::from(table.lookup(f64::from(stored))),
        }
    }
}

/// The VOI LUT Function (0028,1056) of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum VoiFunction {
    /// PS3.3 C.11.2.1.2.1 (the default).
    #[default]
    Linear,
    /// PS3.3 C.11.2.1.3.2.
    LinearExact,
    /// PS3.3 C.11.2.1.3.1.
    Sigmoid,
}

/// A window (centre, width and function) applied to modality values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub center: f64,
    pub width: f64,
    pub function: VoiFunction,
}

impl VoiFunction {
    /// The defined term of VOI LUT Function (0028,1056).
    pub fn dicom_name(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }

    /// VOI LUT Function (0028,1056) of a data set: LINEAR when absent; a term DICOM does not
    /// define is an error (callers fall back to LINEAR).
    pub(crate) fn read(obj: &Object) -> Result<VoiFunction, String> {
        match attrs::text(obj, tags::VOILUT_FUNCTION).as_deref() {
            None | Some("LINEAR") => Ok(VoiFunction::Linear),
            Some("LINEAR_EXACT") => Ok(VoiFunction::LinearExact),
            Some("SIGMOID") => Ok(VoiFunction::Sigmoid),
            Some(other) => Err(format!(
                "VOI LUT Function {other:?} is not defined by DICOM; using LINEAR"
            )),
        }
    }
}

impl Window {
    /// The fraction 0 … 1 of the output range a modality value maps to, by the formulas of
    /// PS3.3 C.11.2.1.2.1 / C.11.2.1.3 as pydicom `apply_windowing` evaluates them.
    pub fn fraction(&self, x: f64) -> f64 {
        let Window {
            center,
            width,
            function,
        } = *self;
        match function {
            VoiFunction::Linear => {
                let (c, w) = (center - 0.5, width.max(1.0) - 1.0);
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    1.0
                } else {
                    (x - c) / w + 0.5
                }
            }
            VoiFunction::LinearExact => {
                if x <= center - width / 2.0 {
                    0.0
                } else if x > center + width / 2.0 {
                    1.0
                } else {
                    (x - center) / width + 0.5
                }
            }
            VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - center) / width).exp()),
        }
    }
}

/// The VOI stage: modality values to the displayed range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Voi {
    /// The first item of the VOI LUT Sequence.
    Lut(LookupTable),
    /// The first Window Center / Width pair.
    Window(Window),
    /// No VOI in the header (monochrome): the image's own minimum to maximum.
    MinMax,
    /// Colour and plain images: the full range of Bits Stored.
    FullRange,
}

/// Everything the `display` profile needs besides the stored values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Presentation {
    pub modality: ModalityTransform,
    pub voi: Voi,
    /// MONOCHROME1: minimum is white. Drives the `mimic-cxr-jpg` inversion.
    pub monochrome1: bool,
    /// Whether the display inverts: MONOCHROME1, or Presentation LUT Shape INVERSE (some CR
    /// write INVERSE with MONOCHROME2). MONOCHROME1 with INVERSE is one inversion, not two.
    pub invert_display: bool,
}

impl Presentation {
    /// A presentation for images without DICOM grey-scale attributes (colour, PNG, JPEG).
    pub(crate) fn full_range() -> Presentation {
        Presentation {
            modality: ModalityTransform::Identity,
            voi: Voi::FullRange,
            monochrome1: false,
            invert_display: false,
        }
    }

    /// Reads the Modality LUT, VOI LUT and Presentation LUT modules of a monochrome image.
    /// Unusable attributes are skipped with a warning, as pydicom would fail on them.
    pub(crate) fn read_monochrome(
        obj: &Object,
        signed: bool,
        monochrome1: bool,
        warnings: &mut Vec<String>,
    ) -> Presentation {
        let modality = match attrs::items(obj, tags::MODALITY_LUT_SEQUENCE).first() {
            Some(item) => match LookupTable::read(item, signed) {
                Ok(table) => ModalityTransform::Lut(table),
                Err(problem) => {
                    warnings.push(format!("Modality LUT Sequence ignored: {problem}"));
                    rescale(obj)
                }
            },
            None => rescale(obj),
        };

        let voi = match attrs::items(obj, tags::VOILUT_SEQUENCE).first() {
            Some(item) => match LookupTable::read(item, signed) {
                Ok(table) => Some(Voi::Lut(table)),
                Err(problem) => {
                    warnings.push(format!("VOI LUT Sequence ignored: {problem}"));
                    None
                }
            },
            None => None,
        };
        let voi = voi
            .or_else(|| first_window(obj, warnings).map(Voi::Window))
            .unwrap_or(Voi::MinMax);

        let shape = attrs::text(obj, tags::PRESENTATION_LUT_SHAPE);
        let inverse_shape = shape.as_deref() == Some("INVERSE");
        if monochrome1 && shape.as_deref() == Some("IDENTITY") {
            warnings.push(
                "MONOCHROME1 with Presentation LUT Shape IDENTITY: displayed as MONOCHROME1 (inverted)"
                    .to_string(),
            );
        }
        Presentation {
            modality,
            voi,
            monochrome1,
            invert_display: monochrome1 || inverse_shape,
        }
    }
}

/// Rescale Slope / Intercept, applied (as pydicom does) only when both are present.
fn rescale(obj: &Object) -> ModalityTransform {
    match (
        attrs::float(obj, tags::RESCALE_SLOPE),
        attrs::float(obj, tags::RESCALE_INTERCEPT),
    ) {
        (Some(slope), Some(intercept)) => ModalityTransform::Rescale { slope, intercept },
        _ => ModalityTransform::Identity,
    }
}

/// The first Window Center / Width pair and the VOI LUT Function.
fn first_window(obj: &Object, warnings: &mut Vec<String>) -> Option<Window> {
    let center = *attrs::floats(obj, tags::WINDOW_CENTER).first()?;
    let width = *attrs::floats(obj, tags::WINDOW_WIDTH).first()?;
    let function = VoiFunction::read(obj).unwrap_or_else(|problem| {
        warnings.push(problem);
        VoiFunction::Linear
    });
    let minimum = if function == VoiFunction::Linear {
        1.0
    } else {
        f64::MIN_POSITIVE
    };
    if width < minimum {
        warnings.push(format!(
            "Window Width {width} is invalid for {function:?}; the window is ignored"
        ));
        return None;
    }
    Some(Window {
        center,
        width,
        function,
    })
}
