//! Linear layers `y = x·Wᵀ + b` whose weight stays in its storage format: f32, bf16 (as
//! published) or int8 (`--quant int8`, decoder only), with the products on CPU run by
//! [`raddraft_kernels::matmul`].
//!
//! - f32 weights keep candle's product for a prefill, the reference path, and use the parallel
//!   matrix-vector kernel for a decoding step.
//! - bf16 and int8 weights are never widened as a whole: candle would widen a bf16 weight to a
//!   temporary f32 copy on every call (2.4 GB for the 3B head on every token). On CPUs with
//!   AVX-512 BF16 the kernels multiply them with `x` rounded to bf16 (`vdpbf16ps`); elsewhere
//!   they widen them in registers (decoding) or a panel at a time (prefill). Sums are f32, and
//!   the output is rounded to the activations' dtype, as PyTorch's bf16 products do.
//! - On GPUs, dense weights use candle's product; int8 is CPU-only.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor};
use raddraft_kernels::matmul::{matmul_t, GEMV_ROWS};
use raddraft_kernels::weights::{Int8Matrix, Values, WeightRows};

/// How a linear layer's weight `[out, in]` is held.
#[derive(Debug, Clone)]
enum Weight {
    Dense(Tensor),
    Int8(Arc<Int8Matrix>),
}

#[derive(Debug, Clone)]
pub struct Linear {
    weight: Weight,
    out_dim: usize,
    in_dim: usize,
    bias: Option<Tensor>,
}

impl Linear {
    /// A layer over a dense `[out, in]` weight.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let (out_dim, in_dim) = weight.dims2()?;
        Ok(Self {
            weight: Weight::Dense(weight),
            out_dim,
            in_dim,
            bias,
        })
    }

    /// The same layer with its weight quantised to int8, one scale per output row.
    pub fn quantized(self) -> Result<Self> {
        let Weight::Dense(dense) = &self.weight else {
            return Ok(self);
        };
        if !dense.device().is_cpu() {
            candle_core::bail!("int8 weights run on the CPU only; load the model with --device cpu")
        }
        let dense = dense.contiguous()?;
        let (storage, layout) = dense.storage_and_layout();
        let quantized = match (&*storage, layout.contiguous_offsets()) {
            (candle_core::Storage::Cpu(cpu), Some((start, end))) => {
                let values = match cpu {
                    CpuStorage::F32(v) => Values::F32(&v[start..end]),
                    CpuStorage::BF16(v) => Values::Bf16(&v[start..end]),
                    _ => candle_core::bail!("int8 quantisation reads f32 or bf16 weights"),
                };
                let rows = WeightRows::new(values, self.out_dim, self.in_dim)
                    .map_err(candle_core::Error::wrap)?;
                Int8Matrix::quantize(rows)
            }
            _ => candle_core::bail!("int8 quantisation needs a contiguous CPU weight"),
        };
        drop(storage);
        Ok(Self {
            weight: Weight::Int8(Arc::new(quantized)),
            ..self
        })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// Bytes the weight occupies in memory (without the bias).
    pub fn weight_bytes(&self) -> usize {
        match &self.weight {
            Weight::Dense(t) => tensor_bytes(t),
            Weight::Int8(q) => q.bytes(),
        }
    }

    /// Bytes of the weight and the bias.
    pub fn bytes(&self) -> usize {
        self.weight_bytes() + self.bias.as_ref().map_or(0, tensor_bytes)
    }

    /// Rows `ids` of the weight as a `[ids, in]` tensor of `dtype`: the embedding lookup of a
    /// table that doubles as the tied output head.
    pub fn rows(&self, ids: &Tensor, dtype: DType) -> Result<Tensor> {
        match &self.weight {
            Weight::Dense(t) => t.index_select(ids, 0)?.to_dtype(dtype),
            Weight::Int8(q) => {
                let ids = ids.to_vec1::<u32>()?;
                let mut out = vec![0f32; ids.len() * self.in_dim];
                for (dst, &id) in out.chunks_exact_mut(self.in_dim.max(1)).zip(&ids) {
                    let id = id as usize;
                    if id >= self.out_dim {
                        candle_core::bail!(
                            "token id {id} is outside the {}-row table",
                            self.out_dim
                        )
                    }
                    q.widen_row(id, dst);
                }
                Tensor::from_vec(out, (ids.len(), self.in_dim), &candle_core::Device::Cpu)?
                    .to_dtype(dtype)
            }
        }
    }
}

