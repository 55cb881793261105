//! `raddraft import PATH…`: radiographs into the study store, from files, folders and DICOMDIRs.
//! Idempotent by SOP Instance UID: importing the same files again adds nothing.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use raddraft_core::dicom::{dicomdir_images, Radiograph};
use raddraft_core::store::{sha256_hex, NewImage};

use crate::db::{current_user, DbArgs, Session};

#[derive(ClapArgs)]
pub struct Args {
    /// DICOM files, folders (searched recursively) or DICOMDIR files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: Args) -> Result<()> {
    let session = Session::open(&args.db, &current_user())?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in &args.paths {
        collect(path, &mut files, &mut problems);
    }
    files.sort();
    files.dedup();

    let bar = ProgressBar::new(files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut added, mut present) = (0usize, 0usize);
    for file in &files {
        bar.inc(1);
        match import_one(&session, file) {
            Ok(true) => added += 1,
            Ok(false) => present += 1,
            Err(e) => problems.push(format!("{}: {e:#}", file.display())),
        }
    }
    bar.finish_and_clear();
    println!(
        "imported {added} new image(s); {present} already in the store; {} problem(s)",
        problems.len()
    );
    for problem in &problems {
        eprintln!("  skipped {problem}");
    }
    anyhow::ensure!(
        added + present > 0 || files.is_empty() && problems.is_empty(),
        "nothing could be imported"
    );
    Ok(())
}

fn import_one(session: &Session, file: &Path) -> Result<bool> {
    let bytes = std::fs::read(file)?;
    let radiograph = Radiograph::from_bytes(&bytes, file)?;
    let meta = radiograph.meta().ok_or_else(|| {
        anyhow::anyhow!("not a DICOM file: raddraft files images by study and instance UID")
    })?;
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let image = NewImage::from_meta(path, meta, sha256_hex(&bytes))?;
    let outcome = session.run(session.store.import_image(&image))?;
    Ok(outcome.image_was_new)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
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
    } else {
        files.push(path.to_path_buf());
    }
}
