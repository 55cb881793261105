//! The DyGIE++ heads of radgraph 0.1.18: spans, NER, mention pruning and relations.
//!
//! Span vector `g(s,e) = [x_s; x_e; W_width[e−s]]`. Its first feed-forward layer is applied as
//! `A·x_s + B·x_e + C·W_width[e−s] + b` with `A|B|C` the column blocks of the weight, computed once
//! per word and per width; likewise the relation layer on `[g_i; g_j; g_i∘g_j]` is
//! `P·g_i + Q·g_j + R·(g_i∘g_j) + b`. Same values as the concatenated products up to f32 rounding
//! order; decisions only change at near-ties, which the parity fixtures flag.

use candle_core::{Device, Module, Tensor};
use candle_nn::Linear;

use super::config::{ArchiveConfig, Labels};
use super::weights::StateDict;
use crate::error::{EvalError, Result};

/// AllenNLP `FeedForward` with ReLU after every layer (dropout is off at inference).
struct FeedForward {
    layers: Vec<Linear>,
    /// The first layer's weight split into column blocks, each transposed to `(width, out)`
    /// for `x·block`, made once at load.
    first_blocks: Vec<Tensor>,
}

impl FeedForward {
    /// `first_widths`: the column blocks of the first layer's input, summing to `input`.
    fn load(
        state: &StateDict,
        prefix: &str,
        input: usize,
        hidden: &[usize],
        first_widths: &[usize],
    ) -> Result<Self> {
        debug_assert_eq!(first_widths.iter().sum::<usize>(), input);
        let mut layers = Vec::with_capacity(hidden.len());
        let mut inp = input;
        for (i, &out) in hidden.iter().enumerate() {
            layers.push(linear(
                state,
                &format!("{prefix}._linear_layers.{i}"),
                out,
                inp,
            )?);
            inp = out;
        }
        let weight = layers[0].weight();
        let mut first_blocks = Vec::with_capacity(first_widths.len());
        let mut start = 0;
        for &width in first_widths {
            first_blocks.push(weight.narrow(1, start, width)?.t()?.contiguous()?);
            start += width;
        }
        Ok(FeedForward {
            layers,
            first_blocks,
        })
    }

    fn first_bias(&self) -> Tensor {
        self.layers[0].bias().expect("loaded with bias").clone()
    }

    /// Layers 1.. on the ReLU'd output of layer 0.
    fn rest(&self, mut x: Tensor) -> Result<Tensor> {
        for layer in &self.layers[1..] {
            x = layer.forward(&x)?.relu()?;
        }
        Ok(x)
    }

    fn output_dim(&self) -> usize {
        self.layers
            .last()
            .expect("at least one layer")
            .weight()
            .dims()[0]
    }
}

fn linear(state: &StateDict, prefix: &str, out: usize, inp: usize) -> Result<Linear> {
    Ok(Linear::new(
        state.get(&format!("{prefix}.weight"), &[out, inp])?,
        Some(state.get(&format!("{prefix}.bias"), &[out])?),
    ))
}

/// `(subject span, object span, relation label index)`; spans are `(start, end)` word indices.
pub type SpanRelation = ((usize, usize), (usize, usize), usize);

/// The predictions for one report, in the package's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// `(start, end, ner label index)` for every non-null span, in span order.
    pub entities: Vec<(usize, usize, usize)>,
    /// `(subject span, object span, relation label index)` in (i, j) order over the kept spans.
    pub relations: Vec<SpanRelation>,
    /// Indices (into span order) of the spans kept for relation scoring, ascending.
    pub top_spans: Vec<usize>,
}

/// Span extractor, NER tagger and relation extractor for one model type.
pub struct DygieHeads {
    max_span_width: usize,
    spans_per_word: f64,
    hidden: usize,
    feature_size: usize,
    width_embeddings: Tensor,
    ner_ff: FeedForward,
    ner_out: Linear,
    mention_ff: FeedForward,
    mention_out: Linear,
    relation_ff: FeedForward,
    relation_out: Linear,
}

