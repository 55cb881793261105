//! bf16 pieces: the exact three-way split of f32 values, the 64-byte-aligned buffers, and the
//! tile layouts of packed weights and split activations.

use super::{Products, MICRO, PACKED_BLOCK, TILE, TILE_K};
use crate::error::{elements, exactly, Error};

/// bf16 nearest to `x` (ties to even). Finite inputs only: values within 2⁻⁹ of f32::MAX round
/// to infinity.
#[inline(always)]
pub(super) fn bf16_nearest(x: f32) -> u16 {
    let bits = x.to_bits();
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

#[inline(always)]
pub(super) fn bf16_value(piece: u16) -> f32 {
    f32::from_bits(u32::from(piece) << 16)
}

/// Three bf16 values summing exactly to `x` (for normal `x`; each residual is exact by
/// Sterbenz's lemma and has at most 24 − 8·i significant bits left).
#[inline(always)]
pub fn split(x: f32) -> [u16; 3] {
    let high = bf16_nearest(x);
    let rest = x - bf16_value(high);
    let middle = bf16_nearest(rest);
    let low = bf16_nearest(rest - bf16_value(middle));
    [high, middle, low]
}

/// A zero-filled buffer starting on a 64-byte boundary, so that no tile row straddles two cache
/// lines.
#[derive(Default)]
pub(super) struct Aligned<T> {
    storage: Vec<T>,
    offset: usize,
    len: usize,
}

impl<T: Copy + Default> Aligned<T> {
    pub(super) fn zeroed(len: usize) -> Self {
        let mut buffer = Self {
            storage: Vec::new(),
            offset: 0,
            len: 0,
        };
        buffer.reset(len);
        buffer
    }

    /// Resizes to `len` values, all zero (default), reusing the allocation when it is enough.
    pub(super) fn reset(&mut self, len: usize) {
        let slack = 64 / std::mem::size_of::<T>();
        self.storage.clear();
        self.storage.resize(len + slack, T::default());
        let misalignment = self.storage.as_ptr() as usize % 64;
        self.offset = (64 - misalignment) % 64 / std::mem::size_of::<T>();
        self.len = len;
    }

    /// At least `len` values (growing, zero-filled, if needed; contents otherwise kept), as a
    /// slice of exactly `len`.
    pub(super) fn at_least(&mut self, len: usize) -> &mut [T] {
        if self.len < len {
            self.reset(len);
        }
        &mut self.as_mut_slice()[..len]
    }

    pub(super) fn as_slice(&self) -> &[T] {
        &self.storage[self.offset..self.offset + self.len]
    }

    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.storage[self.offset..self.offset + self.len]
    }
}

pub(super) fn round_up(value: usize, to: usize) -> usize {
    value.div_ceil(to) * to
}

/// A weight matrix `W` (`outputs × inputs`, PyTorch `Linear` layout) split and packed for
/// `x·Wᵀ`. Per piece: blocks of 32 output columns, each a run of 32-deep steps of two tiles
/// (columns 0–15 then 16–31); in a tile, row `r` holds the pairs `(W[c][2r], W[c][2r+1])`.
pub struct PackedWeight {
    pub(super) pieces: [Aligned<u16>; 3],
    pub(super) products: Products,
    pub(super) outputs: usize,
    pub(super) inputs: usize,
    pub(super) padded_outputs: usize,
    pub(super) padded_inputs: usize,
}

impl PackedWeight {
    /// Splits and packs `weight` (`outputs × inputs`, row-major) for `products`.
    pub fn new(
        weight: &[f32],
        outputs: usize,
        inputs: usize,
        products: Products,
    ) -> Result<Self, Error> {
        exactly(
            "weight length",
            elements("weight", outputs, inputs)?,
            weight.len(),
        )?;
        let padded_outputs = round_up(outputs, MICRO);
        let padded_inputs = round_up(inputs, TILE_K);
        let steps = padded_inputs / TILE_K;
        let used = pieces_used(products);
        let mut pieces: [Aligned<u16>; 3] = std::array::from_fn(|piece| {
            Aligned::zeroed(if piece < used {
                padded_outputs * padded_inputs
            } else {
                0
            })
        });
        for (column, row) in weight.chunks_exact(inputs).enumerate() {
            let (block, within) = (column / MICRO, column % MICRO);
            let (tile, lane) = (within / TILE, within % TILE);
            for (k, &value) in row.iter().enumerate() {
                let (step, depth) = (k / TILE_K, k % TILE_K);
                let index = (block * steps + step) * PACKED_BLOCK
                    + tile * TILE * TILE_K
                    + (depth / 2) * TILE_K
                    + lane * 2
                    + depth % 2;
                for (piece, bits) in pieces[..used].iter_mut().zip(split(value)) {
                    piece.as_mut_slice()[index] = bits;
                }
            }
        }
        Ok(Self {
            pieces,
            products,
            outputs,
            inputs,
            padded_outputs,
            padded_inputs,
        })
    }
}

/// Activations split into bf16 pieces in the tile layout the products read: per 32-row
/// microblock and 32-deep step, two tiles of 16 rows × 32 values per piece, zeros past the data.
/// Filled by [`dense`](super::dense) for its own input, or by
/// [`dense_gelu_split`](super::dense_gelu_split) as the next product's input.
#[derive(Default)]
pub struct SplitActivations {
    pub(super) pieces: [Aligned<u16>; 3],
    pub(super) rows: usize,
    pub(super) inputs: usize,
    pub(super) padded_rows: usize,
    pub(super) steps: usize,
    pub(super) used: usize,
}

