//! `raddraft merge`: join shard drafts files into one, checking ids against the manifest.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::research::manifest::Manifest;
use raddraft_core::research::merge::{merge_drafts, write_drafts};

#[derive(ClapArgs)]
pub struct Args {
    /// Drafts files written by `raddraft batch` (one per shard).
    #[arg(required = true, value_name = "DRAFTS")]
    files: Vec<PathBuf>,
    /// The manifest the shards were drafted from; every id must be present exactly once.
    #[arg(long)]
    manifest: PathBuf,
    /// Merged drafts file (rows in manifest order).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let manifest = Manifest::read(&args.manifest)
        .with_context(|| format!("cannot use the manifest {}", args.manifest.display()))?;
    let merged = merge_drafts(&args.files, &manifest).context("cannot merge the shards")?;
    write_drafts(&args.out, &merged.rows)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "merged {} rows from {} file(s) into {}",
        merged.rows.len(),
        args.files.len(),
        args.out.display()
    );
    if !merged.failed.is_empty() {
        println!(
            "{} study(ies) have error rows (their drafts failed): {}",
            merged.failed.len(),
            merged.failed.join(", ")
        );
    }
    Ok(())
}
