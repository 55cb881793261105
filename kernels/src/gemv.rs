//! The matrix-vector product of a decoding step, `x·Wᵀ` for a few rows of `x`, on CPU.
//!
//! A decoding step reads every weight once (about 3 GB per token for the 3B model in f32), so
//! it is bound by memory bandwidth. gemm's few-row path runs on one thread; here the output rows
//! of `W` are split across threads, and each core streams four weight rows at a time with the
//! widest vector unit it has, which keeps enough loads in flight to saturate memory.

use rayon::prelude::*;

use crate::cpu::{self, Isa};
use crate::error::{elements, exactly, Error};

/// Weight rows per task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 64;

/// `y = x·Wᵀ` with `w`: `out_dim × in_dim` and `x`: `rows × in_dim`, both row-major; `y` is
/// `rows × out_dim`, row-major.
pub fn gemv(
    w: &[f32],
    x: &[f32],
    out_dim: usize,
    in_dim: usize,
    rows: usize,
) -> Result<Vec<f32>, Error> {
    exactly(
        "weight length",
        elements("weight", out_dim, in_dim)?,
        w.len(),
    )?;
    exactly("input length", elements("input", rows, in_dim)?, x.len())?;
    if rows == 0 || out_dim == 0 {
        return Ok(Vec::new());
    }
    Ok(product(w, x, out_dim, in_dim, rows, cpu::features().isa()))
}

fn product(w: &[f32], x: &[f32], out_dim: usize, in_dim: usize, rows: usize, k: Isa) -> Vec<f32> {
    // Computed as [out, rows] so that each task owns a contiguous block, then transposed.
    let mut by_output = vec![0f32; out_dim * rows];
    by_output
        .par_chunks_mut(ROWS_PER_TASK * rows)
        .enumerate()
        .for_each(|(task, dst)| {
            let first = task * ROWS_PER_TASK;
            let count = dst.len() / rows;
            let mut o = 0;
            while o < count {
                let quad = (o + 4 <= count).then(|| {
                    std::array::from_fn(|j| {
                        let row = first + o + j;
                        &w[row * in_dim..(row + 1) * in_dim]
                    })
                });
                for r in 0..rows {
                    let xr = &x[r * in_dim..(r + 1) * in_dim];
                    match quad {
                        Some(ws) => {
                            for (j, value) in k.dot4(ws, xr).into_iter().enumerate() {
                                dst[(o + j) * rows + r] = value;
                            }
                        }
                        None => {
                            let row = first + o;
                            dst[o * rows + r] = k.dot(&w[row * in_dim..(row + 1) * in_dim], xr);
                        }
                    }
                }
                o += if quad.is_some() { 4 } else { 1 };
            }
        });
    if rows == 1 {
        return by_output;
    }
    let mut out = vec![0f32; out_dim * rows];
    for (o, cell) in by_output.chunks_exact(rows).enumerate() {
        for (r, value) in cell.iter().enumerate() {
            out[r * out_dim + o] = *value;
        }
    }
    out
}

/// The dot products on one vector unit: `product` is given the detected level, or in the tests a
/// level the CPU has.
impl Isa {
    fn dot(self, w: &[f32], x: &[f32]) -> f32 {
        self.dot4([w, w, w, w], x)[0]
    }

    /// The dot products of `x` with four weight rows of `x.len()` values each.
    fn dot4(self, w: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
        match self {
            // SAFETY: the CPU has the level (see above).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { x86::dot4_avx2(w, x) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::dot4_avx512(w, x) },
            _ => w.map(|row| dot_portable(row, x)),
        }
    }
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Callers guarantee AVX-512F. One accumulator per weight row; each `x` load serves four
    /// rows. The tail past the last full vector is scalar.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dot4_avx512(w: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
        let n = w.iter().map(|r| r.len()).fold(x.len(), usize::min);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n, the length of `x` and of every weight row.
            unsafe {
                let xv = _mm512_loadu_ps(x.as_ptr().add(i));
                for (slot, row) in acc.iter_mut().zip(&w) {
                    *slot = _mm512_fmadd_ps(_mm512_loadu_ps(row.as_ptr().add(i)), xv, *slot);
                }
            }
            i += 16;
        }
        std::array::from_fn(|j| {
            _mm512_reduce_add_ps(acc[j]) + super::dot_portable(&w[j][i..n], &x[i..n])
        })
    }

    /// Callers guarantee AVX2 and FMA. Same scheme as the AVX-512 kernel with 8 lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot4_avx2(w: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
        let n = w.iter().map(|r| r.len()).fold(x.len(), usize::min);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, the length of `x` and of every weight row.
            unsafe {
                let xv = _mm256_loadu_ps(x.as_ptr().add(i));
                for (slot, row) in acc.iter_mut().zip(&w) {
                    *slot = _mm256_fmadd_ps(_mm256_loadu_ps(row.as_ptr().add(i)), xv, *slot);
                }
            }
            i += 8;
        }
        std::array::from_fn(|j| {
            let mut lanes = [0f32; 8];
            // SAFETY: `lanes` holds exactly 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[j]) };
            lanes.iter().sum::<f32>() + super::dot_portable(&w[j][i..n], &x[i..n])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{gemv, product};
    use crate::cpu::{features, Isa};
    use crate::Error;

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

    #[test]
    fn every_kernel_matches_a_plain_product_on_ragged_sizes() {
        let kernels: Vec<Isa> = [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512]
            .into_iter()
            .filter(|&isa| features().has(isa))
            .collect();
        let value = |i: usize| ((i * 7919 % 1013) as f32 / 1013.0) - 0.5;
        // 133 output rows: 2 full tasks + a ragged one, ending in a non-multiple of 4;
        // 37 inputs: two 16-lane vectors and a 5-value tail.
        let (out_dim, in_dim) = (133, 37);
        let w: Vec<f32> = (0..out_dim * in_dim).map(value).collect();
        for rows in [1, 3] {
            let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i + 11)).collect();
            let expected = reference(&w, &x, out_dim, in_dim, rows);
            for &kernel in &kernels {
                let got = product(&w, &x, out_dim, in_dim, rows, kernel);
                let worst = got
                    .iter()
                    .zip(&expected)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-5, "{kernel:?}, {rows} rows: {worst}");
            }
            let best = product(&w, &x, out_dim, in_dim, rows, features().isa());
            assert!(gemv(&w, &x, out_dim, in_dim, rows).unwrap() == best);
        }
    }

    #[test]
    fn mismatched_or_empty_operands() {
        let w = vec![1f32; 6];
        assert_eq!(
            gemv(&w, &[1.0; 4], 2, 3, 1),
            Err(Error::Size {
                operand: "input length",
                needed: 3,
                got: 4
            })
        );
        assert!(matches!(
            gemv(&w, &[1.0; 3], 3, 3, 1),
            Err(Error::Size { needed: 9, .. })
        ));
        assert!(matches!(
            gemv(&[], &[], usize::MAX, 2, 0),
            Err(Error::TooLarge { .. })
        ));
        assert_eq!(gemv(&w, &[], 2, 3, 0), Ok(Vec::new()));
        assert_eq!(gemv(&[], &[], 0, 3, 0), Ok(Vec::new()));
        assert_eq!(gemv(&[], &[], 2, 0, 1), Ok(vec![0.0, 0.0]));
    }
}
