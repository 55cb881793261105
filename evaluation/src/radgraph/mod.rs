//! RadGraph inference identical to the `radgraph` package 0.1.18 (`RadGraph(...)(reports)`), CPU:
//! weights read with candle's pickle reader; the BERT encoder ([`bert`]) on `gemm`'s f32 kernels
//! or, on CPUs with AMX, on f32-accurate split-bf16 tile products; the DyGIE heads on plain
//! buffers ([`dygie`]).
//!
//! Pipeline: preprocessing (v1 regex or XL `wordpunct`) → per-word WordPiece → `[CLS] … [SEP]`
//! folded into `max_length` segments → BERT once per segment → word vector = mean of its pieces →
//! all spans of width ≤ `max_span_width` → NER with a null logit of 0 → mention scores, top
//! `ceil(0.5·words)` spans → relation labels for every ordered pair → the package's JSON.
//!
//! Deliberate differences, all documented: a report with zero words (e.g. only whitespace) crashes
//! the package; here it yields a graph without entities. Decisions are identical except at
//! near-ties of the f32 logits (|margin| ≲ 1e-5), where PyTorch and this code may round
//! differently.

pub mod archive;
pub mod bert;
pub mod config;
pub mod dygie;
pub mod graph;
pub mod preprocess;
pub mod weights;
mod word_chars;
pub mod wordpiece;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{EvalError, Result};
pub use archive::{EncoderFiles, ModelFiles};
pub use bert::Matmul;
use bert::{BertConfig, BertEncoder};
pub use config::{ArchiveConfig, Labels};
use dygie::{DygieHeads, Predictions};
pub use graph::{Entity, Graph};
pub use preprocess::Preprocessing;
use weights::StateDict;
use wordpiece::{IndexedWords, WordPieces};

/// The reference implementation these results reproduce.
pub const REFERENCE_PACKAGE: &str = "radgraph 0.1.18 (PyPI)";

/// The two checkpoints the CLI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Variant {
    /// `radgraph` (PubMedBERT/BiomedBERT encoder, v1 preprocessing).
    V1,
    /// `radgraph-xl` (CXR-BERT encoder, wordpunct preprocessing).
    Xl,
}

impl Variant {
    /// The package's `model_type` (and label-namespace prefix).
    pub fn model_type(self) -> &'static str {
        match self {
            Variant::V1 => "radgraph",
            Variant::Xl => "radgraph-xl",
        }
    }
}

/// Options for [`RadGraph::load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Which label namespaces to use; inferred from the archive's vocabulary when it holds one.
    pub model_type: Option<String>,
    /// The encoder's tokenizer/config directory, overriding the search of [`ModelFiles::resolve_encoder`].
    pub encoder_dir: Option<PathBuf>,
    /// The kernels of the encoder's dense layers.
    pub matmul: Matmul,
}

/// Where a loaded model came from; stated in every output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provenance {
    pub model_type: String,
    pub source: PathBuf,
    pub sha256: String,
    pub encoder: PathBuf,
    pub reference: &'static str,
    /// The encoder's dense-layer kernels (`f32`, `amx-bf16x6` or `amx-bf16x3`).
    pub matmul: &'static str,
}

/// A loaded RadGraph model.
pub struct RadGraph {
    preprocessing: Preprocessing,
    max_length: usize,
    wordpieces: WordPieces,
    encoder: BertEncoder,
    heads: DygieHeads,
    labels: Labels,
    provenance: Provenance,
}

/// A decision margin below this (a logit difference) marks a near-tie: PyTorch and raddraft, or
/// the package on other hardware, may round it either way.
pub const NEAR_TIE_MARGIN: f32 = 1e-4;

/// A report's graph and how close its decisions came to going the other way.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub graph: Graph,
    /// The smallest margin of any decision that can change the graph: a span's label, an
    /// entity's side of the top-k boundary, a label between two kept entities. `INFINITY` when
    /// there are none.
    pub decision_margin: f32,
}

/// Intermediate values of one annotation, for parity diagnostics.
#[derive(Debug, Clone)]
pub struct Trace {
    pub words: Vec<String>,
    pub indexed: IndexedWords,
    pub word_vectors: Vec<Vec<f32>>,
    pub predictions: Predictions,
    pub graph: Graph,
}

/// Worker threads: `RAYON_NUM_THREADS` or the available cores, as candle decides.
fn worker_threads() -> usize {
    candle_core::utils::get_num_threads()
}

