//! Element-wise activations that candle runs on one thread on CPU, spread over all threads.
//!
//! The tanh GELU of every MLP and the soft-caps of every attention layer touch tens of millions
//! of values per prefill; on CPU they run here in parallel, on GPUs through candle's own kernels.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor};
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

/// A linear layer `y = x·Wᵀ + b` whose few-row case (decoding) multiplies the weight by the
/// input instead, so the large `[out, in]` matrix is the contiguous, row-split operand: gemm
/// then streams the weight at memory bandwidth on every thread.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

/// Up to this many rows the weight-major product is used.
const FEW_ROWS: usize = 4;

impl Linear {
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self { weight, bias }
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl candle_core::Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let in_dim = *dims.last().unwrap_or(&0);
        let rows = x.elem_count() / in_dim.max(1);
        let out_dim = self.weight.dim(0)?;
        let few_rows_f32 = rows <= FEW_ROWS
            && x.device().is_cpu()
            && x.dtype() == DType::F32
            && self.weight.dtype() == DType::F32
            && self.weight.is_contiguous();
        let y = if few_rows_f32 {
            let flat = x.reshape((rows, in_dim))?.contiguous()?;
            let mut shape = dims.to_vec();
            if let Some(last) = shape.last_mut() {
                *last = out_dim;
            }
            self.weight.apply_op2_no_bwd(&flat, &Gemv)?.reshape(shape)?
        } else {
            x.broadcast_matmul(&self.weight.t()?)?
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

/// `x·Wᵀ` for a few rows of `x`, with the output rows of `W` split across threads: a decoding
/// step is a matrix-vector product bound by memory bandwidth, which gemm's single-threaded
/// matrix-vector path does not reach.
struct Gemv;

impl CustomOp2 for Gemv {
    fn name(&self) -> &'static str {
        "parallel-gemv"
    }

    fn cpu_fwd(
        &self,
        w: &CpuStorage,
        w_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(w), CpuStorage::F32(x)) = (w, x) else {
            candle_core::bail!("parallel-gemv supports f32 only")
        };
        let (Some((w0, w1)), Some((x0, x1))) =
            (w_layout.contiguous_offsets(), x_layout.contiguous_offsets())
        else {
            candle_core::bail!("parallel-gemv needs contiguous operands")
        };
        let (out_dim, in_dim) = w_layout.shape().dims2()?;
        let (rows, x_in) = x_layout.shape().dims2()?;
        if x_in != in_dim {
            candle_core::bail!("parallel-gemv: input width {x_in} vs weight width {in_dim}");
        }
        let (w, x) = (&w[w0..w1], &x[x0..x1]);
        // Row-major [rows, out]: computed as [out, rows] blocks of weight rows, then transposed.
        let mut by_output = vec![0f32; out_dim * rows];
        by_output
            .par_chunks_mut(64 * rows)
            .enumerate()
            .for_each(|(block, dst)| {
                for (i, cell) in dst.chunks_mut(rows).enumerate() {
                    let o = block * 64 + i;
                    let w_row = &w[o * in_dim..(o + 1) * in_dim];
                    for (r, value) in cell.iter_mut().enumerate() {
                        *value = dot(w_row, &x[r * in_dim..(r + 1) * in_dim]);
                    }
                }
            });
        let out = if rows == 1 {
            by_output
        } else {
            (0..rows)
                .flat_map(|r| {
                    by_output
                        .iter()
                        .skip(r)
                        .step_by(rows)
                        .copied()
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        Ok((CpuStorage::F32(out), Shape::from((rows, out_dim))))
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (a_body, b_body) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_body
        .remainder()
        .iter()
        .zip(b_body.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a_body.zip(b_body) {
        for i in 0..LANES {
            acc[i] += ca[i] * cb[i];
        }
    }
    acc.iter().sum::<f32>() + tail
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

    #[test]
    fn few_row_product_matches_matmul() {
        use candle_core::Module;
        let w = Tensor::randn(0f32, 1.0, (1000, 333), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, 1000, &Device::Cpu).unwrap();
        let linear = super::Linear::new(w.clone(), Some(b.clone()));
        for rows in [1, 3, 7] {
            let x = Tensor::randn(0f32, 1.0, (1, rows, 333), &Device::Cpu).unwrap();
            let expected = x
                .broadcast_matmul(&w.t().unwrap())
                .unwrap()
                .broadcast_add(&b)
                .unwrap();
            let diff = max_diff(&linear.forward(&x).unwrap(), &expected);
            assert!(diff < 1e-4, "rows {rows}: {diff}");
        }
    }
}
