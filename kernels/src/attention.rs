//! Scaled dot-product attention on CPU for SigLIP and Gemma 2: [`attention_bf16`], a prefill's,
//! with bf16 products (`vdpbf16ps`) on CPUs with AVX-512 BF16, and [`attention_decode`], a
//! decoding step's, in f32 over the KV cache in place.
//!
//! Each key/value head's `K` and `V` are packed once; then each block of [`QUERY_BLOCK`] query
//! rows of each query head forms its scores `Q·Kᵀ` (bf16 products, f32 sums), applies scale,
//! soft-cap and additive mask and one exact f32 softmax per row (eager attention's operations in
//! its order), and multiplies the probabilities by `V`. The scores of a block are
//! `QUERY_BLOCK × keys`, never `queries × keys`. Blocks run in parallel, and so do the products
//! inside them.

mod decode;

use rayon::prelude::*;

pub use decode::{attention_decode, Heads};

use crate::dpbf16::{product_packed, Packed, Right};
use crate::error::{exactly, Error};
use crate::vecmath::{softmax_row, tanh};
use crate::weights::{Values, WeightRows};

/// Query rows per block: 256 rows × 4k keys is 4 MB of scores.
pub const QUERY_BLOCK: usize = 256;

/// The sizes of one sequence's grouped-query attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub kv_heads: usize,
    /// Query heads per key/value head.
    pub group: usize,
    pub queries: usize,
    pub keys: usize,
    pub head_dim: usize,
}

/// How scores are formed from `q·kᵀ`: `cap·tanh(scale·s / cap)` (without a cap, `scale·s`),
/// plus the mask.
#[derive(Debug, Clone, Copy)]
pub struct Scores<'a> {
    pub scale: f32,
    pub softcap: Option<f32>,
    /// Additive `queries × keys`, or `None` where every query sees every key.
    pub mask: Option<&'a [f32]>,
}

/// Attention for one sequence: `q` is `kv_heads × group × queries × head_dim` (the query heads
/// that share a key/value head next to each other), `k` and `v` are
/// `kv_heads × keys × head_dim`; returns the output in `q`'s layout. `Err(Bf16Unavailable)`
/// where the CPU lacks AVX-512 BF16.
pub fn attention_bf16(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    shape: Shape,
    scores: Scores<'_>,
) -> Result<Vec<f32>, Error> {
    if !crate::dpbf16::available() {
        return Err(Error::Bf16Unavailable);
    }
    let Shape {
        kv_heads,
        group,
        queries,
        keys,
        head_dim: d,
    } = shape;
    check_queries_and_mask(q, shape, &scores)?;
    exactly("keys", values("keys", &[kv_heads, keys, d])?, k.len())?;
    exactly("values", values("values", &[kv_heads, keys, d])?, v.len())?;
    let mut out = vec![0f32; q.len()];
    if out.is_empty() || keys == 0 {
        return Ok(out);
    }
    let packed: Vec<(Packed, Packed)> = (0..kv_heads)
        .into_par_iter()
        .map(|h| -> Result<_, Error> {
            let head = h * keys * d..(h + 1) * keys * d;
            let k_rows = WeightRows::new(Values::F32(&k[head.clone()]), keys, d)?;
            let v_columns = Right::Columns {
                values: &v[head],
                k: keys,
                n: d,
            };
            Ok((Packed::new(Right::Rows(k_rows)), Packed::new(v_columns)))
        })
        .collect::<Result<_, _>>()?;
    // One task per (query head, block of rows); a query head's rows are contiguous in q and out.
    out.par_chunks_mut(queries * d)
        .enumerate()
        .flat_map(|(head, out)| {
            out.par_chunks_mut(QUERY_BLOCK * d)
                .enumerate()
                .map(move |(block, out)| (head, block, out))
        })
        .try_for_each(|(head, block, out)| {
            let (k_packed, v_packed) = &packed[head / group];
            let first = block * QUERY_BLOCK;
            let rows = out.len() / d;
            let q_rows = &q[(head * queries + first) * d..][..rows * d];
            let mut s = vec![0f32; rows * keys];
            product_packed(q_rows, rows, k_packed, &mut s)?;
            s.par_chunks_mut(keys).enumerate().for_each_init(
                || vec![0f32; keys],
                |row_scores, (r, probs)| {
                    let mask = scores.mask.map(|m| &m[(first + r) * keys..][..keys]);
                    score_row(probs, scores, mask, row_scores);
                    softmax_row(probs, row_scores);
                },
            );
            product_packed(&s, rows, v_packed, out)
        })?;
    Ok(out)
}

/// The product of `dims`, or [`Error::TooLarge`] for `operand`.
fn values(operand: &'static str, dims: &[usize]) -> Result<usize, Error> {
    dims.iter()
        .try_fold(1usize, |n, &m| n.checked_mul(m))
        .ok_or(Error::TooLarge {
            operand,
            rows: dims[0],
            columns: dims[1..].iter().product(),
        })
}

/// `q` is `kv_heads × group × queries × head_dim` and the mask, if any, `queries × keys`.
fn check_queries_and_mask(q: &[f32], shape: Shape, scores: &Scores<'_>) -> Result<(), Error> {
    let Shape {
        kv_heads,
        group,
        queries,
        keys,
        head_dim,
    } = shape;
    let needed = values("queries", &[kv_heads, group, queries, head_dim])?;
    exactly("queries", needed, q.len())?;
    if let Some(mask) = scores.mask {
        exactly("mask", values("mask", &[queries, keys])?, mask.len())?;
    }
    Ok(())
}

/// `row_scores = cap·tanh(scale·s / cap) + mask` from the raw products `s`.
fn score_row(s: &[f32], scores: Scores<'_>, mask: Option<&[f32]>, row_scores: &mut [f32]) {
    let scale = scores.scale;
    match scores.softcap {
        Some(cap) => crate::vecmath::map_into(row_scores, s, |x| cap * tanh(x * scale / cap)),
        None => crate::vecmath::map_into(row_scores, s, |x| x * scale),
    }
    if let Some(mask) = mask {
        for (value, m) in row_scores.iter_mut().zip(mask) {
            *value += m;
        }
    }
}

#[cfg(test)]
mod tests;
