//! Hyper-parameters and label vocabularies read from the archive, as radgraph 0.1.18 reads them
//! (`config.json` through `DotMap`, labels through AllenNLP's `Vocabulary.from_files`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{EvalError, Result};

/// Everything the DyGIE model needs from the archive's `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveConfig {
    /// `dataset_reader.token_indexers.bert.model_name`: where the tokenizer comes from.
    pub tokenizer_model_name: String,
    /// `model.embedder.token_embedders.bert.model_name`: where the encoder's config comes from.
    pub encoder_model_name: String,
    /// Segment length for folding long reports (`max_length`, 512 in the DyGIE++ template).
    pub max_length: usize,
    /// `dataset_reader.max_span_width`: widest span enumerated.
    pub max_span_width: usize,
    /// `model.max_span_width`: rows of the width embedding.
    pub num_width_embeddings: usize,
    /// `model.feature_size`: width embedding size.
    pub feature_size: usize,
    /// `model.feedforward_params.hidden_dims`, one per layer.
    pub feedforward_hidden_dims: Vec<usize>,
    /// `model.modules.relation.spans_per_word`.
    pub spans_per_word: f64,
}

impl ArchiveConfig {
    /// Read and check the config; anything the port does not reproduce is an error, not a guess.
    pub fn from_json(config: &Value, path: &Path) -> Result<Self> {
        let get = |pointer: &str| -> Result<&Value> {
            config.pointer(pointer).ok_or_else(|| {
                EvalError::invalid_file(path, format!("missing `{}`", pointer_to_dotted(pointer)))
            })
        };
        let string = |pointer: &str| -> Result<String> {
            get(pointer)?.as_str().map(str::to_owned).ok_or_else(|| {
                EvalError::invalid_file(
                    path,
                    format!("`{}` must be a string", pointer_to_dotted(pointer)),
                )
            })
        };
        let count = |pointer: &str| -> Result<usize> {
            get(pointer)?.as_u64().map(|v| v as usize).ok_or_else(|| {
                EvalError::invalid_file(
                    path,
                    format!(
                        "`{}` must be a non-negative integer",
                        pointer_to_dotted(pointer)
                    ),
                )
            })
        };
        let number = |pointer: &str| -> Result<f64> {
            get(pointer)?.as_f64().ok_or_else(|| {
                EvalError::invalid_file(
                    path,
                    format!("`{}` must be a number", pointer_to_dotted(pointer)),
                )
            })
        };

        let reader_length = count("/dataset_reader/token_indexers/bert/max_length")?;
        let embedder_length = count("/model/embedder/token_embedders/bert/max_length")?;
        if reader_length != embedder_length {
            return Err(EvalError::invalid_file(
                path,
                format!(
                    "the indexer's max_length ({reader_length}) differs from the embedder's \
                     ({embedder_length}); long reports would be folded inconsistently"
                ),
            ));
        }
        if reader_length < 3 {
            return Err(EvalError::invalid_file(
                path,
                "max_length must leave room for [CLS] and [SEP]",
            ));
        }
        let num_layers = count("/model/feedforward_params/num_layers")?;
        let hidden = get("/model/feedforward_params/hidden_dims")?;
        let feedforward_hidden_dims = match hidden {
            Value::Array(dims) => dims
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    EvalError::invalid_file(
                        path,
                        "`model.feedforward_params.hidden_dims` must hold integers",
                    )
                })?,
            other => vec![
                other.as_u64().ok_or_else(|| {
                    EvalError::invalid_file(
                        path,
                        "`model.feedforward_params.hidden_dims` must be an integer",
                    )
                })? as usize;
                num_layers
            ],
        };
        if feedforward_hidden_dims.len() != num_layers || num_layers == 0 {
            return Err(EvalError::invalid_file(
                path,
                "`model.feedforward_params`: hidden_dims must give one size per layer (num_layers ≥ 1)",
            ));
        }
        // Coreference propagation would rewrite the span embeddings; radgraph's archives use 0.
        if let Some(prop) = config
            .pointer("/model/modules/coref/coref_prop")
            .and_then(Value::as_f64)
        {
            if prop > 0.0 {
                return Err(EvalError::invalid_file(
                    path,
                    "coref_prop > 0 is not supported",
                ));
            }
        }
        for task in ["ner", "relation"] {
            let weight = number(&format!("/model/loss_weights/{task}"))?;
            if weight <= 0.0 {
                return Err(EvalError::invalid_file(
                    path,
                    format!("loss_weights.{task} is 0: the package would produce no {task} output"),
                ));
            }
        }
        let max_span_width = count("/dataset_reader/max_span_width")?;
        let num_width_embeddings = count("/model/max_span_width")?;
        if max_span_width == 0 || max_span_width > num_width_embeddings {
            return Err(EvalError::invalid_file(
                path,
                format!(
                    "dataset_reader.max_span_width ({max_span_width}) must be between 1 and \
                     model.max_span_width ({num_width_embeddings})"
                ),
            ));
        }
        Ok(ArchiveConfig {
            tokenizer_model_name: string("/dataset_reader/token_indexers/bert/model_name")?,
            encoder_model_name: string("/model/embedder/token_embedders/bert/model_name")?,
            max_length: reader_length,
            max_span_width,
            num_width_embeddings,
            feature_size: count("/model/feature_size")?,
            feedforward_hidden_dims,
            spans_per_word: number("/model/modules/relation/spans_per_word")?,
        })
    }
}