impl SplitActivations {
    /// Size for `rows × inputs` values in `used` pieces; every value is written afterwards.
    pub(super) fn prepare(&mut self, rows: usize, inputs: usize, used: usize) {
        self.rows = rows;
        self.inputs = inputs;
        self.padded_rows = round_up(rows, MICRO);
        self.steps = round_up(inputs, TILE_K) / TILE_K;
        self.used = used;
        let len = self.padded_rows * self.steps * TILE_K;
        for piece in &mut self.pieces[..used] {
            piece.at_least(len);
        }
    }

    /// Split `x` (`rows × inputs`, row-major).
    pub(super) fn fill(&mut self, x: &[f32], rows: usize, inputs: usize, used: usize) {
        self.prepare(rows, inputs, used);
        let len = self.padded_rows * self.steps * TILE_K;
        let [high, middle, low] = self.pieces.each_mut().map(|piece| {
            let slice = piece.as_mut_slice();
            let end = len.min(slice.len());
            &mut slice[..end]
        });
        split_activations(
            &x[..rows * inputs],
            inputs,
            self.padded_rows,
            self.steps,
            [high, middle, low],
            used,
        );
    }
}

pub(super) fn pieces_used(products: Products) -> usize {
    match products {
        Products::Six => 3,
        Products::Three => 2,
    }
}

impl PackedWeight {
    /// How many piece products this weight's products sum.
    pub fn products(&self) -> Products {
        self.products
    }
}

/// Splits the activations (`rows × k`, row-major) into the tile layout of the first
/// `pieces_used` pieces: per 32-row microblock and 32-deep step, two tiles of 16 rows × 32 values.
/// Every value of the `padded_rows × steps·32` layout is written (zeros past the data).
pub(super) fn split_activations(
    x: &[f32],
    k: usize,
    padded_rows: usize,
    steps: usize,
    pieces: [&mut [u16]; 3],
    pieces_used: usize,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: this runs only where `cpu::features().amx`, which requires AVX-512 F and BW.
    unsafe {
        split_activations_avx512(x, k, padded_rows, steps, pieces, pieces_used)
    }
    #[cfg(not(target_arch = "x86_64"))]
    split_activations_any_cpu(x, k, padded_rows, steps, pieces, pieces_used)
}

/// Where row `r`'s values for depth step `step` start in a piece's tile layout.
#[inline(always)]
pub(super) fn activation_offset(r: usize, step: usize, steps: usize) -> usize {
    (((r / MICRO) * steps + step) * 2 + (r % MICRO) / TILE) * TILE * TILE_K + (r % TILE) * TILE_K
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn split_activations_any_cpu(
    x: &[f32],
    k: usize,
    padded_rows: usize,
    steps: usize,
    mut pieces: [&mut [u16]; 3],
    pieces_used: usize,
) {
    let rows = x.len() / k.max(1);
    for r in 0..padded_rows {
        for step in 0..steps {
            let start = activation_offset(r, step, steps);
            for d in 0..TILE_K {
                let column = step * TILE_K + d;
                let value = if r < rows && column < k {
                    x[r * k + column]
                } else {
                    0.0
                };
                for (piece, bits) in pieces[..pieces_used].iter_mut().zip(split(value)) {
                    piece[start + d] = bits;
                }
            }
        }
    }
}

/// [`split`] on 16 lanes, as bf16 bit patterns in the low half of each 32-bit lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn split_lanes(x: std::arch::x86_64::__m512) -> [std::arch::x86_64::__m256i; 3] {
    use std::arch::x86_64::*;
    let nearest = |v: __m512| -> __m512i {
        let bits = _mm512_castps_si512(v);
        let odd = _mm512_and_si512(_mm512_srli_epi32::<16>(bits), _mm512_set1_epi32(1));
        let rounded = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)), odd);
        _mm512_srli_epi32::<16>(rounded)
    };
    let value = |piece: __m512i| _mm512_castsi512_ps(_mm512_slli_epi32::<16>(piece));
    let high = nearest(x);
    let rest = _mm512_sub_ps(x, value(high));
    let middle = nearest(rest);
    let low = nearest(_mm512_sub_ps(rest, value(middle)));
    [high, middle, low].map(|piece| _mm512_cvtepi32_epi16(piece))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn split_activations_avx512(
    x: &[f32],
    k: usize,
    padded_rows: usize,
    steps: usize,
    pieces: [&mut [u16]; 3],
    pieces_used: usize,
) {
    use std::arch::x86_64::*;
    let rows = x.len() / k.max(1);
    let pieces = pieces.map(|piece| {
        assert!(piece.is_empty() || piece.len() >= padded_rows * steps * TILE_K);
        piece.as_mut_ptr()
    });
    for r in 0..padded_rows {
        let row = if r < rows {
            &x[r * k..(r + 1) * k]
        } else {
            &[][..]
        };
        for step in 0..steps {
            let start = activation_offset(r, step, steps);
            for half in 0..2 {
                let first = step * TILE_K + half * 16;
                let available = row.len().saturating_sub(first).min(16);
                // SAFETY: the masked load reads only `available` values, all inside `row`.
                let lanes = unsafe {
                    _mm512_maskz_loadu_ps(
                        ((1u32 << available) - 1) as u16,
                        row.as_ptr().wrapping_add(first),
                    )
                };
                let split = split_lanes(lanes);
                for (piece, bits) in pieces[..pieces_used].iter().zip(split) {
                    // SAFETY: start + 32 ≤ padded_rows · steps · 32 ≤ the piece's length
                    // (asserted above); unaligned store.
                    unsafe {
                        _mm256_storeu_si256(piece.add(start + half * 16).cast(), bits);
                    }
                }
            }
        }
    }
}
