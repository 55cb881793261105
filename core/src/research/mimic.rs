//! Manifests from the MIMIC-CXR-JPG / MIMIC-CXR folder layout and its official split file.
//!
//! Layout: `files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg` (MIMIC-CXR-JPG) or `.dcm` (MIMIC-CXR), free-text
//! reports at `files/pXX/pSUBJECT/sSTUDY.txt` (under the images' root or a separate reports
//! root), the split file `mimic-cxr-2.0.0-split.csv[.gz]` (`dicom_id,study_id,subject_id,split`)
//! and, optionally, `mimic-cxr-2.0.0-metadata.csv[.gz]` (its `ViewPosition` column).
//!
//! One manifest item per study of the chosen split, id `s` + study id. Its images are the split
//! file's DICOM ids of that study, frontal views first (PA, then AP, then the rest, when the
//! metadata file says which is which), so drafting sees a frontal image. The indication and the
//! reference (FINDINGS + IMPRESSION) come from the report through [`crate::research::sections`].
//! Other splits (e.g. Tanno et al.'s, used by the PaliGemma 2 paper) work the same way when
//! written in the official file's format and given as the split file.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::research::manifest::{frontal_first_rank, LoadedManifest, ManifestItem};
use crate::research::sections::parse_report;
use crate::research::ResearchError;

/// Where the MIMIC-CXR files are.
#[derive(Debug, Clone)]
pub struct MimicOptions {
    /// The folder holding `files/` with the images.
    pub root: PathBuf,
    /// The folder holding `files/` with the `sSTUDY.txt` reports (default: `root`).
    pub reports: Option<PathBuf>,
    /// Default: `mimic-cxr-2.0.0-split.csv` or `.csv.gz` in `root`.
    pub split_csv: Option<PathBuf>,
    /// Default: `mimic-cxr-2.0.0-metadata.csv` or `.csv.gz` in `root`, if there.
    pub metadata_csv: Option<PathBuf>,
    /// `train`, `validate` or `test`; `None` keeps every split.
    pub split: Option<String>,
}

const SPLIT_FILE: &str = "mimic-cxr-2.0.0-split.csv";
const METADATA_FILE: &str = "mimic-cxr-2.0.0-metadata.csv";
const EXAMPLES: usize = 5;

struct Study {
    study_id: String,
    subject_id: String,
    dicom_ids: Vec<String>,
}

/// Builds manifest items for the studies of the chosen split.
pub fn load_mimic(options: &MimicOptions) -> Result<LoadedManifest, ResearchError> {
    let split_csv = match &options.split_csv {
        Some(path) => path.clone(),
        None => find_beside(&options.root, SPLIT_FILE).ok_or_else(|| {
            ResearchError::file(
                &options.root.join(SPLIT_FILE),
                "the official split file is missing (it ships with MIMIC-CXR-JPG on PhysioNet); \
                 put it there or give its path with --split-csv",
            )
        })?,
    };
    let studies = read_split(&split_csv, options.split.as_deref())?;
    let metadata_csv = match &options.metadata_csv {
        Some(path) => Some(path.clone()),
        None => find_beside(&options.root, METADATA_FILE),
    };
    let views = match &metadata_csv {
        Some(path) => read_view_positions(path)?,
        None => HashMap::new(),
    };
    let reports_root = options.reports.as_ref().unwrap_or(&options.root);

    let mut missing_images = Vec::new();
    let mut studies_without_images = Vec::new();
    let mut missing_reports = Vec::new();
    let mut without_reference = Vec::new();
    let mut items = Vec::new();
    for study in studies {
        let prefix = study.subject_id.get(..2).unwrap_or(&study.subject_id);
        let relative = PathBuf::from("files")
            .join(format!("p{prefix}"))
            .join(format!("p{}", study.subject_id));
        let study_dir = options
            .root
            .join(&relative)
            .join(format!("s{}", study.study_id));
        let mut images: Vec<(u8, PathBuf, Option<String>)> = Vec::new();
        for dicom_id in &study.dicom_ids {
            let found = ["jpg", "dcm"]
                .iter()
                .map(|ext| study_dir.join(format!("{dicom_id}.{ext}")))
                .find(|p| p.exists());
            match found {
                Some(path) => {
                    let view = views.get(dicom_id).cloned();
                    images.push((frontal_first_rank(view.as_deref()), path, view));
                }
                None => missing_images.push(study_dir.join(format!("{dicom_id}.jpg|.dcm"))),
            }
        }
        let id = format!("s{}", study.study_id);
        if images.is_empty() {
            studies_without_images.push(id);
            continue;
        }
        images.sort_by_key(|(rank, _, _)| *rank);
        let report_path = reports_root
            .join(&relative)
            .join(format!("s{}.txt", study.study_id));
        let (indication, reference) = match std::fs::read_to_string(&report_path) {
            Ok(text) => {
                let parsed = parse_report(&text);
                let reference = parsed.target();
                if reference.is_none() {
                    without_reference.push(report_path.clone());
                }
                (parsed.indication(), reference)
            }
            Err(_) => {
                missing_reports.push(report_path);
                (None, None)
            }
        };
        items.push(ManifestItem {
            id,
            view_position: images[0].2.clone(),
            images: images.into_iter().map(|(_, path, _)| path).collect(),
            indication,
            reference,
        });
    }

    let mut warnings = Vec::new();
    summarise(
        &mut warnings,
        "image(s) of the split file are missing",
        &missing_images,
    );
    summarise(
        &mut warnings,
        "study(ies) have no image on disk and were left out",
        &studies_without_images,
    );
    summarise(
        &mut warnings,
        "report(s) are missing (those studies have no indication or reference)",
        &missing_reports,
    );
    summarise(
        &mut warnings,
        "report(s) have no FINDINGS, IMPRESSION or last paragraph (no reference)",
        &without_reference,
    );
    Ok(LoadedManifest { items, warnings })
}

