//! The matrix-vector product of a decoding step, `x·Wᵀ` for a few rows of `x`, on CPU.
//!
//! A decoding step reads every weight once (about 3 GB per token for the 3B model in f32), so
//! it is bound by memory bandwidth. gemm's few-row path runs on one thread; here the output rows
//! of `W` are split across threads, and each core streams four weight rows at a time with the
//! widest vector unit it has, which keeps enough loads in flight to saturate memory. int8 rows,
//! and bf16 rows on CPUs without AVX-512 BF16, are widened to f32 in registers, so they move a
//! quarter and half of the bytes; with AVX-512 BF16, bf16 rows multiply `x` rounded to bf16.

use half::bf16;
use rayon::prelude::*;

use crate::cpu::{self, Isa};
use crate::error::{exactly, Error};
use crate::weights::{Values, WeightRows};

/// Weight rows per task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 64;

/// `y = x·Wᵀ` with `x`: `rows × in_dim`, row-major; `y` is `rows × out_dim`, row-major.
pub fn gemv(w: WeightRows<'_>, x: &[f32], rows: usize) -> Result<Vec<f32>, Error> {
    let in_dim = w.in_dim();
    exactly(
        "input length",
        crate::error::elements("input", rows, in_dim)?,
        x.len(),
    )?;
    if rows == 0 || w.out_dim() == 0 {
        return Ok(Vec::new());
    }
    let isa = cpu::features().isa();
    Ok(match w.values() {
        Values::F32(v) => product(v, x, w.out_dim(), in_dim, rows, isa),
        #[cfg(target_arch = "x86_64")]
        Values::Bf16(v) if bf16_rows_use_dpbf16() => {
            // x rounded to bf16 once, as the prefill's products round it.
            let x: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
            by_quads(v, &x, w.out_dim(), in_dim, rows, |ws, xr| {
                // SAFETY: bf16_rows_use_dpbf16() checked AVX-512F, BW and BF16.
                unsafe { x86::dot4_dpbf16(ws, xr) }
            })
        }
        Values::Bf16(v) => product(v, x, w.out_dim(), in_dim, rows, isa),
        Values::Int8 { values, scales } => {
            let mut y = product(values, x, w.out_dim(), in_dim, rows, isa);
            for row in y.chunks_exact_mut(w.out_dim()) {
                for (value, scale) in row.iter_mut().zip(scales) {
                    *value *= scale;
                }
            }
            y
        }
    })
}

/// A weight value the dot products can widen to f32: f32 itself, bf16 or int8 (unscaled).
pub(crate) trait Element: Copy + Send + Sync {
    fn widen(self) -> f32;
    /// The dot products of `x` with four rows on the vector unit `isa`.
    fn dot4(isa: Isa, w: [&[Self]; 4], x: &[f32]) -> [f32; 4];
}

impl Element for f32 {
    fn widen(self) -> f32 {
        self
    }
    fn dot4(isa: Isa, w: [&[f32]; 4], x: &[f32]) -> [f32; 4] {
        match isa {
            // SAFETY: the CPU has the level (`product` is given a level the CPU has).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { x86::dot4_avx2(w, x) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::dot4_avx512(w, x) },
            _ => w.map(|row| dot_portable(row, x)),
        }
    }
}

/// AVX-512 BF16 with BW (the masked loads of the tail): bf16 rows then multiply bf16 `x` with
/// `vdpbf16ps`, 32 products an instruction. Widening bf16 in AVX2 registers instead ran at
/// 18 GB/s of the 46 GB/s a Zen 4 core pair reads: a decoding step was bound by instructions.
pub(crate) fn bf16_rows_use_dpbf16() -> bool {
    crate::dpbf16::available() && cpu::features().avx512bw
}

// Where AVX-512 BF16 is missing, bf16 rows are widened in AVX2 registers, on AVX-512 machines
// too (an AVX-512 shift-and-widen loop is no faster than the 8-lane one on such CPUs).
impl Element for bf16 {
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn dot4(isa: Isa, w: [&[bf16]; 4], x: &[f32]) -> [f32; 4] {
        match isa {
            // SAFETY: AVX-512 machines have AVX2 and FMA too.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma | Isa::Avx512 => unsafe { x86::dot4_avx2(w, x) },
            _ => w.map(|row| dot_portable(row, x)),
        }
    }
}

