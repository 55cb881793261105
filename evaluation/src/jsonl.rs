//! Append-only JSON Lines files that a killed run may leave with a torn last line: reading their
//! rows back, and preparing such a file so that a resumed run appends after its last complete row.
//!
//! Writers append one row per `write`, so an interruption can leave at most an unterminated last
//! line. Such a line that does not parse is the remains of that write, not bad data: it is
//! reported (or, for a strict reader, refused) and cut off on resume. A complete line that does not
//! parse is always an error, and the file is left as it is.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;

/// Why a JSON Lines file could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A line holds something other than a row (`line` is 1-based).
    #[error("line {line}: {source}")]
    Malformed {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// What to do with an unterminated last line that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TornTail {
    /// Report it in [`Rows::torn_tail`]: the file is being resumed or checked for completeness.
    Allow,
    /// A [`JsonlError::Malformed`] like any other line: the file should be complete.
    Refuse,
}

/// The rows of a JSON Lines file.
#[derive(Debug, Clone)]
pub struct Rows<T> {
    /// Rows with their 1-based line numbers; blank lines are skipped.
    pub rows: Vec<(usize, T)>,
    /// Byte length of an unterminated last line that does not parse (an interrupted write).
    pub torn_tail: Option<usize>,
    /// Where a resumed run continues the file.
    pub resume: ResumePoint,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            rows: Vec::new(),
            torn_tail: None,
            resume: ResumePoint::default(),
        }
    }
}

/// Where appending may continue a file: after its last complete row, on a line of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumePoint {
    /// The length to cut the file to: where its torn tail starts, if it has one.
    cut_at: Option<u64>,
    /// Whether what is kept ends without a newline, so that the next row would join the last.
    needs_newline: bool,
}

/// Reads every row of `path`.
pub fn read<T: DeserializeOwned>(path: &Path, torn_tail: TornTail) -> Result<Rows<T>, JsonlError> {
    parse(&std::fs::read(path)?, torn_tail)
}

/// The rows of a JSON Lines file's bytes.
pub fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    torn_tail: TornTail,
) -> Result<Rows<T>, JsonlError> {
    let mut rows = Rows::default();
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
            match serde_json::from_slice::<T>(raw) {
                Ok(row) => rows.rows.push((line, row)),
                Err(_) if end.is_none() && torn_tail == TornTail::Allow => {
                    keep = start;
                    rows.torn_tail = Some(raw.len());
                }
                Err(source) => return Err(JsonlError::Malformed { line, source }),
            }
        }
        start = end.map_or(bytes.len(), |e| e + 1);
    }
    rows.resume = ResumePoint {
        cut_at: rows.torn_tail.map(|_| keep as u64),
        needs_newline: keep > 0 && bytes[keep - 1] != b'\n',
    };
    Ok(rows)
}

/// Opens `path` for appending (creating it if need be) after cutting off the torn tail found when
/// `resume` was read and ending the last complete row with a newline.
pub fn open_for_append(path: &Path, resume: ResumePoint) -> std::io::Result<std::fs::File> {
    if let Some(len) = resume.cut_at {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(len)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if resume.needs_newline {
        file.write_all(b"\n")?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_reported_and_kept_out() {
        let rows = parse::<u32>(b"1\n\n2\n{\"x", TornTail::Allow).unwrap();
        assert_eq!(rows.rows, [(1, 1), (3, 2)]);
        assert_eq!(rows.torn_tail, Some(3));
        assert_eq!(
            rows.resume,
            ResumePoint {
                cut_at: Some(5),
                needs_newline: false
            }
        );
    }

    #[test]
    fn a_complete_last_row_without_newline_is_a_row() {
        let rows = parse::<u32>(b"1\n2", TornTail::Allow).unwrap();
        assert_eq!(rows.rows, [(1, 1), (2, 2)]);
        assert_eq!(rows.torn_tail, None);
        assert!(rows.resume.needs_newline);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let error = parse::<u32>(b"1\nx\n2\n", TornTail::Allow).unwrap_err();
        assert!(
            matches!(error, JsonlError::Malformed { line: 2, .. }),
            "{error}"
        );
        let error = parse::<u32>(b"1\n{\"x", TornTail::Refuse).unwrap_err();
        assert!(
            matches!(error, JsonlError::Malformed { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn resuming_cuts_the_torn_tail_and_ends_the_last_row() {
        let dir = std::env::temp_dir().join(format!("raddraft-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (before, after) in [
            (&b"1\n2\n{\"x"[..], &b"1\n2\n3\n"[..]),
            (b"1\n2", b"1\n2\n3\n"),
            (b"{\"x", b"3\n"),
        ] {
            let path = dir.join("rows.jsonl");
            std::fs::write(&path, before).unwrap();
            let rows = read::<u32>(&path, TornTail::Allow).unwrap();
            let mut file = open_for_append(&path, rows.resume).unwrap();
            file.write_all(b"3\n").unwrap();
            drop(file);
            assert_eq!(std::fs::read(&path).unwrap(), after);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
