//! `y = x·Wᵀ` for any number of rows of `x` and a weight in any [`weights`](crate::weights)
//! format: the one entry point of the models' linear layers on CPU.
//!
//! - Up to [`GEMV_ROWS`] rows (a decoding step, a few beams) go to [`gemv`](crate::gemv), which
//!   streams the weight once in its own format.
//! - More rows (a prefill) are compute-bound. bf16 and int8 weights run on
//!   [`dpbf16`](crate::dpbf16) where the CPU has AVX-512 BF16: `x` is rounded to bf16, as in
//!   PyTorch's bf16 products, and the products accumulate in f32 at twice the f32 rate.
//! - Elsewhere, and for f32 weights, the weight is widened to f32 a panel of rows at a time, into one reused buffer of about [`PANEL_BYTES`], and each panel is multiplied by the
//!   `gemm` crate's f32 kernels (AVX2/AVX-512, chosen at run time) on every thread. The widening
//!   reads each weight once per product, a cost of `out·in` against the product's `rows·out·in`.
//!   Panels are large because gemm packs all of `x` again for each one: with 4 MB panels a
//!   2048-row product ran at 70 % of the f32 rate, with 32 MB at about the same rate.

use rayon::prelude::*;

use crate::error::{elements, exactly, Error};
use crate::weights::{Format, Values, WeightRows};

/// Up to this many rows of `x`, the product is a matrix-vector product.
pub const GEMV_ROWS: usize = 4;

/// The f32 panel a bf16 or int8 weight is widened into for a prefill product.
pub const PANEL_BYTES: usize = 32 << 20;

/// Which code runs the products of a weight format on this CPU, for benchmark and log lines:
/// the prefill's and the decoding step's.
pub fn describe(format: Format) -> String {
    let features = crate::cpu::features();
    let gemm_level = match features.isa() {
        crate::cpu::Isa::Avx512 => "AVX-512",
        crate::cpu::Isa::Avx2Fma => "AVX2+FMA",
        crate::cpu::Isa::Scalar => "portable",
    };
    let gemv = match (format, features.isa()) {
        (Format::Bf16, _) if crate::gemv::bf16_rows_use_dpbf16() => {
            "bf16 × x→bf16, vdpbf16ps (AVX-512 BF16)".to_string()
        }
        (_, crate::cpu::Isa::Scalar) => format!("{format}→f32 in registers (portable)"),
        (Format::F32 | Format::Int8, crate::cpu::Isa::Avx512) => {
            format!("{format}→f32 in registers (AVX-512)")
        }
        _ => format!("{format}→f32 in registers (AVX2+FMA)"),
    };
    let prefill = if format == Format::F32 {
        format!("prefill gemm f32 ({gemm_level})")
    } else if crate::dpbf16::available() {
        let weight = match format {
            Format::Bf16 => "bf16".to_string(),
            _ => format!("{format}→bf16"),
        };
        format!("prefill {weight} × x→bf16, vdpbf16ps (AVX-512 BF16)")
    } else {
        format!("prefill {format} panels widened to f32, gemm f32 ({gemm_level})")
    };
    format!("{prefill}; decode gemv {gemv}")
}

/// Weight rows one task widens.
const WIDEN_ROWS_PER_TASK: usize = 64;

/// `y = x·Wᵀ` with `x`: `rows × in_dim` and `y`: `rows × out_dim`, both row-major f32.
pub fn matmul_t(w: WeightRows<'_>, x: &[f32], rows: usize) -> Result<Vec<f32>, Error> {
    let (out_dim, in_dim) = (w.out_dim(), w.in_dim());
    exactly("input length", elements("input", rows, in_dim)?, x.len())?;
    if rows <= GEMV_ROWS {
        return crate::gemv::gemv(w, x, rows);
    }
    let mut y = vec![0f32; elements("output", rows, out_dim)?];
    if out_dim == 0 || in_dim == 0 {
        return Ok(y);
    }
    let Values::F32(values) = w.values() else {
        if crate::dpbf16::available() {
            return crate::dpbf16::matmul_t(w, x, rows);
        }
        return Ok(widened_product(w, x, rows, PANEL_BYTES, y));
    };
    // SAFETY: `values` is out_dim × in_dim, `x` rows × in_dim, `y` rows × out_dim.
    unsafe { panel_product(x, rows, in_dim, values, 0, out_dim, &mut y, out_dim) };
    Ok(y)
}

