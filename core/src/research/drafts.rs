//! Drafts files: the append-only JSON Lines output of `raddraft batch`, one row per study.
//!
//! Each row is written with one `write` and then `fsync`ed, so a killed run (SIGKILL, node
//! failure) loses at most the study in flight, plus possibly an unterminated last line. Resuming
//! reads the rows back, cuts off such a line, and skips the ids already there. A study that failed
//! is a row too, with `error` instead of `hypothesis`, so one bad image never stops a run; to
//! retry failures, delete their lines (`grep -v '"error"'`) and resume.

use std::io::Write;
use std::path::{Path, PathBuf};

use raddraft_eval::jsonl::{self, JsonlError, ResumePoint, TornTail};
use serde::{Deserialize, Serialize};

use crate::drafting::DraftTimings;
use crate::research::ResearchError;

/// One drafted (or failed) study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftRow {
    pub id: String,
    /// FINDINGS + IMPRESSION of the generated text ([`crate::research::sections::hypothesis_text`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<String>,
    /// Why this study has no draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The model as given to `--model`.
    pub model: String,
    /// `K/N`.
    pub shard: String,
    /// Generated tokens (including a final end-of-sequence token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<usize>,
    /// The generated token ids, so a run can be compared token for token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ids: Option<Vec<u32>>,
    /// `eos` or `max_new_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The decoded text as generated, before section extraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<DraftTimings>,
}

impl DraftRow {
    /// A row for a study that could not be drafted.
    pub fn failure(id: &str, model: &str, shard: &str, error: String) -> DraftRow {
        DraftRow {
            id: id.to_owned(),
            hypothesis: None,
            error: Some(error),
            model: model.to_owned(),
            shard: shard.to_owned(),
            tokens: None,
            token_ids: None,
            finish_reason: None,
            image: None,
            prompt: None,
            generated_text: None,
            timings: None,
        }
    }
}

/// Rows read from a drafts file.
#[derive(Debug, Clone, Default)]
pub struct DraftFile {
    /// Rows with their 1-based line numbers.
    pub rows: Vec<(usize, DraftRow)>,
    /// Byte length of an unterminated last line that does not parse (an interrupted write).
    pub partial_tail: Option<usize>,
    /// Where a resumed run continues the file.
    resume: ResumePoint,
}

/// Reads a drafts file. A malformed complete line is an error naming it; an unterminated last
/// line that does not parse is reported in [`DraftFile::partial_tail`].
pub fn read_drafts(path: &Path) -> Result<DraftFile, ResearchError> {
    let file = jsonl::read::<DraftRow>(path, TornTail::Allow).map_err(|e| match e {
        JsonlError::Io(e) => ResearchError::io(path, e),
        JsonlError::Malformed { line, source } => ResearchError::line(
            path,
            line,
            format!("not a row written by `raddraft batch` ({source})"),
        ),
    })?;
    Ok(DraftFile {
        rows: file.rows,
        partial_tail: file.torn_tail,
        resume: file.resume,
    })
}

/// Whether an existing output file may be continued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Start a new file; an existing non-empty one is an error.
    Create,
    /// Continue an existing file (or start one).
    Resume,
}

/// Appends rows to a drafts file, each flushed and synced to disk.
pub struct DraftWriter {
    path: PathBuf,
    file: std::fs::File,
}

impl DraftWriter {
    /// Opens `path` for appending and returns what it already holds. With [`OpenMode::Resume`]
    /// an interrupted last line is cut off (and a missing final newline added) before writing.
    pub fn open(path: &Path, mode: OpenMode) -> Result<(DraftWriter, DraftFile), ResearchError> {
        let existing = match std::fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => {
                if mode == OpenMode::Create {
                    return Err(ResearchError::file(
                        path,
                        "already exists; pass --resume to continue it, or choose another --out",
                    ));
                }
                read_drafts(path)?
            }
            _ => DraftFile::default(),
        };
        let file = jsonl::open_for_append(path, existing.resume)
            .map_err(|e| ResearchError::io(path, e))?;
        Ok((
            DraftWriter {
                path: path.to_path_buf(),
                file,
            },
            existing,
        ))
    }

    /// Appends one row with a single write, then syncs it to disk.
    pub fn append(&mut self, row: &DraftRow) -> Result<(), ResearchError> {
        let mut line = serde_json::to_vec(row)
            .map_err(|e| ResearchError::file(&self.path, format!("cannot serialise a row: {e}")))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| ResearchError::io(&self.path, e))
    }
}
