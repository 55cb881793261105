//! `raddraft import PATH…`: radiographs into the study store, from files, folders and DICOMDIRs
//! (`raddraft_core::import`). Idempotent by SOP Instance UID: importing the same files again adds
//! nothing.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use raddraft_core::import::import_paths;

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
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = session.run(import_paths(&session.store, &args.paths, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }));
    bar.finish_and_clear();
    println!(
        "imported {} new image(s); {} already in the store; {} problem(s)",
        summary.added,
        summary.present,
        summary.problems.len()
    );
    for problem in &summary.problems {
        eprintln!("  skipped {problem}");
    }
    anyhow::ensure!(
        summary.added + summary.present > 0 || summary.problems.is_empty(),
        "nothing could be imported"
    );
    Ok(())
}
