//! Research runs at dataset scale: manifests (MIMIC-CXR layout, DICOM folders, CSV/JSONL),
//! the report section parser, sharded and resumable drafting output, merging shards, and scoring
//! the drafts (Table 8 Markdown, summary JSON, a self-contained HTML results page).
//!
//! The `raddraft manifest`, `batch`, `merge` and `score` commands are thin layers over this
//! module; the manifest schema is documented in [`manifest`].

pub mod dicom_folder;
pub mod drafts;
mod error;
pub mod html;
pub mod manifest;
pub mod merge;
pub mod mimic;
pub mod plots;
pub mod scoring;
pub mod sections;
pub mod shard;
pub mod table;

use std::io::Write;
use std::path::Path;

pub use error::ResearchError;

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`, so
/// readers never see a half-written file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ResearchError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let temporary = path.with_file_name(name);
    let mut file =
        std::fs::File::create(&temporary).map_err(|e| ResearchError::io(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ResearchError::io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| ResearchError::io(path, e))
}
