//! Reading `{id, hypothesis, reference}` pairs from JSONL or CSV; every problem names its line.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{EvalError, Result};

/// One pair to score.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub id: String,
    pub hypothesis: String,
    pub reference: String,
    /// 1-based line of the pair in its file.
    pub line: usize,
}

/// Read pairs: `.csv` files as CSV with a header naming `id`, `hypothesis`, `reference`; anything
/// else as JSON Lines (blank lines skipped). Ids must be unique (resuming relies on them).
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let pairs = if is_csv {
        read_csv(path)?
    } else {
        read_jsonl(path)?
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for pair in &pairs {
        if let Some(first) = seen.insert(&pair.id, pair.line) {
            return Err(EvalError::invalid_line(
                path,
                pair.line,
                format!("duplicate id {:?} (first on line {first})", pair.id),
            ));
        }
    }
    Ok(pairs)
}

fn read_jsonl(path: &Path) -> Result<Vec<Pair>> {
    let text = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    let mut pairs = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| EvalError::invalid_line(path, line, format!("not valid JSON: {e}")))?;
        let field = |name: &str| -> Result<String> {
            match value.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) if name == "id" => Ok(n.to_string()),
                Some(Value::Null) | None => Err(EvalError::invalid_line(
                    path,
                    line,
                    format!("missing \"{name}\" (each line needs \"id\", \"hypothesis\", \"reference\")"),
                )),
                Some(other) => Err(EvalError::invalid_line(
                    path,
                    line,
                    format!("\"{name}\" must be a string, found {other}"),
                )),
            }
        };
        if !value.is_object() {
            return Err(EvalError::invalid_line(
                path,
                line,
                "expected a JSON object",
            ));
        }
        pairs.push(Pair {
            id: field("id")?,
            hypothesis: field("hypothesis")?,
            reference: field("reference")?,
            line,
        });
    }
    Ok(pairs)
}

fn read_csv(path: &Path) -> Result<Vec<Pair>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| EvalError::invalid_file(path, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| EvalError::invalid_line(path, 1, e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                EvalError::invalid_line(
                    path,
                    1,
                    format!(
                        "the header has no \"{name}\" column (needs id, hypothesis, reference)"
                    ),
                )
            })
    };
    let (id, hyp, reference) = (column("id")?, column("hypothesis")?, column("reference")?);
    let mut pairs = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            EvalError::invalid_line(path, line, format!("malformed CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let get = |i: usize| record.get(i).unwrap_or("").to_owned();
        pairs.push(Pair {
            id: get(id),
            hypothesis: get(hyp),
            reference: get(reference),
            line,
        });
    }
    Ok(pairs)
}
