//! Drafts files: the append-only JSON Lines output of `raddraft batch`, one row per study.
//!
//! Each row is written with one `write` and then `fsync`ed, so a killed run (SIGKILL, node
//! failure) loses at most the study in flight, plus possibly an unterminated last line. Resuming
//! reads the rows back, cuts off such a line, and skips the ids already there. A study that failed
//! is a row too, with `error` instead of `hypothesis`, so one bad image never stops a run; to
//! retry failures, delete their lines (`grep -v '"error"'`) and resume.

use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Bytes of the file up to the end of its last complete row.
    complete_len: usize,
    /// Whether the last complete row lacks its newline.
    missing_newline: bool,
}

/// Reads a drafts file. A malformed complete line is an error naming it; an unterminated last
/// line that does not parse is reported in [`DraftFile::partial_tail`].
pub fn read_drafts(path: &Path) -> Result<DraftFile, ResearchError> {
    let bytes = std::fs::read(path).map_err(|e| ResearchError::io(path, e))?;
    let mut file = DraftFile {
        complete_len: bytes.len(),
        ..DraftFile::default()
    };
    let mut start = 0;
    let mut line = 0;
    while start < bytes.len() {
        line += 1;
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| start + p);
        let raw = &bytes[start..end.unwrap_or(bytes.len())];
        if !raw.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<DraftRow>(raw) {
                Ok(row) => {
                    file.rows.push((line, row));
                    file.missing_newline = end.is_none();
                }
                Err(_) if end.is_none() => {
                    file.complete_len = start;
                    file.partial_tail = Some(raw.len());
                }
                Err(e) => {
                    return Err(ResearchError::line(
                        path,
                        line,
                        format!("not a row written by `raddraft batch` ({e})"),
                    ))
                }
            }
        }
        start = end.map_or(bytes.len(), |e| e + 1);
    }
    Ok(file)
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
                let existing = read_drafts(path)?;
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| ResearchError::io(path, e))?;
                if existing.partial_tail.is_some() {
                    file.set_len(existing.complete_len as u64)
                        .map_err(|e| ResearchError::io(path, e))?;
                }
                existing
            }
            _ => DraftFile::default(),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ResearchError::io(path, e))?;
        if existing.missing_newline {
            file.write_all(b"\n")
                .map_err(|e| ResearchError::io(path, e))?;
        }
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