/// `y = x·Wᵀ` for a bf16 or int8 weight widened to f32 panels of about `panel_bytes` (the tests
/// use small ones), with operands of matching sizes and `y` zeroed.
fn widened_product(
    w: WeightRows<'_>,
    x: &[f32],
    rows: usize,
    panel_bytes: usize,
    mut y: Vec<f32>,
) -> Vec<f32> {
    let (out_dim, in_dim) = (w.out_dim(), w.in_dim());
    let panel_rows = (panel_bytes / 4 / in_dim).clamp(16, out_dim);
    let mut panel = vec![0f32; panel_rows * in_dim];
    let mut first = 0;
    while first < out_dim {
        let count = panel_rows.min(out_dim - first);
        // Widened on every thread: on one, it would idle the others for a few per cent.
        panel[..count * in_dim]
            .par_chunks_mut(WIDEN_ROWS_PER_TASK * in_dim)
            .enumerate()
            .for_each(|(task, chunk)| {
                let row = first + task * WIDEN_ROWS_PER_TASK;
                w.widen_rows(row, chunk.len() / in_dim, chunk);
            });
        // SAFETY: the panel holds count × in_dim values; columns first..first + count of y exist.
        unsafe { panel_product(x, rows, in_dim, &panel, first, count, &mut y, out_dim) };
        first += count;
    }
    y
}

/// `y[:, first..first + count] = x · panelᵀ`, with `panel` the rows `first..first + count` of the
/// weight, row-major.
///
/// # Safety
/// `x` holds `rows × in_dim` values, `panel` at least `count × in_dim`, `y` `rows × out_dim`, and
/// `first + count <= out_dim`.
#[allow(clippy::too_many_arguments)]
unsafe fn panel_product(
    x: &[f32],
    rows: usize,
    in_dim: usize,
    panel: &[f32],
    first: usize,
    count: usize,
    y: &mut [f32],
    out_dim: usize,
) {
    debug_assert!(x.len() >= rows * in_dim && panel.len() >= count * in_dim);
    debug_assert!(first + count <= out_dim && y.len() >= rows * out_dim);
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // gemm computes dst = alpha·dst + beta·lhs·rhs; read_dst = false ignores alpha and dst.
    // lhs = x (rows × in_dim, row-major), rhs = panelᵀ (in_dim × count: element (k, j) at
    // j·in_dim + k), dst = the y columns of this panel (row stride out_dim).
    // SAFETY: the strides address only the ranges the caller guarantees.
    unsafe {
        gemm::gemm(
            rows,
            count,
            in_dim,
            y.as_mut_ptr().add(first),
            1,
            out_dim as isize,
            false,
            x.as_ptr(),
            1,
            in_dim as isize,
            panel.as_ptr(),
            in_dim as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        )
    }
}

#[cfg(test)]
mod tests {
    use half::bf16;

    use super::*;
    use crate::weights::Int8Matrix;

    fn value(i: usize) -> f32 {
        ((i * 7919 % 1013) as f32 / 1013.0) - 0.5
    }

