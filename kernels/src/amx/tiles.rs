//! The tile instructions: configuration, loads and stores of the four accumulator tiles, and
//! the product loops, in inline assembly (x86-64 only).

use std::arch::asm;

/// Palette 1 with all eight tiles 16 rows × 64 bytes: 0–3 accumulators, 4–5 activations,
/// 6–7 weights.
#[repr(C, align(64))]
struct Config {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

/// # Safety
/// AMX must be available and permitted for the process.
pub unsafe fn configure() {
    let mut config = Config {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [0; 16],
        rows: [0; 16],
    };
    for tile in 0..8 {
        config.bytes_per_row[tile] = 64;
        config.rows[tile] = 16;
    }
    // SAFETY: the config is a valid 64-byte palette-1 description.
    unsafe { asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly)) };
}

/// # Safety
/// After [`configure`] on the same thread.
pub unsafe fn release() {
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// Where the 32×32 accumulators (tiles 0–3: top left, top right, bottom left, bottom
/// right) are loaded from or stored to: four 16×16 f32 regions with one row stride.
#[derive(Clone, Copy)]
pub struct Quad {
    corners: [*mut f32; 4],
    stride_bytes: usize,
}

impl Quad {
    /// Four contiguous 16×16 tiles: the right ones next, the lower ones `tiles_per_row`
    /// tiles on.
    ///
    /// # Safety
    /// The four tiles lie inside one allocation.
    pub unsafe fn tiles(top_left: *mut f32, tiles_per_row: usize) -> Self {
        unsafe {
            let lower = top_left.add(tiles_per_row * 256);
            Self {
                corners: [top_left, top_left.add(256), lower, lower.add(256)],
                stride_bytes: 64,
            }
        }
    }

    /// 32 rows × 32 columns of a row-major matrix `columns` wide.
    ///
    /// # Safety
    /// The 32×32 region lies inside one allocation.
    pub unsafe fn rows(top_left: *mut f32, columns: usize) -> Self {
        unsafe {
            let lower = top_left.add(16 * columns);
            Self {
                corners: [top_left, top_left.add(16), lower, lower.add(16)],
                stride_bytes: 4 * columns,
            }
        }
    }

    /// 32 bias values repeated down every row (a zero stride); only loaded from.
    ///
    /// # Safety
    /// 32 values readable at `bias`.
    pub unsafe fn broadcast(bias: *const f32) -> Self {
        let bias = bias.cast_mut();
        unsafe {
            Self {
                corners: [bias, bias.add(16), bias, bias.add(16)],
                stride_bytes: 0,
            }
        }
    }
}

/// # Safety
/// Tiles configured; the regions readable.
pub unsafe fn load(from: Quad) {
    let [p0, p1, p2, p3] = from.corners;
    unsafe {
        asm!(
            "tileloadd tmm0, [{p0} + {s}*1]",
            "tileloadd tmm1, [{p1} + {s}*1]",
            "tileloadd tmm2, [{p2} + {s}*1]",
            "tileloadd tmm3, [{p3} + {s}*1]",
            p0 = in(reg) p0,
            p1 = in(reg) p1,
            p2 = in(reg) p2,
            p3 = in(reg) p3,
            s = in(reg) from.stride_bytes,
            options(nostack, readonly),
        );
    }
}

/// # Safety
/// Tiles configured; the regions writable.
pub unsafe fn store(to: Quad) {
    let [p0, p1, p2, p3] = to.corners;
    unsafe {
        asm!(
            "tilestored [{p0} + {s}*1], tmm0",
            "tilestored [{p1} + {s}*1], tmm1",
            "tilestored [{p2} + {s}*1], tmm2",
            "tilestored [{p3} + {s}*1], tmm3",
            p0 = in(reg) p0,
            p1 = in(reg) p1,
            p2 = in(reg) p2,
            p3 = in(reg) p3,
            s = in(reg) to.stride_bytes,
            options(nostack),
        );
    }
}

/// `tdpbf16ps tmm$acc, tmm$rows, tmm$columns`: accumulators 0–3 are (rows, columns) = (4, 6),
/// (4, 7), (5, 6), (5, 7).
macro_rules! tdp {
    ($acc:literal, $rows:literal, $columns:literal) => {
        concat!(
            "tdpbf16ps tmm",
            $acc,
            ", tmm",
            $rows,
            ", tmm",
            $columns,
            "\n"
        )
    };
}

/// `tmm$tile` ← the tile `$offset` bytes into the piece at asm operand `$piece`: rows 0–15
/// (columns 0–15) at 0, rows 16–31 (columns 16–31) at 1024, the next step's at 2048 and 3072.
macro_rules! ld {
    ($tile:literal, $piece:literal, $offset:literal) => {
        concat!(
            "tileloadd tmm",
            $tile,
            ", [{",
            $piece,
            "} + {s}*1 + ",
            $offset,
            "]\n"
        )
    };
}

// The products below reload an operand register right after the last product that reads it,
// and start each group of four products with the registers loaded earliest, so that a load
// overlaps the products still running instead of waiting for all four. Each accumulator still
// receives its piece products in the same order, so the sums are the same bit for bit.

/// The first step's a₀ and b₀ into the operand registers.
macro_rules! load_first_step {
    () => {
        concat!(
            ld!(4, "a0", 0),
            ld!(6, "b0", 0),
            ld!(5, "a0", 1024),
            ld!(7, "b0", 1024)
        )
    };
}

/// The four products of a₀b₀, with b₁ loaded behind them (both loops start a step this way).
macro_rules! a0b0_then_b1 {
    () => {
        concat!(
            tdp!(0, 4, 6),
            tdp!(2, 5, 6),
            ld!(6, "b1", 0),
            tdp!(1, 4, 7),
            tdp!(3, 5, 7),
            ld!(7, "b1", 1024),
        )
    };
}

/// A step's last four products, with the next step's a₀ and b₀ loaded behind them; then the
/// pointers move on a step and the loop repeats.
macro_rules! last_then_next_step {
    ($($piece:literal),+) => {
        concat!(
            tdp!(0, 4, 6), tdp!(1, 4, 7), ld!(4, "a0", 2048),
            tdp!(2, 5, 6), ld!(6, "b0", 2048),
            tdp!(3, 5, 7), ld!(5, "a0", 3072), ld!(7, "b0", 3072),
            $("add {", $piece, "}, 2048\n",)+
            "jmp 2b\n",
        )
    };
}

/// The last step's last four products.
macro_rules! last_of_all {
    () => {
        concat!(tdp!(0, 4, 6), tdp!(1, 4, 7), tdp!(2, 5, 6), tdp!(3, 5, 7))
    };
}

/// Accumulators += Σ pieces(activations) × pieces(weights) over `steps` 32-deep steps, for
/// the six products of bf16×6 ([`Products::Six`](super::Products::Six)), in the order
/// a₀b₀, a₀b₁, a₁b₁, a₁b₀, a₂b₀, a₀b₂ per step: 16 tile loads for 24 tile products. Per piece
/// and step, two 1 KiB tiles lie one after the other: activation rows 0–15 then 16–31 at
/// `a[piece]`, weight columns 0–15 then 16–31 at `b[piece]`.
///
/// # Safety
/// Tiles configured; `2·steps` tiles readable from each pointer.
pub unsafe fn multiply_six(a: [*const u16; 3], b: [*const u16; 3], steps: usize) {
    debug_assert!(steps > 0);
    unsafe {
        asm!(
            load_first_step!(),
            "2:",
            a0b0_then_b1!(),
            // a₀b₁, then a₁
            tdp!(0, 4, 6), tdp!(2, 5, 6), tdp!(1, 4, 7), ld!(4, "a1", 0),
            tdp!(3, 5, 7), ld!(5, "a1", 1024),
            // a₁b₁, then b₀
            tdp!(0, 4, 6), tdp!(1, 4, 7), tdp!(2, 5, 6), ld!(6, "b0", 0),
            tdp!(3, 5, 7), ld!(7, "b0", 1024),
            // a₁b₀, then a₂
            tdp!(0, 4, 6), tdp!(2, 5, 6), tdp!(1, 4, 7), ld!(4, "a2", 0),
            tdp!(3, 5, 7), ld!(5, "a2", 1024),
            // a₂b₀, then a₀ and b₂
            tdp!(0, 4, 6), tdp!(1, 4, 7), ld!(4, "a0", 0),
            tdp!(2, 5, 6), ld!(6, "b2", 0),
            tdp!(3, 5, 7), ld!(5, "a0", 1024), ld!(7, "b2", 1024),
            "dec {steps}",
            "jz 3f",
            // a₀b₂
            last_then_next_step!("a0", "a1", "a2", "b0", "b1", "b2"),
            "3:",
            last_of_all!(),
            a0 = inout(reg) a[0] => _,
            a1 = inout(reg) a[1] => _,
            a2 = inout(reg) a[2] => _,
            b0 = inout(reg) b[0] => _,
            b1 = inout(reg) b[1] => _,
            b2 = inout(reg) b[2] => _,
            s = in(reg) 64usize,
            steps = inout(reg) steps => _,
            options(nostack, readonly),
        );
    }
}

/// As [`multiply_six`] for the three products of bf16×3 (pieces 0 and 1 only), in the order
/// a₀b₀, a₀b₁, a₁b₀ per step.
///
/// # Safety
/// As [`multiply_six`], for pieces 0 and 1.
pub unsafe fn multiply_three(a: [*const u16; 3], b: [*const u16; 3], steps: usize) {
    debug_assert!(steps > 0);
    unsafe {
        asm!(
            load_first_step!(),
            "2:",
            a0b0_then_b1!(),
            // a₀b₁, then a₁ and b₀
            tdp!(0, 4, 6), tdp!(1, 4, 7), ld!(4, "a1", 0),
            tdp!(2, 5, 6), ld!(6, "b0", 0),
            tdp!(3, 5, 7), ld!(5, "a1", 1024), ld!(7, "b0", 1024),
            "dec {steps}",
            "jz 3f",
            // a₁b₀
            last_then_next_step!("a0", "a1", "b0", "b1"),
            "3:",
            last_of_all!(),
            a0 = inout(reg) a[0] => _,
            a1 = inout(reg) a[1] => _,
            b0 = inout(reg) b[0] => _,
            b1 = inout(reg) b[1] => _,
            s = in(reg) 64usize,
            steps = inout(reg) steps => _,
            options(nostack, readonly),
        );
    }
}
