//! The report workflow on stored studies: `draft`, `edit`, `accept`, `sign`, `addendum`.
//!
//! Every step appends a report version (or a sign-off, or an addendum) to the store; nothing is
//! overwritten. Model text stays marked AI-generated until it is edited or accepted, and signing
//! refuses while unreviewed model text remains unless `--accept` says the signer reviewed it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::drafting::text::section_ranges;
use raddraft_core::drafting::{DraftEvent, DraftRequest, DraftService};
use raddraft_core::report_workflow::{
    accept_ai, begin_draft, fail_draft, finish_draft, provenance_of, save_edit, sign_report,
    unreviewed_ai_sentences, ReportingError,
};
use raddraft_core::store::{sha256_hex, NewImage, StudyKey};

use crate::db::{current_user, DbArgs, Session};
use crate::model_args::DraftSetup;

#[derive(ClapArgs)]
pub struct DraftArgs {
    /// A stored study (id or Study Instance UID), or a DICOM file, which is imported first.
    study: String,
    /// Clinical indication for the prompt; default: the one in the DICOM header.
    #[arg(long)]
    indication: Option<String>,
    /// The model must be registered (`raddraft model add`): every stored draft cites its files'
    /// hashes.
    #[command(flatten)]
    setup: DraftSetup,
}

#[derive(ClapArgs)]
pub struct EditArgs {
    /// Study id or Study Instance UID.
    study: String,
    /// Text file with the new report: "FINDINGS: … IMPRESSION: …".
    #[arg(long)]
    file: PathBuf,
    /// Author of the edit (default: the login name).
    #[arg(long)]
    by: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(ClapArgs)]
pub struct AcceptArgs {
    /// Study id or Study Instance UID.
    study: String,
    /// Who reviewed and accepted the model text (default: the login name).
    #[arg(long)]
    by: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(ClapArgs)]
pub struct SignArgs {
    /// Study id or Study Instance UID.
    study: String,
    /// The signing radiologist.
    #[arg(long)]
    by: String,
    /// Accept any model text not yet reviewed, as part of signing.
    #[arg(long)]
    accept: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(ClapArgs)]
pub struct AddendumArgs {
    /// Study id or Study Instance UID of a signed report.
    study: String,
    /// Text file with the addendum.
    #[arg(long)]
    file: PathBuf,
    #[arg(long)]
    by: String,
    #[command(flatten)]
    db: DbArgs,
}

pub fn draft(args: DraftArgs) -> Result<()> {
    let session = Session::open(&args.setup.db, &current_user())?;
    let store = &session.store;
    let study_key = study_or_import(&session, &args.study)?;
    let detail = session.run(store.study(study_key.clone()))?;
    let image = detail
        .images
        .first()
        .with_context(|| format!("study {} has no images", detail.study.study_uid))?;

    let resolved = args.setup.model.resolve(&args.setup.db, Some(&session))?;
    let model = resolved.record.clone().with_context(|| {
        format!(
            "{} is not a registered model: register it with `raddraft model add {}` first, \
             so the draft can cite its files",
            resolved.label,
            resolved.dir.display()
        )
    })?;
    let checkpoint = args.setup.model.load(&resolved)?;
    let demo_warning = checkpoint.demo_warning().map(str::to_string);
    let params = args.setup.drafting.params();
    let indication = args.indication.clone().or(detail.study.indication.clone());
    let running = session.run(begin_draft(
        store,
        study_key.clone(),
        &model,
        indication.clone(),
        &params,
    ))?;

    let service = DraftService::start(checkpoint);
    let request = DraftRequest::new(PathBuf::from(&image.path), indication, params);
    let mut shown = String::new();
    let result = service.draft_blocking(request, |event| {
        if let DraftEvent::Token { text, .. } = event {
            if let Some(new) = text.strip_prefix(shown.as_str()) {
                eprint!("{new}");
                let _ = std::io::stderr().flush();
            }
            shown = text.clone();
        }
    });
    eprintln!();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(message) => {
            session.run(fail_draft(store, running, &message))?;
            bail!("drafting failed: {message}");
        }
    };
    let version = session.run(finish_draft(
        store,
        study_key,
        running,
        &model.name,
        &outcome,
    ))?;
    let flagged = outcome.draft.provenance.low_confidence_count();
    println!("AI-GENERATED DRAFT: requires radiologist review");
    println!("FINDINGS: {}", outcome.draft.findings);
    println!("IMPRESSION: {}", outcome.draft.impression);
    println!(
        "stored as report version {} of study {}; {flagged} low-confidence sentence(s) flagged",
        version.number, detail.study.study_uid
    );
    if let Some(warning) = demo_warning {
        eprintln!("WARNING: {warning}");
    }
    Ok(())
}

pub fn edit(args: EditArgs) -> Result<()> {
    let author = args.by.unwrap_or_else(current_user);
    let session = Session::open(&args.db, &author)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let ((fs, fe), (is, ie)) = section_ranges(&text);
    let version = session.run(save_edit(
        &session.store,
        StudyKey::parse(&args.study),
        &text[fs..fe],
        &text[is..ie],
        &author,
    ))?;
    println!(
        "stored report version {}; {} unreviewed AI sentence(s) remain",
        version.number,
        unreviewed_ai_sentences(&provenance_of(&version)?)
    );
    Ok(())
}

pub fn accept(args: AcceptArgs) -> Result<()> {
    let author = args.by.unwrap_or_else(current_user);
    let session = Session::open(&args.db, &author)?;
    let version = session.run(accept_ai(
        &session.store,
        StudyKey::parse(&args.study),
        &author,
    ))?;
    println!("model text accepted in report version {}", version.number);
    Ok(())
}

pub fn sign(args: SignArgs) -> Result<()> {
    let session = Session::open(&args.db, &args.by)?;
    let signoff = session
        .run(sign_report(
            &session.store,
            StudyKey::parse(&args.study),
            &args.by,
            args.accept,
        ))
        .map_err(|e| match e {
            ReportingError::Unreviewed { count } => anyhow::anyhow!(
                "{count} AI-generated sentence(s) are not reviewed: edit or `raddraft accept` \
                 them, or sign with --accept to accept them as they are"
            ),
            other => other.into(),
        })?;
    println!(
        "signed by {} at {} (report version id {}, content sha256 {})",
        signoff.signer, signoff.signed_at, signoff.report_version_id.0, signoff.content_sha256
    );
    Ok(())
}

pub fn addendum(args: AddendumArgs) -> Result<()> {
    let session = Session::open(&args.db, &args.by)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let key = StudyKey::parse(&args.study);
    let added = session.run(session.store.add_addendum(key, text.trim(), &args.by))?;
    println!("addendum {} added by {}", added.0, args.by);
    Ok(())
}

/// The study named by `input`, importing it first when `input` is a file.
fn study_or_import(session: &Session, input: &str) -> Result<StudyKey> {
    let path = Path::new(input);
    if !path.is_file() {
        return Ok(StudyKey::parse(input));
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {input}"))?;
    let radiograph = raddraft_ingest::Radiograph::from_bytes(&bytes, path)?;
    let meta = radiograph.meta().context(
        "drafting a stored study needs a DICOM file (PNG/JPEG: use `raddraft generate`)",
    )?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let image = NewImage::from_meta(canonical, meta, sha256_hex(&bytes))?;
    let outcome = session.run(session.store.import_image(&image))?;
    Ok(StudyKey::Id(outcome.study_id))
}
