//! The `raddraft` command-line tool: thin subcommands over `raddraft-core`.

mod audit;
mod batch;
mod db;
mod eval;
mod export;
mod generate;
mod import;
mod inspect;
mod manifest;
mod merge;
mod model;
mod model_args;
mod preprocess;
mod report_workflow;
mod score;
mod studies;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "raddraft",
    version,
    about = "Offline chest X-ray report drafting and evaluation"
)]
struct Cli {
    /// Log verbosity (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Draft text from one image with a PaliGemma 2 checkpoint directory.
    Generate(generate::Args),
    /// Manage model checkpoints.
    #[command(subcommand)]
    Model(model::Command),
    /// Show a radiograph's metadata, transfer syntax and pixel statistics (DICOM, PNG or JPEG).
    Inspect(inspect::Args),
    /// Write a radiograph as PNG through a pixel profile (mimic-cxr-jpg, display or raw).
    Preprocess(preprocess::Args),
    /// Score report pairs: RadGraph F1 variants, BLEU-4, ROUGE-L, CIDEr-D (or compare two runs).
    Eval(eval::Args),
    /// Build a dataset manifest from the MIMIC-CXR layout or a folder of DICOM files.
    #[command(subcommand)]
    Manifest(manifest::Command),
    /// Draft every study of a manifest (or one --shard K/N of it) with one model load; resumable.
    Batch(batch::Args),
    /// Join shard drafts files, checking every manifest id is present exactly once.
    Merge(merge::Args),
    /// Score drafts against the manifest's references: summary.json, Table-8 Markdown, an HTML results page.
    #[command(alias = "report")]
    Score(score::Args),
    /// Add radiographs to the study store: files, folders, DICOMDIRs (idempotent).
    Import(import::Args),
    /// The worklist: stored studies with their status.
    Studies(studies::Args),
    /// Draft a stored study's report (or a DICOM file's, importing it) and store the draft.
    Draft(report_workflow::DraftArgs),
    /// Store a human edit of a study's report (not possible once signed).
    Edit(report_workflow::EditArgs),
    /// Accept the model text of a study's report as reviewed.
    Accept(report_workflow::AcceptArgs),
    /// Sign a study's report: final and immutable from then on.
    Sign(report_workflow::SignArgs),
    /// Add an addendum to a signed report.
    Addendum(report_workflow::AddendumArgs),
    /// Export a study's report: txt, md, FHIR R4, DICOM Basic Text SR or Encapsulated PDF.
    Export(export::Args),
    /// Check or print the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::Command),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    raddraft_models::device::tune_allocator_for_inference();
    init_logging(&cli.log);
    let outcome: Result<()> = match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Model(command) => model::run(command),
        Command::Inspect(args) => inspect::run(args),
        Command::Preprocess(args) => preprocess::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Manifest(command) => manifest::run(command),
        Command::Batch(args) => batch::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Score(args) => score::run(args),
        Command::Import(args) => import::run(args),
        Command::Studies(args) => studies::run(args),
        Command::Draft(args) => report_workflow::draft(args),
        Command::Edit(args) => report_workflow::edit(args),
        Command::Accept(args) => report_workflow::accept(args),
        Command::Sign(args) => report_workflow::sign(args),
        Command::Addendum(args) => report_workflow::addendum(args),
        Command::Export(args) => export::run(args),
        Command::Audit(command) => audit::run(command),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
