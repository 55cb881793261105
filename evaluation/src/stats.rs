//! Resampling statistics: a seeded generator, bootstrap confidence intervals (MAIRA-2 style: the
//! median and the 2.5/97.5 percentiles of the statistic over resamples) and the paired
//! approximate-randomisation test.

use serde::Serialize;

/// xoshiro256** seeded through SplitMix64: small, fast, and the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        loop {
            let product = (self.next_u64() as u128) * (n as u128);
            let low = product as u64;
            if low >= n || low >= n.wrapping_neg() % n {
                return (product >> 64) as usize;
            }
        }
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }
}

/// A bootstrap summary of one statistic.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bootstrap {
    /// Median of the statistic over the resamples (what MAIRA-2 reports as the point value).
    pub median: f64,
    /// 2.5th and 97.5th percentiles (linear interpolation, as `numpy.percentile`).
    pub ci95: [f64; 2],
    pub resamples: usize,
    pub seed: u64,
}

/// Index vectors of `resamples` bootstrap resamples of `n` items (drawn once, shared by every
/// metric so their intervals come from the same resamples).
pub fn resample_indices(n: usize, resamples: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed);
    (0..resamples)
        .map(|_| (0..n).map(|_| rng.below(n)).collect())
        .collect()
}

/// Summarise the statistic's values over the resamples.
pub fn summarise(mut values: Vec<f64>, seed: u64) -> Option<Bootstrap> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(Bootstrap {
        median: percentile(&values, 50.0),
        ci95: [percentile(&values, 2.5), percentile(&values, 97.5)],
        resamples: values.len(),
        seed,
    })
}

/// `numpy.percentile(values, q)` with the default linear interpolation; `sorted` ascending.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q / 100.0 * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}

/// Result of a paired approximate-randomisation test on the difference of means.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Randomisation {
    pub mean_a: f64,
    pub mean_b: f64,
    /// mean(A) − mean(B).
    pub difference: f64,
    /// (1 + #{trials with |Δ| ≥ observed |Δ|}) / (1 + trials).
    pub p_value: f64,
    pub trials: usize,
    pub seed: u64,
}

/// Paired approximate randomisation: each trial swaps A and B of every pair with probability ½
/// and compares |mean difference| with the observed one.
pub fn approximate_randomisation(
    a: &[f64],
    b: &[f64],
    trials: usize,
    seed: u64,
) -> Option<Randomisation> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let n = a.len() as f64;
    let mean_a = a.iter().sum::<f64>() / n;
    let mean_b = b.iter().sum::<f64>() / n;
    let observed = (mean_a - mean_b).abs();
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mut rng = Rng::new(seed);
    let mut at_least = 0usize;
    for _ in 0..trials {
        let mut sum = 0.0;
        for d in &differences {
            sum += if rng.coin() { -d } else { *d };
        }
        // A tiny tolerance so that exact ties are counted despite summation order.
        if (sum / n).abs() >= observed - 1e-12 {
            at_least += 1;
        }
    }
    Some(Randomisation {
        mean_a,
        mean_b,
        difference: mean_a - mean_b,
        p_value: (at_least + 1) as f64 / (trials + 1) as f64,
        trials,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile(&v, 2.5) - 1.075).abs() < 1e-12);
        assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 97.5) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn generator_is_uniform_enough_and_deterministic() {
        let mut rng = Rng::new(7);
        let mut counts = [0usize; 10];
        for _ in 0..100_000 {
            counts[rng.below(10)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(Rng::new(3).next_u64(), Rng::new(3).next_u64());
    }

    #[test]
    fn identical_systems_are_not_significant_and_shifted_ones_are() {
        let a: Vec<f64> = (0..200).map(|i| (i % 7) as f64 / 7.0).collect();
        let same = approximate_randomisation(&a, &a, 999, 1).expect("test");
        assert_eq!(same.p_value, 1.0);
        let b: Vec<f64> = a.iter().map(|x| x - 0.2).collect();
        let shifted = approximate_randomisation(&a, &b, 999, 1).expect("test");
        assert!(shifted.p_value <= 0.002, "{shifted:?}");
    }
}
