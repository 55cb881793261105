//! Store errors: each names the database (file or redacted URL) or the record, and says what to do.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `DbLocation::parse` was given something that is neither a path nor a PostgreSQL URL.
    #[error("invalid database location {input:?}: {reason}")]
    InvalidLocation { input: String, reason: &'static str },

    /// The platform has no per-user data directory (no home directory).
    #[error(
        "no per-user data directory on this system for the default database: give a database path or postgres:// URL"
    )]
    NoDataDir,

    /// The folder that should hold the SQLite file could not be created.
    #[error("{path}: cannot create the database folder: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The existing file could not be read to check what it is.
    #[error("{path}: cannot read the database file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The existing file is not a SQLite database. It was left untouched.
    #[error(
        "{path}: not a SQLite database (bad header); it was left untouched: give the path of a raddraft database or of a file that does not exist yet"
    )]
    NotADatabase { path: PathBuf },

    /// The existing file is a SQLite database that fails its integrity check. It was left untouched.
    #[error(
        "{path}: the database is corrupt ({detail}); it was left untouched: restore it from a backup, or recover it with `sqlite3 {path} .recover`"
    )]
    Corrupt { path: PathBuf, detail: String },

    /// The database belongs to another application. It was left untouched.
    #[error(
        "{location}: this database belongs to another application ({detail}); it was left untouched: give raddraft its own database"
    )]
    Foreign { location: String, detail: String },

    /// The database was written by a newer raddraft whose schema this build does not know.
    #[error(
        "{location}: the database has schema version {found}, newer than this build of raddraft knows ({supported}): upgrade raddraft"
    )]
    NewerSchema {
        location: String,
        found: i64,
        supported: i64,
    },

    /// Bringing the schema up to date failed.
    #[error("{location}: cannot update the database schema: {source}")]
    Migrate {
        location: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// The database server or file could not be opened.
    #[error("{location}: cannot open the database: {source}")]
    Connect {
        location: String,
        #[source]
        source: sqlx::Error,
    },

    /// A query failed.
    #[error("{location}: {action} failed: {source}")]
    Database {
        location: String,
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A stored value cannot be read back (edited by hand, or written by incompatible software).
    #[error("{location}: {table} row {id}: {detail}")]
    BadRow {
        location: String,
        table: &'static str,
        id: i64,
        detail: String,
    },

    /// A caller-supplied field does not hold what it must.
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },

    /// No study has this study instance UID or id.
    #[error("no study {key} in the database: list the studies to see their ids and UIDs")]
    StudyNotFound { key: String },

    /// No model is registered under this name.
    #[error("no model named {name:?} is registered: add it first, or list the registered models")]
    ModelNotFound { name: String },

    /// A different model is already registered under this name.
    #[error(
        "a different model (directory or file hashes differ) is already registered as {name:?}: register this one under another name"
    )]
    ModelExists { name: String },

    /// No draft has this id.
    #[error("no draft {draft} in the database")]
    DraftNotFound { draft: i64 },

    /// A report version cites a draft of another study.
    #[error("draft {draft} is not a draft of study {study}: cite one of the study's own drafts")]
    DraftNotInStudy { draft: i64, study: String },

    /// `finish_draft` on a draft that has already finished.
    #[error("draft {draft} is already {status}: only a running draft can be finished")]
    DraftNotRunning { draft: i64, status: String },

    /// The study is signed: its report is final and can only be extended with addenda.
    #[error(
        "study {study} was signed by {signed_by} at {signed_at}; a signed report cannot change: add an addendum instead"
    )]
    Signed {
        study: String,
        signed_by: String,
        signed_at: DateTime<Utc>,
    },

    /// Addenda belong to signed reports only.
    #[error("study {study} is not signed yet: edit the report instead of adding an addendum")]
    NotSigned { study: String },

    /// Sign-off needs a report version.
    #[error("study {study} has no report to sign: write or draft a report first")]
    NothingToSign { study: String },

    /// The version being signed is not the study's latest one (someone saved a newer version).
    #[error(
        "study {study}: version {requested} is not the latest report (version {latest} is): review the latest version before signing"
    )]
    StaleVersion {
        study: String,
        requested: i64,
        latest: i64,
    },
}
