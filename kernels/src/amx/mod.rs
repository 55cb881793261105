//! f32-accurate matrix products on Intel AMX tiles ("split bf16"), for the BERT encoder's dense
//! layers.
//!
//! AMX multiplies bf16 matrices, accumulating in f32, at many times the f32 rate of AVX-512. A
//! normal f32 value is exactly the sum of three bf16 pieces (8 + 8 + 8 significant bits), so
//! `x·w = Σᵢⱼ xᵢ·wⱼ`; each piece product is exact in f32, and the six products down to 2⁻¹⁸ of
//! the leading one are summed by the tile unit in f32. What is left out (`x₁w₂ + x₂w₁ + x₂w₂`) is
//! below 2⁻²⁵ of `|x·w|`, under the rounding of an f32 product, so results agree with an f32
//! matrix product to f32 rounding, as two f32 products with different summation orders do.
//!
//! Weights are split and packed once at load, into the tile layout `TDPBF16PS` reads (pairs of
//! consecutive k interleaved); activations are split per call, except the input of BERT's output
//! layer: the intermediate layer's epilogue applies GELU and writes the pieces directly
//! ([`dense_gelu_split`]), so its 3072-wide f32 result never goes to memory and back. Products
//! are blocked so that an activation block, a weight block and the f32 accumulators stay in L2,
//! with 32×32 outputs held in four tile registers over each k block.
//!
//! `pieces` splits values and lays them out, `block` runs one block of a product and its
//! epilogue, `tiles` holds the instructions.
//!
//! Runs only where `cpu::features().amx` (the CPU has AMX-BF16, Linux grants the tile state,
//! `RADDRAFT_NO_AMX` is unset); every entry point returns [`Error::AmxUnavailable`] elsewhere.

use std::cell::RefCell;

use crate::cpu;
use crate::error::{at_least, elements, exactly, Error};

mod block;
mod pieces;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod tiles;

use block::Block;
use pieces::{pieces_used, Aligned};
pub use pieces::{PackedWeight, SplitActivations};

/// Rows, columns and depth of the blocks that are kept in L2.
const BLOCK_ROWS: usize = 256;
const BLOCK_COLS: usize = 256;
const BLOCK_DEPTH: usize = 128;
/// A tile is 16 rows of 64 bytes: 16 × 32 bf16 inputs or 16 × 16 f32 accumulators.
const TILE: usize = 16;
const TILE_K: usize = 32;
/// The output block held in tile registers: 2 × 2 tiles.
const MICRO: usize = 32;
/// bf16 values in the packed weights per (32 columns × 32 k) block: two tiles.
const PACKED_BLOCK: usize = 2 * TILE * TILE_K;

/// How many piece products are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Products {
    /// Six (bf16×6): every product down to 2⁻¹⁸ of the leading one; f32 accuracy.
    Six,
    /// Three (bf16×3): two pieces per operand (16 significant bits) and the products down to
    /// 2⁻⁹; about 2⁻¹⁶ relative error per product, twice the speed.
    Three,
}

/// Per-thread buffers of [`products`]: one block of f32 accumulators, and the bias laid out for
/// broadcast tile loads.
#[derive(Default)]
struct BlockScratch {
    accumulators: Aligned<f32>,
    bias: Aligned<f32>,
}

thread_local! {
    /// The split input of [`dense`] and [`dense_gelu_split`].
    static INPUT: RefCell<SplitActivations> = RefCell::new(SplitActivations::default());
    static BLOCK_SCRATCH: RefCell<BlockScratch> = RefCell::new(BlockScratch::default());
}

/// Where a dense product writes: `out`, `rows × outputs` row-major.
#[derive(Clone, Copy)]
struct Output {
    out: *mut f32,
    rows: usize,
    outputs: usize,
}

/// Where the products' results go once a block is complete.
#[derive(Clone, Copy)]
enum Epilogue {
    /// Into a row-major matrix.
    Store(Output),
    /// Through GELU, split into the next product's pieces (a [`SplitActivations`] whose depth is
    /// this product's outputs): `rows` and `columns` are the real extent, zeros elsewhere.
    GeluSplit {
        pieces: [*mut u16; 3],
        used: usize,
        rows: usize,
        columns: usize,
        steps: usize,
    },
}

/// `out = x·Wᵀ + bias` for `rows` rows of `x` (`rows × inputs`, row-major) into `out`
/// (`rows × outputs`).
pub fn dense(
    x: &[f32],
    rows: usize,
    weight: &PackedWeight,
    bias: &[f32],
    out: &mut [f32],
) -> Result<(), Error> {
    check_available()?;
    check_input(x, rows, weight)?;
    INPUT.with(|input| {
        let input = &mut *input.borrow_mut();
        split_input(x, rows, weight, input);
        dense_split(input, weight, bias, out)
    })
}

/// `out = a·Wᵀ + bias` for activations already split (by [`dense_gelu_split`]).
pub fn dense_split(
    activations: &SplitActivations,
    weight: &PackedWeight,
    bias: &[f32],
    out: &mut [f32],
) -> Result<(), Error> {
    check_available()?;
    let (rows, n) = (activations.rows, weight.outputs);
    exactly(
        "split activations' depth",
        weight.inputs,
        activations.inputs,
    )?;
    at_least("output", elements("output", rows, n)?, out.len())?;
    exactly("bias length", n, bias.len())?;
    at_least(
        "split activations' pieces",
        pieces_used(weight.products),
        activations.used,
    )?;
    if rows == 0 {
        return Ok(());
    }
    let output = Output {
        out: out.as_mut_ptr(),
        rows,
        outputs: n,
    };
    // SAFETY: `out` holds rows × n values (checked above).
    unsafe { products(activations, weight, bias, Epilogue::Store(output)) };
    Ok(())
}

