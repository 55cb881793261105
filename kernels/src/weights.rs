//! Weight matrices `[out, in]` in the storage formats the products read: f32 (the reference),
//! bf16 (the published checkpoints, half the bytes) and int8 with one f32 scale per output row
//! (a quarter of the bytes, decoding only by choice).
//!
//! The products never widen a whole matrix: decoding widens each value in registers as it
//! streams past ([`gemv`](crate::gemv)), and prefill widens a few hundred rows at a time into a
//! reused f32 panel ([`matmul`](crate::matmul)), so the resident weights stay in their format.

use half::bf16;

use crate::error::{elements, exactly, Error};

/// The values of a weight matrix, borrowed, row-major `[out_dim, in_dim]`.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    F32(&'a [f32]),
    Bf16(&'a [bf16]),
    /// `value = scales[row] · values[row, col]`.
    Int8 {
        values: &'a [i8],
        scales: &'a [f32],
    },
}

/// The storage format of a weight matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    F32,
    Bf16,
    Int8,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::Int8 => "int8",
        })
    }
}

/// A weight matrix whose sizes have been checked against its values.
#[derive(Debug, Clone, Copy)]
pub struct WeightRows<'a> {
    values: Values<'a>,
    out_dim: usize,
    in_dim: usize,
}

impl<'a> WeightRows<'a> {
    /// Checks that `values` holds `out_dim × in_dim` values (and `out_dim` int8 scales).
    pub fn new(values: Values<'a>, out_dim: usize, in_dim: usize) -> Result<Self, Error> {
        let needed = elements("weight", out_dim, in_dim)?;
        match values {
            Values::F32(v) => exactly("weight length", needed, v.len())?,
            Values::Bf16(v) => exactly("weight length", needed, v.len())?,
            Values::Int8 { values, scales } => {
                exactly("weight length", needed, values.len())?;
                exactly("int8 scale count", out_dim, scales.len())?;
            }
        }
        Ok(Self {
            values,
            out_dim,
            in_dim,
        })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    pub fn values(&self) -> Values<'a> {
        self.values
    }

    /// Writes rows `first..first + count` as f32 into `dst` (`count × in_dim` values).
    pub(crate) fn widen_rows(&self, first: usize, count: usize, dst: &mut [f32]) {
        let (start, end) = (first * self.in_dim, (first + count) * self.in_dim);
        let dst = &mut dst[..end - start];
        match self.values {
            Values::F32(v) => dst.copy_from_slice(&v[start..end]),
            Values::Bf16(v) => widen_bf16(&v[start..end], dst),
            Values::Int8 { values, scales } => {
                for (row, (dst, src)) in dst
                    .chunks_exact_mut(self.in_dim)
                    .zip(values[start..end].chunks_exact(self.in_dim))
                    .enumerate()
                {
                    dequantize_row(src, scales[first + row], dst);
                }
            }
        }
    }
}

crate::multiversion! {
    [avx512, avx2]
    /// bf16 → f32 is exact: the bf16 bits are the high half of the f32.
    fn widen_bf16(src: &[bf16], dst: &mut [f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = f32::from_bits(u32::from(s.to_bits()) << 16);
        }
    }
}

crate::multiversion! {
    [avx512, avx2]
    fn dequantize_row(src: &[i8], scale: f32, dst: &mut [f32]) {
        for (d, &q) in dst.iter_mut().zip(src) {
            *d = f32::from(q) * scale;
        }
    }
}

/// An int8 weight matrix with one scale per output row, owned.
///
/// Symmetric absmax quantisation: `scale = max |w| / 127` over the row and
/// `q = round(w / scale)`, so every value is within `scale / 2` of the original and the largest
/// keeps its exact magnitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Matrix {
    values: Vec<i8>,
    scales: Vec<f32>,
    out_dim: usize,
    in_dim: usize,
}

