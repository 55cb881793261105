//! `raddraft export STUDY --format txt|md|fhir|sr|pdf --out FILE`: the study's current report.
//! Unsigned reports are marked PRELIMINARY / AI-GENERATED in every format.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::export::{export, report_document, ExportFormat};
use raddraft_core::store::StudyKey;

use crate::db::{current_user, DbArgs, Session};

#[derive(ClapArgs)]
pub struct Args {
    /// Study id or Study Instance UID.
    study: String,
    /// txt, md, fhir (R4 DiagnosticReport JSON), sr (DICOM Basic Text SR) or pdf (DICOM
    /// Encapsulated PDF).
    #[arg(long)]
    format: ExportFormat,
    #[arg(long)]
    out: PathBuf,
    /// Organisation named as the verifying / performing organisation.
    #[arg(long)]
    organization: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: Args) -> Result<()> {
    let session = Session::open(&args.db, &current_user())?;
    let mut doc = session.run(report_document(
        &session.store,
        StudyKey::parse(&args.study),
    ))?;
    doc.organization = args.organization;
    export(&doc, args.format, &args.out)
        .with_context(|| format!("cannot export study {}", args.study))?;
    println!(
        "wrote {} ({:?} report{})",
        args.out.display(),
        doc.status,
        if doc.ai_generated {
            ", AI-generated text unreviewed"
        } else {
            ""
        }
    );
    Ok(())
}
