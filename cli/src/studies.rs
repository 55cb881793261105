//! `raddraft studies`: the worklist, newest first, with each study's status.

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::db::{current_user, DbArgs, Session};

#[derive(ClapArgs)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: Args) -> Result<()> {
    let session = Session::open(&args.db, &current_user())?;
    let studies = session.run(session.store.studies())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&studies)?);
        return Ok(());
    }
    println!(
        "{:<5} {:<12} {:<24} {:<10} {:<5} {:<12} study uid",
        "id", "status", "patient", "date", "view", "accession"
    );
    for s in &studies {
        let st = &s.study;
        println!(
            "{:<5} {:<12} {:<24} {:<10} {:<5} {:<12} {}",
            st.id.0,
            s.status.as_str(),
            st.patient_name.as_deref().unwrap_or("-"),
            st.study_date.as_deref().unwrap_or("-"),
            st.view_position.as_deref().unwrap_or("-"),
            st.accession.as_deref().unwrap_or("-"),
            st.study_uid
        );
    }
    Ok(())
}
