//! The exact (erf) GELU of BERT's intermediate layers, `x · ½ · (1 + erf(x/√2))`, 16 lanes at a
//! time where the CPU has AVX-512.
//!
//! erf is evaluated piecewise: for |x| in eight intervals of width ½ on [0, 4), a degree-8
//! polynomial in `|x| − centre` (least-squares fits on Chebyshev nodes by
//! `kernels/scripts/fit_erf.py`, coefficients rounded to f32, Horner with fused multiply-adds);
//! from 4 on it is 1 (erfc(4) ≈ 1.5e-8 is below half an f32 ulp of 1). The absolute error is at most 6.5e-8 (checked against the f64 erf in the
//! tests), one f32 rounding of values near 1, which is all that `1 + erf` can hold. PyTorch's own
//! vectorised GELU is up to 1.2e-6 from the exact one on [−6, 6]; `libm::erff`, used before, was
//! a scalar call per value. The scalar and vector paths give bit-identical results.

use super::erf_table::{COEFFICIENTS, INTERVALS, SATURATION, WIDTH};

/// erf(x), absolute error ≤ 6.5e-8 (see the module documentation).
pub fn erf(x: f32) -> f32 {
    let magnitude = x.abs();
    if magnitude.is_nan() {
        return x;
    }
    if magnitude >= SATURATION {
        return 1f32.copysign(x);
    }
    let interval = ((magnitude / WIDTH) as usize).min(INTERVALS - 1);
    let centre = (interval as f32 + 0.5) * WIDTH;
    let u = magnitude - centre;
    let mut value = COEFFICIENTS[8][interval];
    for degree in (0..8).rev() {
        value = value.mul_add(u, COEFFICIENTS[degree][interval]);
    }
    value.copysign(x)
}

/// GELU in the operation order of `torch.nn.functional.gelu` (`approximate='none'`).
pub fn gelu(x: f32) -> f32 {
    x * 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// [`gelu`] on every value, in place.
pub fn gelu_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::features().avx512f {
        // SAFETY: the CPU has AVX-512F.
        unsafe { gelu_avx512(values) };
        return;
    }
    for v in values {
        *v = gelu(*v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gelu_avx512(values: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut chunks = values.chunks_exact_mut(16);
    for chunk in &mut chunks {
        // SAFETY: the chunk holds 16 values.
        unsafe {
            _mm512_storeu_ps(
                chunk.as_mut_ptr(),
                gelu_lanes(_mm512_loadu_ps(chunk.as_ptr())),
            )
        };
    }
    for v in chunks.into_remainder() {
        *v = gelu(*v);
    }
}

/// Column i of each row of COEFFICIENTS in lanes 0–7 (lanes 8–15 unused), for lane lookups.
#[cfg(target_arch = "x86_64")]
#[repr(align(64))]
struct Tables([[f32; 16]; 9]);

#[cfg(target_arch = "x86_64")]
static TABLES: Tables = {
    let mut tables = [[0f32; 16]; 9];
    let mut degree = 0;
    while degree < 9 {
        let mut interval = 0;
        while interval < INTERVALS {
            tables[degree][interval] = COEFFICIENTS[degree][interval];
            interval += 1;
        }
        degree += 1;
    }
    Tables(tables)
};

/// [`gelu`] on 16 lanes, bit-identical to the scalar function.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) fn gelu_lanes(x: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // SAFETY: each row of TABLES holds 16 values.
    let table = |degree: usize| unsafe { _mm512_load_ps(TABLES.0[degree].as_ptr()) };
    let sign_mask = _mm512_set1_epi32(i32::MIN);
    let half = _mm512_set1_ps(0.5);
    let one = _mm512_set1_ps(1.0);
    let t = _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
    let sign = _mm512_and_si512(_mm512_castps_si512(t), sign_mask);
    let magnitude = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, _mm512_castps_si512(t)));
    // Truncation as `as usize` does (NaN lanes give an arbitrary interval; NaN stays NaN).
    let interval = _mm512_min_epi32(
        _mm512_cvttps_epi32(_mm512_mul_ps(magnitude, _mm512_set1_ps(1.0 / WIDTH))),
        _mm512_set1_epi32(INTERVALS as i32 - 1),
    );
    let interval = _mm512_max_epi32(interval, _mm512_setzero_si512());
    let centre = _mm512_mul_ps(
        _mm512_add_ps(_mm512_cvtepi32_ps(interval), half),
        _mm512_set1_ps(WIDTH),
    );
    let u = _mm512_sub_ps(magnitude, centre);
    let mut erf = _mm512_permutexvar_ps(interval, table(8));
    for degree in (0..8).rev() {
        erf = _mm512_fmadd_ps(erf, u, _mm512_permutexvar_ps(interval, table(degree)));
    }
    let saturated = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(magnitude, _mm512_set1_ps(SATURATION));
    let erf = _mm512_mask_mov_ps(erf, saturated, one);
    let erf = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_andnot_si512(sign_mask, _mm512_castps_si512(erf)),
        sign,
    ));
    _mm512_mul_ps(_mm512_mul_ps(x, half), _mm512_add_ps(one, erf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_its_stated_bound_everywhere() {
        // Every 61st f32 from 0 to past the saturation point, both signs.
        let mut worst = 0f64;
        let mut bits = 0u32;
        while f32::from_bits(bits) < 4.5 {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let error = (f64::from(erf(x)) - libm::erf(f64::from(x))).abs();
                worst = worst.max(error);
            }
            bits += 61;
        }
        assert!(worst <= 6.5e-8, "largest error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(10.0), 1.0);
        assert_eq!(erf(-10.0), -1.0);
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn gelu_agrees_with_the_exact_one_to_f32_rounding() {
        for i in -60_000..60_000 {
            let x = i as f32 / 5_000.0;
            let exact = f64::from(x) * 0.5 * (1.0 + libm::erf(f64::from(x) / 2f64.sqrt()));
            let bound = 2.0 * f64::from(f32::EPSILON) * exact.abs().max(1.0);
            assert!((f64::from(gelu(x)) - exact).abs() <= bound, "gelu({x})");
        }
    }

    #[test]
    fn vector_and_scalar_paths_are_bit_identical() {
        let mut values: Vec<f32> = (0..100_003)
            .map(|i| (i as f32 - 50_000.0) / 6_000.0)
            .chain([
                0.0,
                -0.0,
                4.0 * std::f32::consts::SQRT_2,
                f32::MAX,
                -f32::MAX,
            ])
            .collect();
        let expected: Vec<u32> = values.iter().map(|&x| gelu(x).to_bits()).collect();
        gelu_in_place(&mut values);
        let got: Vec<u32> = values.iter().map(|x| x.to_bits()).collect();
        assert!(got == expected, "vector GELU differs from the scalar one");
        let mut nan = [f32::NAN; 17];
        gelu_in_place(&mut nan);
        assert!(nan.iter().all(|v| v.is_nan()));
    }
}
