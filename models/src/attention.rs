//! Scaled dot-product attention for SigLIP and Gemma 2, computed a block of query rows at a time.
//!
//! Eager attention materialises one `queries × keys` score matrix per head, and several
//! temporaries of it (scaled, soft-capped, masked, softmax): at 896 px that is 4,096 × 4,096 ×
//! 16 heads × 4 bytes = 1.07 GB per temporary in SigLIP and 0.55 GB in Gemma 2. Here the
//! queries are taken [`QUERY_BLOCK`] rows at a time, so the scores never exceed
//! `heads × QUERY_BLOCK × keys`. Every row still sees all its keys in one exact softmax, with
//! HF's operations in HF's order (product, scale, soft-cap, mask, f32 softmax, cast, product),
//! so the result is the eager one: blocking rows does not change any row's arithmetic.
//!
//! A decoding step on CPU in f32 runs [`attention_decode`], which reads the KV cache in place.
//! A prefill of a model with bf16 matrices on a CPU with AVX-512 BF16 runs
//! [`raddraft_kernels::attention`] instead: the same operations with bf16 products (q, k, the
//! probabilities and v rounded to bf16, as PyTorch's bf16 attention rounds them) and f32 scores
//! and softmax.

use candle_core::{DType, Result, Tensor};
use raddraft_kernels::attention::{attention_bf16, attention_decode, Heads, Shape};
use raddraft_kernels::matmul::GEMV_ROWS;

/// Query rows per block: the scores of one block stay in the tens of megabytes at 4k keys.
pub const QUERY_BLOCK: usize = raddraft_kernels::attention::QUERY_BLOCK;

/// How scores are formed from `q·kᵀ`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scores {
    pub scale: f64,
    /// Gemma 2's attention logit soft-cap.
    pub softcap: Option<f64>,
    /// The model's matrices are bf16: a CPU prefill may run its products in bf16.
    pub bf16_products: bool,
}

impl Scores {
    /// The kernels' form of the same scores, with an additive `queries × keys` mask.
    fn for_kernels(self, mask: Option<&[f32]>) -> raddraft_kernels::attention::Scores<'_> {
        raddraft_kernels::attention::Scores {
            scale: self.scale as f32,
            softcap: self.softcap.map(|c| c as f32),
            mask,
        }
    }
}

/// A tensor's values as f32, row-major.
fn f32_values(t: &Tensor) -> Result<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// Grouped-query attention.
///
/// - `q`: `[batch, kv_heads, group, t, d]`: the `group` query heads that share one key/value
///   head (HF `repeat_kv` order), without copying keys or values.
/// - `k`, `v`: `[batch, kv_heads, keys, d]`.
/// - `mask`: additive `[t, keys]`, or `None` when every query sees every key.
///
/// Returns `[batch, kv_heads, group, t, d]`.
pub(crate) fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scores: Scores,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, kv_heads, group, t, d) = q.dims5()?;
    let keys = k.dim(2)?;
    let shape = Shape {
        kv_heads: b * kv_heads,
        group,
        queries: t,
        keys,
        head_dim: d,
    };
    if t <= GEMV_ROWS && q.device().is_cpu() && q.dtype() == DType::F32 {
        if let Some(out) = decode_in_place(q, k, v, shape, scores, mask)? {
            return Ok(out);
        }
    }
    if scores.bf16_products
        && t > GEMV_ROWS
        && q.device().is_cpu()
        && q.dtype() == DType::F32
        && raddraft_kernels::dpbf16::available()
    {
        return bf16_products(q, k, v, b, Shape { kv_heads, ..shape }, scores, mask);
    }
    let k_t = k.t()?;
    let block = |first: usize, rows: usize| -> Result<Tensor> {
        let q = q
            .narrow(3, first, rows)?
            .contiguous()?
            .reshape((b, kv_heads, group * rows, d))?;
        let mut s = (q.matmul(&k_t)? * scores.scale)?;
        if let Some(cap) = scores.softcap {
            s = crate::ops::soft_cap(&s, cap)?;
        }
        if let Some(mask) = mask {
            s = s
                .reshape((b, kv_heads, group, rows, keys))?
                .broadcast_add(&mask.narrow(0, first, rows)?)?
                .reshape((b, kv_heads, group * rows, keys))?;
        }
        let probs = softmax_f32(&s)?;
        probs.matmul(v)?.reshape((b, kv_heads, group, rows, d))
    };
    if t <= QUERY_BLOCK {
        return block(0, t);
    }
    let blocks = (0..t)
        .step_by(QUERY_BLOCK)
        .map(|first| block(first, QUERY_BLOCK.min(t - first)))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&blocks, 3)
}