impl DygieHeads {
    /// Load the heads for `model_type`, checking every shape against the config and labels.
    pub fn load(
        state: &StateDict,
        config: &ArchiveConfig,
        labels: &Labels,
        model_type: &str,
        hidden: usize,
    ) -> Result<Self> {
        let span_dim = 2 * hidden + config.feature_size;
        let dims = &config.feedforward_hidden_dims;
        let last = *dims.last().expect("checked non-empty");
        let ner = format!("_ner._ner_scorers.{model_type}__ner_labels");
        let mention = format!("_relation._mention_pruners.{model_type}__relation_labels._scorer");
        let span_blocks = [hidden, hidden, config.feature_size];
        let ner_ff = FeedForward::load(
            state,
            &format!("{ner}.0._module"),
            span_dim,
            dims,
            &span_blocks,
        )?;
        let ner_out = linear(
            state,
            &format!("{ner}.1._module"),
            labels.ner.len() - 1,
            last,
        )?;
        let mention_ff = FeedForward::load(
            state,
            &format!("{mention}.0._module"),
            span_dim,
            dims,
            &span_blocks,
        )?;
        let mention_out = linear(state, &format!("{mention}.1._module"), 1, last)?;
        let relation_ff = FeedForward::load(
            state,
            &format!("_relation._relation_feedforwards.{model_type}__relation_labels"),
            3 * span_dim,
            dims,
            &[span_dim, span_dim, span_dim],
        )?;
        let relation_out = linear(
            state,
            &format!("_relation._relation_scorers.{model_type}__relation_labels"),
            labels.relation.len(),
            relation_ff.output_dim(),
        )?;
        Ok(DygieHeads {
            max_span_width: config.max_span_width,
            spans_per_word: config.spans_per_word,
            hidden,
            feature_size: config.feature_size,
            width_embeddings: state.get(
                "_endpoint_span_extractor._span_width_embedding.weight",
                &[config.num_width_embeddings, config.feature_size],
            )?,
            ner_ff,
            ner_out,
            mention_ff,
            mention_out,
            relation_ff,
            relation_out,
        })
    }

