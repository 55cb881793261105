//! CPU fast paths that candle lacks, used by the SigLIP and Gemma 2 blocks.
//!
//! - The tanh GELU and the soft-caps touch tens of millions of values per prefill; they run here
//!   in parallel with vectorised `tanh` ([`raddraft_kernels::vecmath`]).
//! - Softmax over the last dimension, rows in parallel with vectorised `exp`.
//!
//! On GPUs every function falls back to candle's own kernels.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use half::{bf16, f16};
use rayon::prelude::*;

use raddraft_kernels::vecmath::{map_into, softmax_row, tanh};

const CHUNK: usize = 1 << 14;

#[derive(Clone, Copy)]
enum Map {
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, candle's and PyTorch's `gelu_pytorch_tanh`.
    GeluTanh,
    /// `cap · tanh(x / cap)`, Gemma 2's logit soft-cap.
    SoftCap(f32),
}

impl Map {
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        match self {
            Self::GeluTanh => {
                const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
                0.5 * x * (1.0 + tanh(SQRT_TWO_OVER_PI * x * (1.0 + 0.044715 * x * x)))
            }
            Self::SoftCap(cap) => cap * tanh(x / cap),
        }
    }
}

impl CustomOp1 for Map {
    fn name(&self) -> &'static str {
        match self {
            Self::GeluTanh => "parallel-gelu-tanh",
            Self::SoftCap(_) => "parallel-softcap",
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{} needs a contiguous tensor", self.name())
        };
        let out = match storage {
            CpuStorage::F32(v) => {
                let map = *self;
                CpuStorage::F32(parallel_chunks(
                    &v[start..end],
                    CHUNK,
                    |dst, src| match map {
                        Self::GeluTanh => map_into(dst, src, |x| Self::GeluTanh.apply(x)),
                        Self::SoftCap(cap) => map_into(dst, src, |x| Self::SoftCap(cap).apply(x)),
                    },
                ))
            }
            CpuStorage::BF16(v) => CpuStorage::BF16(parallel_map(&v[start..end], |x| {
                bf16::from_f32(self.apply(x.to_f32()))
            })),
            CpuStorage::F16(v) => CpuStorage::F16(parallel_map(&v[start..end], |x| {
                f16::from_f32(self.apply(x.to_f32()))
            })),
            _ => candle_core::bail!("{} supports f32, bf16 and f16 only", self.name()),
        };
        Ok((out, layout.shape().clone()))
    }
}

fn parallel_map<T: Copy + Send + Sync>(src: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    parallel_chunks(src, CHUNK, |dst, src| {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = f(s))
    })
}

/// Fills a new vector the size of `src` by running `f(dst_chunk, src_chunk)` on `chunk`-sized
/// pieces in parallel; `f` must write every element of its `dst_chunk`.
fn parallel_chunks<T: Copy + Send + Sync>(
    src: &[T],
    chunk: usize,
    f: impl Fn(&mut [T], &[T]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(src.len());
    // SAFETY: every element is written by `f` before the vector is read.
    #[allow(clippy::uninit_vec)]
    unsafe {
        out.set_len(src.len())
    };
    out.par_chunks_mut(chunk)
        .zip(src.par_chunks(chunk))
        .for_each(|(dst, src)| f(dst, src));
    out
}

/// Softmax over the last dimension of a contiguous f32 tensor, rows in parallel.
struct SoftmaxLastDim;

impl CustomOp1 for SoftmaxLastDim {
    fn name(&self) -> &'static str {
        "parallel-softmax-f32"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(v), Some((start, end))) = (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("{} needs a contiguous f32 tensor", self.name())
        };
        let width = layout.shape().dims().last().copied().unwrap_or(1).max(1);
        let out = parallel_chunks(&v[start..end], width, softmax_row);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Softmax over the last dimension, in f32.
pub fn softmax_last_dim_f32(x: &Tensor) -> Result<Tensor> {
    let x = x.to_dtype(DType::F32)?;
    if x.device().is_cpu() {
        x.contiguous()?.apply_op1_no_bwd(&SoftmaxLastDim)
    } else {
        candle_nn::ops::softmax_last_dim(&x)
    }
}

fn on_cpu(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::BF16 | DType::F16)
}

/// Tanh-approximated GELU.
pub fn gelu_tanh(x: &Tensor) -> Result<Tensor> {
    if on_cpu(x) {
        x.contiguous()?.apply_op1_no_bwd(&Map::GeluTanh)
    } else {
        x.gelu()
    }
}

/// `cap · tanh(x / cap)`.
pub fn soft_cap(x: &Tensor, cap: f64) -> Result<Tensor> {
    if on_cpu(x) {
        x.contiguous()?.apply_op1_no_bwd(&Map::SoftCap(cap as f32))
    } else {
        (x / cap)?.tanh()? * cap
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::max_abs_diff;
    use candle_core::{DType, Device, Tensor};

    #[test]
    fn parallel_ops_match_candle_composition() {
        let x = (Tensor::randn(0f32, 3.0, (3, 40_000), &Device::Cpu).unwrap())
            .contiguous()
            .unwrap();
        assert!(max_abs_diff(&super::gelu_tanh(&x).unwrap(), &x.gelu().unwrap()) < 1e-6);
        let capped = ((&x / 5.0).unwrap().tanh().unwrap() * 5.0).unwrap();
        assert!(max_abs_diff(&super::soft_cap(&x, 5.0).unwrap(), &capped) < 1e-6);
        let xb = x.to_dtype(DType::BF16).unwrap();
        let diff = max_abs_diff(
            &super::gelu_tanh(&xb).unwrap().to_dtype(DType::F32).unwrap(),
            &xb.gelu().unwrap().to_dtype(DType::F32).unwrap(),
        );
        assert!(diff < 0.07, "{diff}");
    }
}
