//! `raddraft manifest`: build a dataset manifest from the MIMIC-CXR layout or a DICOM folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use raddraft_core::research::dicom_folder::load_dicom_folder;
use raddraft_core::research::manifest::{write_manifest, LoadedManifest};
use raddraft_core::research::mimic::{load_mimic, MimicOptions};

#[derive(Subcommand)]
pub enum Command {
    /// MIMIC-CXR-JPG / MIMIC-CXR: ROOT/files/pXX/pSUBJECT/sSTUDY/*.jpg|*.dcm, sSTUDY.txt reports,
    /// the official split file; one item per study, id "s" + study id.
    Mimic {
        /// Folder holding files/ with the images (and, by default, the split and metadata files).
        root: PathBuf,
        /// Keep only this split (train, validate, test); default: all.
        #[arg(long)]
        split: Option<String>,
        /// Folder holding files/ with the sSTUDY.txt reports (default: ROOT).
        #[arg(long)]
        reports: Option<PathBuf>,
        /// Split file (dicom_id,study_id,subject_id,split), .csv or .csv.gz
        /// (default: ROOT/mimic-cxr-2.0.0-split.csv[.gz]).
        #[arg(long)]
        split_csv: Option<PathBuf>,
        /// Metadata file with ViewPosition (default: ROOT/mimic-cxr-2.0.0-metadata.csv[.gz] if present).
        #[arg(long)]
        metadata_csv: Option<PathBuf>,
        /// Manifest to write (JSON Lines).
        #[arg(long)]
        out: PathBuf,
    },
    /// A folder of DICOM files (recursive), one item per Study Instance UID.
    DicomFolder {
        dir: PathBuf,
        /// Manifest to write (JSON Lines).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: Command) -> Result<()> {
    let (loaded, out): (LoadedManifest, PathBuf) = match command {
        Command::Mimic {
            root,
            split,
            reports,
            split_csv,
            metadata_csv,
            out,
        } => {
            let options = MimicOptions {
                root: root.clone(),
                reports,
                split_csv,
                metadata_csv,
                split,
            };
            let loaded = load_mimic(&options)
                .with_context(|| format!("cannot build a manifest from {}", root.display()))?;
            (loaded, out)
        }
        Command::DicomFolder { dir, out } => {
            let loaded = load_dicom_folder(&dir)
                .with_context(|| format!("cannot build a manifest from {}", dir.display()))?;
            (loaded, out)
        }
    };
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    write_manifest(&out, &loaded.items)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let with_reference = loaded
        .items
        .iter()
        .filter(|i| i.reference.is_some())
        .count();
    let with_indication = loaded
        .items
        .iter()
        .filter(|i| i.indication.is_some())
        .count();
    println!(
        "{} studies ({with_indication} with an indication, {with_reference} with a reference) written to {}",
        loaded.items.len(),
        out.display()
    );
    Ok(())
}
