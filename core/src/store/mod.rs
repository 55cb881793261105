//! The study store: studies and their images, registered models, drafts, append-only report
//! versions, sign-offs, addenda and a hash-chained audit log, on SQLite or PostgreSQL.
//!
//! # Backends
//!
//! The embedded default is one SQLite file per user ([`DbLocation::default_sqlite`]); a department
//! whose workstations share a database gives a `postgres://` URL instead. Both run the same code:
//! [`DbPool`] is an enum over `SqlitePool` and `PgPool`, and every query is written once (with
//! `$1` placeholders, which SQLite accepts too) inside the `sql!` macro, which expands it once per
//! backend. This was chosen over `sqlx::Any` because each expansion is checked against its real
//! driver, so timestamps decode as `TIMESTAMPTZ` on PostgreSQL and as text on SQLite, and
//! transactions can start the way each backend needs. The schema is written twice, in
//! `core/migrations/sqlite` and `core/migrations/postgres`; both are embedded with
//! `sqlx::migrate!` and applied by [`Store::open`].
//!
//! # Guarantees
//!
//! * Every write goes through one transaction that holds the database's single writer lock from
//!   its start (`BEGIN IMMEDIATE` on SQLite, a transaction-scoped advisory lock on PostgreSQL) and
//!   appends its [`AuditEntry`] inside that transaction, so the audit hash chain never forks.
//! * A signed study is final: the API refuses new report versions, drafts, images and a second
//!   sign-off ([`StoreError::Signed`]), and addenda before sign-off ([`StoreError::NotSigned`]).
//!   Database triggers refuse the same changes from any other writer, and any UPDATE or DELETE of
//!   `signoffs`, `report_versions`, `addenda` and `audit_log`.
//! * An existing SQLite file is checked before anything writes to it (header, `application_id`,
//!   `PRAGMA quick_check`, schema version); a file that is not a raddraft database is left
//!   byte-for-byte untouched.
//! * SQLite runs with WAL, `foreign_keys=ON`, `synchronous=FULL` (a committed sign-off survives
//!   power loss) and a busy timeout, so several processes can share one local file. The file must
//!   be on a local disk: WAL does not work over network file systems; share through PostgreSQL.
//!
//! # Use
//!
//! ```no_run
//! # async fn demo(image: raddraft_core::store::NewImage) -> Result<(), raddraft_core::store::StoreError> {
//! use raddraft_core::store::{DbLocation, Store};
//! let store = Store::open(&DbLocation::default_sqlite()?).await?.with_actor("dr.jones");
//! let outcome = store.import_image(&image).await?;
//! for study in store.studies().await? {
//!     println!("{} {} {:?}", study.study.id, study.study.study_uid, study.status);
//! }
//! # let _ = outcome; Ok(()) }
//! ```

mod audit;
mod db;
mod drafts;
mod error;
mod ids;
mod location;
mod models;
mod reports;
mod schema;
mod studies;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

pub use audit::{
    audit_entry_hash, AuditEntry, ChainBreak, ChainProblem, ChainReport, GENESIS_HASH,
};
pub use db::DbPool;
pub use drafts::{Draft, DraftOutput, DraftStatus, NewDraft};
pub use error::StoreError;
pub use ids::{AddendumId, DraftId, ImageId, ModelId, SignOffId, StudyId, VersionId};
pub use location::DbLocation;
pub use models::{ModelRecord, NewModel};
pub use reports::{signed_content_sha256, Addendum, NewReportVersion, ReportVersion, SignOff};
pub use schema::SQLITE_APPLICATION_ID;
pub use studies::{
    Image, ImportOutcome, NewImage, NewStudy, Study, StudyDetail, StudyKey, StudyStatus,
    StudySummary,
};

use db::{ReadConn, WriteTx};

/// An open study store. Cheap to clone (the pool is shared); safe to use from many tasks.
#[derive(Debug, Clone)]
pub struct Store {
    pool: DbPool,
    location: Arc<str>,
    actor: Arc<str>,
}

impl Store {
    /// Opens (creating when missing) the database and brings its schema up to date.
    ///
    /// An existing SQLite file that is not a raddraft database is refused without being modified:
    /// [`StoreError::NotADatabase`], [`StoreError::Corrupt`], [`StoreError::Foreign`]; a database
    /// from a newer raddraft gives [`StoreError::NewerSchema`]. The audit actor defaults to the
    /// operating-system user (`$USER`/`$USERNAME`); see [`Store::with_actor`].
    pub async fn open(location: &DbLocation) -> Result<Store, StoreError> {
        let pool = match location {
            DbLocation::Sqlite(path) => DbPool::Sqlite(schema::open_sqlite(path).await?),
            DbLocation::Postgres(url) => {
                DbPool::Postgres(schema::open_postgres(url, &location.to_string()).await?)
            }
        };
        Ok(Store {
            pool,
            location: location.to_string().into(),
            actor: default_actor().into(),
        })
    }

    /// The name recorded as `actor` in the audit log for writes that carry no author of their own
    /// (imports, models, drafts). Report versions, sign-offs and addenda record their author.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Store {
        self.actor = actor.into().into();
        self
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The database, as shown in messages (a PostgreSQL password is masked).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The connection pool, for raw SQL (maintenance, tests). Writes made here bypass the audit log.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Closes every connection, for this store and its clones, waiting (up to two seconds) for
    /// connections in use; on SQLite the last one folds the write-ahead log into the file.
    pub async fn close(self) {
        match self.pool {
            DbPool::Sqlite(pool) => schema::close_sqlite(pool).await,
            DbPool::Postgres(pool) => pool.close().await,
        }
    }

    async fn write(&self) -> Result<WriteTx, StoreError> {
        WriteTx::begin(&self.pool)
            .await
            .map_err(|source| self.error("starting a write transaction", source))
    }

    async fn read(&self) -> Result<ReadConn, StoreError> {
        ReadConn::acquire(&self.pool)
            .await
            .map_err(|source| self.error("acquiring a connection", source))
    }

    async fn commit(&self, tx: WriteTx) -> Result<(), StoreError> {
        tx.commit()
            .await
            .map_err(|source| self.error("committing", source))
    }

    fn error(&self, action: &'static str, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            location: self.location.to_string(),
            action,
            source,
        }
    }
}

fn default_actor() -> String {
    ["USER", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The current time at the microsecond precision both backends store exactly, so that a value
/// read back equals the one hashed.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    format!("{:x}", Sha256::digest(bytes.as_ref()))
}