    /// Spans in enumeration order: start ascending, then end ascending, width ≤ max_span_width.
    pub fn spans(&self, n_words: usize) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        for start in 0..n_words {
            for end in start..(start + self.max_span_width).min(n_words) {
                spans.push((start, end));
            }
        }
        spans
    }

    /// `k = ceil(n_words · spans_per_word)` computed in f32 as the package does, at least 1.
    pub fn spans_to_keep(&self, n_words: usize) -> usize {
        let k = ((n_words as f32) * (self.spans_per_word as f32)).ceil();
        (k as usize).max(1)
    }

    /// Predict entities and relations from word vectors `(n_words, H)`.
    pub fn predict(&self, words: &Tensor) -> Result<Predictions> {
        let (n_words, hidden) = words.dims2()?;
        if hidden != self.hidden {
            return Err(EvalError::Invalid(format!(
                "word vectors of size {hidden}, expected {}",
                self.hidden
            )));
        }
        if n_words == 0 {
            return Ok(Predictions {
                entities: Vec::new(),
                relations: Vec::new(),
                top_spans: Vec::new(),
            });
        }
        let spans = self.spans(n_words);
        let device = Device::Cpu;
        let starts = Tensor::from_vec(
            spans.iter().map(|s| s.0 as u32).collect::<Vec<_>>(),
            spans.len(),
            &device,
        )?;
        let ends = Tensor::from_vec(
            spans.iter().map(|s| s.1 as u32).collect::<Vec<_>>(),
            spans.len(),
            &device,
        )?;
        let widths = Tensor::from_vec(
            spans.iter().map(|s| (s.1 - s.0) as u32).collect::<Vec<_>>(),
            spans.len(),
            &device,
        )?;

        // NER: label = argmax over [0 (null), logits…], first maximum wins.
        let ner_hidden = self.span_first_layer(&self.ner_ff, words, &starts, &ends, &widths)?;
        let ner_logits: Vec<Vec<f32>> = self
            .ner_out
            .forward(&self.ner_ff.rest(ner_hidden)?)?
            .to_vec2()?;
        let mut entities = Vec::new();
        for (span, logits) in spans.iter().zip(&ner_logits) {
            let label = argmax_with_null(logits);
            if label > 0 {
                entities.push((span.0, span.1, label));
            }
        }

        // Mention scores and top-k pruning (k highest, re-sorted into span order).
        let mention_hidden =
            self.span_first_layer(&self.mention_ff, words, &starts, &ends, &widths)?;
        let mention_scores: Vec<f32> = self
            .mention_out
            .forward(&self.mention_ff.rest(mention_hidden)?)?
            .squeeze(1)?
            .to_vec1()?;
        let k = self.spans_to_keep(n_words).min(spans.len());
        let mut order: Vec<usize> = (0..spans.len()).collect();
        // Stable: among equal scores the earlier span ranks first.
        order.sort_by(|&a, &b| mention_scores[b].total_cmp(&mention_scores[a]));
        let mut top: Vec<usize> = order[..k].to_vec();
        top.sort_unstable();

        let relations = self.relations(words, &spans, &top, &mention_scores)?;
        Ok(Predictions {
            entities,
            relations,
            top_spans: top,
        })
    }

    /// ReLU(A·x_s + B·x_e + C·w + b) for every span.
    fn span_first_layer(
        &self,
        ff: &FeedForward,
        words: &Tensor,
        starts: &Tensor,
        ends: &Tensor,
        widths: &Tensor,
    ) -> Result<Tensor> {
        let blocks = &ff.first_blocks;
        let from_start = words.matmul(&blocks[0])?;
        let from_end = words.matmul(&blocks[1])?;
        let from_width = self.width_embeddings.matmul(&blocks[2])?;
        let sum = ((from_start.index_select(starts, 0)? + from_end.index_select(ends, 0)?)?
            + from_width.index_select(widths, 0)?)?;
        Ok(sum.broadcast_add(&ff.first_bias())?.relu()?)
    }

    /// Relation labels for every ordered pair of kept spans (self-pairs included).
    fn relations(
        &self,
        words: &Tensor,
        spans: &[(usize, usize)],
        top: &[usize],
        mention_scores: &[f32],
    ) -> Result<Vec<SpanRelation>> {
        let device = Device::Cpu;
        let k = top.len();
        let top_starts = Tensor::from_vec(
            top.iter().map(|&i| spans[i].0 as u32).collect::<Vec<_>>(),
            k,
            &device,
        )?;
        let top_ends = Tensor::from_vec(
            top.iter().map(|&i| spans[i].1 as u32).collect::<Vec<_>>(),
            k,
            &device,
        )?;
        let top_widths = Tensor::from_vec(
            top.iter()
                .map(|&i| (spans[i].1 - spans[i].0) as u32)
                .collect::<Vec<_>>(),
            k,
            &device,
        )?;
        // g for the kept spans: (k, 2H + F).
        let g = Tensor::cat(
            &[
                words.index_select(&top_starts, 0)?,
                words.index_select(&top_ends, 0)?,
                self.width_embeddings.index_select(&top_widths, 0)?,
            ],
            1,
        )?;
        let span_dim = 2 * self.hidden + self.feature_size;
        let blocks = &self.relation_ff.first_blocks;
        let from_subject = g.matmul(&blocks[0])?; // (k, hid)
        let from_object = g.matmul(&blocks[1])?; // (k, hid)
        let bias = self.relation_ff.first_bias();
        let g_rows: Vec<Vec<f32>> = g.to_vec2()?;

        let mut relations = Vec::new();
        // Rows of subjects in chunks, so the (pairs, 2H+F) product matrix stays small.
        let rows_per_chunk = (4096 / k.max(1)).max(1);
        let mut subject = 0;
        while subject < k {
            let rows = rows_per_chunk.min(k - subject);
            let mut products = Vec::with_capacity(rows * k * span_dim);
            for i in subject..subject + rows {
                for row_j in &g_rows {
                    products.extend(g_rows[i].iter().zip(row_j).map(|(a, b)| a * b));
                }
            }
            let products = Tensor::from_vec(products, (rows * k, span_dim), &device)?;
            let from_product = products.matmul(&blocks[2])?.reshape((rows, k, ()))?;
            let first = from_product
                .broadcast_add(&from_subject.narrow(0, subject, rows)?.unsqueeze(1)?)?
                .broadcast_add(&from_object.unsqueeze(0)?)?
                .broadcast_add(&bias)?
                .relu()?
                .reshape((rows * k, ()))?;
            let scores: Vec<Vec<f32>> = self
                .relation_out
                .forward(&self.relation_ff.rest(first)?)?
                .to_vec2()?;
            for (pair, row) in scores.iter().enumerate() {
                let (i, j) = (subject + pair / k, pair % k);
                // relation_scores += m_i + m_j (the pair sum first, as PyTorch adds it).
                let mention_sum = mention_scores[top[i]] + mention_scores[top[j]];
                let with_mentions: Vec<f32> = row.iter().map(|r| r + mention_sum).collect();
                let label = argmax_with_null(&with_mentions);
                if label > 0 {
                    relations.push((spans[top[i]], spans[top[j]], label - 1));
                }
            }
            subject += rows;
        }
        Ok(relations)
    }
}

/// Index of the maximum of `[0, logits…]`; the first maximum wins, so the null label wins ties.
fn argmax_with_null(logits: &[f32]) -> usize {
    let mut best = 0;
    let mut best_value = 0f32;
    for (i, &v) in logits.iter().enumerate() {
        if v > best_value {
            best = i + 1;
            best_value = v;
        }
    }
    best
}
