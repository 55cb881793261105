//! Packing both operands of a [`vdpbf16ps` product](super) into the pair-major slivers the
//! micro-kernel reads: one 32-bit word holds elements `2p` (low half) and `2p + 1` (high half)
//! of k, and a k that is odd gets a zero high half in its last pair.

use half::bf16;
use rayon::prelude::*;

use super::tile::{COLS, ROWS};
use crate::weights::{Values, WeightRows};

/// The right operand `R` (`k × n`) of `y = x·R`.
#[derive(Debug, Clone, Copy)]
pub enum Right<'a> {
    /// A weight `W` (`n × k`, any format) read as `Wᵀ`: the linear layers, and attention's
    /// `Q·Kᵀ` with `K` as f32 rows.
    Rows(WeightRows<'a>),
    /// A row-major f32 `k × n` matrix: attention's `P·V`.
    Columns {
        values: &'a [f32],
        k: usize,
        n: usize,
    },
}

impl Right<'_> {
    pub fn k(&self) -> usize {
        match self {
            Right::Rows(w) => w.in_dim(),
            Right::Columns { k, .. } => *k,
        }
    }

    pub fn n(&self) -> usize {
        match self {
            Right::Rows(w) => w.out_dim(),
            Right::Columns { n, .. } => *n,
        }
    }
}

fn pair(low: bf16, high: bf16) -> u32 {
    u32::from(low.to_bits()) | (u32::from(high.to_bits()) << 16)
}

/// `x` (`rows × k` f32) rounded to bf16, as slivers of [`ROWS`] rows: sliver `s` holds
/// `pairs × ROWS` words, pair-major; rows past `rows` are zero.
pub(super) fn rows_of_x(x: &[f32], rows: usize, k: usize) -> Vec<u32> {
    let pairs = k.div_ceil(2);
    let mut packed = vec![0u32; rows.div_ceil(ROWS) * pairs * ROWS];
    packed
        .par_chunks_mut(pairs * ROWS)
        .enumerate()
        .for_each(|(sliver, dst)| {
            for r in 0..ROWS.min(rows - sliver * ROWS) {
                let row = &x[(sliver * ROWS + r) * k..][..k];
                #[cfg(target_arch = "x86_64")]
                // SAFETY: products run only where `available()`: AVX-512F and BF16.
                unsafe {
                    f32_pairs_avx512(row, &mut dst[r..], ROWS)
                };
                #[cfg(not(target_arch = "x86_64"))]
                put_pairs(row, &mut dst[r..], ROWS, bf16::from_f32);
            }
        });
    packed
}

/// [`put_pairs`] for f32 values, 32 at a time with `vcvtne2ps2bf16` (the same rounding to
/// nearest even); the packing of `x` was 8 % of a bf16 prefill with scalar rounding.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512 BF16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn f32_pairs_avx512(values: &[f32], dst: &mut [u32], stride: usize) {
    use std::arch::x86_64::{__m512i, _mm512_cvtne2ps_pbh, _mm512_loadu_ps, _mm512_storeu_si512};
    let mut chunks = values.chunks_exact(32);
    let mut pairs = [0u32; 16];
    for (c, chunk) in chunks.by_ref().enumerate() {
        // SAFETY: the chunk holds 32 values; `pairs` 16 words (64 bytes).
        unsafe {
            let low = _mm512_loadu_ps(chunk.as_ptr());
            let high = _mm512_loadu_ps(chunk.as_ptr().add(16));
            let rounded: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(high, low));
            _mm512_storeu_si512(pairs.as_mut_ptr().cast(), rounded);
        }
        for (i, &pair) in pairs.iter().enumerate() {
            dst[(16 * c + i) * stride] = pair;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let done = values.len() / 32 * 16;
        put_pairs(rest, &mut dst[done * stride..], stride, bf16::from_f32);
    }
}

/// Packs columns `first_col..first_col + cols` (at most [`COLS`]) of `right` over all of k into
/// `dst`: `pairs × COLS` words, pair-major, with columns past `cols` zero.
pub(super) fn right_sliver(right: Right<'_>, first_col: usize, cols: usize, dst: &mut [u32]) {
    let pairs = right.k().div_ceil(2);
    let dst = &mut dst[..pairs * COLS];
    if cols < COLS {
        dst.fill(0);
    }
    match right {
        Right::Rows(w) => {
            for c in 0..cols {
                weight_row_pairs(w, first_col + c, &mut dst[c..]);
            }
        }
        Right::Columns { values, k, n } => {
            for (p, dst) in dst.chunks_exact_mut(COLS).enumerate() {
                let i = 2 * p;
                let low = &values[i * n + first_col..][..cols];
                let dst = &mut dst[..cols];
                if i + 1 < k {
                    let high = &values[(i + 1) * n + first_col..][..cols];
                    for ((d, &l), &h) in dst.iter_mut().zip(low).zip(high) {
                        *d = pair(bf16::from_f32(l), bf16::from_f32(h));
                    }
                } else {
                    for (d, &l) in dst.iter_mut().zip(low) {
                        *d = pair(bf16::from_f32(l), bf16::ZERO);
                    }
                }
            }
        }
    }
}

/// Weight row `row` as pairs into `dst[p * COLS]`.
fn weight_row_pairs(w: WeightRows<'_>, row: usize, dst: &mut [u32]) {
    let k = w.in_dim();
    match w.values() {
        Values::Bf16(v) => put_pairs(&v[row * k..][..k], dst, COLS, |b| b),
        Values::F32(v) => put_pairs(&v[row * k..][..k], dst, COLS, bf16::from_f32),
        Values::Int8 { values, scales } => {
            let scale = scales[row];
            put_pairs(&values[row * k..][..k], dst, COLS, |q| {
                bf16::from_f32(f32::from(q) * scale)
            })
        }
    }
}

/// `values` (a span of one row along k) rounded to bf16 as pairs, pair `p` into
/// `dst[p * stride]`; an odd last value gets a zero partner.
fn put_pairs<T: Copy>(values: &[T], dst: &mut [u32], stride: usize, to_bf16: impl Fn(T) -> bf16) {
    let mut pairs = values.chunks_exact(2);
    for (p, two) in pairs.by_ref().enumerate() {
        dst[p * stride] = pair(to_bf16(two[0]), to_bf16(two[1]));
    }
    if let [last] = pairs.remainder() {
        dst[(values.len() / 2) * stride] = pair(to_bf16(*last), bf16::ZERO);
    }
}

/// The same rounding as `x`'s, for tests that build the expected product.
#[cfg(test)]
pub(super) fn round(v: f32) -> f32 {
    bf16::from_f32(v).to_f32()
}
