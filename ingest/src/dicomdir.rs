//! DICOMDIR (PS3.10 media directory, as on a patient CD): the image files it references.

use std::path::{Path, PathBuf};

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions};

use super::dicom_file::{meta_group_offset, parse_error, scan_error};
use super::error::IngestError;
use super::scan;

/// A DICOMDIR larger than this is not a directory of a CD or USB stick.
const MAX_DICOMDIR_BYTES: u64 = 64 << 20;

/// The files of the IMAGE records of a DICOMDIR, resolved relative to its folder. Referenced
/// File IDs are ISO 9660 upper-case names; on case-sensitive file systems a component that does
/// not exist as written is matched case-insensitively. Records whose file is absent are reported
/// in the second list rather than failing the whole directory.
pub fn dicomdir_images(path: &Path) -> Result<(Vec<PathBuf>, Vec<String>), IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_DICOMDIR_BYTES {
        return Err(IngestError::Malformed {
            path: path.to_path_buf(),
            detail: format!("{size} bytes is too large for a DICOMDIR"),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let start = meta_group_offset(&bytes).ok_or_else(|| IngestError::NotDicom {
        path: path.to_path_buf(),
    })?;
    scan::check_meta_group(&bytes[start..]).map_err(|p| scan_error(p, path))?;
    let meta = FileMetaTable::from_reader(&bytes[start..]).map_err(|e| parse_error(&e, path))?;
    scan::check(&bytes[start..], meta.transfer_syntax()).map_err(|p| scan_error(p, path))?;
    let object = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(&bytes[start..])
        .map_err(|e| parse_error(&e, path))?;
    let records = object
        .element(tags::DIRECTORY_RECORD_SEQUENCE)
        .map_err(|_| IngestError::MissingAttribute {
            path: path.to_path_buf(),
            attribute: "Directory Record Sequence (0004,1220)",
        })?;
    let Value::Sequence(records) = records.value() else {
        return Err(IngestError::Malformed {
            path: path.to_path_buf(),
            detail: "Directory Record Sequence (0004,1220) is not a sequence".into(),
        });
    };
    let root = path.parent().unwrap_or(Path::new("."));
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for record in records.items() {
        let kind = record
            .element(tags::DIRECTORY_RECORD_TYPE)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_ascii_uppercase());
        if kind.as_deref() != Some("IMAGE") {
            continue;
        }
        let Some(components) = record
            .element(tags::REFERENCED_FILE_ID)
            .ok()
            .and_then(|e| e.to_multi_str().ok())
        else {
            continue;
        };
        let components: Vec<String> = components.iter().map(|c| c.trim().to_string()).collect();
        match resolve(root, &components) {
            Some(file) => found.push(file),
            None => missing.push(components.join("\\")),
        }
    }
    Ok((found, missing))
}

fn resolve(root: &Path, components: &[String]) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    for component in components {
        if component.is_empty() || component == ".." || component.contains('/') {
            return None;
        }
        let exact = at.join(component);
        at = if exact.exists() {
            exact
        } else {
            std::fs::read_dir(&at)
                .ok()?
                .flatten()
                .find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .eq_ignore_ascii_case(component)
                })?
                .path()
        };
    }
    at.is_file().then_some(at)
}