impl Element for i8 {
    fn widen(self) -> f32 {
        f32::from(self)
    }
    fn dot4(isa: Isa, w: [&[i8]; 4], x: &[f32]) -> [f32; 4] {
        match isa {
            // SAFETY: the CPU has the level (`product` is given a level the CPU has).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { x86::dot4_avx2(w, x) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::dot4_avx512(w, x) },
            _ => w.map(|row| dot_portable(row, x)),
        }
    }
}

fn product<E: Element>(
    w: &[E],
    x: &[f32],
    out_dim: usize,
    in_dim: usize,
    rows: usize,
    isa: Isa,
) -> Vec<f32> {
    by_quads(w, x, out_dim, in_dim, rows, |ws, xr| E::dot4(isa, ws, xr))
}

/// `y = x·Wᵀ` with `dot4` computing four weight rows against one row of `x` at a time (the
/// last rows of a task one by one, portably); `x` may be f32 or already rounded to bf16.
fn by_quads<E: Element, X: Copy + Sync + Into<f32>>(
    w: &[E],
    x: &[X],
    out_dim: usize,
    in_dim: usize,
    rows: usize,
    dot4: impl Fn([&[E]; 4], &[X]) -> [f32; 4] + Sync,
) -> Vec<f32> {
    // Computed as [out, rows] so that each task owns a contiguous block, then transposed.
    let mut by_output = vec![0f32; out_dim * rows];
    let row_of = |row: usize| &w[row * in_dim..(row + 1) * in_dim];
    by_output
        .par_chunks_mut(ROWS_PER_TASK * rows)
        .enumerate()
        .for_each(|(task, dst)| {
            let first = task * ROWS_PER_TASK;
            let count = dst.len() / rows;
            let mut o = 0;
            while o < count {
                let quad = (o + 4 <= count).then(|| std::array::from_fn(|j| row_of(first + o + j)));
                for r in 0..rows {
                    let xr = &x[r * in_dim..(r + 1) * in_dim];
                    match quad {
                        Some(ws) => {
                            for (j, value) in dot4(ws, xr).into_iter().enumerate() {
                                dst[(o + j) * rows + r] = value;
                            }
                        }
                        None => dst[o * rows + r] = dot_portable(row_of(first + o), xr),
                    }
                }
                o += if quad.is_some() { 4 } else { 1 };
            }
        });
    if rows == 1 {
        return by_output;
    }
    let mut out = vec![0f32; out_dim * rows];
    for (o, cell) in by_output.chunks_exact(rows).enumerate() {
        for (r, value) in cell.iter().enumerate() {
            out[r * out_dim + o] = *value;
        }
    }
    out
}

