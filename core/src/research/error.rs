//! Errors of dataset-scale research runs: each names the file (and line) it is about and the fix.

use std::path::{Path, PathBuf};

/// How many ids an error message lists before it only counts the rest.
const LISTED_IDS: usize = 20;

/// Why a manifest, a drafts file or a merge could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResearchError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// One line (or CSV record) of a file is unusable.
    #[error("{path}, line {line}: {message}")]
    InvalidLine {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A file as a whole is unusable (missing column, wrong kind of file …).
    #[error("{path}: {message}")]
    InvalidFile { path: PathBuf, message: String },

    /// `--shard` is not `K/N` with `0 <= K < N`.
    #[error("--shard {spec:?}: {reason} (write K/N with 0 <= K < N, e.g. 0/4 for the first of 4 shards)")]
    InvalidShard { spec: String, reason: String },

    /// Shard files do not add up to the manifest.
    #[error("{}", describe_mismatch(.missing, .duplicates, .unknown))]
    IdMismatch {
        /// Manifest ids no file has.
        missing: Vec<String>,
        /// Ids found more than once, with where: `"id (A.jsonl line 3, B.jsonl line 7)"`.
        duplicates: Vec<String>,
        /// Ids in the files that the manifest does not have.
        unknown: Vec<String>,
    },
}

impl ResearchError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ResearchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        ResearchError::InvalidLine {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        ResearchError::InvalidFile {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

fn describe_mismatch(missing: &[String], duplicates: &[String], unknown: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{} manifest id(s) have no row: {} (run or resume the shard(s) that hold them)",
            missing.len(),
            list(missing)
        ));
    }
    if !duplicates.is_empty() {
        parts.push(format!(
            "{} id(s) appear more than once: {} (each id belongs to exactly one shard; was a file given twice, or a shard run with another --shard?)",
            duplicates.len(),
            list(duplicates)
        ));
    }
    if !unknown.is_empty() {
        parts.push(format!(
            "{} id(s) are not in the manifest: {} (were the drafts made from another manifest?)",
            unknown.len(),
            list(unknown)
        ));
    }
    parts.join("; ")
}

fn list(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(LISTED_IDS).map(String::as_str).collect();
    let rest = ids.len().saturating_sub(LISTED_IDS);
    if rest > 0 {
        format!("{} and {rest} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