fn summarise<T: std::fmt::Debug>(warnings: &mut Vec<String>, what: &str, found: &[T]) {
    if found.is_empty() {
        return;
    }
    let examples: Vec<String> = found
        .iter()
        .take(EXAMPLES)
        .map(|f| format!("{f:?}"))
        .collect();
    warnings.push(format!(
        "{} {what}, e.g. {}",
        found.len(),
        examples.join(", ")
    ));
}

fn find_beside(root: &Path, name: &str) -> Option<PathBuf> {
    [root.join(name), root.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.exists())
}

/// A CSV reader over a plain or gzip-compressed (`.gz`) file.
fn csv_reader(path: &Path) -> Result<csv::Reader<Box<dyn Read>>, ResearchError> {
    let file = std::fs::File::open(path).map_err(|e| ResearchError::io(path, e))?;
    let is_gzip = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let input: Box<dyn Read> = if is_gzip {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input))
}

fn columns<const N: usize>(
    path: &Path,
    reader: &mut csv::Reader<Box<dyn Read>>,
    names: [&str; N],
) -> Result<[usize; N], ResearchError> {
    let headers = reader
        .headers()
        .map_err(|e| ResearchError::line(path, 1, format!("malformed CSV header: {e}")))?
        .clone();
    let mut found = [0; N];
    for (slot, name) in found.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                ResearchError::line(
                    path,
                    1,
                    format!(
                        "the header has no {name:?} column (needs {})",
                        names.join(", ")
                    ),
                )
            })?;
    }
    Ok(found)
}

fn read_split(path: &Path, split: Option<&str>) -> Result<Vec<Study>, ResearchError> {
    let mut reader = csv_reader(path)?;
    let [dicom, study, subject, split_column] = columns(
        path,
        &mut reader,
        ["dicom_id", "study_id", "subject_id", "split"],
    )?;
    let mut studies: Vec<Study> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut splits_seen: Vec<String> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ResearchError::line(path, line, format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let get = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let row_split = get(split_column);
        if !splits_seen.contains(&row_split) {
            splits_seen.push(row_split.clone());
        }
        if split.is_some_and(|wanted| wanted != row_split) {
            continue;
        }
        let (dicom_id, study_id, subject_id) = (get(dicom), get(study), get(subject));
        let well_formed = |v: &str| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !(well_formed(&dicom_id)
            && well_formed(&study_id)
            && subject_id.len() >= 2
            && well_formed(&subject_id))
        {
            return Err(ResearchError::line(
                path,
                line,
                "dicom_id, study_id and subject_id must be non-empty ids (letters, digits, '-' or '_'; subject_id at least 2 characters)",
            ));
        }
        let slot = *index.entry(study_id.clone()).or_insert_with(|| {
            studies.push(Study {
                study_id: study_id.clone(),
                subject_id: subject_id.clone(),
                dicom_ids: Vec::new(),
            });
            studies.len() - 1
        });
        if studies[slot].subject_id != subject_id {
            return Err(ResearchError::line(
                path,
                line,
                format!(
                    "study {study_id} is listed under subjects {} and {subject_id}",
                    studies[slot].subject_id
                ),
            ));
        }
        studies[slot].dicom_ids.push(dicom_id);
    }
    if let Some(wanted) = split {
        if studies.is_empty() {
            return Err(ResearchError::file(
                path,
                format!(
                    "no row has split {wanted:?}; the file's splits are: {}",
                    splits_seen.join(", ")
                ),
            ));
        }
    }
    Ok(studies)
}

fn read_view_positions(path: &Path) -> Result<HashMap<String, String>, ResearchError> {
    let mut reader = csv_reader(path)?;
    let [dicom, view] = columns(path, &mut reader, ["dicom_id", "ViewPosition"])?;
    let mut views = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            ResearchError::line(path, line, format!("malformed CSV: {e}"))
        })?;
        let view_position = record.get(view).unwrap_or("").trim();
        if !view_position.is_empty() {
            views.insert(
                record.get(dicom).unwrap_or("").trim().to_owned(),
                view_position.to_owned(),
            );
        }
    }
    Ok(views)
}
