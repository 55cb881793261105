//! Manifests from a plain folder of DICOM files (searched recursively, in name order).
//!
//! Files are grouped into studies by Study Instance UID (the id; a file without one is its own
//! study, with its path relative to the folder as id). Within a study, frontal views (View
//! Position PA, then AP) come first, so drafting sees a frontal image. The indication is the
//! header's (Reason for the Requested Procedure / Reason for Study); the view position is the
//! first image's. A `NAME.txt` report beside `NAME.dcm` (any DICOM file name) gives the
//! reference (FINDINGS + IMPRESSION) and, when the header has none, the indication. Files that
//! are not DICOM are skipped; DICOM files that cannot be read are skipped with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use raddraft_ingest::{self as dicom, Radiograph};

use crate::research::manifest::{frontal_first_rank, LoadedManifest, ManifestItem};
use crate::research::sections::parse_report;
use crate::research::ResearchError;

struct Image {
    path: PathBuf,
    view: Option<String>,
    indication: Option<String>,
    report: Option<String>,
}

/// Builds one manifest item per study found under `root`.
pub fn load_dicom_folder(root: &Path) -> Result<LoadedManifest, ResearchError> {
    let mut studies: Vec<(String, Vec<Image>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut warnings = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            ResearchError::file(&path, format!("cannot list the folder: {e}"))
        })?;
        let path = entry.path();
        if !entry.file_type().is_file() || !dicom::is_dicom_file(path) {
            continue;
        }
        let radiograph = match Radiograph::open(path) {
            Ok(radiograph) => radiograph,
            Err(err) => {
                warnings.push(format!("skipped: {err}"));
                continue;
            }
        };
        let meta = radiograph.meta();
        let study_uid = meta.and_then(|m| m.study.instance_uid.clone());
        let id = study_uid.unwrap_or_else(|| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned()
        });
        let report = std::fs::read_to_string(path.with_extension("txt")).ok();
        let image = Image {
            path: path.to_path_buf(),
            view: meta.and_then(|m| m.view_position.clone()),
            indication: meta.and_then(|m| m.indication.as_ref().map(|i| i.text.clone())),
            report,
        };
        let slot = *index.entry(id.clone()).or_insert_with(|| {
            studies.push((id, Vec::new()));
            studies.len() - 1
        });
        studies[slot].1.push(image);
    }
    if studies.is_empty() {
        return Err(ResearchError::file(
            root,
            "no readable DICOM file in this folder or below",
        ));
    }
    let items = studies
        .into_iter()
        .map(|(id, mut images)| {
            images.sort_by_key(|image| frontal_first_rank(image.view.as_deref()));
            let parsed = images
                .iter()
                .find_map(|image| image.report.as_deref())
                .map(parse_report);
            let indication = images
                .iter()
                .find_map(|image| image.indication.clone())
                .or_else(|| parsed.as_ref().and_then(|p| p.indication()));
            ManifestItem {
                id,
                view_position: images[0].view.clone(),
                indication,
                reference: parsed.and_then(|p| p.target()),
                images: images.into_iter().map(|image| image.path).collect(),
            }
        })
        .collect();
    Ok(LoadedManifest { items, warnings })
}
