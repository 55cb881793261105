//! Matrix products on AVX-512 BF16 (`vdpbf16ps`): bf16 operands, f32 accumulation, f32 in and
//! out. The prefill path for bf16 and int8 weights on CPUs that have the instruction and no AMX
//! (AMD EPYC Zen 4 and later, Intel Cooper Lake).
//!
//! `vdpbf16ps` multiplies 16 pairs of bf16 values lane by lane and adds both products to an f32
//! lane, so both operands are laid out in *pairs along k*: 32 bits holding elements `2p` and
//! `2p + 1`. The product is blocked as in BLIS:
//!
//! - `x` (the activations, `m × k` f32) is rounded to bf16 once and packed into slivers of
//!   [`tile::ROWS`] rows, pair-major, so that the micro-kernel broadcasts one pair of each row.
//! - The right operand is packed per task into slivers of [`tile::COLS`] columns for one block of
//!   [`BLOCK_PAIRS`] pairs (16 KB, kept in L1 while every sliver of `x` passes over it). bf16
//!   weights are copied as they are; int8 weights are dequantised to bf16 on the way, f32 ones
//!   rounded.
//! - Tasks own disjoint column ranges of `y` and run on every thread; each packs its own part of
//!   the right operand once per block, which costs one pass over it against `2·m` flops per value.
//!
//! Rounding `x` to bf16 is the precision PyTorch's bf16 products have; accumulation stays f32.

mod pack;
mod tile;

use rayon::prelude::*;

use crate::error::{at_least, elements, exactly, Error};
use crate::weights::WeightRows;

pub use pack::Right;

/// Pairs of k in one packed block of the right operand: 128 pairs × 32 columns × 4 bytes = 16 KB.
pub const BLOCK_PAIRS: usize = 128;

/// Whether this CPU runs `vdpbf16ps` (AVX-512F and AVX-512 BF16).
pub fn available() -> bool {
    let features = crate::cpu::features();
    features.avx512f && features.avx512bf16
}

/// `y = x·Wᵀ` with `x`: `rows × in_dim` and `y`: `rows × out_dim`, row-major f32, for a weight
/// in any format; `Err(Error::Bf16Unavailable)` where [`available`] is false.
pub fn matmul_t(w: WeightRows<'_>, x: &[f32], rows: usize) -> Result<Vec<f32>, Error> {
    let mut y = vec![0f32; elements("output", rows, w.out_dim())?];
    product(x, rows, Right::Rows(w), &mut y)?;
    Ok(y)
}

/// `y = x·R` for `x`: `rows × k` f32 and `R` a `k × n` operand ([`Right`]); `y` holds
/// `rows × n` values and is overwritten. `R` is packed a block at a time by the tasks that use it.
pub fn product(x: &[f32], rows: usize, right: Right<'_>, y: &mut [f32]) -> Result<(), Error> {
    run(x, rows, Source::Right(right), y)
}

/// A right operand packed once for several products: attention's keys and values, which every
/// block of queries multiplies.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Block-major: block `c` holds the slivers of all columns, each `BLOCK_PAIRS × COLS` words.
    words: Vec<u32>,
    k: usize,
    n: usize,
}

impl Packed {
    pub fn new(right: Right<'_>) -> Self {
        let (k, n) = (right.k(), right.n());
        let (pairs, slivers) = (k.div_ceil(2), n.div_ceil(tile::COLS));
        let sliver_words = BLOCK_PAIRS * tile::COLS;
        let mut words = vec![0u32; pairs.div_ceil(BLOCK_PAIRS) * slivers * sliver_words];
        words
            .par_chunks_mut(sliver_words)
            .enumerate()
            .for_each(|(i, dst)| {
                let (block, sliver) = (i / slivers, i % slivers);
                let (first_pair, first_col) = (block * BLOCK_PAIRS, sliver * tile::COLS);
                let cols = tile::COLS.min(n - first_col);
                let block_pairs = BLOCK_PAIRS.min(pairs - first_pair);
                pack::right_block(right, first_col, cols, first_pair, block_pairs, dst);
            });
        Self { words, k, n }
    }
}

