//! The micro-kernel of the [`vdpbf16ps` product](super): a tile of [`ROWS`] × [`COLS`] outputs
//! held in 24 of the 32 AVX-512 registers while all pairs of k pass, then written once.
//!
//! Per pair of k it loads two vectors of the right operand (32 columns) and broadcasts one pair
//! of each of the 12 rows of `x`, for 24 `vdpbf16ps`: enough independent chains to cover the
//! instruction's latency, and few enough loads per product to leave the load ports idle.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of `x` in a tile (and in a packed sliver of `x`).
pub const ROWS: usize = 12;
/// Columns of `y` in a tile (and in a packed sliver of the right operand): two vectors.
pub const COLS: usize = 32;

/// Where a tile's sums go: `rows <= ROWS` rows of stride `ld` from `y`, `cols <= COLS` columns;
/// added to what is there, or written over it.
pub(super) struct Output {
    pub y: *mut f32,
    pub ld: usize,
    pub rows: usize,
    pub cols: usize,
    pub accumulate: bool,
}

/// `y[r][c] (+)= Σ_p a[p][r] · b[p][c]` over `pairs` pairs, for `r < rows` and `c < cols`.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512 BF16. `a` points at `pairs × ROWS` words, `b` at
/// `pairs × COLS`; `out` at a tile that no other thread writes meanwhile.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn product(a: *const u32, b: *const u32, pairs: usize, out: Output) {
    let Output {
        y,
        ld,
        rows,
        cols,
        accumulate,
    } = out;
    let mut left = [_mm512_setzero_ps(); ROWS];
    let mut right = [_mm512_setzero_ps(); ROWS];
    for p in 0..pairs {
        // SAFETY: p < pairs, so the reads stay inside the packed slivers (see above).
        unsafe {
            let bp = b.add(p * COLS);
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.cast()));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.add(16).cast()));
            let ap = a.add(p * ROWS);
            for r in 0..ROWS {
                let pair: __m512bh = std::mem::transmute(_mm512_set1_epi32(*ap.add(r) as i32));
                left[r] = _mm512_dpbf16_ps(left[r], pair, b0);
                right[r] = _mm512_dpbf16_ps(right[r], pair, b1);
            }
        }
    }
    let low_mask: __mmask16 = if cols >= 16 { 0xFFFF } else { (1 << cols) - 1 };
    let high_mask: __mmask16 = match cols {
        0..=16 => 0,
        32.. => 0xFFFF,
        _ => (1 << (cols - 16)) - 1,
    };
    for r in 0..rows.min(ROWS) {
        // SAFETY: row r < rows of the tile; the masks keep to its first `cols` columns.
        unsafe {
            let row = y.add(r * ld);
            let high_row = row.wrapping_add(16);
            let (mut low, mut high) = (left[r], right[r]);
            if accumulate {
                low = _mm512_add_ps(_mm512_maskz_loadu_ps(low_mask, row), low);
                high = _mm512_add_ps(_mm512_maskz_loadu_ps(high_mask, high_row), high);
            }
            _mm512_mask_storeu_ps(row, low_mask, low);
            _mm512_mask_storeu_ps(high_row, high_mask, high);
        }
    }
}
