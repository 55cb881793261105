//! Matrix products on AVX-512 BF16 (`vdpbf16ps`): bf16 operands, f32 accumulation, f32 in and
//! out. The prefill path for bf16 and int8 weights on CPUs that have the instruction and no AMX
//! (AMD EPYC Zen 4 and later, Intel Cooper Lake).
//!
//! `vdpbf16ps` multiplies 16 pairs of bf16 values lane by lane and adds both products to an f32
//! lane, so both operands are laid out in *pairs along k*: 32 bits holding elements `2p` and
//! `2p + 1`. The product is blocked for the caches:
//!
//! - `x` (the activations, `m × k` f32) is rounded to bf16 once and packed into slivers of
//!   [`tile::ROWS`] rows, pair-major, so that the micro-kernel broadcasts one pair of each row.
//! - Each task owns one sliver of [`tile::COLS`] columns of `y`: it packs those columns of the
//!   right operand over all of k (bf16 weights copied as they are, int8 ones dequantised to bf16
//!   on the way, f32 ones rounded), at most 590 KB for k = 9216. Rows of `x` go in chunks of
//!   [`CHUNK_SLIVERS`] slivers; for each block of [`BLOCK_PAIRS`] pairs, the chunk's tiles of `y`
//!   are summed in registers and added to `y`, whose tiles for the chunk stay in L1. Sweeping all
//!   rows for each 16 KB block instead sent `y` through L3 once per block, which held a core to
//!   153 of the 230 GFLOP/s its micro-kernel reaches.
//! - Tasks run on every thread; packing costs one pass over the right operand against `2·m`
//!   flops per value.
//!
//! Rounding `x` to bf16 is the precision PyTorch's bf16 products have; accumulation stays f32.

mod pack;
mod tile;

use rayon::prelude::*;

use crate::error::{at_least, elements, exactly, Error};
use crate::weights::WeightRows;

pub use pack::Right;

/// Pairs of k summed in registers before a tile of `y` is written: the right operand's block
/// (256 pairs × 32 columns, 32 KB) is read from L2 by each row sliver of a chunk.
const BLOCK_PAIRS: usize = 256;

/// Row slivers (of 12 rows) that share each block of the right operand; their tiles of `y`
/// (6 KB) stay in L1 from one block to the next.
const CHUNK_SLIVERS: usize = 4;

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
/// `rows × n` values and is overwritten. `R` is packed a sliver at a time by the tasks that use it.
pub fn product(x: &[f32], rows: usize, right: Right<'_>, y: &mut [f32]) -> Result<(), Error> {
    run(x, rows, Source::Right(right), y)
}

/// A right operand packed once for several products: attention's keys and values, which every
/// block of queries multiplies.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Sliver-major: each sliver of [`tile::COLS`] columns holds all pairs, `pairs × COLS` words.
    words: Vec<u32>,
    k: usize,
    n: usize,
}

impl Packed {
    pub fn new(right: Right<'_>) -> Self {
        let (k, n) = (right.k(), right.n());
        let sliver_words = k.div_ceil(2) * tile::COLS;
        let mut words = vec![0u32; n.div_ceil(tile::COLS) * sliver_words];
        if sliver_words > 0 {
            words
                .par_chunks_mut(sliver_words)
                .enumerate()
                .for_each(|(sliver, dst)| {
                    let first_col = sliver * tile::COLS;
                    pack::right_sliver(right, first_col, tile::COLS.min(n - first_col), dst);
                });
        }
        Self { words, k, n }
    }
}

/// [`product`] with a right operand packed beforehand.
pub fn product_packed(x: &[f32], rows: usize, right: &Packed, y: &mut [f32]) -> Result<(), Error> {
    run(x, rows, Source::Packed(right), y)
}

/// Where the tasks get their slivers of the right operand.
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
    if rows == 0 || n == 0 || k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    let pairs = k.div_ceil(2);
    let tiles = Tiles {
        x: pack::rows_of_x(x, rows, k),
        rows,
        pairs,
        n,
        y: SharedOutput(y.as_mut_ptr()),
    };
    let sliver_words = pairs * tile::COLS;
    (0..n.div_ceil(tile::COLS)).into_par_iter().for_each_init(
        Vec::new,
        |buffer: &mut Vec<u32>, sliver| {
            let col = sliver * tile::COLS;
            let cols = tile::COLS.min(n - col);
            let b: &[u32] = match source {
                Source::Right(right) => {
                    buffer.resize(sliver_words, 0);
                    pack::right_sliver(right, col, cols, buffer);
                    buffer
                }
                Source::Packed(packed) => &packed.words[sliver * sliver_words..][..sliver_words],
            };
            tiles.column_sliver(col, cols, b);
        },
    );
    Ok(())
}

/// One product's packed `x` and output, shared by the tasks of its column slivers.
struct Tiles {
    /// `x` as slivers of [`tile::ROWS`] rows, `pairs × ROWS` words each.
    x: Vec<u32>,
    rows: usize,
    pairs: usize,
    /// Columns of `y`.
    n: usize,
    y: SharedOutput,
}

impl Tiles {
    /// Columns `col..col + cols` (one sliver) of `y`, from that sliver `b` of the right operand
    /// packed over all of k.
    fn column_sliver(&self, col: usize, cols: usize, b: &[u32]) {
        let Self { rows, pairs, n, .. } = *self;
        let row_slivers = rows.div_ceil(tile::ROWS);
        for first_sliver in (0..row_slivers).step_by(CHUNK_SLIVERS) {
            let chunk = first_sliver..row_slivers.min(first_sliver + CHUNK_SLIVERS);
            for first_pair in (0..pairs).step_by(BLOCK_PAIRS) {
                for row_sliver in chunk.clone() {
                    let first_row = row_sliver * tile::ROWS;
                    let a = &self.x[(row_sliver * pairs + first_pair) * tile::ROWS..];
                    // SAFETY: products run only where `available()` holds; `a` and `b` hold
                    // `block` pairs of ROWS rows and COLS columns from `first_pair`; the tile
                    // (first_row, col) of y, min(ROWS, rows - first_row) × cols, lies inside
                    // y's rows × n, and only this task writes its columns.
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        tile::product(
                            a.as_ptr(),
                            b[first_pair * tile::COLS..].as_ptr(),
                            BLOCK_PAIRS.min(pairs - first_pair),
                            tile::Output {
                                y: self.y.0.add(first_row * n + col),
                                ld: n,
                                rows: tile::ROWS.min(rows - first_row),
                                cols,
                                accumulate: first_pair > 0,
                            },
                        )
                    };
                }
            }
        }
    }
}

/// `y`'s base pointer, shared by tasks that write disjoint columns.
struct SharedOutput(*mut f32);
// SAFETY: tasks write disjoint tiles of the buffer, which outlives the parallel loop.
unsafe impl Sync for SharedOutput {}
unsafe impl Send for SharedOutput {}

#[cfg(test)]
mod tests;
