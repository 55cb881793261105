//! Where the study store lives: a SQLite file (the default, per user) or a PostgreSQL database.

use std::fmt;
use std::path::{Path, PathBuf};

use super::StoreError;

/// A database to open with [`Store::open`](super::Store::open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// An embedded SQLite file; created (with its folder) when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database shared by several workstations, as a `postgres://` URL.
    Postgres(String),
}

impl DbLocation {
    /// Reads a location as a user types it: `postgres://…` or `postgresql://…` is a PostgreSQL
    /// URL, `sqlite://PATH` or `sqlite:PATH` a SQLite file, anything else a SQLite file path.
    pub fn parse(input: &str) -> Result<DbLocation, StoreError> {
        let trimmed = input.trim();
        let invalid = |reason| StoreError::InvalidLocation {
            input: input.to_owned(),
            reason,
        };
        if trimmed.is_empty() {
            return Err(invalid("empty: give a file path or a postgres:// URL"));
        }
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            return Ok(DbLocation::Postgres(trimmed.to_owned()));
        }
        let path = trimmed
            .strip_prefix("sqlite://")
            .or_else(|| trimmed.strip_prefix("sqlite:"))
            .unwrap_or(trimmed);
        if path.is_empty() {
            return Err(invalid("the sqlite: location names no file"));
        }
        if path.contains("://") {
            return Err(invalid(
                "unsupported URL scheme: use a file path or a postgres:// URL",
            ));
        }
        Ok(DbLocation::Sqlite(PathBuf::from(path)))
    }

    /// `raddraft/raddraft.db` in the platform's per-user data folder
    /// (`~/.local/share` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows).
    pub fn default_sqlite() -> Result<DbLocation, StoreError> {
        let data = dirs::data_dir().ok_or(StoreError::NoDataDir)?;
        Ok(DbLocation::Sqlite(
            data.join("raddraft").join("raddraft.db"),
        ))
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DbLocation::Sqlite(path) => Some(path),
            DbLocation::Postgres(_) => None,
        }
    }
}

/// Shows the path, or the URL with its password replaced by `***` (safe for logs and errors).
impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Sqlite(path) => write!(f, "{}", path.display()),
            DbLocation::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

/// Hides the password of `scheme://user:password@host/…` and of a `password=` query parameter.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}
