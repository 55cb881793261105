//! Importing radiographs into the study store from files, folders (searched recursively) and
//! DICOMDIRs. Idempotent by SOP Instance UID: importing the same files again adds nothing.
//! Files that cannot be imported are reported one by one; the others are still imported.

use std::path::{Path, PathBuf};

use raddraft_ingest::{dicomdir_images, IngestError, Radiograph};
use serde::Serialize;

use crate::store::{sha256_hex, NewImage, Store, StoreError};

/// Why one file was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("{path}: not a DICOM file: raddraft files images by study and instance UID")]
    NotDicom { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Images new to the store.
    pub added: usize,
    /// Images already stored (same SOP Instance UID).
    pub present: usize,
    /// One line per file or folder that could not be imported, naming it and the reason.
    pub problems: Vec<String>,
}

/// Imports every file named by `paths`, calling `on_file(done, total)` after each one.
pub async fn import_paths(
    store: &Store,
    paths: &[PathBuf],
    mut on_file: impl FnMut(usize, usize),
) -> ImportSummary {
    let mut summary = ImportSummary::default();
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut summary.problems);
    }
    files.sort();
    files.dedup();
    for (done, file) in files.iter().enumerate() {
        match import_file(store, file).await {
            Ok(true) => summary.added += 1,
            Ok(false) => summary.present += 1,
            Err(e) => summary.problems.push(e.to_string()),
        }
        on_file(done + 1, files.len());
    }
    summary
}

/// Imports one DICOM file; `Ok(true)` when its image was new to the store.
pub async fn import_file(store: &Store, file: &Path) -> Result<bool, ImportError> {
    let bytes = std::fs::read(file).map_err(|source| ImportError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let radiograph = Radiograph::from_bytes(&bytes, file)?;
    let meta = radiograph.meta().ok_or_else(|| ImportError::NotDicom {
        path: file.to_path_buf(),
    })?;
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let image = NewImage::from_meta(path, meta, sha256_hex(&bytes))?;
    Ok(store.import_image(&image).await?.image_was_new)
}

/// The files an import of `path` covers: the file itself, a folder's files (hidden files and
/// DICOMDIRs skipped), or the images a DICOMDIR lists (absent ones reported as problems).
pub fn collect_files(path: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    if path.is_dir() {
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    let is_dicomdir = e.file_name().eq_ignore_ascii_case("DICOMDIR");
                    if !is_dicomdir && !e.file_name().to_string_lossy().starts_with('.') {
                        files.push(e.into_path());
                    }
                }
                Ok(_) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
    } else if path
        .file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
    {
        match dicomdir_images(path) {
            Ok((found, missing)) => {
                files.extend(found);
                problems.extend(
                    missing
                        .into_iter()
                        .map(|m| format!("{m}: listed in {} but absent", path.display())),
                );
            }
            Err(e) => problems.push(e.to_string()),
        }
    } else if path.exists() {
        files.push(path.to_path_buf());
    } else {
        problems.push(format!("{}: no such file or folder", path.display()));
    }
}
