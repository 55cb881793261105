//! RadGraph annotation of a draft and its comparison with a reference report, with the model
//! folder from the settings (loaded once, reloaded when the setting changes).

use std::path::PathBuf;
use std::sync::Arc;

use raddraft_eval::f1::compare::{compare_graphs, RadGraphComparison};
use raddraft_eval::radgraph::{Entity, Graph, LoadOptions, RadGraph};
use serde::Serialize;
use tauri::State;

use crate::error::{task_failed, CommandError, CommandResult};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct Annotation {
    pub entities: Vec<Entity>,
    pub available: bool,
    /// The annotator's words joined by single spaces; `start_ix`/`end_ix` index these words.
    /// Left out when no model is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[tauri::command]
pub async fn radgraph_annotate(
    state: State<'_, AppState>,
    text: String,
) -> CommandResult<Annotation> {
    let Some(model) = loaded_model(&state).await? else {
        return Ok(Annotation {
            entities: Vec::new(),
            available: false,
            text: None,
        });
    };
    let graph = annotate(model, text).await?;
    Ok(match graph {
        Some(graph) => Annotation {
            entities: graph.entities,
            available: true,
            text: Some(graph.text),
        },
        None => Annotation {
            entities: Vec::new(),
            available: true,
            text: Some(String::new()),
        },
    })
}

#[tauri::command]
pub async fn radgraph_score(
    state: State<'_, AppState>,
    hypothesis: String,
    reference: String,
) -> CommandResult<RadGraphComparison> {
    let model = loaded_model(&state).await?.ok_or_else(|| {
        CommandError::new(
            "radgraph_unavailable",
            "no RadGraph model folder is set: choose one in the settings",
        )
    })?;
    let hypothesis = annotate(model.clone(), hypothesis).await?;
    let reference = annotate(model, reference).await?;
    Ok(compare_graphs(hypothesis.as_ref(), reference.as_ref()))
}

/// The model of the configured folder; `None` when no folder is configured.
async fn loaded_model(state: &AppState) -> CommandResult<Option<Arc<RadGraph>>> {
    let Some(dir) = state
        .settings()
        .radgraph_model_dir
        .filter(|d| !d.trim().is_empty())
    else {
        return Ok(None);
    };
    let mut cached = state.radgraph.lock().await;
    if let Some((loaded_dir, model)) = cached.as_ref() {
        if *loaded_dir == dir {
            return Ok(Some(model.clone()));
        }
    }
    let path = PathBuf::from(&dir);
    let model = tauri::async_runtime::spawn_blocking(move || {
        RadGraph::load(&path, &LoadOptions::default())
    })
    .await
    .map_err(|e| task_failed("loading RadGraph", e))?
    .map_err(|e| {
        CommandError::new(
            "radgraph",
            format!(
                "cannot load the RadGraph model from {dir}: {e} (check the folder in the settings)"
            ),
        )
    })?;
    let model = Arc::new(model);
    *cached = Some((dir, model.clone()));
    Ok(Some(model))
}

/// `None` for blank text, which RadGraph never annotates.
async fn annotate(model: Arc<RadGraph>, text: String) -> CommandResult<Option<Graph>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    tauri::async_runtime::spawn_blocking(move || model.annotate(&text))
        .await
        .map_err(|e| task_failed("RadGraph", e))?
        .map(Some)
        .map_err(|e| CommandError::new("radgraph", e.to_string()))
}
