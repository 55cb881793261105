//! The model archive: the public scorer layout (`config.json`, `vocabulary/`, `weights.th`) read
//! from a directory or straight from the `.tar.gz`, plus the encoder's tokenizer/config resolved to
//! local files.
//!
//! radgraph 0.1.18 extracts `<model_type>.tar.gz` into its cache and reads these three entries; the
//! encoder's `config.json` and tokenizer come from the Hugging Face model named in the archive's
//! config (its weights come from `weights.th`). Here that name is resolved without any network:
//! an explicit directory, an `encoder/` folder beside `weights.th`, a local path, or the local
//! Hugging Face hub cache.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{EvalError, Result};

/// Files of one model, held in memory except the weights, which stay on disk (candle's pickle
/// reader needs a path).
#[derive(Debug)]
pub struct ModelFiles {
    /// The directory or `.tar.gz` the model was read from.
    pub source: PathBuf,
    /// Where `config.json` lives, for messages.
    pub config_path: PathBuf,
    /// The archive's AllenNLP training config.
    pub config: serde_json::Value,
    /// `vocabulary/<namespace>.txt` contents by namespace, plus `non_padded_namespaces.txt`.
    pub vocabulary: BTreeMap<String, String>,
    /// The state dict: `weights.th` (zip pickle) or `weights.safetensors`.
    pub weights: WeightsFile,
    /// SHA-256 of the `.tar.gz`, or of the weights file for a directory.
    pub sha256: String,
    /// Encoder files found inside the archive or the model directory (`encoder/…`).
    pub bundled_encoder: Option<EncoderFiles>,
}

/// The weights file on disk; a copy extracted from a `.tar.gz` is deleted on drop.
#[derive(Debug)]
pub struct WeightsFile {
    pub path: PathBuf,
    pub format: WeightsFormat,
    temporary: bool,
}

/// How the state dict is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// `torch.save` zip container, read with candle's pickle reader (no code execution).
    TorchZip,
    /// safetensors with the same tensor names.
    Safetensors,
}

impl Drop for WeightsFile {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The encoder's Hugging Face files: `config.json` and a tokenizer (`tokenizer.json` or `vocab.txt`).
#[derive(Debug, Clone)]
pub struct EncoderFiles {
    /// Where they were found, for messages and the output's provenance.
    pub location: PathBuf,
    pub config: Vec<u8>,
    pub tokenizer_json: Option<Vec<u8>>,
    pub vocab_txt: Option<Vec<u8>>,
    pub tokenizer_config: Option<Vec<u8>>,
}

const ENCODER_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
];

impl ModelFiles {
    /// Read a model from a directory or a `.tar.gz`.
    pub fn open(source: &Path) -> Result<Self> {
        let metadata = std::fs::metadata(source).map_err(|e| EvalError::io(source, e))?;
        if metadata.is_dir() {
            Self::open_dir(source)
        } else {
            Self::open_tar_gz(source)
        }
    }

    fn open_dir(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(EvalError::NotAModel {
                path: dir.to_owned(),
                message: "config.json is missing".into(),
            });
        }
        let config = parse_json(&config_path, &read_file(&config_path)?)?;
        let vocab_dir = dir.join("vocabulary");
        let mut vocabulary = BTreeMap::new();
        let entries = std::fs::read_dir(&vocab_dir).map_err(|_| EvalError::NotAModel {
            path: dir.to_owned(),
            message: "the vocabulary/ folder is missing".into(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| EvalError::io(&vocab_dir, e))?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(namespace) = vocabulary_namespace(name) {
                vocabulary.insert(namespace, read_text(&path)?);
            }
        }
        let weights = if dir.join("weights.th").is_file() {
            WeightsFile {
                path: dir.join("weights.th"),
                format: WeightsFormat::TorchZip,
                temporary: false,
            }
        } else if dir.join("weights.safetensors").is_file() {
            WeightsFile {
                path: dir.join("weights.safetensors"),
                format: WeightsFormat::Safetensors,
                temporary: false,
            }
        } else {
            return Err(EvalError::NotAModel {
                path: dir.to_owned(),
                message: "weights.th is missing".into(),
            });
        };
        let sha256 = sha256_file(&weights.path)?;
        let bundled_encoder = read_encoder_dir(&dir.join("encoder"))?;
        Ok(ModelFiles {
            source: dir.to_owned(),
            config_path,
            config,
            vocabulary,
            weights,
            sha256,
            bundled_encoder,
        })
    }

