//! Per-report output rows and the resumable JSONL writer (append, one flushed write per row).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::radgraph::Graph;

/// One scored pair, in the documented key order. RadGraph fields are `null` when RadGraph was
/// skipped; a graph is `null` for an empty report (the package never annotates those).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub id: String,
    pub rg_e: Option<f64>,
    pub rg_er: Option<f64>,
    pub rg_er_bar: Option<f64>,
    pub radgraph_f1: Option<f64>,
    pub bleu4: f64,
    #[serde(rename = "rougeL")]
    pub rouge_l: f64,
    pub hyp_graph: Option<Graph>,
    pub ref_graph: Option<Graph>,
    /// The smallest margin (a logit difference) of any RadGraph decision that shapes either
    /// graph; below [`NEAR_TIE_MARGIN`](crate::radgraph::NEAR_TIE_MARGIN) another implementation
    /// may decide it otherwise. `null` without RadGraph or without decisions (empty reports).
    #[serde(default)]
    pub rg_min_margin: Option<f64>,
}

/// Appends rows to `--out`, after reading back the rows a previous run wrote.
pub struct RowWriter {
    path: PathBuf,
    file: std::fs::File,
}

/// What was found in an existing output file.
pub struct Resumed {
    pub rows: Vec<ReportRow>,
    /// Bytes of an incomplete last line (an interrupted write) that were dropped, if any.
    pub dropped_partial_line: Option<usize>,
}

impl RowWriter {
    /// Open `path` for appending; rows already there are returned. A malformed complete line is an
    /// error (with its line number) and leaves the file untouched; an unterminated last line that
    /// does not parse is the remains of an interrupted write and is cut off.
    pub fn open(path: &Path) -> Result<(Self, Resumed)> {
        let mut resumed = Resumed {
            rows: Vec::new(),
            dropped_partial_line: None,
        };
        if path.exists() {
            let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
            let mut keep = bytes.len();
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
                    match serde_json::from_slice::<ReportRow>(raw) {
                        Ok(row) => resumed.rows.push(row),
                        Err(_) if end.is_none() => {
                            keep = start;
                            resumed.dropped_partial_line = Some(raw.len());
                        }
                        Err(e) => {
                            return Err(EvalError::invalid_line(
                                path,
                                line,
                                format!("not a row written by `raddraft eval` ({e}); use another --out file"),
                            ))
                        }
                    }
                }
                start = end.map_or(bytes.len(), |e| e + 1);
            }
            let needs_newline = keep > 0 && bytes[keep - 1] != b'\n';
            if keep < bytes.len() || needs_newline {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| EvalError::io(path, e))?;
                file.set_len(keep as u64)
                    .map_err(|e| EvalError::io(path, e))?;
                if needs_newline {
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .open(path)
                        .map_err(|e| EvalError::io(path, e))?;
                    file.write_all(b"\n").map_err(|e| EvalError::io(path, e))?;
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EvalError::io(path, e))?;
        Ok((
            RowWriter {
                path: path.to_owned(),
                file,
            },
            resumed,
        ))
    }

    /// Append one row with a single write, flushed to the operating system.
    pub fn write(&mut self, row: &ReportRow) -> Result<()> {
        let mut line = serde_json::to_vec(row).map_err(|e| EvalError::Invalid(e.to_string()))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| EvalError::io(&self.path, e))?;
        self.file.flush().map_err(|e| EvalError::io(&self.path, e))
    }
}

/// Read rows written by `raddraft eval --out` (for `--compare`).
pub fn read_rows(path: &Path) -> Result<Vec<ReportRow>> {
    let text = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    let mut rows = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = serde_json::from_slice(raw).map_err(|e| {
            EvalError::invalid_line(
                path,
                index + 1,
                format!("not a row written by `raddraft eval` ({e})"),
            )
        })?;
        rows.push(row);
    }
    Ok(rows)
}
