//! `raddraft model pull`: fetch a checkpoint from the Hugging Face Hub into the local cache, for
//! machines that are online. Workstations without a network register a directory instead; here
//! an unreachable Hub is a clear error, never a hang or a half-registered model.

use std::path::PathBuf;

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Repo, RepoType};

/// The files a checkpoint directory needs, besides its safetensors.
const CHECKPOINT_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "preprocessor_config.json",
    "model.safetensors.index.json",
];

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "cannot reach the Hugging Face Hub at {endpoint} ({detail}); raddraft works offline: copy \
         the checkpoint directory to this machine and run `raddraft model add DIR`"
    )]
    Unreachable { endpoint: String, detail: String },
    #[error(
        "the Hub refused {repo}: {detail} (gated models need an access token: --token or HF_TOKEN)"
    )]
    Refused { repo: String, detail: String },
    #[error("{repo} has no {what}")]
    NotACheckpoint { repo: String, what: &'static str },
}

/// Where the download went, ready for `raddraft model add`.
pub struct Pulled {
    pub dir: PathBuf,
    pub files: Vec<String>,
}

/// Downloads `repo` (e.g. `google/paligemma2-3b-pt-448`) at `revision` into `cache` (the Hub
/// cache layout) and returns the snapshot directory.
pub fn pull(
    repo: &str,
    revision: Option<&str>,
    token: Option<String>,
    endpoint: &str,
    cache: PathBuf,
) -> Result<Pulled, HubError> {
    let api = ApiBuilder::new()
        .with_endpoint(endpoint.to_string())
        .with_token(token)
        .with_cache_dir(cache)
        .with_progress(true)
        .build()
        .map_err(|e| HubError::Unreachable {
            endpoint: endpoint.to_string(),
            detail: e.to_string(),
        })?;
    let handle = api.repo(Repo::with_revision(
        repo.to_string(),
        RepoType::Model,
        revision.unwrap_or("main").to_string(),
    ));
    let info = handle.info().map_err(|e| classify(repo, endpoint, e))?;
    let names: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let wanted: Vec<&String> = names
        .iter()
        .filter(|n| CHECKPOINT_FILES.contains(&n.as_str()) || n.ends_with(".safetensors"))
        .collect();
    if !wanted.iter().any(|n| n.ends_with(".safetensors")) {
        return Err(HubError::NotACheckpoint {
            repo: repo.to_string(),
            what: "safetensors weights",
        });
    }
    let mut dir = None;
    for name in &wanted {
        let path = handle.get(name).map_err(|e| classify(repo, endpoint, e))?;
        dir = path.parent().map(PathBuf::from);
    }
    Ok(Pulled {
        dir: dir.ok_or(HubError::NotACheckpoint {
            repo: repo.to_string(),
            what: "files",
        })?,
        files: wanted.into_iter().cloned().collect(),
    })
}

fn classify(repo: &str, endpoint: &str, error: hf_hub::api::sync::ApiError) -> HubError {
    let detail = error.to_string();
    let refused = [
        "401",
        "403",
        "404",
        "Unauthorized",
        "Forbidden",
        "Not Found",
    ]
    .iter()
    .any(|code| detail.contains(code));
    if refused {
        HubError::Refused {
            repo: repo.to_string(),
            detail,
        }
    } else {
        HubError::Unreachable {
            endpoint: endpoint.to_string(),
            detail,
        }
    }
}