    fn reference(w: &[f32], x: &[f32], out_dim: usize, in_dim: usize, rows: usize) -> Vec<f32> {
        let mut y = vec![0f32; rows * out_dim];
        for r in 0..rows {
            for o in 0..out_dim {
                y[r * out_dim + o] = (0..in_dim)
                    .map(|i| f64::from(w[o * in_dim + i]) * f64::from(x[r * in_dim + i]))
                    .sum::<f64>() as f32;
            }
        }
        y
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn widened_panels_match_the_widened_weight_for_every_format_and_row_count() {
        // Panels of 40 rows (the product of 131 rows takes 3 and a tail), as PANEL_BYTES makes
        // them for a 40 × in_dim slice of a real weight.
        let in_dim = 300;
        let panel_bytes = 40 * in_dim * 4;
        let out_dim = 131;
        let w: Vec<f32> = (0..out_dim * in_dim).map(value).collect();
        let b: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
        let f32_rows = WeightRows::new(Values::F32(&w), out_dim, in_dim).unwrap();
        let bf16_rows = WeightRows::new(Values::Bf16(&b), out_dim, in_dim).unwrap();
        let int8 = Int8Matrix::quantize(f32_rows);
        for rows in [1, GEMV_ROWS, GEMV_ROWS + 1, 37] {
            let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i * 3 + 1)).collect();
            for weight in [f32_rows, bf16_rows, int8.rows()] {
                let mut wide = vec![0f32; out_dim * in_dim];
                weight.widen_rows(0, out_dim, &mut wide);
                // A decoding step's bf16 rows may multiply x rounded to bf16 (AVX-512 BF16).
                let rounds_x = matches!(weight.values(), Values::Bf16(_))
                    && rows <= GEMV_ROWS
                    && crate::gemv::bf16_rows_use_dpbf16();
                let x_seen: Vec<f32> = if rounds_x {
                    x.iter().map(|&v| bf16::from_f32(v).to_f32()).collect()
                } else {
                    x.clone()
                };
                let expected = reference(&wide, &x_seen, out_dim, in_dim, rows);
                let got = match weight.values() {
                    Values::Bf16(_) | Values::Int8 { .. } if rows > GEMV_ROWS => {
                        widened_product(weight, &x, rows, panel_bytes, vec![0.0; rows * out_dim])
                    }
                    _ => matmul_t(weight, &x, rows).unwrap(),
                };
                // Sums of 300 terms of |x·w| <= 0.25: f32 accumulation error far under 1e-4.
                let diff = worst(&got, &expected);
                let format = match weight.values() {
                    Values::F32(_) => "f32",
                    Values::Bf16(_) => "bf16",
                    Values::Int8 { .. } => "int8",
                };
                assert!(diff < 1e-4, "{format}, {rows} rows: {diff}");
            }
        }
    }

    #[test]
    fn bf16_and_int8_prefills_run_on_avx512_bf16_where_the_cpu_has_it() {
        let (out_dim, in_dim, rows) = (40, 70, GEMV_ROWS + 3);
        let w: Vec<bf16> = (0..out_dim * in_dim)
            .map(|i| bf16::from_f32(value(i)))
            .collect();
        let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i + 9)).collect();
        let bf16_rows = WeightRows::new(Values::Bf16(&w), out_dim, in_dim).unwrap();
        let int8 = Int8Matrix::quantize(bf16_rows);
        for weight in [bf16_rows, int8.rows()] {
            let expected = if crate::dpbf16::available() {
                crate::dpbf16::matmul_t(weight, &x, rows).unwrap()
            } else {
                widened_product(weight, &x, rows, PANEL_BYTES, vec![0.0; rows * out_dim])
            };
            assert_eq!(matmul_t(weight, &x, rows).unwrap(), expected);
        }
    }

    #[test]
    fn small_products_are_exact_to_rounding() {
        let (out_dim, in_dim, rows) = (9, 5, 7);
        let w: Vec<f32> = (0..out_dim * in_dim).map(value).collect();
        let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i + 2)).collect();
        let weight = WeightRows::new(Values::F32(&w), out_dim, in_dim).unwrap();
        let got = matmul_t(weight, &x, rows).unwrap();
        assert!(worst(&got, &reference(&w, &x, out_dim, in_dim, rows)) < 1e-6);
        assert!(matches!(
            matmul_t(weight, &x[1..], rows),
            Err(Error::Size { .. })
        ));
    }
}