/// [`attention`] on the CPU kernel, one sequence of the batch at a time.
fn bf16_products(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    batch: usize,
    shape: Shape,
    scores: Scores,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (q_all, k_all, v_all) = (f32_values(q)?, f32_values(k)?, f32_values(v)?);
    let mask = mask.map(f32_values).transpose()?;
    let kernel_scores = scores.for_kernels(mask.as_deref());
    let (q_len, kv_len) = (q_all.len() / batch.max(1), k_all.len() / batch.max(1));
    let mut out = Vec::with_capacity(q_all.len());
    for i in 0..batch {
        out.extend(
            attention_bf16(
                &q_all[i * q_len..][..q_len],
                &k_all[i * kv_len..][..kv_len],
                &v_all[i * kv_len..][..kv_len],
                shape,
                kernel_scores,
            )
            .map_err(candle_core::Error::wrap)?,
        );
    }
    Tensor::from_vec(out, q.shape(), q.device())
}

/// A decoding step on the CPU kernel, reading the KV cache's strided views in place; `None`
/// where a view does not have one stride per (sequence, head) and contiguous rows.
fn decode_in_place(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    shape: Shape,
    scores: Scores,
    mask: Option<&Tensor>,
) -> Result<Option<Tensor>> {
    let (k_storage, k_layout) = k.storage_and_layout();
    let (v_storage, v_layout) = v.storage_and_layout();
    let (Some(k_heads), Some(v_heads)) = (
        cache_heads(&k_storage, k_layout, shape.head_dim),
        cache_heads(&v_storage, v_layout, shape.head_dim),
    ) else {
        return Ok(None);
    };
    let q_values = f32_values(q)?;
    let mask = mask.map(f32_values).transpose()?;
    let kernel_scores = scores.for_kernels(mask.as_deref());
    let out = attention_decode(&q_values, k_heads, v_heads, shape, kernel_scores)
        .map_err(candle_core::Error::wrap)?;
    Ok(Some(Tensor::from_vec(out, q.shape(), q.device())?))
}

/// The heads of a `[batch, heads, keys, d]` f32 CPU view whose rows are contiguous and whose
/// heads (across the batch too) are one stride apart.
fn cache_heads<'a>(
    storage: &'a candle_core::Storage,
    layout: &candle_core::Layout,
    d: usize,
) -> Option<Heads<'a>> {
    let candle_core::Storage::Cpu(candle_core::CpuStorage::F32(values)) = storage else {
        return None;
    };
    let (heads, stride) = (layout.dims().get(1)?, layout.stride());
    let uniform = stride.len() == 4
        && stride[3] == 1
        && stride[2] == d
        && (stride[0] == heads * stride[1] || layout.dims()[0] == 1);
    uniform.then(|| Heads {
        values: &values[layout.start_offset()..],
        head_stride: stride[1],
    })
}

