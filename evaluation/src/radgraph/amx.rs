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
//! ([`dense_gelu_split`]), so its 3072-wide f32 result never goes to memory and back. Products are blocked so that an
//! activation block, a weight block and the f32 accumulators stay in L2, with 32×32 outputs held
//! in four tile registers over each k block.
//!
//! Used only where the CPU has AMX-BF16 and Linux grants the tile state; `RADDRAFT_NO_AMX=1`
//! keeps the plain f32 kernels.

use std::cell::RefCell;
use std::sync::OnceLock;

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

/// Whether AMX products are used in this process (checked once).
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::env::var("RADDRAFT_NO_AMX").map_or(true, |v| v.is_empty() || v == "0") && detect()
    })
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: CPUID leaf 7 exists on every x86-64 CPU this code can run on (the call is safe
    // from Rust 1.94; `unsafe` for the crate's minimum version).
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { std::arch::x86_64::__cpuid_count(7, 0) };
    let amx_bf16 = leaf7.edx & (1 << 22) != 0;
    let amx_tile = leaf7.edx & (1 << 24) != 0;
    // The kernel keeps tile data out of threads until the process asks for it.
    // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM) only changes this process's permitted state.
    amx_bf16
        && amx_tile
        && unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        } == 0
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// bf16 nearest to `x` (ties to even). Finite inputs only: values within 2⁻⁹ of f32::MAX round
/// to infinity.
#[inline(always)]
fn bf16_nearest(x: f32) -> u16 {
    let bits = x.to_bits();
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

#[inline(always)]
fn bf16_value(piece: u16) -> f32 {
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
struct Aligned<T> {
    storage: Vec<T>,
    offset: usize,
    len: usize,
}

impl<T: Copy + Default> Aligned<T> {
    fn zeroed(len: usize) -> Self {
        let mut buffer = Self {
            storage: Vec::new(),
            offset: 0,
            len: 0,
        };
        buffer.reset(len);
        buffer
    }

    /// Resizes to `len` values, all zero (default), reusing the allocation when it is enough.
    fn reset(&mut self, len: usize) {
        let slack = 64 / std::mem::size_of::<T>();
        self.storage.clear();
        self.storage.resize(len + slack, T::default());
        let misalignment = self.storage.as_ptr() as usize % 64;
        self.offset = (64 - misalignment) % 64 / std::mem::size_of::<T>();
        self.len = len;
    }

    /// At least `len` values (growing, zero-filled, if needed; contents otherwise kept), as a
    /// slice of exactly `len`.
    fn at_least(&mut self, len: usize) -> &mut [T] {
        if self.len < len {
            self.reset(len);
        }
        &mut self.as_mut_slice()[..len]
    }

    fn as_slice(&self) -> &[T] {
        &self.storage[self.offset..self.offset + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.storage[self.offset..self.offset + self.len]
    }
}

fn round_up(value: usize, to: usize) -> usize {
    value.div_ceil(to) * to
}

/// A weight matrix `W` (`outputs × inputs`, PyTorch `Linear` layout) split and packed for
/// `x·Wᵀ`. Per piece: blocks of 32 output columns, each a run of 32-deep steps of two tiles
/// (columns 0–15 then 16–31); in a tile, row `r` holds the pairs `(W[c][2r], W[c][2r+1])`.
pub struct PackedWeight {
    pieces: [Aligned<u16>; 3],
    products: Products,
    outputs: usize,
    inputs: usize,
    padded_outputs: usize,
    padded_inputs: usize,
}

impl PackedWeight {
    pub fn new(weight: &[f32], outputs: usize, inputs: usize, products: Products) -> Self {
        assert_eq!(weight.len(), outputs * inputs, "weight is outputs × inputs");
        let padded_outputs = round_up(outputs, MICRO);
        let padded_inputs = round_up(inputs, TILE_K);
        let steps = padded_inputs / TILE_K;
        let used = if products == Products::Six { 3 } else { 2 };
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
        Self {
            pieces,
            products,
            outputs,
            inputs,
            padded_outputs,
            padded_inputs,
        }
    }
}

/// Activations split into bf16 pieces in the tile layout the products read: per 32-row
/// microblock and 32-deep step, two tiles of 16 rows × 32 values per piece, zeros past the data.
/// Filled by [`dense`] for its own input, or by [`dense_gelu_split`] as the next product's input.
#[derive(Default)]
pub struct SplitActivations {
    pieces: [Aligned<u16>; 3],
    rows: usize,
    inputs: usize,
    padded_rows: usize,
    steps: usize,
    used: usize,
}

impl SplitActivations {
    /// Size for `rows × inputs` values in `used` pieces; every value is written afterwards.
    fn prepare(&mut self, rows: usize, inputs: usize, used: usize) {
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
    fn fill(&mut self, x: &[f32], rows: usize, inputs: usize, used: usize) {
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

fn pieces_used(products: Products) -> usize {
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

/// Per-thread buffers: the split activations, one block of f32 accumulators, and the bias
/// laid out for broadcast tile loads.
#[derive(Default)]
struct Scratch {
    activations: SplitActivations,
    accumulators: Aligned<f32>,
    bias: Aligned<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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
/// (`rows × outputs`). Call only when [`available`] is true.
pub fn dense(x: &[f32], rows: usize, weight: &PackedWeight, bias: &[f32], out: &mut [f32]) {
    assert!(available(), "AMX products used on a machine without them");
    let (k, n) = (weight.inputs, weight.outputs);
    assert!(x.len() >= rows * k && out.len() >= rows * n && bias.len() == n);
    if rows == 0 {
        return;
    }
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let Scratch {
            activations,
            accumulators,
            bias: bias_tiles,
        } = scratch;
        activations.fill(x, rows, k, pieces_used(weight.products));
        let output = Output {
            out: out.as_mut_ptr(),
            rows,
            outputs: n,
        };
        // SAFETY: `out` holds rows × n values (asserted above).
        unsafe {
            products(
                activations,
                weight,
                bias,
                accumulators,
                bias_tiles,
                Epilogue::Store(output),
            )
        };
    });
}

/// `out = a·Wᵀ + bias` for activations already split (by [`dense_gelu_split`]).
pub fn dense_split(
    activations: &SplitActivations,
    weight: &PackedWeight,
    bias: &[f32],
    out: &mut [f32],
) {
    assert!(available(), "AMX products used on a machine without them");
    let (rows, n) = (activations.rows, weight.outputs);
    assert!(activations.inputs == weight.inputs && out.len() >= rows * n && bias.len() == n);
    assert!(
        activations.used >= pieces_used(weight.products),
        "too few pieces split"
    );
    if rows == 0 {
        return;
    }
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let output = Output {
            out: out.as_mut_ptr(),
            rows,
            outputs: n,
        };
        // SAFETY: `out` holds rows × n values (asserted above).
        unsafe {
            products(
                activations,
                weight,
                bias,
                &mut scratch.accumulators,
                &mut scratch.bias,
                Epilogue::Store(output),
            )
        };
    });
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
) {
    assert!(available(), "AMX products used on a machine without them");
    let (k, n) = (weight.inputs, weight.outputs);
    assert!(x.len() >= rows * k && bias.len() == n);
    let used = pieces_used(next_products);
    next.prepare(rows, n, used);
    if rows == 0 {
        return;
    }
    debug_assert_eq!(next.steps * TILE_K, weight.padded_outputs);
    SCRATCH.with(|scratch| {
        let scratch = &mut *scratch.borrow_mut();
        let Scratch {
            activations,
            accumulators,
            bias: bias_tiles,
        } = scratch;
        activations.fill(x, rows, k, pieces_used(weight.products));
        let epilogue = Epilogue::GeluSplit {
            pieces: next
                .pieces
                .each_mut()
                .map(|piece| piece.as_mut_slice().as_mut_ptr()),
            used,
            rows,
            columns: n,
            steps: next.steps,
        };
        // SAFETY: `next` was sized for padded rows × its steps (prepare above).
        unsafe {
            products(
                activations,
                weight,
                bias,
                accumulators,
                bias_tiles,
                epilogue,
            )
        };
    });
}

/// All blocks of one product.
///
/// # Safety
/// The epilogue's destination holds what it describes.
unsafe fn products(
    activations: &SplitActivations,
    weight: &PackedWeight,
    bias: &[f32],
    accumulators: &mut Aligned<f32>,
    bias_tiles: &mut Aligned<f32>,
    epilogue: Epilogue,
) {
    let n = weight.outputs;
    let bias_tiles = bias_tiles.at_least(weight.padded_outputs);
    bias_tiles[..n].copy_from_slice(bias);
    bias_tiles[n..].fill(0.0);
    let accumulators = accumulators.at_least(BLOCK_ROWS * BLOCK_COLS).as_mut_ptr();
    let pieces = activations
        .pieces
        .each_ref()
        .map(|piece| piece.as_slice().as_ptr());
    let (padded_rows, steps) = (activations.padded_rows, activations.steps);
    debug_assert_eq!(steps * TILE_K, weight.padded_inputs);
    // SAFETY: AMX is available (the callers assert it) and the tiles are configured for this
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
}

/// Splits the activations (`rows × k`, row-major) into the tile layout of the first
/// `pieces_used` pieces: per 32-row microblock and 32-deep step, two tiles of 16 rows × 32 values.
/// Every value of the `padded_rows × steps·32` layout is written (zeros past the data).
fn split_activations(
    x: &[f32],
    k: usize,
    padded_rows: usize,
    steps: usize,
    pieces: [&mut [u16]; 3],
    pieces_used: usize,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AMX CPUs have AVX-512 F and BW; this runs only after `available()`.
    unsafe {
        split_activations_avx512(x, k, padded_rows, steps, pieces, pieces_used)
    }
    #[cfg(not(target_arch = "x86_64"))]
    split_activations_any_cpu(x, k, padded_rows, steps, pieces, pieces_used)
}

/// Where row `r`'s values for depth step `step` start in a piece's tile layout.
#[inline(always)]
fn activation_offset(r: usize, step: usize, steps: usize) -> usize {
    (((r / MICRO) * steps + step) * 2 + (r % MICRO) / TILE) * TILE * TILE_K + (r % TILE) * TILE_K
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn split_activations_any_cpu(
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
fn split_lanes(x: std::arch::x86_64::__m512) -> [std::arch::x86_64::__m256i; 3] {
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
fn split_activations_avx512(
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

/// One block of outputs, rows `row0..row0+rows` and columns `col0..col0+cols` (multiples of
/// 32, within the padded sizes); `steps` is the padded depth in 32-deep steps.
struct Block {
    row0: usize,
    rows: usize,
    col0: usize,
    cols: usize,
    steps: usize,
}

impl Block {
    /// All piece products, accumulated from the bias, depth block by depth block; within one,
    /// every piece product runs on the tile registers before they are stored. The last depth
    /// block stores each 32×32 microblock straight into `out` where it lies wholly inside, and
    /// the edges through the accumulators (16×16 tiles, row of tiles after row of tiles).
    ///
    /// # Safety
    /// Tiles configured on this thread; the pointers as described at [`dense`].
    unsafe fn accumulate(
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
                // SAFETY: AMX CPUs have AVX-512 F and BW; the destination was sized by the
                // caller for every padded row and step.
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
                        super::gelu::gelu_lanes(values),
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

#[cfg(target_arch = "x86_64")]
mod tiles {
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

    /// `tmm4`/`tmm5` ← the two activation tiles (rows 0–15, 16–31) at asm operand `$piece`.
    macro_rules! load_rows {
        ($piece:literal) => {
            concat!(
                "tileloadd tmm4, [{",
                $piece,
                "} + {s}*1]\n",
                "tileloadd tmm5, [{",
                $piece,
                "} + {s}*1 + 1024]"
            )
        };
    }

    /// `tmm6`/`tmm7` ← the two weight tiles (columns 0–15, 16–31) at asm operand `$piece`.
    macro_rules! load_columns {
        ($piece:literal) => {
            concat!(
                "tileloadd tmm6, [{",
                $piece,
                "} + {s}*1]\n",
                "tileloadd tmm7, [{",
                $piece,
                "} + {s}*1 + 1024]"
            )
        };
    }

    /// The 32×32 accumulators `tmm0`–`tmm3` += rows (`tmm4`, `tmm5`) × columns (`tmm6`, `tmm7`).
    macro_rules! multiply_tiles {
        () => {
            concat!(
                "tdpbf16ps tmm0, tmm4, tmm6\n",
                "tdpbf16ps tmm1, tmm4, tmm7\n",
                "tdpbf16ps tmm2, tmm5, tmm6\n",
                "tdpbf16ps tmm3, tmm5, tmm7"
            )
        };
    }

    /// Accumulators += Σ pieces(activations) × pieces(weights) over `steps` 32-deep steps, for
    /// the six products of bf16×6 ([`Products::Six`](super::Products::Six)), ordered so that
    /// each step loads 16 tiles for 24 tile products. Per piece and step, two 1 KiB tiles lie
    /// one after the other: activation rows 0–15 then 16–31 at `a[piece]`, weight columns 0–15
    /// then 16–31 at `b[piece]`.
    ///
    /// # Safety
    /// Tiles configured; `2·steps` tiles readable from each pointer.
    pub unsafe fn multiply_six(a: [*const u16; 3], b: [*const u16; 3], steps: usize) {
        debug_assert!(steps > 0);
        unsafe {
            asm!(
                "2:",
                load_rows!("a0"),
                load_columns!("b0"),
                multiply_tiles!(),
                load_columns!("b1"),
                multiply_tiles!(),
                load_rows!("a1"),
                multiply_tiles!(),
                load_columns!("b0"),
                multiply_tiles!(),
                load_rows!("a2"),
                multiply_tiles!(),
                load_rows!("a0"),
                load_columns!("b2"),
                multiply_tiles!(),
                "add {a0}, 2048",
                "add {a1}, 2048",
                "add {a2}, 2048",
                "add {b0}, 2048",
                "add {b1}, 2048",
                "add {b2}, 2048",
                "dec {steps}",
                "jnz 2b",
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

    /// As [`multiply_six`] for the three products of bf16×3 (pieces 0 and 1 only).
    ///
    /// # Safety
    /// As [`multiply_six`], for pieces 0 and 1.
    pub unsafe fn multiply_three(a: [*const u16; 3], b: [*const u16; 3], steps: usize) {
        debug_assert!(steps > 0);
        unsafe {
            asm!(
                "2:",
                load_rows!("a0"),
                load_columns!("b0"),
                multiply_tiles!(),
                load_columns!("b1"),
                multiply_tiles!(),
                load_rows!("a1"),
                load_columns!("b0"),
                multiply_tiles!(),
                "add {a0}, 2048",
                "add {a1}, 2048",
                "add {b0}, 2048",
                "add {b1}, 2048",
                "dec {steps}",
                "jnz 2b",
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
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values spread over many binades, both signs.
    fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let scale = 2f32.powi(((state >> 20) % 16) as i32 - 8);
                unit * scale
            })
            .collect()
    }

    #[test]
    fn three_pieces_sum_exactly_to_the_value() {
        for x in values(100_000, 7).into_iter().chain([
            0.0,
            -0.0,
            1.0,
            f32::EPSILON,
            1.0 + f32::EPSILON,
            3.0e38,
            -1.0e-30,
        ]) {
            let [h, m, l] = split(x);
            let sum =
                f64::from(bf16_value(h)) + f64::from(bf16_value(m)) + f64::from(bf16_value(l));
            assert_eq!(sum, f64::from(x), "{x:e} split into {h:#x} {m:#x} {l:#x}");
        }
    }

    #[test]
    fn vector_split_lays_out_the_same_pieces_as_the_scalar_split() {
        // 37 rows (a padded microblock) and 70 inputs (a partial last step).
        let (rows, k) = (37, 70);
        let padded_rows = round_up(rows, MICRO);
        let steps = round_up(k, TILE_K) / TILE_K;
        let x = values(rows * k, 11);
        type Split = fn(&[f32], usize, usize, usize, [&mut [u16]; 3], usize);
        let layout = |split: Split| {
            let mut pieces = [(); 3].map(|_| vec![0xdead_u16; padded_rows * steps * TILE_K]);
            let [high, middle, low] = pieces.each_mut().map(Vec::as_mut_slice);
            split(&x, k, padded_rows, steps, [high, middle, low], 3);
            pieces
        };
        let scalar = layout(split_activations_any_cpu);
        assert!(scalar.iter().flatten().all(|&bits| bits != 0xdead));
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512bw") {
            fn vector(
                x: &[f32],
                k: usize,
                padded_rows: usize,
                steps: usize,
                pieces: [&mut [u16]; 3],
                used: usize,
            ) {
                // SAFETY: AVX-512 F and BW were detected by the caller.
                unsafe { split_activations_avx512(x, k, padded_rows, steps, pieces, used) }
            }
            assert!(layout(vector) == scalar);
        }
        let r = 36;
        let start = activation_offset(r, 2, steps);
        let [h, m, l] = split(x[r * k + 64 + 5]);
        assert_eq!(
            [
                scalar[0][start + 5],
                scalar[1][start + 5],
                scalar[2][start + 5]
            ],
            [h, m, l]
        );
        assert_eq!(scalar[0][start + 6], 0, "depth padding is zero");
    }

    #[test]
    fn gelu_and_split_in_the_epilogue_equal_separate_passes() {
        if !available() {
            eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
            return;
        }
        // 300 rows span two row blocks; 290 outputs leave a partial column block and step.
        for products in [Products::Six, Products::Three] {
            for (rows, hidden, inner) in [(1, 40, 50), (37, 70, 290), (300, 64, 290)] {
                let x = values(rows * hidden, 21);
                let first = PackedWeight::new(&values(inner * hidden, 22), inner, hidden, products);
                let second =
                    PackedWeight::new(&values(hidden * inner, 23), hidden, inner, products);
                let (b1, b2) = (values(inner, 24), values(hidden, 25));
                let mut middle = vec![0f32; rows * inner];
                dense(&x, rows, &first, &b1, &mut middle);
                crate::radgraph::gelu::gelu_in_place(&mut middle);
                let mut separate = vec![0f32; rows * hidden];
                dense(&middle, rows, &second, &b2, &mut separate);
                let mut split = SplitActivations::default();
                dense_gelu_split(&x, rows, &first, &b1, &mut split, products);
                // The same pieces as splitting the GELU output, padding included.
                let mut expected = SplitActivations::default();
                let used = pieces_used(products);
                expected.fill(&middle, rows, inner, used);
                let len = expected.padded_rows * expected.steps * TILE_K;
                for piece in 0..used {
                    assert!(
                        split.pieces[piece].as_slice()[..len]
                            == expected.pieces[piece].as_slice()[..len],
                        "{products:?} {rows}×{hidden}×{inner}: piece {piece}"
                    );
                }
                let mut fused = vec![f32::NAN; rows * hidden];
                dense_split(&split, &second, &b2, &mut fused);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(
                    bits(&fused) == bits(&separate),
                    "{products:?} {rows}×{hidden}×{inner}"
                );
            }
        }
    }

    #[test]
    fn products_agree_with_f64_to_f32_rounding() {
        if !available() {
            eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
            return;
        }
        // Odd sizes exercise the padding of rows, columns and depth; 300 rows span two row
        // blocks and 600 inputs two depth blocks.
        for (rows, outputs, inputs) in [(1, 1, 1), (37, 50, 70), (300, 290, 600)] {
            let x = values(rows * inputs, 1);
            let w = values(outputs * inputs, 2);
            let bias = values(outputs, 3);
            let packed = PackedWeight::new(&w, outputs, inputs, Products::Six);
            let mut out = vec![f32::NAN; rows * outputs];
            dense(&x, rows, &packed, &bias, &mut out);
            for r in 0..rows {
                for c in 0..outputs {
                    let (mut exact, mut magnitude) = (f64::from(bias[c]), f64::from(bias[c].abs()));
                    for i in 0..inputs {
                        let p = f64::from(x[r * inputs + i]) * f64::from(w[c * inputs + i]);
                        exact += p;
                        magnitude += p.abs();
                    }
                    let error = (f64::from(out[r * outputs + c]) - exact).abs();
                    // An f32 dot product's worst-case bound is about inputs · 2⁻²⁴ · Σ|xᵢwᵢ|;
                    // ask for far less: 8 roundings' worth.
                    assert!(
                        error <= 8.0 * f64::from(f32::EPSILON) * magnitude,
                        "({rows}×{inputs})·({inputs}×{outputs}) at [{r}][{c}]: {} vs {exact} (Σ|xw| {magnitude})",
                        out[r * outputs + c]
                    );
                }
            }
        }
    }

    #[test]
    fn three_products_agree_with_f64_to_bf16x3_accuracy() {
        if !available() {
            eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
            return;
        }
        let (rows, outputs, inputs) = (70, 45, 300);
        let x = values(rows * inputs, 8);
        let w = values(outputs * inputs, 9);
        let bias = vec![0.0; outputs];
        let mut three = vec![f32::NAN; rows * outputs];
        dense(
            &x,
            rows,
            &PackedWeight::new(&w, outputs, inputs, Products::Three),
            &bias,
            &mut three,
        );
        let mut six = vec![f32::NAN; rows * outputs];
        dense(
            &x,
            rows,
            &PackedWeight::new(&w, outputs, inputs, Products::Six),
            &bias,
            &mut six,
        );
        let (mut worst_three, mut worst_six) = (0f64, 0f64);
        for r in 0..rows {
            for c in 0..outputs {
                let (mut exact, mut magnitude) = (0f64, 0f64);
                for i in 0..inputs {
                    let p = f64::from(x[r * inputs + i]) * f64::from(w[c * inputs + i]);
                    exact += p;
                    magnitude += p.abs();
                }
                let relative = |v: f32| (f64::from(v) - exact).abs() / magnitude;
                worst_three = worst_three.max(relative(three[r * outputs + c]));
                worst_six = worst_six.max(relative(six[r * outputs + c]));
            }
        }
        // Dropped products are each below 3·2⁻¹⁸ of |x·w|.
        assert!(
            worst_three <= 3.0 * 2f64.powi(-18),
            "bf16×3 relative error {worst_three:e}"
        );
        assert!(
            worst_three > worst_six,
            "bf16×3 ({worst_three:e}) should be coarser than bf16×6 ({worst_six:e})"
        );
    }

    #[test]
    fn dropping_the_low_pieces_would_fail_the_bound() {
        // Guards the test above: bf16 inputs alone (one piece) are off by ~2⁻⁹ per product,
        // far outside the bound it checks.
        let x = values(256, 4);
        let w = values(256, 5);
        let (mut exact, mut rough, mut magnitude) = (0f64, 0f64, 0f64);
        for (a, b) in x.iter().zip(&w) {
            exact += f64::from(*a) * f64::from(*b);
            rough += f64::from(bf16_value(split(*a)[0])) * f64::from(bf16_value(split(*b)[0]));
            magnitude += f64::from(a.abs() * b.abs());
        }
        assert!((rough - exact).abs() > 8.0 * f64::from(f32::EPSILON) * magnitude);
    }
}
