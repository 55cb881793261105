//! Typed radiograph metadata read from the DICOM header: patient, study, acquisition, pixel encoding.

use dicom_dictionary_std::tags;
use serde::Serialize;

use super::attrs::{self, Object};
use super::syntax;

/// What a report draft and the viewer need to know about a radiograph, read from its DICOM header.
///
/// Text values are as stored, with DICOM padding removed; absent or empty attributes are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RadiographMeta {
    pub patient: Patient,
    pub study: Study,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: Option<String>,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: Option<String>,
    /// SOP Class UID (0008,0016), e.g. Digital X-Ray Image Storage – For Presentation.
    pub sop_class_uid: Option<String>,
    /// Modality (0008,0060): CR, DX …
    pub modality: Option<String>,
    /// View Position (0018,5101): PA, AP, LL …
    pub view_position: Option<String>,
    /// Image Laterality (0020,0062), else Laterality (0020,0060).
    pub laterality: Option<String>,
    /// Body Part Examined (0018,0015).
    pub body_part_examined: Option<String>,
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// Pixel Spacing (0028,0030), else Imager Pixel Spacing (0018,1164), with which one it was.
    pub pixel_spacing: Option<PixelSpacing>,
    /// Rows (0028,0010).
    pub rows: u32,
    /// Columns (0028,0011).
    pub columns: u32,
    /// Number of Frames (0028,0008); 1 when absent.
    pub number_of_frames: u32,
    pub transfer_syntax: TransferSyntax,
    /// How the stored pixel values are encoded.
    pub encoding: PixelEncoding,
    /// The attributes that drive the `display` profile.
    pub presentation: PresentationAttributes,
    /// A candidate clinical indication for the report, when the header carries one.
    pub indication: Option<Indication>,
}

/// Patient module attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patient {
    /// Patient ID (0010,0020).
    pub id: Option<String>,
    /// Patient's Name (0010,0010) as stored (`Family^Given^Middle^Prefix^Suffix`).
    pub name: Option<String>,
    /// Patient's Sex (0010,0040).
    pub sex: Option<PatientSex>,
    /// Patient's Birth Date (0010,0030).
    pub birth_date: Option<DicomDate>,
}

/// Patient's Sex (0010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PatientSex {
    Male,
    Female,
    Other,
}

/// General Study module attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// Study Instance UID (0020,000D).
    pub instance_uid: Option<String>,
    /// Study Date (0008,0020).
    pub date: Option<DicomDate>,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Study Description (0008,1030).
    pub description: Option<String>,
}

/// A DICOM DA value. Serialised as ISO 8601 (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DicomDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl DicomDate {
    /// Parses `YYYYMMDD` (and the retired `YYYY.MM.DD`); `None` for anything else.
    pub fn parse(value: &str) -> Option<DicomDate> {
        let digits: String = value.chars().filter(|c| *c != '.').collect();
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = digits[0..4].parse().ok()?;
        let month = digits[4..6].parse().ok()?;
        let day = digits[6..8].parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(DicomDate {
            year,
            month,
            day,
        })
    }
}

impl std::fmt::Display for DicomDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for DicomDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Physical distance between pixel centres, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PixelSpacing {
    /// Between rows (vertical).
    pub row_mm: f64,
    /// Between columns (horizontal).
    pub column_mm: f64,
    /// Which attribute it came from.
    pub source: PixelSpacingSource,
}

/// The attribute a [`PixelSpacing`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PixelSpacingSource {
    /// Pixel Spacing (0028,0030): calibrated to the patient, when the modality did so.
    PixelSpacing,
    /// Imager Pixel Spacing (0018,1164): at the detector plane, not corrected for magnification.
    ImagerPixelSpacing,
}

/// The transfer syntax of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferSyntax {
    pub uid: String,
    pub name: String,
}

/// The Image Pixel module attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PixelEncoding {
    /// Photometric Interpretation (0028,0004): MONOCHROME1, MONOCHROME2, RGB …
    pub photometric_interpretation: String,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    /// Pixel Representation (0028,0103) is 1.
    pub signed: bool,
}

/// The Modality LUT, VOI LUT and Presentation LUT attributes, as found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresentationAttributes {
    pub rescale_slope: Option<f64>,
    pub rescale_intercept: Option<f64>,
    /// A Modality LUT Sequence (0028,3000) is present.
    pub modality_lut_sequence: bool,
    /// Number of items in the VOI LUT Sequence (0028,3010).
    pub voi_lut_sequence_items: usize,
    /// Window Center (0028,1050) values.
    pub window_centers: Vec<f64>,
    /// Window Width (0028,1051) values.
    pub window_widths: Vec<f64>,
    /// VOI LUT Function (0028,1056): LINEAR (the default), LINEAR_EXACT or SIGMOID.
    pub voi_lut_function: Option<String>,
    /// Presentation LUT Shape (2050,0020): IDENTITY or INVERSE.
    pub presentation_lut_shape: Option<String>,
    /// Presentation Intent Type (0008,0068): FOR PRESENTATION or FOR PROCESSING.
    pub presentation_intent_type: Option<String>,
}

/// A clinical indication found in the header, to seed the report's "Indication" line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indication {
    pub text: String,
    pub source: IndicationSource,
}