/// [`product`] with a right operand packed beforehand.
pub fn product_packed(x: &[f32], rows: usize, right: &Packed, y: &mut [f32]) -> Result<(), Error> {
    run(x, rows, Source::Packed(right), y)
}

/// Where the tasks get blocks of the right operand.
#[derive(Clone, Copy)]
enum Source<'a> {
    Right(Right<'a>),
    Packed(&'a Packed),
}

fn run(x: &[f32], rows: usize, source: Source<'_>, y: &mut [f32]) -> Result<(), Error> {
    if !available() {
        return Err(Error::Bf16Unavailable);
    }
    let (k, n) = match source {
        Source::Right(right) => (right.k(), right.n()),
        Source::Packed(packed) => (packed.k, packed.n),
    };
    exactly("input length", elements("input", rows, k)?, x.len())?;
    at_least("output", elements("output", rows, n)?, y.len())?;
    let y = &mut y[..rows * n];
    y.fill(0.0);
    if rows == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    let pairs = k.div_ceil(2);
    let packed_x = pack::rows_of_x(x, rows, k);
    let slivers = n.div_ceil(tile::COLS);
    let per_task = slivers_per_task(slivers);
    let sliver_words = BLOCK_PAIRS * tile::COLS;
    let out = SharedOutput(y.as_mut_ptr());
    (0..slivers.div_ceil(per_task))
        .into_par_iter()
        .for_each_init(Vec::new, |buffer: &mut Vec<u32>, task| {
            let first_sliver = task * per_task;
            let first_col = first_sliver * tile::COLS;
            let cols = (per_task * tile::COLS).min(n - first_col);
            let task_slivers = cols.div_ceil(tile::COLS);
            let out = &out;
            for (block_index, first_pair) in (0..pairs).step_by(BLOCK_PAIRS).enumerate() {
                let block = BLOCK_PAIRS.min(pairs - first_pair);
                let right_block: &[u32] = match source {
                    Source::Right(right) => {
                        buffer.resize(task_slivers * sliver_words, 0);
                        pack::right_block(right, first_col, cols, first_pair, block, buffer);
                        buffer
                    }
                    Source::Packed(packed) => {
                        let start = (block_index * slivers + first_sliver) * sliver_words;
                        &packed.words[start..start + task_slivers * sliver_words]
                    }
                };
                for (sliver, sliver_x) in packed_x.chunks_exact(pairs * tile::ROWS).enumerate() {
                    let first_row = sliver * tile::ROWS;
                    let sliver_rows = tile::ROWS.min(rows - first_row);
                    let a = &sliver_x[first_pair * tile::ROWS..];
                    for (j, b) in right_block.chunks_exact(sliver_words).enumerate() {
                        let col = first_col + j * tile::COLS;
                        // SAFETY: `available()` holds; `a` holds `block` pairs of ROWS rows and
                        // `b` `block` pairs of COLS columns; the tile (first_row, col) of y,
                        // sliver_rows × min(COLS, n - col), lies inside y's rows × n, and only
                        // this task writes its columns.
                        #[cfg(target_arch = "x86_64")]
                        unsafe {
                            tile::accumulate(
                                a.as_ptr(),
                                b.as_ptr(),
                                block,
                                out.0.add(first_row * n + col),
                                n,
                                sliver_rows,
                                tile::COLS.min(n - col),
                            )
                        };
                    }
                }
            }
        });
    Ok(())
}

/// Column slivers one task packs and computes: up to 4 (one pass over `x` serves 128 columns),
/// but at least 8 tasks per thread so that the threads finish together.
fn slivers_per_task(slivers: usize) -> usize {
    (slivers / (8 * rayon::current_num_threads())).clamp(1, 4)
}

/// `y`'s base pointer, shared by tasks that write disjoint columns.
struct SharedOutput(*mut f32);
// SAFETY: tasks write disjoint tiles of the buffer, which outlives the parallel loop.
unsafe impl Sync for SharedOutput {}
unsafe impl Send for SharedOutput {}

#[cfg(test)]
mod tests;
