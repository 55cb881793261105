//! The candle op that sends a decoding step's `x·Wᵀ` (a few rows of `x`) to
//! [`raddraft_kernels::gemv`], which splits the output rows across threads; gemm's few-row path
//! runs on one thread, and a decoding step is bound by memory bandwidth.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape};

/// `y = x·Wᵀ` with `W: [out, in]` and `x: [rows, in]`, both contiguous f32; `y: [rows, out]`.
pub(crate) struct Gemv;

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
        let out = raddraft_kernels::gemv::gemv(&w[w0..w1], &x[x0..x1], out_dim, in_dim, rows)
            .map_err(candle_core::Error::wrap)?;
        Ok((CpuStorage::F32(out), Shape::from((rows, out_dim))))
    }
}