fn pointer_to_dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// NER and relation labels of one model type, by index.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Index 0 is the null label `""`.
    pub ner: Vec<String>,
    /// No null entry: predicted index = argmax − 1.
    pub relation: Vec<String>,
}

impl Labels {
    /// Labels of `model_type` from the archive's `vocabulary/` files.
    pub fn read(
        vocabulary: &BTreeMap<String, String>,
        model_type: &str,
        source: &Path,
    ) -> Result<Self> {
        let ner = namespace_tokens(vocabulary, &format!("{model_type}__ner_labels"), source)?;
        let relation = namespace_tokens(
            vocabulary,
            &format!("{model_type}__relation_labels"),
            source,
        )?;
        if ner.first().map(String::as_str) != Some("") {
            return Err(EvalError::invalid_file(
                source.join(format!("vocabulary/{model_type}__ner_labels.txt")),
                "the first NER label must be the empty null label",
            ));
        }
        Ok(Labels { ner, relation })
    }

    /// Model types with NER labels in the vocabulary (`<model_type>__ner_labels`).
    pub fn model_types(vocabulary: &BTreeMap<String, String>) -> Vec<String> {
        vocabulary
            .keys()
            .filter_map(|k| k.strip_suffix("__ner_labels").map(str::to_owned))
            .collect()
    }
}

/// AllenNLP `Vocabulary.set_from_file`: one token per line (`\n` or `\r\n`), a final empty line
/// dropped, `@@NEWLINE@@` → newline; padded namespaces get `@@PADDING@@` at index 0.
fn namespace_tokens(
    vocabulary: &BTreeMap<String, String>,
    namespace: &str,
    source: &Path,
) -> Result<Vec<String>> {
    let text = vocabulary
        .get(namespace)
        .ok_or_else(|| EvalError::NotAModel {
            path: source.to_owned(),
            message: format!(
                "vocabulary/{namespace}.txt is missing (namespaces present: {})",
                vocabulary.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
    let patterns: Vec<String> = vocabulary
        .get("non_padded_namespaces")
        .map(|t| t.lines().map(|l| l.trim().to_owned()).collect())
        .unwrap_or_default();
    let padded = !patterns.iter().any(|p| namespace_matches(p, namespace));
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut tokens = Vec::with_capacity(lines.len() + 1);
    if padded {
        tokens.push("@@PADDING@@".to_owned());
    }
    tokens.extend(lines.iter().map(|l| l.replace("@@NEWLINE@@", "\n")));
    Ok(tokens)
}

/// AllenNLP `namespace_match`: `*suffix` patterns or exact names.
fn namespace_matches(pattern: &str, namespace: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => namespace.ends_with(suffix),
        None => pattern == namespace,
    }
}
