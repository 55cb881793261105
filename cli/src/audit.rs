//! `raddraft audit verify` checks the hash chain of the audit log; `raddraft audit log` prints it.

use anyhow::{bail, Result};
use clap::Subcommand;
use raddraft_core::store::StudyKey;

use crate::db::{current_user, DbArgs, Session};

#[derive(Subcommand)]
pub enum Command {
    /// Recompute every entry's hash and report the first break in the chain.
    Verify {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the audit log, optionally of one study.
    Log {
        #[arg(long)]
        study: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Verify { json, db } => {
            let session = Session::open(&db, &current_user())?;
            let report = session.run(session.store.verify_audit_chain())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            if let Some(problem) = &report.first_break {
                bail!(
                    "the audit chain is broken at entry {}: {}",
                    problem.seq,
                    serde_json::to_string(&problem.problem)?
                );
            }
            if !json {
                println!(
                    "audit chain intact: {} entries, last hash {}",
                    report.entries_checked, report.last_good_hash
                );
            }
            Ok(())
        }
        Command::Log { study, json, db } => {
            let session = Session::open(&db, &current_user())?;
            let key = study.as_deref().map(StudyKey::parse);
            let entries = session.run(session.store.audit_log(key))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in &entries {
                    println!(
                        "{:>6} {} {:<16} {:<24} {} {}",
                        e.seq,
                        e.at.to_rfc3339(),
                        e.actor,
                        e.action,
                        e.study_uid.as_deref().unwrap_or("-"),
                        e.details
                    );
                }
            }
            Ok(())
        }
    }
}