/// Where an [`Indication`] was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IndicationSource {
    /// Reason for the Requested Procedure (0040,1002), top level or in the Request Attributes Sequence.
    ReasonForTheRequestedProcedure,
    /// Reason for Study (0032,1030), retired but still sent by some RIS.
    ReasonForStudy,
}

impl RadiographMeta {
    /// Reads the metadata from a parsed data set. `rows`, `columns` and `encoding` were
    /// validated by the caller.
    pub(crate) fn read(
        obj: &Object,
        transfer_syntax_uid: &str,
        rows: u32,
        columns: u32,
        number_of_frames: u32,
        encoding: PixelEncoding,
    ) -> RadiographMeta {
        RadiographMeta {
            patient: Patient {
                id: attrs::text(obj, tags::PATIENT_ID),
                name: attrs::text(obj, tags::PATIENT_NAME),
                sex: attrs::text(obj, tags::PATIENT_SEX).and_then(|s| match s.as_str() {
                    "M" => Some(PatientSex::Male),
                    "F" => Some(PatientSex::Female),
                    "O" => Some(PatientSex::Other),
                    _ => None,
                }),
                birth_date: attrs::text(obj, tags::PATIENT_BIRTH_DATE)
                    .and_then(|s| DicomDate::parse(&s)),
            },
            study: Study {
                instance_uid: attrs::text(obj, tags::STUDY_INSTANCE_UID),
                date: attrs::text(obj, tags::STUDY_DATE).and_then(|s| DicomDate::parse(&s)),
                accession_number: attrs::text(obj, tags::ACCESSION_NUMBER),
                description: attrs::text(obj, tags::STUDY_DESCRIPTION),
            },
            series_instance_uid: attrs::text(obj, tags::SERIES_INSTANCE_UID),
            sop_instance_uid: attrs::text(obj, tags::SOP_INSTANCE_UID),
            sop_class_uid: attrs::text(obj, tags::SOP_CLASS_UID),
            modality: attrs::text(obj, tags::MODALITY),
            view_position: attrs::text(obj, tags::VIEW_POSITION),
            laterality: attrs::text(obj, tags::IMAGE_LATERALITY)
                .or_else(|| attrs::text(obj, tags::LATERALITY)),
            body_part_examined: attrs::text(obj, tags::BODY_PART_EXAMINED),
            manufacturer: attrs::text(obj, tags::MANUFACTURER),
            pixel_spacing: pixel_spacing(obj),
            rows,
            columns,
            number_of_frames,
            transfer_syntax: TransferSyntax {
                uid: transfer_syntax_uid.to_string(),
                name: syntax::name_of(transfer_syntax_uid),
            },
            encoding,
            presentation: PresentationAttributes {
                rescale_slope: attrs::float(obj, tags::RESCALE_SLOPE),
                rescale_intercept: attrs::float(obj, tags::RESCALE_INTERCEPT),
                modality_lut_sequence: !attrs::items(obj, tags::MODALITY_LUT_SEQUENCE).is_empty(),
                voi_lut_sequence_items: attrs::items(obj, tags::VOILUT_SEQUENCE).len(),
                window_centers: attrs::floats(obj, tags::WINDOW_CENTER),
                window_widths: attrs::floats(obj, tags::WINDOW_WIDTH),
                voi_lut_function: attrs::text(obj, tags::VOILUT_FUNCTION),
                presentation_lut_shape: attrs::text(obj, tags::PRESENTATION_LUT_SHAPE),
                presentation_intent_type: attrs::text(obj, tags::PRESENTATION_INTENT_TYPE),
            },
            indication: indication(obj),
        }
    }
}

/// Reason for Study (0032,1030): retired, so the dictionary marks it deprecated, but RIS still send it.
const REASON_FOR_STUDY: dicom_core::Tag = dicom_core::Tag(0x0032, 0x1030);

fn pixel_spacing(obj: &Object) -> Option<PixelSpacing> {
    let candidates = [
        (tags::PIXEL_SPACING, PixelSpacingSource::PixelSpacing),
        (
            tags::IMAGER_PIXEL_SPACING,
            PixelSpacingSource::ImagerPixelSpacing,
        ),
    ];
    candidates
        .into_iter()
        .find_map(|(tag, source)| match attrs::floats(obj, tag).as_slice() {
            [row, column, ..] if *row > 0.0 && *column > 0.0 => Some(PixelSpacing {
                row_mm: *row,
                column_mm: *column,
                source,
            }),
            _ => None,
        })
}

/// Reason for the Requested Procedure at the top level or in the Request Attributes Sequence
/// (where image IODs carry it), else the retired Reason for Study.
fn indication(obj: &Object) -> Option<Indication> {
    let requested = attrs::text(obj, tags::REASON_FOR_THE_REQUESTED_PROCEDURE).or_else(|| {
        attrs::items(obj, tags::REQUEST_ATTRIBUTES_SEQUENCE)
            .iter()
            .find_map(|item| attrs::text(item, tags::REASON_FOR_THE_REQUESTED_PROCEDURE))
    });
    if let Some(text) = requested {
        return Some(Indication {
            text,
            source: IndicationSource::ReasonForTheRequestedProcedure,
        });
    }
    attrs::text(obj, REASON_FOR_STUDY).map(|text| Indication {
        text,
        source: IndicationSource::ReasonForStudy,
    })
}