    fn open_tar_gz(archive: &Path) -> Result<Self> {
        let bytes = read_file(archive)?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let not_a_model = |message: String| EvalError::NotAModel {
            path: archive.to_owned(),
            message,
        };
        let decoder = flate2::read::GzDecoder::new(bytes.as_slice());
        let mut tar = tar::Archive::new(decoder);
        let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let entries = tar
            .entries()
            .map_err(|e| not_a_model(format!("not a readable .tar.gz ({e})")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| not_a_model(format!("not a readable .tar.gz ({e})")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()
                .map_err(|e| not_a_model(format!("bad member name ({e})")))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| not_a_model(format!("cannot read member {name} ({e})")))?;
            members.insert(name, data);
        }
        // The public archives hold the files at the root; accept one enclosing folder too.
        let prefix = if members.contains_key("config.json") {
            String::new()
        } else {
            let candidates: Vec<&String> = members
                .keys()
                .filter(|k| k.ends_with("/config.json") && k.matches('/').count() == 1)
                .collect();
            match candidates.as_slice() {
                [one] => one.trim_end_matches("config.json").to_owned(),
                _ => return Err(not_a_model("config.json is missing".into())),
            }
        };
        let member = |name: &str| members.get(&format!("{prefix}{name}"));
        let config_path = archive.join("config.json");
        let config = parse_json(&config_path, member("config.json").expect("checked above"))?;
        let mut vocabulary = BTreeMap::new();
        for (name, data) in &members {
            let Some(rest) = name.strip_prefix(&format!("{prefix}vocabulary/")) else {
                continue;
            };
            if let Some(namespace) = vocabulary_namespace(rest) {
                let text = String::from_utf8(data.clone())
                    .map_err(|_| EvalError::invalid_file(archive.join(name), "not UTF-8 text"))?;
                vocabulary.insert(namespace, text);
            }
        }
        if vocabulary.is_empty() {
            return Err(not_a_model("the vocabulary/ folder is missing".into()));
        }
        let (weights_name, format) = if member("weights.th").is_some() {
            ("weights.th", WeightsFormat::TorchZip)
        } else if member("weights.safetensors").is_some() {
            ("weights.safetensors", WeightsFormat::Safetensors)
        } else {
            return Err(not_a_model("weights.th is missing".into()));
        };
        let weights = write_temporary(
            member(weights_name).expect("checked above"),
            weights_name,
            format,
        )?;
        let bundled_encoder = {
            let get = |name: &str| member(&format!("encoder/{name}")).cloned();
            get("config.json").map(|config| EncoderFiles {
                location: archive.join("encoder"),
                config,
                tokenizer_json: get("tokenizer.json"),
                vocab_txt: get("vocab.txt"),
                tokenizer_config: get("tokenizer_config.json"),
            })
        };
        Ok(ModelFiles {
            source: archive.to_owned(),
            config_path,
            config,
            vocabulary,
            weights,
            sha256,
            bundled_encoder,
        })
    }

    /// Find the encoder's files for the Hugging Face model `name` (a hub id or a path).
    ///
    /// Order: `explicit`; `encoder/` in the model directory or archive; `encoder/` beside the
    /// `.tar.gz`; `name` as a path (absolute, relative to the model directory, or to the working
    /// directory); the local Hugging Face hub cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`,
    /// `~/.cache/huggingface/hub`).
    pub fn resolve_encoder(&self, name: &str, explicit: Option<&Path>) -> Result<EncoderFiles> {
        let mut searched = Vec::new();
        if let Some(dir) = explicit {
            return read_encoder_dir(dir)?.ok_or_else(|| EvalError::EncoderNotFound {
                name: name.to_owned(),
                config: self.config_path.clone(),
                searched: format!("{} (given explicitly; needs config.json)", dir.display()),
            });
        }
        if let Some(files) = &self.bundled_encoder {
            return Ok(files.clone());
        }
        let base = if self.source.is_dir() {
            searched.push(self.source.join("encoder"));
            self.source.clone()
        } else {
            let parent = self.source.parent().unwrap_or(Path::new(".")).to_owned();
            searched.push(self.source.join("encoder"));
            let beside = parent.join("encoder");
            if let Some(files) = read_encoder_dir(&beside)? {
                return Ok(files);
            }
            searched.push(beside);
            parent
        };
        let as_path = Path::new(name);
        let mut candidates = Vec::new();
        if as_path.is_absolute() {
            candidates.push(as_path.to_owned());
        } else {
            candidates.push(base.join(as_path));
            candidates.push(as_path.to_owned());
        }
        candidates.extend(hub_cache_snapshots(name));
        for candidate in candidates {
            if let Some(files) = read_encoder_dir(&candidate)? {
                return Ok(files);
            }
            searched.push(candidate);
        }
        Err(EvalError::EncoderNotFound {
            name: name.to_owned(),
            config: self.config_path.clone(),
            searched: searched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// `vocabulary/<namespace>.txt` → namespace; hidden files and the lock file are skipped.
fn vocabulary_namespace(file_name: &str) -> Option<String> {
    if file_name.starts_with('.') || file_name.contains('/') {
        return None;
    }
    // AllenNLP: namespace = file name with ".txt" removed.
    Some(file_name.replace(".txt", ""))
}

/// An encoder directory if it holds `config.json` and a tokenizer.
fn read_encoder_dir(dir: &Path) -> Result<Option<EncoderFiles>> {
    if !dir.join("config.json").is_file() {
        return Ok(None);
    }
    let mut found: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for name in ENCODER_FILES {
        let path = dir.join(name);
        if path.is_file() {
            found.insert(name, read_file(&path)?);
        }
    }
    if !found.contains_key("tokenizer.json") && !found.contains_key("vocab.txt") {
        return Err(EvalError::invalid_file(
            dir,
            "encoder folder has config.json but neither tokenizer.json nor vocab.txt",
        ));
    }
    Ok(Some(EncoderFiles {
        location: dir.to_owned(),
        config: found.remove("config.json").expect("checked above"),
        tokenizer_json: found.remove("tokenizer.json"),
        vocab_txt: found.remove("vocab.txt"),
        tokenizer_config: found.remove("tokenizer_config.json"),
    }))
}

/// Snapshot folders for hub id `org/name` in the local Hugging Face cache (newest ref first).
fn hub_cache_snapshots(name: &str) -> Vec<PathBuf> {
    if name.split('/').count() != 2 || name.starts_with('.') || name.starts_with('/') {
        return Vec::new();
    }
    let mut roots = Vec::new();
    if let Ok(dir) = std::env::var("HF_HUB_CACHE") {
        roots.push(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::var("HF_HOME") {
        roots.push(PathBuf::from(dir).join("hub"));
    }
    if let Ok(home) = std::env::var("HOME") {
        roots.push(PathBuf::from(home).join(".cache/huggingface/hub"));
    }
    let repo = format!("models--{}", name.replace('/', "--"));
    let mut snapshots = Vec::new();
    for root in roots {
        let repo_dir = root.join(&repo);
        if let Ok(main) = std::fs::read_to_string(repo_dir.join("refs/main")) {
            snapshots.push(repo_dir.join("snapshots").join(main.trim()));
        }
        if let Ok(entries) = std::fs::read_dir(repo_dir.join("snapshots")) {
            let mut others: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            others.sort();
            snapshots.extend(others);
        }
    }
    snapshots
}

fn write_temporary(data: &[u8], name: &str, format: WeightsFormat) -> Result<WeightsFile> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "raddraft-radgraph-{}-{nanos}-{name}",
        std::process::id()
    ));
    std::fs::write(&path, data).map_err(|e| EvalError::io(&path, e))?;
    Ok(WeightsFile {
        path,
        format,
        temporary: true,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| EvalError::io(path, e))
}

fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?).map_err(|_| EvalError::invalid_file(path, "not UTF-8 text"))
}

/// Parse JSON, reporting the line of a syntax error.
pub fn parse_json(path: &Path, bytes: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| EvalError::invalid_line(path, e.line(), format!("invalid JSON: {e}")))
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| EvalError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(|e| EvalError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
