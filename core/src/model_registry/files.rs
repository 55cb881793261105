//! The model registry's file side: the sha256 of every file of a checkpoint directory, one
//! combined weights hash that identifies the model in every draft, and the check that nothing
//! changed since registration. The records themselves live in the study store.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no files to register")]
    Empty(PathBuf),
}

/// The sha256 (hex) of each regular file directly inside a checkpoint directory, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHashes(pub BTreeMap<String, String>);

impl FileHashes {
    /// One hash over all file names and hashes: what a draft records as the model's identity.
    pub fn combined(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, hash) in &self.0 {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(hash.as_bytes());
            hasher.update([b'\n']);
        }
        hex(&hasher.finalize())
    }
}

/// A difference between the registered files and the directory now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FileChange {
    Modified { file: String },
    Missing { file: String },
    Added { file: String },
}

impl std::fmt::Display for FileChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Modified { file } => write!(f, "{file}: contents changed"),
            Self::Missing { file } => write!(f, "{file}: missing"),
            Self::Added { file } => write!(f, "{file}: not present at registration"),
        }
    }
}

/// Hashes every regular file in `dir` (not recursing; hidden files are skipped). `on_bytes`
/// receives the number of bytes hashed so far, for a progress bar.
pub fn hash_dir(dir: &Path, mut on_bytes: impl FnMut(u64)) -> Result<FileHashes, RegistryError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RegistryError::Io { path, source }
    };
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && path.is_file() {
            names.push((name, path));
        }
    }
    if names.is_empty() {
        return Err(RegistryError::Empty(dir.to_path_buf()));
    }
    names.sort();
    let mut hashes = BTreeMap::new();
    let mut done = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    for (name, path) in names {
        let mut file = std::fs::File::open(&path).map_err(io(&path))?;
        let mut hasher = Sha256::new();
        loop {
            let n = file.read(&mut buffer).map_err(io(&path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            done += n as u64;
            on_bytes(done);
        }
        hashes.insert(name, hex(&hasher.finalize()));
    }
    Ok(FileHashes(hashes))
}

/// Total size of the files [`hash_dir`] would read.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// What changed between `registered` and `now`, in file-name order.
pub fn compare(registered: &FileHashes, now: &FileHashes) -> Vec<FileChange> {
    let mut changes = Vec::new();
    for (file, hash) in &registered.0 {
        match now.0.get(file) {
            None => changes.push(FileChange::Missing { file: file.clone() }),
            Some(h) if h != hash => changes.push(FileChange::Modified { file: file.clone() }),
            Some(_) => {}
        }
    }
    for file in now.0.keys() {
        if !registered.0.contains_key(file) {
            changes.push(FileChange::Added { file: file.clone() });
        }
    }
    changes.sort_by(|a, b| file_of(a).cmp(file_of(b)));
    changes
}

fn file_of(change: &FileChange) -> &str {
    match change {
        FileChange::Modified { file }
        | FileChange::Missing { file }
        | FileChange::Added { file } => file,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_sha256_and_changes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), b"abc").unwrap();
        std::fs::write(dir.path().join("model.safetensors"), b"").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        let mut seen = 0;
        let before = hash_dir(dir.path(), |n| seen = n).unwrap();
        assert_eq!(seen, 3);
        assert_eq!(
            before.0["config.json"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            before.0["model.safetensors"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(before.0.len(), 2);

        std::fs::write(dir.path().join("config.json"), b"abd").unwrap();
        std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
        let after = hash_dir(dir.path(), |_| {}).unwrap();
        assert_ne!(before.combined(), after.combined());
        assert_eq!(
            compare(&before, &after),
            vec![
                FileChange::Modified {
                    file: "config.json".into()
                },
                FileChange::Missing {
                    file: "model.safetensors".into()
                },
                FileChange::Added {
                    file: "tokenizer.json".into()
                },
            ]
        );
        assert!(compare(&after, &after).is_empty());
    }

    #[test]
    fn an_empty_or_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            hash_dir(dir.path(), |_| {}),
            Err(RegistryError::Empty(_))
        ));
        assert!(matches!(
            hash_dir(&dir.path().join("nope"), |_| {}),
            Err(RegistryError::Io { .. })
        ));
    }
}
