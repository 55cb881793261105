//! Identifiers of the DICOM instances an export creates.

use chrono::{DateTime, FixedOffset, Utc};

/// The identifiers a DICOM export creates: its own series and instance, and when it was made.
///
/// [`export`](super::export) makes fresh ones each time; a caller that keeps them (to put every revision of a
/// report in one series, or to reproduce a file) passes its own to [`to_basic_text_sr`](super::to_basic_text_sr) or
/// [`to_encapsulated_pdf`](super::to_encapsulated_pdf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomInstanceIds {
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    /// Instance Creation Date/Time (0008,0012/0013).
    pub created_at: DateTime<FixedOffset>,
}

impl DicomInstanceIds {
    /// New UIDs (`2.25.` + a random UUID as a decimal, PS3.5 B.2), created now.
    pub fn generate() -> DicomInstanceIds {
        DicomInstanceIds {
            series_instance_uid: new_uid(),
            sop_instance_uid: new_uid(),
            created_at: Utc::now().fixed_offset(),
        }
    }
}

/// A new globally unique DICOM UID: `2.25.` followed by a random (version 4) UUID as a decimal
/// integer (PS3.5 B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}
