//! Element-wise activations that candle runs on one thread on CPU, spread over all threads.
//!
//! The tanh GELU of every MLP and the soft-caps of every attention layer touch tens of millions
//! of values per prefill; on CPU they run here in parallel, on GPUs through candle's own kernels.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use half::{bf16, f16};
use rayon::prelude::*;

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
                0.5 * x * (1.0 + (SQRT_TWO_OVER_PI * x * (1.0 + 0.044715 * x * x)).tanh())
            }
            Self::SoftCap(cap) => cap * (x / cap).tanh(),
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
            CpuStorage::F32(v) => CpuStorage::F32(parallel_map(&v[start..end], |x| self.apply(x))),
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
    let mut out: Vec<T> = Vec::with_capacity(src.len());
    // SAFETY: every element is written below before the vector is read.
    #[allow(clippy::uninit_vec)]
    unsafe {
        out.set_len(src.len())
    };
    out.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(dst, src)| dst.iter_mut().zip(src).for_each(|(d, &s)| *d = f(s)));
    out
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
    use candle_core::{DType, Device, Tensor};

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    #[test]
    fn parallel_ops_match_candle_composition() {
        let x = (Tensor::randn(0f32, 3.0, (3, 40_000), &Device::Cpu).unwrap())
            .contiguous()
            .unwrap();
        assert!(max_diff(&super::gelu_tanh(&x).unwrap(), &x.gelu().unwrap()) < 1e-6);
        let capped = ((&x / 5.0).unwrap().tanh().unwrap() * 5.0).unwrap();
        assert!(max_diff(&super::soft_cap(&x, 5.0).unwrap(), &capped) < 1e-6);
        let xb = x.to_dtype(DType::BF16).unwrap();
        let diff = max_diff(
            &super::gelu_tanh(&xb).unwrap().to_dtype(DType::F32).unwrap(),
            &xb.gelu().unwrap().to_dtype(DType::F32).unwrap(),
        );
        assert!(diff < 0.07, "{diff}");
    }
}
