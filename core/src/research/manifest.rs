//! Dataset manifests: which studies a research run drafts and scores.
//!
//! A manifest is JSON Lines (any extension but `.csv`), one study per line:
//!
//! ```json
//! {"id": "s50414267", "images": ["files/p10/p10000032/s50414267/02aa804e.jpg"],
//!  "indication": "___ with cough", "reference": "No acute process.", "view_position": "PA"}
//! ```
//!
//! or CSV with a header row and the same columns, `images` holding paths separated by `;`
//! (a column named `image` is accepted for a single path).
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `id` | yes | unique study id; shards, resumes and merges key on it |
//! | `images` | yes, ≥ 1 | DICOM, PNG or JPEG paths, relative to the manifest's folder or absolute; drafting uses the first |
//! | `indication` | no | prompt text after `INDICATION: `; without it a DICOM's header indication is used |
//! | `reference` | no | the reference report (FINDINGS + IMPRESSION) that `raddraft score` scores against |
//! | `view_position` | no | view of the first image (PA, AP, LATERAL …), for the report's per-view plot |
//!
//! Other keys or columns are ignored. Empty strings count as absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::research::ResearchError;

/// One study of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    pub id: String,
    pub images: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indication: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_position: Option<String>,
}

/// Items a loader found, and what was wrong on the way, one line per kind of problem.
#[derive(Debug, Clone, Default)]
pub struct LoadedManifest {
    pub items: Vec<ManifestItem>,
    pub warnings: Vec<String>,
}

/// A manifest read from a file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    pub items: Vec<ManifestItem>,
}

impl Manifest {
    /// Reads and checks a manifest: every line parses, ids are unique and non-empty, each item
    /// has an image.
    pub fn read(path: &Path) -> Result<Manifest, ResearchError> {
        let rows = if is_csv(path) {
            read_csv(path)?
        } else {
            read_jsonl(path)?
        };
        let mut first_line: HashMap<&str, usize> = HashMap::new();
        for (line, item) in &rows {
            if item.id.trim().is_empty() {
                return Err(ResearchError::line(path, *line, "\"id\" is empty"));
            }
            if item.images.is_empty() {
                return Err(ResearchError::line(
                    path,
                    *line,
                    format!(
                        "{:?} has no image path (\"images\" needs at least one)",
                        item.id
                    ),
                ));
            }
            if let Some(first) = first_line.insert(&item.id, *line) {
                return Err(ResearchError::line(
                    path,
                    *line,
                    format!("duplicate id {:?} (first on line {first})", item.id),
                ));
            }
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            items: rows.into_iter().map(|(_, item)| item).collect(),
        })
    }

    /// Where an image path of this manifest points: relative paths are relative to the
    /// manifest's folder.
    pub fn resolve(&self, image: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if image.is_relative() => dir.join(image),
            _ => image.to_path_buf(),
        }
    }

    /// Items keyed by id.
    pub fn by_id(&self) -> HashMap<&str, &ManifestItem> {
        self.items
            .iter()
            .map(|item| (item.id.as_str(), item))
            .collect()
    }
}

/// Writes items as a JSONL manifest; image paths under the manifest's folder are written
/// relative to it, others as they are. Written to a temporary file first, then renamed.
pub fn write_manifest(path: &Path, items: &[ManifestItem]) -> Result<(), ResearchError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let absolute_dir = std::path::absolute(dir).map_err(|e| ResearchError::io(dir, e))?;
    let mut text = Vec::new();
    for item in items {
        let mut item = item.clone();
        for image in &mut item.images {
            if let Ok(absolute) = std::path::absolute(&*image) {
                if let Ok(relative) = absolute.strip_prefix(&absolute_dir) {
                    *image = relative.to_path_buf();
                }
            }
        }
        serde_json::to_writer(&mut text, &item)
            .map_err(|e| ResearchError::file(path, format!("cannot serialise an item: {e}")))?;
        text.push(b'\n');
    }
    crate::research::write_atomically(path, &text)
}

/// Sort key that puts frontal views first: PA, AP, any other view, unknown.
pub(crate) fn frontal_first_rank(view: Option<&str>) -> u8 {
    match view.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("PA") => 0,
        Some("AP") => 1,
        Some(_) => 2,
        None => 3,
    }
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn tidy(mut item: ManifestItem) -> ManifestItem {
    item.indication = non_empty(item.indication);
    item.reference = non_empty(item.reference);
    item.view_position = non_empty(item.view_position);
    item.images.retain(|p| !p.as_os_str().is_empty());
    item
}

fn read_jsonl(path: &Path) -> Result<Vec<(usize, ManifestItem)>, ResearchError> {
    let bytes = std::fs::read(path).map_err(|e| ResearchError::io(path, e))?;
    let mut rows = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item: ManifestItem = serde_json::from_slice(raw).map_err(|e| {
            ResearchError::line(
                path,
                line,
                format!(
                    "not a manifest item ({e}); each line needs \"id\" and \"images\": [paths]"
                ),
            )
        })?;
        rows.push((line, tidy(item)));
    }
    Ok(rows)
}

fn read_csv(path: &Path) -> Result<Vec<(usize, ManifestItem)>, ResearchError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| ResearchError::file(path, format!("cannot read as CSV: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| ResearchError::line(path, 1, format!("malformed CSV header: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let id = column("id")
        .ok_or_else(|| ResearchError::line(path, 1, "the header has no \"id\" column"))?;
    let images = column("images")
        .or_else(|| column("image"))
        .ok_or_else(|| {
            ResearchError::line(
                path,
                1,
                "the header has no \"images\" column (paths separated by ';')",
            )
        })?;
    let (indication, reference, view) = (
        column("indication"),
        column("reference"),
        column("view_position"),
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ResearchError::line(path, line, format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::to_owned);
        let item = ManifestItem {
            id: get(Some(id)).unwrap_or_default(),
            images: get(Some(images))
                .unwrap_or_default()
                .split(';')
                .map(|p| PathBuf::from(p.trim()))
                .collect(),
            indication: get(indication),
            reference: get(reference),
            view_position: get(view),
        };
        rows.push((line, tidy(item)));
    }
    Ok(rows)
}