fn dot_portable<E: Element, X: Copy + Into<f32>>(a: &[E], b: &[X]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (a_body, b_body) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_body
        .remainder()
        .iter()
        .zip(b_body.remainder())
        .map(|(x, &y)| x.widen() * y.into())
        .sum();
    for (ca, cb) in a_body.zip(b_body) {
        for i in 0..LANES {
            acc[i] += ca[i].widen() * cb[i].into();
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use half::bf16;

    /// Sixteen weights of a row widened to f32 lanes.
    pub(super) trait Lanes16: super::Element {
        /// # Safety
        /// `ptr` points at 16 readable values, and the caller runs with AVX-512F.
        unsafe fn load16(ptr: *const Self) -> __m512;
    }

    impl Lanes16 for f32 {
        #[inline(always)]
        unsafe fn load16(ptr: *const f32) -> __m512 {
            // SAFETY: see the trait.
            unsafe { _mm512_loadu_ps(ptr) }
        }
    }

    impl Lanes16 for i8 {
        #[inline(always)]
        unsafe fn load16(ptr: *const i8) -> __m512 {
            // SAFETY: see the trait; 16 bytes are read.
            unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(ptr.cast()))) }
        }
    }

    /// Callers guarantee AVX-512F. Two accumulators per weight row (one chain per row would wait
    /// out the FMA latency); each `x` load serves four rows. The tail past the last full vector
    /// is scalar.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dot4_avx512<E: Lanes16>(w: [&[E]; 4], x: &[f32]) -> [f32; 4] {
        let n = w.iter().map(|r| r.len()).fold(x.len(), usize::min);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut second = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: i + 32 <= n, the length of `x` and of every weight row.
            unsafe {
                let x0 = _mm512_loadu_ps(x.as_ptr().add(i));
                let x1 = _mm512_loadu_ps(x.as_ptr().add(i + 16));
                for ((a, b), row) in acc.iter_mut().zip(second.iter_mut()).zip(&w) {
                    *a = _mm512_fmadd_ps(E::load16(row.as_ptr().add(i)), x0, *a);
                    *b = _mm512_fmadd_ps(E::load16(row.as_ptr().add(i + 16)), x1, *b);
                }
            }
            i += 32;
        }
        while i + 16 <= n {
            // SAFETY: i + 16 <= n, the length of `x` and of every weight row.
            unsafe {
                let xv = _mm512_loadu_ps(x.as_ptr().add(i));
                for (slot, row) in acc.iter_mut().zip(&w) {
                    *slot = _mm512_fmadd_ps(E::load16(row.as_ptr().add(i)), xv, *slot);
                }
            }
            i += 16;
        }
        std::array::from_fn(|j| {
            _mm512_reduce_add_ps(_mm512_add_ps(acc[j], second[j]))
                + super::dot_portable(&w[j][i..n], &x[i..n])
        })
    }

    /// Callers guarantee AVX-512F, BW and BF16. Four bf16 rows against bf16 `x`, 32 values an
    /// instruction, one row after the other with four accumulators; the tail is a masked
    /// (zero-filled) load. One row at a time reads one sequential stream: the four rows
    /// interleaved, as the f32 kernels read them, reached 27–29 GB/s on the 3B head against
    /// 31–33 this way (Zen 4, 2 threads; PyTorch's sum reads 49).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn dot4_dpbf16(w: [&[bf16]; 4], x: &[bf16]) -> [f32; 4] {
        let n = w.iter().map(|r| r.len()).fold(x.len(), usize::min);
        let load = |ptr: *const bf16, mask: __mmask32| -> __m512bh {
            // SAFETY: callers pass a mask that covers only readable values.
            unsafe { std::mem::transmute(_mm512_maskz_loadu_epi16(mask, ptr.cast())) }
        };
        w.map(|row| {
            let mut acc = [_mm512_setzero_ps(); 4];
            let mut i = 0;
            while i + 128 <= n {
                // SAFETY: i + 128 <= n, the length of `x` and of the row.
                unsafe {
                    for (j, slot) in acc.iter_mut().enumerate() {
                        let xv = load(x.as_ptr().add(i + 32 * j), !0);
                        *slot = _mm512_dpbf16_ps(*slot, load(row.as_ptr().add(i + 32 * j), !0), xv);
                    }
                }
                i += 128;
            }
            while i < n {
                let mask: __mmask32 = if n - i >= 32 { !0 } else { (1 << (n - i)) - 1 };
                // SAFETY: the mask keeps to the n - i values left.
                unsafe {
                    let xv = load(x.as_ptr().add(i), mask);
                    acc[0] = _mm512_dpbf16_ps(acc[0], load(row.as_ptr().add(i), mask), xv);
                }
                i += 32;
            }
            _mm512_reduce_add_ps(_mm512_add_ps(
                _mm512_add_ps(acc[0], acc[1]),
                _mm512_add_ps(acc[2], acc[3]),
            ))
        })
    }

    /// Eight weights of a row widened to f32 lanes.
    pub(super) trait Lanes8: super::Element {
        /// # Safety
        /// `ptr` points at 8 readable values, and the caller runs with AVX2.
        unsafe fn load8(ptr: *const Self) -> __m256;
    }

    impl Lanes8 for f32 {
        #[inline(always)]
        unsafe fn load8(ptr: *const f32) -> __m256 {
            // SAFETY: see the trait.
            unsafe { _mm256_loadu_ps(ptr) }
        }
    }

    impl Lanes8 for bf16 {
        #[inline(always)]
        unsafe fn load8(ptr: *const bf16) -> __m256 {
            // SAFETY: see the trait; bf16 is the high half of an f32, so widening is a shift.
            unsafe {
                let halves = _mm_loadu_si128(ptr.cast());
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(halves)))
            }
        }
    }

    impl Lanes8 for i8 {
        #[inline(always)]
        unsafe fn load8(ptr: *const i8) -> __m256 {
            // SAFETY: see the trait; 8 bytes are read.
            unsafe { _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(ptr.cast()))) }
        }
    }

    /// Callers guarantee AVX2 and FMA. Same scheme as the AVX-512 kernel with 8 lanes, the
    /// weights widened to f32 in registers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot4_avx2<E: Lanes8>(w: [&[E]; 4], x: &[f32]) -> [f32; 4] {
        let n = w.iter().map(|r| r.len()).fold(x.len(), usize::min);
        let mut acc = [_mm256_setzero_ps(); 4];
        // Two accumulators per row: one chain per row would wait out the FMA latency on every
        // step, which widened (cheap to read) rows cannot hide.
        let mut second = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n, the length of `x` and of every weight row.
            unsafe {
                let x0 = _mm256_loadu_ps(x.as_ptr().add(i));
                let x1 = _mm256_loadu_ps(x.as_ptr().add(i + 8));
                for ((a, b), row) in acc.iter_mut().zip(second.iter_mut()).zip(&w) {
                    *a = _mm256_fmadd_ps(E::load8(row.as_ptr().add(i)), x0, *a);
                    *b = _mm256_fmadd_ps(E::load8(row.as_ptr().add(i + 8)), x1, *b);
                }
            }
            i += 16;
        }
        for (a, b) in acc.iter_mut().zip(second) {
            *a = _mm256_add_ps(*a, b);
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, the length of `x` and of every weight row.
            unsafe {
                let xv = _mm256_loadu_ps(x.as_ptr().add(i));
                for (slot, row) in acc.iter_mut().zip(&w) {
                    *slot = _mm256_fmadd_ps(E::load8(row.as_ptr().add(i)), xv, *slot);
                }
            }
            i += 8;
        }
        std::array::from_fn(|j| {
            let mut lanes = [0f32; 8];
            // SAFETY: `lanes` holds exactly 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[j]) };
            lanes.iter().sum::<f32>() + super::dot_portable(&w[j][i..n], &x[i..n])
        })
    }
}

