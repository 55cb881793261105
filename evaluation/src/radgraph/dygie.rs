//! The DyGIE++ heads of radgraph 0.1.18: spans, NER, mention pruning and relations.
//!
//! Span vector `g(s,e) = [x_s; x_e; W_width[e−s]]`. Its first feed-forward layer is applied as
//! `A·x_s + B·x_e + C·W_width[e−s] + b` with `A|B|C` the column blocks of the weight, computed once
//! per word and per width; likewise the relation layer on `[g_i; g_j; g_i∘g_j]` is
//! `P·g_i + Q·g_j + R·(g_i∘g_j) + b`. Same values as the concatenated products up to f32 rounding
//! order; decisions only change at near-ties, which the parity fixtures flag. Plain buffers and
//! single-threaded `gemm` calls: each report's heads run on one worker.

use gemm::Parallelism;

use super::config::{ArchiveConfig, Labels};
use super::weights::StateDict;
use crate::error::{EvalError, Result};

/// `a·b` for row-major `a` (`m × k`) and `b` (`k × n`), single-threaded: the reports' heads
/// already run on one worker each.
fn matmul(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f32> {
    assert!(a.len() == m * k && b.len() == k * n);
    let mut out = vec![0f32; m * n];
    if m == 0 || n == 0 {
        return out;
    }
    // SAFETY: the three buffers are m×k, k×n and m×n row-major (asserted / allocated above),
    // and `out` aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
    out
}

fn relu(values: &mut [f32]) {
    for v in values {
        *v = v.max(0.0);
    }
}

/// A `Linear` layer as candle_nn runs it: `x·Wᵀ`, then the bias added.
struct Affine {
    /// `Wᵀ`, `inputs × outputs` row-major.
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Affine {
    fn load(state: &StateDict, prefix: &str, outputs: usize, inputs: usize) -> Result<Self> {
        let weight = state.get(&format!("{prefix}.weight"), &[outputs, inputs])?;
        Ok(Affine {
            weight_t: weight.t()?.contiguous()?.flatten_all()?.to_vec1()?,
            bias: state
                .get(&format!("{prefix}.bias"), &[outputs])?
                .to_vec1()?,
            inputs,
            outputs,
        })
    }

    fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = matmul(x, rows, self.inputs, &self.weight_t, self.outputs);
        for row in out.chunks_exact_mut(self.outputs) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
        }
        out
    }
}

/// AllenNLP `FeedForward` with ReLU after every layer (dropout is off at inference). The first
/// layer is kept as column blocks of its weight (each transposed, `width × out`), applied to
/// the parts of its input separately.
struct FeedForward {
    first_blocks: Vec<Vec<f32>>,
    first_bias: Vec<f32>,
    hidden: usize,
    rest: Vec<Affine>,
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
        let first = &format!("{prefix}._linear_layers.0");
        let weight = state.get(&format!("{first}.weight"), &[hidden[0], input])?;
        let mut first_blocks = Vec::with_capacity(first_widths.len());
        let mut start = 0;
        for &width in first_widths {
            first_blocks.push(
                weight
                    .narrow(1, start, width)?
                    .t()?
                    .contiguous()?
                    .flatten_all()?
                    .to_vec1()?,
            );
            start += width;
        }
        let first_bias = state
            .get(&format!("{first}.bias"), &[hidden[0]])?
            .to_vec1()?;
        let rest = hidden
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                Affine::load(
                    state,
                    &format!("{prefix}._linear_layers.{}", i + 1),
                    pair[1],
                    pair[0],
                )
            })
            .collect::<Result<_>>()?;
        Ok(FeedForward {
            first_blocks,
            first_bias,
            hidden: hidden[0],
            rest,
        })
    }

    /// `x` (rows of the first block's width) times the first layer's column block `block`.
    fn first_block(&self, block: usize, x: &[f32], rows: usize) -> Vec<f32> {
        let width = self.first_blocks[block].len() / self.hidden;
        matmul(x, rows, width, &self.first_blocks[block], self.hidden)
    }

    /// Layers 1.. on the ReLU'd output of layer 0.
    fn rest(&self, mut x: Vec<f32>, rows: usize) -> Vec<f32> {
        for layer in &self.rest {
            x = layer.forward(&x, rows);
            relu(&mut x);
        }
        x
    }

    fn output_dim(&self) -> usize {
        self.rest.last().map_or(self.hidden, |layer| layer.outputs)
    }
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
    /// The smallest margin of any decision that can change the graph: each span's label (best
    /// against second-best logit, the null label's 0 included), an entity's side of the top-k
    /// boundary, and the label of each pair of kept entities. `INFINITY` with no decisions.
    pub decision_margin: f32,
}

