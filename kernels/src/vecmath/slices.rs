//! Loops over f32 slices, compiled for AVX-512 or AVX2 with FMA when the CPU has them, so that
//! the inlined `exp`/`tanh` run 16 or 8 lanes at a time.

use super::exp;

crate::multiversion! {
    [avx512, avx2_fma]
    /// Applies `f` to every element of `src` into `dst`, with the loop compiled for the widest
    /// vector unit available (`f` is inlined into each copy).
    #[inline(always)]
    pub fn map_into(dst: &mut [f32], src: &[f32], f: impl Fn(f32) -> f32 + Copy) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f(s);
        }
    }
}

crate::multiversion! {
    [avx512, avx2_fma]
    /// Softmax of one row, `dst = e^{src − max} / Σ`, as PyTorch computes it in f32.
    pub fn softmax_row(dst: &mut [f32], src: &[f32]) {
        const LANES: usize = 16;
        let mut lanes = [f32::NEG_INFINITY; LANES];
        let chunks = src.chunks_exact(LANES);
        let mut max = chunks
            .remainder()
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        for chunk in chunks {
            for (l, &v) in lanes.iter_mut().zip(chunk) {
                *l = if v > *l { v } else { *l };
            }
        }
        max = lanes.iter().fold(max, |m, &v| m.max(v));
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = exp(s - max);
        }
        let mut sums = [0f32; LANES];
        let chunks = dst.chunks_exact(LANES);
        let tail: f32 = chunks.remainder().iter().sum();
        for chunk in chunks {
            for (acc, &v) in sums.iter_mut().zip(chunk) {
                *acc += v;
            }
        }
        let sum = sums.iter().sum::<f32>() + tail;
        for d in dst.iter_mut() {
            *d /= sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::vecmath::tests::rel_err_eps;

    #[test]
    fn softmax_row_matches_f64_and_zeroes_masked_entries() {
        let src: Vec<f32> = (0..1037)
            .map(|i| {
                if i % 97 == 5 {
                    f32::NEG_INFINITY
                } else {
                    ((i * 7919 % 613) as f32 / 613.0 - 0.5) * 30.0
                }
            })
            .collect();
        let mut dst = vec![0f32; src.len()];
        super::softmax_row(&mut dst, &src);
        let max = src
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let total: f64 = src.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        for (&x, &y) in src.iter().zip(&dst) {
            let exact = (f64::from(x) - max).exp() / total;
            if x == f32::NEG_INFINITY {
                assert_eq!(y, 0.0);
            } else {
                // exp contributes ≤ 2 eps and the division ½; the rest is the f32 sum of ~65
                // terms per lane, which the PyTorch kernel accumulates the same way.
                assert!(rel_err_eps(y, exact) < 24.0, "{x}: {y} vs {exact}");
            }
        }
    }
}