#[cfg(test)]
mod tests {
    use half::bf16;

    use super::{gemv, product, Element};
    use crate::cpu::{features, Isa};
    use crate::weights::{Int8Matrix, Values, WeightRows};
    use crate::Error;

    fn reference<E: Element>(
        w: &[E],
        x: &[f32],
        out_dim: usize,
        in_dim: usize,
        rows: usize,
    ) -> Vec<f32> {
        let mut y = vec![0f32; rows * out_dim];
        for r in 0..rows {
            for o in 0..out_dim {
                y[r * out_dim + o] = (0..in_dim)
                    .map(|i| f64::from(w[o * in_dim + i].widen()) * f64::from(x[r * in_dim + i]))
                    .sum::<f64>() as f32;
            }
        }
        y
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    fn check_every_kernel<E: Element>(w: &[E], out_dim: usize, in_dim: usize, tolerance: f32) {
        let kernels: Vec<Isa> = [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512]
            .into_iter()
            .filter(|&isa| features().has(isa))
            .collect();
        for rows in [1, 3] {
            let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i + 11)).collect();
            let expected = reference(w, &x, out_dim, in_dim, rows);
            for &kernel in &kernels {
                let got = product(w, &x, out_dim, in_dim, rows, kernel);
                let diff = worst(&got, &expected);
                assert!(diff < tolerance, "{kernel:?}, {rows} rows: {diff}");
            }
        }
    }

    fn value(i: usize) -> f32 {
        ((i * 7919 % 1013) as f32 / 1013.0) - 0.5
    }

    // 133 output rows: 2 full tasks + a ragged one, ending in a non-multiple of 4;
    // 45 inputs: two 16-value steps, one 8-value step and a 5-value tail.
    const OUT: usize = 133;
    const IN: usize = 45;

    #[test]
    fn every_kernel_matches_a_plain_product_on_ragged_sizes() {
        let w: Vec<f32> = (0..OUT * IN).map(value).collect();
        check_every_kernel(&w, OUT, IN, 1e-5);
        let b: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
        check_every_kernel(&b, OUT, IN, 1e-5);
        let q: Vec<i8> = (0..OUT * IN).map(|i| (i * 31 % 255) as u8 as i8).collect();
        check_every_kernel(&q, OUT, IN, 5e-3);
    }

    #[test]
    fn dpbf16_rows_match_the_product_of_x_rounded_to_bf16_on_ragged_sizes() {
        if !super::bf16_rows_use_dpbf16() {
            return;
        }
        // 45: one masked tail of 13 after a 32-value step; 109: a 64-value step, then 32, 13.
        for in_dim in [45, 109] {
            let b: Vec<bf16> = (0..OUT * in_dim)
                .map(|i| bf16::from_f32(value(i)))
                .collect();
            let weight = WeightRows::new(Values::Bf16(&b), OUT, in_dim).unwrap();
            for rows in [1, 3] {
                let x: Vec<f32> = (0..rows * in_dim).map(|i| value(i + 11)).collect();
                let rounded: Vec<f32> = x.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
                let got = gemv(weight, &x, rows).unwrap();
                let diff = worst(&got, &reference(&b, &rounded, OUT, in_dim, rows));
                assert!(diff < 1e-5, "{in_dim} inputs, {rows} rows: {diff}");
            }
        }
    }

    #[test]
    fn each_format_dispatches_to_the_best_kernel_and_int8_is_scaled() {
        let w: Vec<f32> = (0..OUT * IN).map(value).collect();
        let x: Vec<f32> = (0..2 * IN).map(|i| value(i + 3)).collect();
        let isa = features().isa();
        let f32_rows = WeightRows::new(Values::F32(&w), OUT, IN).unwrap();
        assert_eq!(
            gemv(f32_rows, &x, 2).unwrap(),
            product(&w, &x, OUT, IN, 2, isa)
        );

        let b: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
        let bf16_rows = WeightRows::new(Values::Bf16(&b), OUT, IN).unwrap();
        let got = gemv(bf16_rows, &x, 2).unwrap();
        if super::bf16_rows_use_dpbf16() {
            let rounded: Vec<f32> = x.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
            assert!(worst(&got, &reference(&b, &rounded, OUT, IN, 2)) < 1e-5);
        } else {
            assert_eq!(got, product(&b, &x, OUT, IN, 2, isa));
        }

        let q = Int8Matrix::quantize(f32_rows);
        let mut dequantized = vec![0f32; OUT * IN];
        q.rows().widen_rows(0, OUT, &mut dequantized);
        let expected = reference(&dequantized, &x, OUT, IN, 2);
        assert!(worst(&gemv(q.rows(), &x, 2).unwrap(), &expected) < 1e-5);
    }

    #[test]
    fn mismatched_or_empty_operands() {
        let w = vec![1f32; 6];
        let rows = WeightRows::new(Values::F32(&w), 2, 3).unwrap();
        assert_eq!(
            gemv(rows, &[1.0; 4], 1),
            Err(Error::Size {
                operand: "input length",
                needed: 3,
                got: 4
            })
        );
        assert!(matches!(
            WeightRows::new(Values::F32(&[]), usize::MAX, 2),
            Err(Error::TooLarge { .. })
        ));
        assert_eq!(gemv(rows, &[], 0), Ok(Vec::new()));
        let none = WeightRows::new(Values::F32(&[]), 0, 3).unwrap();
        assert_eq!(gemv(none, &[], 0), Ok(Vec::new()));
        let empty_rows = WeightRows::new(Values::F32(&[]), 2, 0).unwrap();
        assert_eq!(gemv(empty_rows, &[], 1), Ok(vec![0.0, 0.0]));
    }
}