/// Softmax over the last dimension computed in f32 and cast back (HF `softmax(dtype=float32)`).
fn softmax_f32(scores: &Tensor) -> Result<Tensor> {
    let dtype = scores.dtype();
    crate::ops::softmax_last_dim_f32(scores)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, D};

    use super::*;
    use crate::test_support::max_abs_diff;

    /// The eager formula on whole matrices, as the models computed it before blocking.
    fn eager(q: &Tensor, k: &Tensor, v: &Tensor, scores: Scores, mask: Option<&Tensor>) -> Tensor {
        let (b, kv_heads, group, t, d) = q.dims5().unwrap();
        let keys = k.dim(2).unwrap();
        let q = q.reshape((b, kv_heads, group * t, d)).unwrap();
        let mut s = (q.matmul(&k.t().unwrap()).unwrap() * scores.scale).unwrap();
        if let Some(cap) = scores.softcap {
            s = ((s / cap).unwrap().tanh().unwrap() * cap).unwrap();
        }
        if let Some(mask) = mask {
            s = s
                .reshape((b, kv_heads, group, t, keys))
                .unwrap()
                .broadcast_add(mask)
                .unwrap()
                .reshape((b, kv_heads, group * t, keys))
                .unwrap();
        }
        let probs = candle_nn::ops::softmax(&s, D::Minus1).unwrap();
        probs
            .matmul(v)
            .unwrap()
            .reshape((b, kv_heads, group, t, d))
            .unwrap()
    }

    /// Additive `[t, keys]` mask: query `i` sits at key `i + keys - t` and sees the keys up to
    /// it, the last `window` of them where a window is given.
    fn causal_mask(t: usize, keys: usize, window: Option<usize>) -> Tensor {
        let offset = keys - t;
        let mask: Vec<f32> = (0..t)
            .flat_map(|i| {
                (0..keys).map(move |j| {
                    let q = i + offset;
                    if j <= q && window.is_none_or(|w| j + w > q) {
                        0.0
                    } else {
                        f32::NEG_INFINITY
                    }
                })
            })
            .collect();
        Tensor::from_vec(mask, (t, keys), &Device::Cpu).unwrap()
    }

    #[test]
    fn blocked_rows_equal_eager_attention_with_mask_and_softcap() {
        let device = Device::Cpu;
        // Two full blocks and a ragged one; 2 KV heads serving 3 query heads each.
        let (t, keys, d) = (2 * QUERY_BLOCK + 37, 2 * QUERY_BLOCK + 40, 8);
        let q = Tensor::randn(0f32, 1.0, (1, 2, 3, t, d), &device).unwrap();
        let k = Tensor::randn(0f32, 1.0, (1, 2, keys, d), &device).unwrap();
        let v = Tensor::randn(0f32, 1.0, (1, 2, keys, d), &device).unwrap();
        // Causal over the last t keys, with a window of 100: every row has a different mask.
        let mask = causal_mask(t, keys, Some(100));
        let scores = Scores {
            scale: 0.3,
            softcap: Some(5.0),
            bf16_products: false,
        };
        let expected = eager(&q, &k, &v, scores, Some(&mask));
        let got = attention(&q, &k, &v, scores, Some(&mask)).unwrap();
        let diff = max_abs_diff(&got, &expected);
        assert!(diff < 1e-5, "{diff}");

        let plain = Scores {
            scale: 0.5,
            softcap: None,
            bf16_products: false,
        };
        let expected = eager(&q, &k, &v, plain, None);
        let got = attention(&q, &k, &v, plain, None).unwrap();
        let diff = max_abs_diff(&got, &expected);
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn bf16_products_stay_within_bf16_error_of_eager_attention() {
        let device = Device::Cpu;
        // Two sequences, 2 KV heads serving 2 query heads each, causal over the last t keys.
        let (t, keys, d) = (QUERY_BLOCK + 9, QUERY_BLOCK + 20, 16);
        let q = Tensor::randn(0f32, 1.0, (2, 2, 2, t, d), &device).unwrap();
        let k = Tensor::randn(0f32, 1.0, (2, 2, keys, d), &device).unwrap();
        let v = Tensor::randn(0f32, 1.0, (2, 2, keys, d), &device).unwrap();
        let mask = causal_mask(t, keys, None);
        let scores = Scores {
            scale: 0.25,
            softcap: Some(50.0),
            bf16_products: true,
        };
        let expected = eager(&q, &k, &v, scores, Some(&mask));
        let got = attention(&q, &k, &v, scores, Some(&mask)).unwrap();
        let diff = max_abs_diff(&got, &expected);
        // bf16 operands (8 significant bits) under a softmax-weighted mean of |v| ~ 1.
        let tolerance = if raddraft_kernels::dpbf16::available() {
            3e-2
        } else {
            1e-5
        };
        assert!(diff < tolerance, "{diff}");
    }

    #[test]
    fn decoding_steps_read_a_cache_view_in_place_and_equal_eager_attention() {
        let device = Device::Cpu;
        // A cache with room for 300 keys holding 257, as the KV cache's narrowed buffers are.
        let (keys, room, d) = (257, 300, 16);
        let k_room = Tensor::randn(0f32, 1.0, (1, 2, room, d), &device).unwrap();
        let v_room = Tensor::randn(0f32, 1.0, (1, 2, room, d), &device).unwrap();
        let (k, v) = (
            k_room.narrow(2, 0, keys).unwrap(),
            v_room.narrow(2, 0, keys).unwrap(),
        );
        let q = Tensor::randn(0f32, 1.0, (1, 2, 3, 1, d), &device).unwrap();
        let scores = Scores {
            scale: 0.25,
            softcap: Some(50.0),
            bf16_products: true,
        };
        let shape = Shape {
            kv_heads: 2,
            group: 3,
            queries: 1,
            keys,
            head_dim: d,
        };
        let in_place = decode_in_place(&q, &k, &v, shape, scores, None)
            .unwrap()
            .expect("a narrowed cache has one stride per head");
        let expected = eager(
            &q,
            &k.contiguous().unwrap(),
            &v.contiguous().unwrap(),
            scores,
            None,
        );
        let diff = max_abs_diff(&in_place, &expected);
        assert!(diff < 1e-5, "{diff}");
        assert_eq!(
            max_abs_diff(&attention(&q, &k, &v, scores, None).unwrap(), &in_place),
            0.0
        );
    }
}
