//! Unit tests of the split, the layouts and the products against f64.

use super::pieces::*;
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
        let sum = f64::from(bf16_value(h)) + f64::from(bf16_value(m)) + f64::from(bf16_value(l));
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
    if crate::cpu::features().avx512f && crate::cpu::features().avx512bw {
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
fn gelu_and_split_in_the_epilogue_equal_separate_passes() -> Result<(), Error> {
    if !crate::cpu::features().amx {
        eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
        return Ok(());
    }
    // 300 rows span two row blocks; 290 outputs leave a partial column block and step.
    for products in [Products::Six, Products::Three] {
        for (rows, hidden, inner) in [(1, 40, 50), (37, 70, 290), (300, 64, 290)] {
            let x = values(rows * hidden, 21);
            let first = PackedWeight::new(&values(inner * hidden, 22), inner, hidden, products)?;
            let second = PackedWeight::new(&values(hidden * inner, 23), hidden, inner, products)?;
            let (b1, b2) = (values(inner, 24), values(hidden, 25));
            let mut middle = vec![0f32; rows * inner];
            dense(&x, rows, &first, &b1, &mut middle)?;
            crate::vecmath::gelu_in_place(&mut middle);
            let mut separate = vec![0f32; rows * hidden];
            dense(&middle, rows, &second, &b2, &mut separate)?;
            let mut split = SplitActivations::default();
            dense_gelu_split(&x, rows, &first, &b1, &mut split, products)?;
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
            dense_split(&split, &second, &b2, &mut fused)?;
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(
                bits(&fused) == bits(&separate),
                "{products:?} {rows}×{hidden}×{inner}"
            );
        }
    }
    Ok(())
}

#[test]
fn products_agree_with_f64_to_f32_rounding() -> Result<(), Error> {
    if !crate::cpu::features().amx {
        eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
        return Ok(());
    }
    // Odd sizes exercise the padding of rows, columns and depth; 300 rows span two row
    // blocks and 600 inputs two depth blocks.
    for (rows, outputs, inputs) in [(1, 1, 1), (37, 50, 70), (300, 290, 600)] {
        let x = values(rows * inputs, 1);
        let w = values(outputs * inputs, 2);
        let bias = values(outputs, 3);
        let packed = PackedWeight::new(&w, outputs, inputs, Products::Six)?;
        let mut out = vec![f32::NAN; rows * outputs];
        dense(&x, rows, &packed, &bias, &mut out)?;
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
    Ok(())
}

#[test]
fn three_products_agree_with_f64_to_bf16x3_accuracy() -> Result<(), Error> {
    if !crate::cpu::features().amx {
        eprintln!("skipped: this CPU or kernel offers no AMX-BF16");
        return Ok(());
    }
    let (rows, outputs, inputs) = (70, 45, 300);
    let x = values(rows * inputs, 8);
    let w = values(outputs * inputs, 9);
    let bias = vec![0.0; outputs];
    let mut three = vec![f32::NAN; rows * outputs];
    dense(
        &x,
        rows,
        &PackedWeight::new(&w, outputs, inputs, Products::Three)?,
        &bias,
        &mut three,
    )?;
    let mut six = vec![f32::NAN; rows * outputs];
    dense(
        &x,
        rows,
        &PackedWeight::new(&w, outputs, inputs, Products::Six)?,
        &bias,
        &mut six,
    )?;
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
    Ok(())
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

#[test]
fn misfitting_operands_and_missing_amx_are_errors() -> Result<(), Error> {
    assert!(matches!(
        PackedWeight::new(&values(10, 6), 3, 4, Products::Six),
        Err(Error::Size {
            needed: 12,
            got: 10,
            ..
        })
    ));
    let weight = PackedWeight::new(&values(12, 6), 3, 4, Products::Six)?;
    let x = values(8, 7);
    let mut out = vec![0f32; 6];
    let result = dense(&x, 2, &weight, &[0.0; 3], &mut out);
    if !crate::cpu::features().amx {
        assert_eq!(result, Err(Error::AmxUnavailable));
        eprintln!("AMX-BF16 absent: only the unavailability error checked");
        return Ok(());
    }
    result?;
    assert!(matches!(
        dense(&x, 3, &weight, &[0.0; 3], &mut out),
        Err(Error::TooShort { needed: 12, .. })
    ));
    assert!(matches!(
        dense(&x, 2, &weight, &[0.0; 2], &mut out),
        Err(Error::Size { needed: 3, .. })
    ));
    assert!(matches!(
        dense(&x, 2, &weight, &[0.0; 3], &mut out[..5]),
        Err(Error::TooShort { needed: 6, .. })
    ));
    Ok(())
}