/// `next = split(gelu(x·Wᵀ + bias))`, in `next_products`' pieces: the input of the following
/// product, without writing the f32 values out and reading them back. Bit-identical to
/// [`dense`], `gelu_in_place` and the split of the next [`dense`].
pub fn dense_gelu_split(
    x: &[f32],
    rows: usize,
    weight: &PackedWeight,
    bias: &[f32],
    next: &mut SplitActivations,
    next_products: Products,
) -> Result<(), Error> {
    check_available()?;
    exactly("bias length", weight.outputs, bias.len())?;
    check_input(x, rows, weight)?;
    let used = pieces_used(next_products);
    next.prepare(rows, weight.outputs, used);
    if rows == 0 {
        return Ok(());
    }
    debug_assert_eq!(next.steps * TILE_K, weight.padded_outputs);
    let epilogue = Epilogue::GeluSplit {
        pieces: next
            .pieces
            .each_mut()
            .map(|piece| piece.as_mut_slice().as_mut_ptr()),
        used,
        rows,
        columns: weight.outputs,
        steps: next.steps,
    };
    INPUT.with(|input| {
        let input = &mut *input.borrow_mut();
        split_input(x, rows, weight, input);
        // SAFETY: `next` was sized for padded rows × its steps (prepare above).
        unsafe { products(input, weight, bias, epilogue) };
    });
    Ok(())
}

fn check_available() -> Result<(), Error> {
    if cpu::features().amx {
        Ok(())
    } else {
        Err(Error::AmxUnavailable)
    }
}

/// `x` holds `rows × weight.inputs` values.
fn check_input(x: &[f32], rows: usize, weight: &PackedWeight) -> Result<(), Error> {
    at_least("input", elements("input", rows, weight.inputs)?, x.len())
}

/// `x` (`rows × weight.inputs`, checked by the caller) split into the pieces `weight`'s products
/// read.
fn split_input(x: &[f32], rows: usize, weight: &PackedWeight, input: &mut SplitActivations) {
    input.fill(x, rows, weight.inputs, pieces_used(weight.products));
}

/// All blocks of one product.
///
/// # Safety
/// The epilogue's destination holds what it describes.
unsafe fn products(
    activations: &SplitActivations,
    weight: &PackedWeight,
    bias: &[f32],
    epilogue: Epilogue,
) {
    BLOCK_SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let n = weight.outputs;
        let bias_tiles = scratch.bias.at_least(weight.padded_outputs);
        bias_tiles[..n].copy_from_slice(bias);
        bias_tiles[n..].fill(0.0);
        let accumulators = scratch
            .accumulators
            .at_least(BLOCK_ROWS * BLOCK_COLS)
            .as_mut_ptr();
        let pieces = activations
            .pieces
            .each_ref()
            .map(|piece| piece.as_slice().as_ptr());
        let (padded_rows, steps) = (activations.padded_rows, activations.steps);
        debug_assert_eq!(steps * TILE_K, weight.padded_inputs);
        // SAFETY: AMX is available (the callers check it) and the tiles are configured for this
        // thread here; the activations hold padded_rows × steps·32 values per piece used, the
        // accumulators a full block, the bias padded_outputs values.
        unsafe {
            tiles::configure();
            for col0 in (0..weight.padded_outputs).step_by(BLOCK_COLS) {
                let cols = BLOCK_COLS.min(weight.padded_outputs - col0);
                for row0 in (0..padded_rows).step_by(BLOCK_ROWS) {
                    let block = Block {
                        row0,
                        rows: BLOCK_ROWS.min(padded_rows - row0),
                        col0,
                        cols,
                        steps,
                    };
                    block.accumulate(&pieces, weight, bias_tiles.as_ptr(), accumulators, epilogue);
                }
            }
            tiles::release();
        }
    });
}

/// Stand-ins where there is no AMX; never called, as `cpu::features().amx` is false there.
#[cfg(not(target_arch = "x86_64"))]
mod tiles {
    #[derive(Clone, Copy)]
    pub struct Quad;
    impl Quad {
        pub unsafe fn tiles(_: *mut f32, _: usize) -> Self {
            unreachable!("AMX is x86-64 only")
        }
        pub unsafe fn rows(_: *mut f32, _: usize) -> Self {
            unreachable!("AMX is x86-64 only")
        }
        pub unsafe fn broadcast(_: *const f32) -> Self {
            unreachable!("AMX is x86-64 only")
        }
    }
    pub unsafe fn configure() {
        unreachable!("AMX is x86-64 only")
    }
    pub unsafe fn release() {}
    pub unsafe fn load(_: Quad) {}
    pub unsafe fn store(_: Quad) {}
    pub unsafe fn multiply_six(_: [*const u16; 3], _: [*const u16; 3], _: usize) {}
    pub unsafe fn multiply_three(_: [*const u16; 3], _: [*const u16; 3], _: usize) {}
}