/// Span extractor, NER tagger and relation extractor for one model type.
pub struct DygieHeads {
    max_span_width: usize,
    spans_per_word: f64,
    hidden: usize,
    feature_size: usize,
    /// `num_width_embeddings × feature_size` row-major.
    width_embeddings: Vec<f32>,
    ner_ff: FeedForward,
    ner_out: Affine,
    mention_ff: FeedForward,
    mention_out: Affine,
    relation_ff: FeedForward,
    relation_out: Affine,
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
        let ner_out = Affine::load(
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
        let mention_out = Affine::load(state, &format!("{mention}.1._module"), 1, last)?;
        let relation_ff = FeedForward::load(
            state,
            &format!("_relation._relation_feedforwards.{model_type}__relation_labels"),
            3 * span_dim,
            dims,
            &[span_dim, span_dim, span_dim],
        )?;
        let relation_out = Affine::load(
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
            width_embeddings: state
                .get(
                    "_endpoint_span_extractor._span_width_embedding.weight",
                    &[config.num_width_embeddings, config.feature_size],
                )?
                .flatten_all()?
                .to_vec1()?,
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

    /// Predict entities and relations from word vectors (`n_words × H` row-major).
    pub fn predict(&self, words: &[f32], n_words: usize) -> Result<Predictions> {
        if words.len() != n_words * self.hidden {
            return Err(EvalError::Invalid(format!(
                "{} word-vector values for {n_words} words, expected {} each",
                words.len(),
                self.hidden
            )));
        }
        if n_words == 0 {
            return Ok(Predictions {
                entities: Vec::new(),
                relations: Vec::new(),
                top_spans: Vec::new(),
                decision_margin: f32::INFINITY,
            });
        }
        let spans = self.spans(n_words);

        // NER: label = argmax over [0 (null), logits…], first maximum wins.
        let ner_hidden = self.span_first_layer(&self.ner_ff, words, n_words, &spans);
        let ner_logits = self
            .ner_out
            .forward(&self.ner_ff.rest(ner_hidden, spans.len()), spans.len());
        let mut entities = Vec::new();
        let mut is_entity = vec![false; spans.len()];
        let mut decision_margin = f32::INFINITY;
        for (i, (span, logits)) in spans
            .iter()
            .zip(ner_logits.chunks_exact(self.ner_out.outputs))
            .enumerate()
        {
            let (label, margin) = argmax_with_null(logits);
            decision_margin = decision_margin.min(margin);
            if label > 0 {
                entities.push((span.0, span.1, label));
                is_entity[i] = true;
            }
        }

        // Mention scores and top-k pruning (k highest, re-sorted into span order).
        let mention_hidden = self.span_first_layer(&self.mention_ff, words, n_words, &spans);
        let mention_scores = self.mention_out.forward(
            &self.mention_ff.rest(mention_hidden, spans.len()),
            spans.len(),
        );
        let k = self.spans_to_keep(n_words).min(spans.len());
        let mut order: Vec<usize> = (0..spans.len()).collect();
        // Stable: among equal scores the earlier span ranks first.
        order.sort_by(|&a, &b| mention_scores[b].total_cmp(&mention_scores[a]));
        if let (Some(&last_kept), Some(&first_dropped)) = (order.get(k - 1), order.get(k)) {
            // Only entities' places matter: a relation is kept only between two entities.
            let (kept, dropped) = (mention_scores[last_kept], mention_scores[first_dropped]);
            for (rank, &span) in order.iter().enumerate() {
                if is_entity[span] {
                    let margin = if rank < k {
                        mention_scores[span] - dropped
                    } else {
                        kept - mention_scores[span]
                    };
                    decision_margin = decision_margin.min(margin);
                }
            }
        }
        let mut top: Vec<usize> = order[..k].to_vec();
        top.sort_unstable();

        let (relations, relation_margin) =
            self.relations(words, &spans, &top, &mention_scores, &is_entity);
        Ok(Predictions {
            entities,
            relations,
            top_spans: top,
            decision_margin: decision_margin.min(relation_margin),
        })
    }

    /// ReLU(((A·x_s + B·x_e) + C·w) + b) for every span, `spans × hidden`.
    fn span_first_layer(
        &self,
        ff: &FeedForward,
        words: &[f32],
        n_words: usize,
        spans: &[(usize, usize)],
    ) -> Vec<f32> {
        let hid = ff.hidden;
        let from_start = ff.first_block(0, words, n_words);
        let from_end = ff.first_block(1, words, n_words);
        let widths = self.width_embeddings.len() / self.feature_size;
        let from_width = ff.first_block(2, &self.width_embeddings, widths);
        let mut out = vec![0f32; spans.len() * hid];
        for (row, &(start, end)) in out.chunks_exact_mut(hid).zip(spans) {
            let s = &from_start[start * hid..(start + 1) * hid];
            let e = &from_end[end * hid..(end + 1) * hid];
            let w = &from_width[(end - start) * hid..(end - start + 1) * hid];
            for ((((o, s), e), w), b) in row.iter_mut().zip(s).zip(e).zip(w).zip(&ff.first_bias) {
                *o = (((s + e) + w) + b).max(0.0);
            }
        }
        out
    }

    /// Relation labels for every ordered pair of kept spans (self-pairs included), and the
    /// smallest label margin among pairs of entities.
    fn relations(
        &self,
        words: &[f32],
        spans: &[(usize, usize)],
        top: &[usize],
        mention_scores: &[f32],
        is_entity: &[bool],
    ) -> (Vec<SpanRelation>, f32) {
        let (h, f) = (self.hidden, self.feature_size);
        let span_dim = 2 * h + f;
        let k = top.len();
        // g for the kept spans: (k, 2H + F).
        let mut g = Vec::with_capacity(k * span_dim);
        for &i in top {
            let (start, end) = spans[i];
            g.extend_from_slice(&words[start * h..(start + 1) * h]);
            g.extend_from_slice(&words[end * h..(end + 1) * h]);
            g.extend_from_slice(&self.width_embeddings[(end - start) * f..(end - start + 1) * f]);
        }
        let ff = &self.relation_ff;
        let hid = ff.hidden;
        let from_subject = ff.first_block(0, &g, k);
        let from_object = ff.first_block(1, &g, k);

        let mut relations = Vec::new();
        let mut margin = f32::INFINITY;
        let labels = self.relation_out.outputs;
        // Rows of subjects in chunks, so the (pairs, 2H+F) product matrix stays small.
        let rows_per_chunk = (4096 / k.max(1)).max(1);
        let mut subject = 0;
        while subject < k {
            let rows = rows_per_chunk.min(k - subject);
            let mut products = Vec::with_capacity(rows * k * span_dim);
            for i in subject..subject + rows {
                let row_i = &g[i * span_dim..(i + 1) * span_dim];
                for row_j in g.chunks_exact(span_dim) {
                    products.extend(row_i.iter().zip(row_j).map(|(a, b)| a * b));
                }
            }
            let mut first = ff.first_block(2, &products, rows * k);
            for (pair, row) in first.chunks_exact_mut(hid).enumerate() {
                let (i, j) = (subject + pair / k, pair % k);
                let s = &from_subject[i * hid..(i + 1) * hid];
                let o = &from_object[j * hid..(j + 1) * hid];
                for (((v, s), o), b) in row.iter_mut().zip(s).zip(o).zip(&ff.first_bias) {
                    *v = (((*v + s) + o) + b).max(0.0);
                }
            }
            let scores = self
                .relation_out
                .forward(&ff.rest(first, rows * k), rows * k);
            for (pair, row) in scores.chunks_exact(labels).enumerate() {
                let (i, j) = (subject + pair / k, pair % k);
                // relation_scores += m_i + m_j (the pair sum first, as PyTorch adds it).
                let mention_sum = mention_scores[top[i]] + mention_scores[top[j]];
                let with_mentions: Vec<f32> = row.iter().map(|r| r + mention_sum).collect();
                let (label, pair_margin) = argmax_with_null(&with_mentions);
                if is_entity[top[i]] && is_entity[top[j]] {
                    margin = margin.min(pair_margin);
                }
                if label > 0 {
                    relations.push((spans[top[i]], spans[top[j]], label - 1));
                }
            }
            subject += rows;
        }
        (relations, margin)
    }
}

/// Index of the maximum of `[0, logits…]` (the first maximum wins, so the null label wins
/// ties) and its margin over the runner-up.
fn argmax_with_null(logits: &[f32]) -> (usize, f32) {
    let mut best = 0;
    let mut best_value = 0f32;
    let mut runner_up = f32::NEG_INFINITY;
    for (i, &v) in logits.iter().enumerate() {
        if v > best_value {
            runner_up = best_value;
            best = i + 1;
            best_value = v;
        } else if v > runner_up {
            runner_up = v;
        }
    }
    (best, best_value - runner_up)
}

#[cfg(test)]
mod tests {
    use super::argmax_with_null;

    #[test]
    fn argmax_with_null_reports_the_margin_over_the_runner_up() {
        assert_eq!(argmax_with_null(&[-1.0, -2.0]), (0, 1.0));
        assert_eq!(argmax_with_null(&[0.5, 2.0, 1.5]), (2, 0.5));
        assert_eq!(argmax_with_null(&[3.0, 1.0]), (1, 2.0));
        // Ties: the first maximum wins with margin 0; the null label wins a tie with it.
        assert_eq!(argmax_with_null(&[1.0, 1.0]), (1, 0.0));
        assert_eq!(argmax_with_null(&[0.0, -1.0]), (0, 0.0));
        assert_eq!(argmax_with_null(&[]), (0, f32::INFINITY));
    }
}