impl Int8Matrix {
    /// Quantises `weight`, rows in parallel.
    pub fn quantize(weight: WeightRows<'_>) -> Self {
        use rayon::prelude::*;
        let (out_dim, in_dim) = (weight.out_dim, weight.in_dim);
        let mut values = vec![0i8; out_dim * in_dim];
        let mut scales = vec![0f32; out_dim];
        const ROWS_PER_TASK: usize = 64;
        values
            .par_chunks_mut((ROWS_PER_TASK * in_dim).max(1))
            .zip(scales.par_chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(|(task, (values, scales))| {
                let mut row = vec![0f32; in_dim];
                for (i, (q, scale)) in values
                    .chunks_exact_mut(in_dim.max(1))
                    .zip(scales.iter_mut())
                    .enumerate()
                {
                    weight.widen_rows(task * ROWS_PER_TASK + i, 1, &mut row);
                    *scale = quantize_row(&row, q);
                }
            });
        Self {
            values,
            scales,
            out_dim,
            in_dim,
        }
    }

    pub fn rows(&self) -> WeightRows<'_> {
        WeightRows {
            values: Values::Int8 {
                values: &self.values,
                scales: &self.scales,
            },
            out_dim: self.out_dim,
            in_dim: self.in_dim,
        }
    }

    /// Writes row `row` as f32 into `dst` (`in_dim` values).
    pub fn widen_row(&self, row: usize, dst: &mut [f32]) {
        self.rows().widen_rows(row, 1, dst);
    }

    /// Bytes held: the int8 values and the f32 scales.
    pub fn bytes(&self) -> usize {
        self.values.len() + 4 * self.scales.len()
    }
}

/// Quantises one row into `q` and returns its scale (0 for an all-zero row).
fn quantize_row(row: &[f32], q: &mut [i8]) -> f32 {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if row.iter().any(|v| v.is_nan()) || max.is_infinite() {
        // A NaN or infinite scale makes the row's products NaN, as the f32 product would be.
        q.fill(0);
        return f32::NAN;
    }
    if max == 0.0 {
        q.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    let inverse = 127.0 / max;
    for (q, &v) in q.iter_mut().zip(row) {
        *q = (v * inverse).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_exact_and_dequantising_stays_within_half_a_step() {
        let (out_dim, in_dim) = (70, 19);
        let f: Vec<f32> = (0..out_dim * in_dim)
            .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * (1 + i % 5) as f32)
            .collect();
        let b: Vec<bf16> = f.iter().map(|&v| bf16::from_f32(v)).collect();
        let rows = WeightRows::new(Values::Bf16(&b), out_dim, in_dim).unwrap();
        let mut wide = vec![0f32; 3 * in_dim];
        rows.widen_rows(5, 3, &mut wide);
        for (i, v) in wide.iter().enumerate() {
            assert_eq!(*v, b[5 * in_dim + i].to_f32());
        }

        let q = Int8Matrix::quantize(WeightRows::new(Values::F32(&f), out_dim, in_dim).unwrap());
        let mut back = vec![0f32; out_dim * in_dim];
        q.rows().widen_rows(0, out_dim, &mut back);
        for row in 0..out_dim {
            let original = &f[row * in_dim..(row + 1) * in_dim];
            let max = original.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(q.scales[row], max / 127.0);
            for (a, b) in original.iter().zip(&back[row * in_dim..(row + 1) * in_dim]) {
                assert!(
                    (a - b).abs() <= max / 127.0 * 0.5 * 1.0001,
                    "row {row}: {a} vs {b}"
                );
            }
            let largest = back[row * in_dim..(row + 1) * in_dim]
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()));
            assert!((largest - max).abs() <= max * 1e-6);
        }
        assert_eq!(q.bytes(), out_dim * in_dim + 4 * out_dim);
    }

    #[test]
    fn zero_rows_quantise_to_zero() {
        let f = vec![0f32; 8];
        let q = Int8Matrix::quantize(WeightRows::new(Values::F32(&f), 2, 4).unwrap());
        assert_eq!(q.scales, vec![0.0, 0.0]);
        assert!(q.values.iter().all(|&v| v == 0));
    }

    #[test]
    fn sizes_are_checked() {
        let f = vec![0f32; 6];
        assert!(WeightRows::new(Values::F32(&f), 2, 3).is_ok());
        assert!(matches!(
            WeightRows::new(Values::F32(&f), 3, 3),
            Err(Error::Size { needed: 9, .. })
        ));
        let q = vec![0i8; 6];
        assert!(matches!(
            WeightRows::new(
                Values::Int8 {
                    values: &q,
                    scales: &[1.0]
                },
                2,
                3
            ),
            Err(Error::Size {
                operand: "int8 scale count",
                ..
            })
        ));
    }
}
