//! One block of a product: the tile loop over its depth, then the epilogue that stores the
//! block or passes it through GELU into the next product's pieces.

use super::pieces::PackedWeight;
#[cfg(target_arch = "x86_64")]
use super::pieces::{activation_offset, split_lanes};
use super::{tiles, Epilogue, Output, Products, BLOCK_DEPTH, MICRO, PACKED_BLOCK, TILE, TILE_K};

/// One block of outputs, rows `row0..row0+rows` and columns `col0..col0+cols` (multiples of
/// 32, within the padded sizes); `steps` is the padded depth in 32-deep steps.
pub(super) struct Block {
    pub(super) row0: usize,
    pub(super) rows: usize,
    pub(super) col0: usize,
    pub(super) cols: usize,
    pub(super) steps: usize,
}

impl Block {
    /// All piece products, accumulated from the bias, depth block by depth block; within one,
    /// every piece product runs on the tile registers before they are stored. The last depth
    /// block stores each 32×32 microblock straight into `out` where it lies wholly inside, and
    /// the edges through the accumulators (16×16 tiles, row of tiles after row of tiles).
    ///
    /// # Safety
    /// Tiles configured on this thread; the pointers as described at [`dense`](super::dense).
    pub(super) unsafe fn accumulate(
        &self,
        activations: &[*const u16; 3],
        weight: &PackedWeight,
        bias: *const f32,
        acc: *mut f32,
        epilogue: Epilogue,
    ) {
        let depth = self.steps * TILE_K;
        let tiles_per_row = self.cols / TILE;
        let pieces = weight
            .pieces
            .each_ref()
            .map(|piece| piece.as_slice().as_ptr());
        for depth0 in (0..depth).step_by(BLOCK_DEPTH) {
            let depth_steps = BLOCK_DEPTH.min(depth - depth0) / TILE_K;
            let first = depth0 == 0;
            let last = depth0 + BLOCK_DEPTH >= depth;
            for c in (0..self.cols).step_by(MICRO) {
                let panel = ((self.col0 + c) / MICRO * self.steps + depth0 / TILE_K) * PACKED_BLOCK;
                // SAFETY (all pointer arithmetic below): offsets stay inside the buffers whose
                // sizes `dense` established; a piece left empty (bf16×3) is never read.
                unsafe {
                    let b = pieces.map(|piece| piece.wrapping_add(panel));
                    for r in (0..self.rows).step_by(MICRO) {
                        let tile = ((self.row0 + r) / MICRO * self.steps + depth0 / TILE_K)
                            * 2
                            * TILE
                            * TILE_K;
                        let a = activations.map(|piece| piece.wrapping_add(tile));
                        let held = tiles::Quad::tiles(
                            acc.add((r / TILE * tiles_per_row + c / TILE) * TILE * TILE),
                            tiles_per_row,
                        );
                        let row = self.row0 + r;
                        let col = self.col0 + c;
                        let direct = match epilogue {
                            Epilogue::Store(output) => (row + MICRO <= output.rows
                                && col + MICRO <= output.outputs)
                                .then_some(output),
                            Epilogue::GeluSplit { .. } => None,
                        };
                        if first {
                            tiles::load(tiles::Quad::broadcast(bias.add(col)));
                        } else {
                            tiles::load(held);
                        }
                        match weight.products {
                            Products::Six => tiles::multiply_six(a, b, depth_steps),
                            Products::Three => tiles::multiply_three(a, b, depth_steps),
                        }
                        if let Some(output) = direct.filter(|_| last) {
                            tiles::store(tiles::Quad::rows(
                                output.out.add(row * output.outputs + col),
                                output.outputs,
                            ));
                        } else {
                            tiles::store(held);
                        }
                    }
                }
            }
        }
        match epilogue {
            Epilogue::Store(output) => self.store_edges(acc, tiles_per_row, output),
            Epilogue::GeluSplit {
                pieces,
                used,
                rows,
                columns,
                steps,
            } => {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `cpu::features().amx` requires AVX-512 F and BW; the destination was
                // sized by the caller for every padded row and step.
                unsafe {
                    self.gelu_split(acc, tiles_per_row, pieces, used, rows, columns, steps)
                }
                #[cfg(not(target_arch = "x86_64"))]
                let _ = (pieces, used, rows, columns, steps);
            }
        }
    }

    /// The edge microblocks (not wholly inside `out`), from the accumulators.
    fn store_edges(&self, acc: *mut f32, tiles_per_row: usize, output: Output) {
        for r in (0..self.rows).step_by(MICRO) {
            for c in (0..self.cols).step_by(MICRO) {
                let (row, col) = (self.row0 + r, self.col0 + c);
                if row >= output.rows || col >= output.outputs {
                    continue;
                }
                if row + MICRO <= output.rows && col + MICRO <= output.outputs {
                    continue;
                }
                for i in 0..MICRO.min(output.rows - row) {
                    for j in 0..MICRO.min(output.outputs - col) {
                        let tile = ((r + i) / TILE * tiles_per_row + (c + j) / TILE) * TILE * TILE;
                        // SAFETY: (row + i, col + j) is inside `out`; the tile inside `acc`.
                        unsafe {
                            *output.out.add((row + i) * output.outputs + col + j) =
                                *acc.add(tile + (i % TILE) * TILE + j % TILE);
                        }
                    }
                }
            }
        }
    }

    /// The block through GELU and split into the next product's pieces: every padded row and
    /// 32-column step of the block is written, zeros outside `rows × columns` (as the masked
    /// loads of the split of a separate pass give).
    ///
    /// # Safety
    /// `pieces[..used]` hold the next product's padded rows × `steps` steps; `acc` the block.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gelu_split(
        &self,
        acc: *mut f32,
        tiles_per_row: usize,
        pieces: [*mut u16; 3],
        used: usize,
        rows: usize,
        columns: usize,
        steps: usize,
    ) {
        use std::arch::x86_64::*;
        for r in 0..self.rows {
            let row = self.row0 + r;
            for c in (0..self.cols).step_by(TILE_K) {
                let start = activation_offset(row, (self.col0 + c) / TILE_K, steps);
                for half in 0..2 {
                    let first = self.col0 + c + half * TILE;
                    let valid = if row < rows {
                        columns.saturating_sub(first).min(TILE)
                    } else {
                        0
                    };
                    let tile =
                        ((r / TILE) * tiles_per_row + (c + half * TILE) / TILE) * TILE * TILE
                            + (r % TILE) * TILE;
                    // SAFETY: row r % 16 of tile (r / 16, (c + 16·half) / 16) lies in the block.
                    let values = unsafe { _mm512_loadu_ps(acc.add(tile)) };
                    let gelu = _mm512_maskz_mov_ps(
                        ((1u32 << valid) - 1) as u16,
                        crate::vecmath::gelu_lanes(values),
                    );
                    for (piece, bits) in pieces[..used].iter().zip(split_lanes(gelu)) {
                        // SAFETY: start + 32 ≤ the piece's padded rows × steps · 32 (caller).
                        unsafe { _mm256_storeu_si256(piece.add(start + half * TILE).cast(), bits) };
                    }
                }
            }
        }
    }
}
