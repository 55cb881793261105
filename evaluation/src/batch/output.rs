//! Per-report output rows and the resumable JSONL writer (append, one flushed write per row).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::jsonl::{self, JsonlError, TornTail};
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
        let existing = if path.exists() {
            jsonl::read::<ReportRow>(path, TornTail::Allow)
                .map_err(|e| row_error(path, e, "; use another --out file"))?
        } else {
            jsonl::Rows::default()
        };
        let file =
            jsonl::open_for_append(path, existing.resume).map_err(|e| EvalError::io(path, e))?;
        Ok((
            RowWriter {
                path: path.to_owned(),
                file,
            },
            Resumed {
                rows: existing.rows.into_iter().map(|(_, row)| row).collect(),
                dropped_partial_line: existing.torn_tail,
            },
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
    let rows =
        jsonl::read::<ReportRow>(path, TornTail::Refuse).map_err(|e| row_error(path, e, ""))?;
    Ok(rows.rows.into_iter().map(|(_, row)| row).collect())
}

/// `error` reading `path`, which should hold rows written by `raddraft eval`; `advice` follows
/// the reason a line is not such a row.
fn row_error(path: &Path, error: JsonlError, advice: &str) -> EvalError {
    match error {
        JsonlError::Io(e) => EvalError::io(path, e),
        JsonlError::Malformed { line, source } => EvalError::invalid_line(
            path,
            line,
            format!("not a row written by `raddraft eval` ({source}){advice}"),
        ),
    }
}
