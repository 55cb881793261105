//! Opening the study store for a subcommand: `--db` (or `RADDRAFT_DB`), the async runtime the
//! store runs on, and the acting user recorded in the audit log.

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use raddraft_core::store::{DbLocation, Store};

#[derive(ClapArgs, Debug, Clone)]
pub struct DbArgs {
    /// Study database: a SQLite file or a postgres://… URL. Default: raddraft.db in the
    /// platform data directory.
    #[arg(long, env = "RADDRAFT_DB", global = true)]
    pub db: Option<String>,
}

/// A store and the runtime its futures run on.
pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    pub store: Store,
}

impl Session {
    pub fn open(args: &DbArgs, actor: &str) -> Result<Session> {
        let location = match &args.db {
            Some(db) => DbLocation::parse(db)?,
            None => DbLocation::default_sqlite()?,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let store = runtime
            .block_on(Store::open(&location))
            .with_context(|| format!("cannot open the study database {location}"))?
            .with_actor(actor);
        Ok(Session { runtime, store })
    }

    pub fn run<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }
}

/// The login name, for audit entries of commands that take no `--by`.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
