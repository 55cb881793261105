//! Joining shard outputs: every manifest id exactly once, all drafted with the same model.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::research::drafts::{read_drafts, DraftRow};
use crate::research::manifest::Manifest;
use crate::research::ResearchError;

/// Shard rows joined in manifest order.
#[derive(Debug, Clone)]
pub struct MergedDrafts {
    pub rows: Vec<DraftRow>,
    /// Ids whose row is an error row.
    pub failed: Vec<String>,
}

/// Reads shard files and joins them. Fails, listing the ids, when a manifest id is missing,
/// an id appears twice, or a file holds ids the manifest does not; also when a file ends in an
/// interrupted line or the files name different models.
pub fn merge_drafts(files: &[PathBuf], manifest: &Manifest) -> Result<MergedDrafts, ResearchError> {
    let mut located: Vec<(DraftRow, String)> = Vec::new();
    for path in files {
        let file = read_drafts(path)?;
        if file.partial_tail.is_some() {
            return Err(ResearchError::file(
                path,
                "ends in an interrupted line: resume that shard (`raddraft batch … --resume`) before merging",
            ));
        }
        for (line, row) in file.rows {
            located.push((row, format!("{} line {line}", path.display())));
        }
    }
    let models: BTreeMap<&str, &str> = located
        .iter()
        .map(|(row, place)| (row.model.as_str(), place.as_str()))
        .collect();
    if models.len() > 1 {
        let listed: Vec<String> = models
            .iter()
            .map(|(model, place)| format!("{model:?} ({place})"))
            .collect();
        let first = files
            .first()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new("-"));
        return Err(ResearchError::file(
            first,
            format!(
                "the shards were drafted with different models: {}; draft every shard with the same --model",
                listed.join(", ")
            ),
        ));
    }
    let rows = in_manifest_order(located, manifest)?;
    let failed = rows
        .iter()
        .filter(|row| row.error.is_some())
        .map(|row| row.id.clone())
        .collect();
    Ok(MergedDrafts { rows, failed })
}

/// Orders rows (each with a description of where it came from) as the manifest does, after
/// checking that they hold each manifest id exactly once and nothing else.
pub fn in_manifest_order(
    located: Vec<(DraftRow, String)>,
    manifest: &Manifest,
) -> Result<Vec<DraftRow>, ResearchError> {
    let mut places: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_id: HashMap<String, DraftRow> = HashMap::new();
    let mut unknown = Vec::new();
    let known = manifest.by_id();
    for (row, place) in located {
        if !known.contains_key(row.id.as_str()) {
            unknown.push(row.id.clone());
        }
        places.entry(row.id.clone()).or_default().push(place);
        by_id.insert(row.id.clone(), row);
    }
    let mut duplicates: Vec<String> = places
        .iter()
        .filter(|(_, found)| found.len() > 1)
        .map(|(id, found)| format!("{id} ({})", found.join(", ")))
        .collect();
    duplicates.sort();
    unknown.sort();
    unknown.dedup();
    let missing: Vec<String> = manifest
        .items
        .iter()
        .filter(|item| !by_id.contains_key(&item.id))
        .map(|item| item.id.clone())
        .collect();
    if !(missing.is_empty() && duplicates.is_empty() && unknown.is_empty()) {
        return Err(ResearchError::IdMismatch {
            missing,
            duplicates,
            unknown,
        });
    }
    Ok(manifest
        .items
        .iter()
        .filter_map(|item| by_id.remove(&item.id))
        .collect())
}

/// Writes rows as a drafts file (to a temporary file first, then renamed).
pub fn write_drafts(path: &Path, rows: &[DraftRow]) -> Result<(), ResearchError> {
    let mut text = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut text, row)
            .map_err(|e| ResearchError::file(path, format!("cannot serialise a row: {e}")))?;
        text.push(b'\n');
    }
    crate::research::write_atomically(path, &text)
}