impl RadGraph {
    /// Load a model directory or `.tar.gz` in the public archive layout.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Self> {
        let files = ModelFiles::open(path)?;
        let config = ArchiveConfig::from_json(&files.config, &files.config_path)?;
        let available = Labels::model_types(&files.vocabulary);
        let model_type = match &options.model_type {
            Some(t) => t.clone(),
            None => match available.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(EvalError::NotAModel {
                        path: path.to_owned(),
                        message: format!(
                            "cannot tell the model type: NER label namespaces for [{}]; choose one",
                            available.join(", ")
                        ),
                    })
                }
            },
        };
        let labels = Labels::read(&files.vocabulary, &model_type, &files.source)?;
        // radgraph 0.1.18: only "radgraph" uses the v1 regex; every other type the XL path.
        let preprocessing = if model_type == "radgraph" {
            Preprocessing::V1
        } else {
            Preprocessing::Xl
        };
        let tokenizer_files =
            files.resolve_encoder(&config.tokenizer_model_name, options.encoder_dir.as_deref())?;
        let encoder_files = if config.encoder_model_name == config.tokenizer_model_name {
            tokenizer_files.clone()
        } else {
            files.resolve_encoder(&config.encoder_model_name, options.encoder_dir.as_deref())?
        };
        let bert_config: BertConfig =
            serde_json::from_slice(&encoder_files.config).map_err(|e| {
                EvalError::invalid_line(
                    encoder_files.location.join("config.json"),
                    e.line(),
                    e.to_string(),
                )
            })?;
        let wordpieces = WordPieces::new(&tokenizer_files)?;
        let mut state = StateDict::load(&files.weights)?;
        let encoder = BertEncoder::new(bert_config, &mut state, options.matmul)?;
        if config.max_length > encoder.max_positions() {
            return Err(EvalError::invalid_file(
                &files.config_path,
                format!(
                    "max_length {} exceeds the encoder's {} positions",
                    config.max_length,
                    encoder.max_positions()
                ),
            ));
        }
        let heads = DygieHeads::load(&state, &config, &labels, &model_type, encoder.hidden_size())?;
        let matmul = encoder.matmul().name();
        Ok(RadGraph {
            preprocessing,
            max_length: config.max_length,
            wordpieces,
            encoder,
            heads,
            labels,
            provenance: Provenance {
                model_type,
                source: files.source.clone(),
                sha256: files.sha256.clone(),
                encoder: tokenizer_files.location,
                reference: REFERENCE_PACKAGE,
                matmul,
            },
        })
    }

    /// The package's `model_type` in use.
    pub fn model_type(&self) -> &str {
        &self.provenance.model_type
    }

    /// Where the model came from.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The words the model sees for `text` (after the package's `""` → `"None"`).
    pub fn words(&self, text: &str) -> Vec<String> {
        let text = if text.is_empty() { "None" } else { text };
        preprocess::words(text, self.preprocessing)
    }

    /// Annotate one report, as `RadGraph(model_type)([text])["0"]`.
    pub fn annotate(&self, text: &str) -> Result<Graph> {
        Ok(self
            .annotate_many(&[text])?
            .pop()
            .expect("one graph per text"))
    }

    /// Annotate several reports; the encoder runs on batches of segments of similar length.
    pub fn annotate_many<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Graph>> {
        Ok(self
            .annotate_with_margins(texts)?
            .into_iter()
            .map(|a| a.graph)
            .collect())
    }

    /// As [`annotate_many`](Self::annotate_many), with each graph's smallest decision margin.
    pub fn annotate_with_margins<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Annotation>> {
        let prepared = texts
            .iter()
            .map(|t| {
                let words = self.words(t.as_ref());
                let indexed = self.wordpieces.index(&words, self.max_length)?;
                Ok((words, indexed))
            })
            .collect::<Result<Vec<_>>>()?;
        let hidden = self.encode(prepared.iter().map(|(_, indexed)| indexed))?;
        // The heads of different reports are independent: spread them over the workers.
        let results: Mutex<Vec<Option<Result<Annotation>>>> =
            Mutex::new((0..prepared.len()).map(|_| None).collect());
        let next = AtomicUsize::new(0);
        let workers = worker_threads().min(prepared.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((words, indexed)) = prepared.get(i) else {
                        break;
                    };
                    let graph = self
                        .heads
                        .predict(
                            &self.word_vectors(indexed, &hidden[i]),
                            indexed.offsets.len(),
                        )
                        .map(|predictions| Annotation {
                            graph: self.graph(words, &predictions),
                            decision_margin: predictions.decision_margin,
                        });
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(graph);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every report processed"))
            .collect()
    }

    /// Annotate one report and keep the intermediate values.
    pub fn trace(&self, text: &str) -> Result<Trace> {
        let words = self.words(text);
        let indexed = self.wordpieces.index(&words, self.max_length)?;
        let hidden = self
            .encode(std::iter::once(&indexed))?
            .pop()
            .expect("one report");
        let vectors = self.word_vectors(&indexed, &hidden);
        let predictions = self.heads.predict(&vectors, indexed.offsets.len())?;
        let graph = self.graph(&words, &predictions);
        Ok(Trace {
            word_vectors: vectors
                .chunks(self.encoder.hidden_size())
                .map(<[f32]>::to_vec)
                .collect(),
            words,
            indexed,
            predictions,
            graph,
        })
    }

    /// Run the encoder on every segment of every report; per report, the hidden states of its
    /// segment interiors concatenated, as a flat `(pieces × H)` row-major buffer.
    fn encode<'a>(&self, reports: impl Iterator<Item = &'a IndexedWords>) -> Result<Vec<Vec<f32>>> {
        let reports: Vec<&IndexedWords> = reports.collect();
        let segments: Vec<&[u32]> = reports
            .iter()
            .flat_map(|r| r.segments.iter().map(Vec::as_slice))
            .collect();
        let mut hidden = self
            .encoder
            .forward(&segments, worker_threads())?
            .into_iter();
        let h = self.encoder.hidden_size();
        Ok(reports
            .iter()
            .map(|report| {
                let mut flat =
                    Vec::with_capacity(report.segments.iter().map(|s| s.len()).sum::<usize>() * h);
                for segment in &report.segments {
                    let output = hidden.next().expect("one output per segment");
                    // Drop the segment's own [CLS] and [SEP].
                    flat.extend_from_slice(&output[h..(segment.len() - 1) * h]);
                }
                flat
            })
            .collect())
    }

    /// Mean of each word's piece vectors; zeros for a word without pieces.
    fn word_vectors(&self, indexed: &IndexedWords, hidden: &[f32]) -> Vec<f32> {
        let h = self.encoder.hidden_size();
        let mut out = vec![0f32; indexed.offsets.len() * h];
        for (w, offset) in indexed.offsets.iter().enumerate() {
            if let Some((first, last)) = *offset {
                let row = &mut out[w * h..(w + 1) * h];
                for piece in first..=last {
                    for (acc, v) in row.iter_mut().zip(&hidden[piece * h..(piece + 1) * h]) {
                        *acc += v;
                    }
                }
                let count = (last - first + 1) as f32;
                for v in row.iter_mut() {
                    *v /= count;
                }
            }
        }
        out
    }

    /// The package's JSON (`get_entity`): entities in span order; a relation is kept only if its
    /// object span is an entity, and listed under its subject entity.
    fn graph(&self, words: &[String], predictions: &Predictions) -> Graph {
        let entity_spans: Vec<(usize, usize)> =
            predictions.entities.iter().map(|e| (e.0, e.1)).collect();
        let entities = predictions
            .entities
            .iter()
            .map(|&(start, end, label)| {
                let relations = predictions
                    .relations
                    .iter()
                    .filter(|(subject, _, _)| *subject == (start, end))
                    .filter_map(|(_, object, label)| {
                        let object_index = entity_spans.iter().position(|s| s == object)?;
                        Some((
                            self.labels.relation[*label].clone(),
                            (object_index + 1).to_string(),
                        ))
                    })
                    .collect();
                Entity {
                    tokens: words[start..=end].join(" "),
                    label: self.labels.ner[label].clone(),
                    start_ix: start,
                    end_ix: end,
                    relations,
                }
            })
            .collect();
        Graph {
            entities,
            ..Graph::empty(words.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LoadOptions, Matmul, RadGraph};
    use std::path::Path;

    /// The encoder's output for a segment is the same bit for bit however many workers share
    /// the batch (the groups, and which segments share one, follow the worker count).
    #[test]
    fn encoder_output_does_not_depend_on_the_thread_count() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/radgraph");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join("expected/radgraph.json")).expect("fixture"),
        )
        .expect("JSON");
        for matmul in [Matmul::F32, Matmul::Auto] {
            let options = LoadOptions {
                matmul,
                ..LoadOptions::default()
            };
            let model =
                RadGraph::load(&fixtures.join("models/radgraph"), &options).expect("fixture model");
            let indexed: Vec<_> = expected["reports"]
                .as_array()
                .expect("reports")
                .iter()
                .map(|r| {
                    let words = model.words(r["text"].as_str().expect("text"));
                    model
                        .wordpieces
                        .index(&words, model.max_length)
                        .expect("indexed")
                })
                .collect();
            let segments: Vec<&[u32]> = indexed
                .iter()
                .flat_map(|r| r.segments.iter().map(Vec::as_slice))
                .collect();
            let one = model.encoder.forward(&segments, 1).expect("1 thread");
            // Up to one segment per group, the smallest products there are.
            for threads in [2, 3, 5, segments.len()] {
                let many = model.encoder.forward(&segments, threads).expect("threads");
                assert_eq!(one.len(), many.len());
                for (i, (a, b)) in one.iter().zip(&many).enumerate() {
                    let same = a.len() == b.len()
                        && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                    let kernels = model.provenance().matmul;
                    assert!(same, "{kernels}, {threads} threads: segment {i} differs");
                }
            }
        }
    }
}