impl candle_core::Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let rows = x.elem_count() / self.in_dim.max(1);
        let mut out_shape = dims.to_vec();
        if let Some(last) = out_shape.last_mut() {
            *last = self.out_dim;
        }
        let flat = || {
            x.reshape((rows, self.in_dim))?
                .to_dtype(DType::F32)?
                .contiguous()
        };
        let y = match &self.weight {
            Weight::Int8(q) => flat()?
                .apply_op1_no_bwd(&Int8Product(q))?
                .to_dtype(x.dtype())?
                .reshape(out_shape)?,
            Weight::Dense(w) if kernel_takes(w, rows) => w
                .contiguous()?
                .apply_op2_no_bwd(&flat()?, &DenseProduct)?
                .to_dtype(x.dtype())?
                .reshape(out_shape)?,
            Weight::Dense(w) => x.broadcast_matmul(&w.t()?)?,
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

/// Bytes of a tensor's elements.
pub(crate) fn tensor_bytes(t: &Tensor) -> usize {
    t.elem_count() * t.dtype().size_in_bytes()
}

/// Whether the kernels run this dense product: every CPU product of a bf16 weight, and the
/// decoding steps of an f32 one.
fn kernel_takes(w: &Tensor, rows: usize) -> bool {
    w.device().is_cpu()
        && match w.dtype() {
            DType::BF16 => true,
            DType::F32 => rows <= GEMV_ROWS,
            _ => false,
        }
}

/// `y = x·Wᵀ` for a contiguous f32 or bf16 `W: [out, in]` and f32 `x: [rows, in]`.
struct DenseProduct;

impl CustomOp2 for DenseProduct {
    fn name(&self) -> &'static str {
        "raddraft-matmul-t"
    }

    fn cpu_fwd(
        &self,
        w: &CpuStorage,
        w_layout: &Layout,
        x: &CpuStorage,
        x_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (Some((w0, w1)), Some((x0, x1))) =
            (w_layout.contiguous_offsets(), x_layout.contiguous_offsets())
        else {
            candle_core::bail!("{} needs contiguous operands", self.name())
        };
        let values = match w {
            CpuStorage::F32(v) => Values::F32(&v[w0..w1]),
            CpuStorage::BF16(v) => Values::Bf16(&v[w0..w1]),
            _ => candle_core::bail!("{} reads f32 or bf16 weights", self.name()),
        };
        let (out_dim, in_dim) = w_layout.shape().dims2()?;
        let weight = WeightRows::new(values, out_dim, in_dim).map_err(candle_core::Error::wrap)?;
        product(weight, x, x_layout, x0, x1)
    }
}

/// `y = x·Wᵀ` for an int8 `W` and f32 `x: [rows, in]`.
struct Int8Product<'a>(&'a Int8Matrix);

impl CustomOp1 for Int8Product<'_> {
    fn name(&self) -> &'static str {
        "raddraft-matmul-t-int8"
    }

    fn cpu_fwd(&self, x: &CpuStorage, x_layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((x0, x1)) = x_layout.contiguous_offsets() else {
            candle_core::bail!("{} needs a contiguous input", self.name())
        };
        product(self.0.rows(), x, x_layout, x0, x1)
    }
}

