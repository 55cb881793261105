//! Attention of a decoding step (a few query rows against the whole KV cache), in f32.
//!
//! A step reads every cached key and value once; that is all it costs (0.9 GB per token for the
//! 3B model at 896 px), so the kernel reads them in place, without the copies a general matrix
//! product would make of the cache's strided views, and keeps `q` and the outputs in L1. Scores
//! come from [`gemv`](crate::gemv::gemv) over the keys, then scale, soft-cap, mask and one exact
//! softmax per row, then each value row is added into the outputs with its probabilities.

use rayon::prelude::*;

use super::{check_queries_and_mask, score_row, values, Scores, Shape};
use crate::error::{at_least, Error};
use crate::vecmath::softmax_row;
use crate::weights::{Values, WeightRows};

/// Keys or values of every head of a cache: head `h` holds `keys × head_dim` values from
/// `values[h * head_stride]`. A cache with room for more keys than it holds has a stride larger
/// than `keys × head_dim`.
#[derive(Debug, Clone, Copy)]
pub struct Heads<'a> {
    pub values: &'a [f32],
    pub head_stride: usize,
}

/// Attention for a few query rows: `q` is `kv_heads × group × queries × head_dim` as in
/// [`attention_bf16`](super::attention_bf16); keys and values are read in place. Returns the
/// output in `q`'s layout.
pub fn attention_decode(
    q: &[f32],
    k: Heads<'_>,
    v: Heads<'_>,
    shape: Shape,
    scores: Scores<'_>,
) -> Result<Vec<f32>, Error> {
    let Shape {
        kv_heads,
        group,
        queries,
        keys,
        head_dim: d,
    } = shape;
    check_queries_and_mask(q, shape, &scores)?;
    let rows = group * queries;
    for (operand, heads) in [("keys", k), ("values", v)] {
        let head = values(operand, &[keys, d])?;
        at_least("head stride", head, heads.head_stride)?;
        let before_last = values(operand, &[kv_heads.saturating_sub(1), heads.head_stride])?;
        at_least(
            operand,
            before_last.saturating_add(head),
            heads.values.len(),
        )?;
    }
    let mut out = vec![0f32; q.len()];
    if out.is_empty() || keys == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(rows * d)
        .enumerate()
        .try_for_each(|(head, out)| -> Result<(), Error> {
            let k_head = &k.values[head * k.head_stride..][..keys * d];
            let v_head = &v.values[head * v.head_stride..][..keys * d];
            let q_head = &q[head * rows * d..][..rows * d];
            let k_rows = WeightRows::new(Values::F32(k_head), keys, d)?;
            // rows × keys: the group's query heads one after the other, each `queries` rows.
            let raw = crate::gemv::gemv(k_rows, q_head, rows)?;
            let mut probs = vec![0f32; rows * keys];
            let mut row_scores = vec![0f32; keys];
            for (r, (probs, raw)) in probs
                .chunks_exact_mut(keys)
                .zip(raw.chunks_exact(keys))
                .enumerate()
            {
                let query = r % queries;
                let mask = scores.mask.map(|m| &m[query * keys..][..keys]);
                score_row(raw, scores, mask, &mut row_scores);
                softmax_row(probs, &row_scores);
            }
            for (j, value) in v_head.chunks_exact(d).enumerate() {
                for (r, out) in out.chunks_exact_mut(d).enumerate() {
                    add_scaled(out, probs[r * keys + j], value);
                }
            }
            Ok(())
        })?;
    Ok(out)
}

crate::multiversion! {
    [avx512, avx2]
    /// `out += weight · value`.
    fn add_scaled(out: &mut [f32], weight: f32, value: &[f32]) {
        for (o, &v) in out.iter_mut().zip(value) {
            *o += weight * v;
        }
    }
}