fn product(
    weight: WeightRows<'_>,
    x: &CpuStorage,
    x_layout: &Layout,
    x0: usize,
    x1: usize,
) -> Result<(CpuStorage, Shape)> {
    let CpuStorage::F32(x) = x else {
        candle_core::bail!("the linear kernels take f32 inputs")
    };
    let (rows, _) = x_layout.shape().dims2()?;
    let y = matmul_t(weight, &x[x0..x1], rows).map_err(candle_core::Error::wrap)?;
    Ok((CpuStorage::F32(y), Shape::from((rows, weight.out_dim()))))
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Module, Tensor};

    use raddraft_kernels::matmul::GEMV_ROWS;

    use super::Linear;
    use crate::test_support::max_abs_diff;

    fn reference(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
        x.to_dtype(DType::F32)
            .unwrap()
            .broadcast_matmul(&w.to_dtype(DType::F32).unwrap().t().unwrap())
            .unwrap()
            .broadcast_add(&b.to_dtype(DType::F32).unwrap())
            .unwrap()
    }

    #[test]
    fn every_weight_format_matches_the_widened_product_for_decoding_and_prefill() {
        let w = Tensor::randn(0f32, 1.0, (1000, 333), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, 1000, &Device::Cpu).unwrap();
        let f32_layer = Linear::new(w.clone(), Some(b.clone())).unwrap();
        let wb = w.to_dtype(DType::BF16).unwrap();
        // Without a bias, so that the output's one rounding to bf16 can be bounded.
        let bf16_layer = Linear::new(wb.clone(), None).unwrap();
        let int8_layer = f32_layer.clone().quantized().unwrap();
        assert_eq!(int8_layer.weight_bytes(), 1000 * 333 + 4 * 1000);
        let all_rows = Tensor::arange(0u32, 1000, &Device::Cpu).unwrap();
        let dequantized = int8_layer.rows(&all_rows, DType::F32).unwrap();
        assert!(max_abs_diff(&dequantized, &w) > 0.0);
        for rows in [1, 3, 7, 40] {
            let x = Tensor::randn(0f32, 1.0, (1, rows, 333), &Device::Cpu).unwrap();
            let expected = reference(&x, &w, &b);
            let diff = max_abs_diff(&f32_layer.forward(&x).unwrap(), &expected);
            assert!(diff < 1e-4, "f32, rows {rows}: {diff}");

            // bf16 activations and weight: the f32 product of the bf16 values, rounded to bf16.
            let xb = x.to_dtype(DType::BF16).unwrap();
            let got = bf16_layer.forward(&xb).unwrap();
            assert_eq!(got.dtype(), DType::BF16);
            // One bf16 rounding of an f32 sum: within one unit in the last place.
            let expected_bf16 = reference(&xb, &wb, &b.zeros_like().unwrap());
            let ulps = (got.to_dtype(DType::F32).unwrap() - &expected_bf16)
                .unwrap()
                .abs()
                .unwrap()
                .broadcast_div(&((expected_bf16.abs().unwrap() / 128.0).unwrap() + 1e-3).unwrap())
                .unwrap();
            let worst = max_abs_diff(&ulps, &ulps.zeros_like().unwrap());
            assert!(
                worst <= 1.0,
                "bf16, rows {rows}: {worst} units in the last place"
            );

            // int8: the product of the dequantised weight (whose error the kernels' tests bound).
            // A prefill on AVX-512 BF16 multiplies both operands rounded to bf16.
            let expected_int8 = if rows > GEMV_ROWS && raddraft_kernels::dpbf16::available() {
                let round = |t: &Tensor| t.to_dtype(DType::BF16).unwrap();
                reference(&round(&x), &round(&dequantized), &b)
            } else {
                reference(&x, &dequantized, &b)
            };
            let diff = max_abs_diff(&int8_layer.forward(&x).unwrap(), &expected_int8);
            assert!(diff < 1e-4, "int8, rows {rows}: {diff}");
        }
    }

    #[test]
    fn int8_rows_dequantise_the_table_and_refuse_unknown_ids() {
        let w = Tensor::randn(0f32, 1.0, (50, 16), &Device::Cpu).unwrap();
        let table = Linear::new(w.clone(), None).unwrap().quantized().unwrap();
        let ids = Tensor::new(&[3u32, 49, 0], &Device::Cpu).unwrap();
        let rows = table.rows(&ids, DType::F32).unwrap();
        let expected = w.index_select(&ids, 0).unwrap();
        // Half a step of a row whose largest |value| is at most ~5.
        assert!(max_abs_diff(&rows, &expected) < 5.0 / 254.0);
        let bad = Tensor::new(&[50u32], &Device::Cpu).unwrap();
        assert!(table.rows(&bad, DType::F32).is_err());
    }
}
