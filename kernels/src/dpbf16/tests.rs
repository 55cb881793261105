//! The bf16 products against f64 sums of the same bf16-rounded operands, on sizes that leave
//! ragged slivers, tiles and blocks everywhere.

use half::bf16;

use super::pack::round;
use super::{available, matmul_t, product, product_packed, Packed, Right};
use crate::weights::{Int8Matrix, Values, WeightRows};
use crate::Error;

fn value(i: usize) -> f32 {
    ((i * 7919 % 1013) as f32 / 1013.0) - 0.5
}

/// `x·R` in f64 from `x` and `R` (as `k × n`) already rounded as the kernel rounds them.
fn reference(x: &[f32], r: &[f32], rows: usize, k: usize, n: usize) -> Vec<f32> {
    let mut y = vec![0f32; rows * n];
    for i in 0..rows {
        for j in 0..n {
            y[i * n + j] = (0..k)
                .map(|p| f64::from(round(x[i * k + p])) * f64::from(r[p * n + j]))
                .sum::<f64>() as f32;
        }
    }
    y
}

fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

/// `W` (`n × k`) transposed to `k × n`, each value passed through `f`.
fn transposed(w: &[f32], n: usize, k: usize, f: impl Fn(usize, f32) -> f32) -> Vec<f32> {
    let mut t = vec![0f32; k * n];
    for j in 0..n {
        for p in 0..k {
            t[p * n + j] = f(j, w[j * k + p]);
        }
    }
    t
}

// 25 rows: two full slivers of 12 and one row; 71 columns: two full slivers of 32 and 7;
// k = 259: 129 pairs and an odd last value.
const ROWS: usize = 25;
const N: usize = 71;
const K: usize = 259;

#[test]
fn every_weight_format_and_layout_matches_the_rounded_product() {
    if !available() {
        let w = vec![0f32; 4];
        let rows = WeightRows::new(Values::F32(&w), 2, 2).unwrap();
        assert_eq!(matmul_t(rows, &[0.0; 2], 1), Err(Error::Bf16Unavailable));
        return;
    }
    let w: Vec<f32> = (0..N * K).map(value).collect();
    let x: Vec<f32> = (0..ROWS * K).map(|i| value(i * 3 + 1)).collect();
    // Sums of 259 products of |x·w| <= 0.25 in f32: accumulation error well under 1e-4.
    let tolerance = 1e-4;

    let f32_rows = WeightRows::new(Values::F32(&w), N, K).unwrap();
    let expected = reference(&x, &transposed(&w, N, K, |_, v| round(v)), ROWS, K, N);
    assert!(worst(&matmul_t(f32_rows, &x, ROWS).unwrap(), &expected) < tolerance);

    let b: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
    let bf16_rows = WeightRows::new(Values::Bf16(&b), N, K).unwrap();
    assert!(worst(&matmul_t(bf16_rows, &x, ROWS).unwrap(), &expected) < tolerance);

    let int8 = Int8Matrix::quantize(f32_rows);
    let Values::Int8 { values, scales } = int8.rows().values() else {
        unreachable!("an Int8Matrix holds int8 values")
    };
    let dequantized: Vec<f32> = values.iter().map(|&q| f32::from(q)).collect();
    let expected_int8 = reference(
        &x,
        &transposed(&dequantized, N, K, |j, q| round(q * scales[j])),
        ROWS,
        K,
        N,
    );
    assert!(worst(&matmul_t(int8.rows(), &x, ROWS).unwrap(), &expected_int8) < tolerance);

    // The same operand given as a k × n f32 matrix (attention's V), into a longer buffer whose
    // tail the product leaves alone.
    let columns = transposed(&w, N, K, |_, v| v);
    let mut y = vec![7f32; ROWS * N + 5];
    let right = Right::Columns {
        values: &columns,
        k: K,
        n: N,
    };
    product(&x, ROWS, right, &mut y).unwrap();
    assert!(worst(&y[..ROWS * N], &expected) < tolerance);
    assert_eq!(y[ROWS * N..], [7.0; 5]);

    // Packed once, both layouts give the same bits as packing on the fly.
    for right in [right, Right::Rows(bf16_rows)] {
        let packed = Packed::new(right);
        let mut once = vec![0f32; ROWS * N];
        product_packed(&x, ROWS, &packed, &mut once).unwrap();
        product(&x, ROWS, right, &mut y).unwrap();
        assert_eq!(once, y[..ROWS * N]);
    }
}

#[test]
fn rounding_x_to_bf16_is_the_only_loss() {
    if !available() {
        return;
    }
    // Values exact in bf16 with sums exact in f32: the product must be exact. k of 6, a
    // multiple of the 32 values rounded at a time, and two such blocks and a tail.
    for (rows, k, n) in [(13, 6, 33), (13, 64, 33), (25, 70, 40)] {
        let x: Vec<f32> = (0..rows * k).map(|i| (i % 7) as f32 - 3.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i % 5) as f32 * 0.5).collect();
        let weight = WeightRows::new(Values::F32(&w), n, k).unwrap();
        let y = matmul_t(weight, &x, rows).unwrap();
        let expected = reference(&x, &transposed(&w, n, k, |_, v| v), rows, k, n);
        assert_eq!(y, expected, "k = {k}");
    }
}

#[test]
fn mismatched_or_empty_operands() {
    if !available() {
        return;
    }
    let w = vec![1f32; 6];
    let weight = WeightRows::new(Values::F32(&w), 2, 3).unwrap();
    assert_eq!(
        matmul_t(weight, &[1.0; 4], 2),
        Err(Error::Size {
            operand: "input length",
            needed: 6,
            got: 4
        })
    );
    let mut short = vec![0f32; 3];
    assert!(matches!(
        product(&[1.0; 6], 2, Right::Rows(weight), &mut short),
        Err(Error::TooShort { .. })
    ));
    assert_eq!(matmul_t(weight, &[], 0), Ok(Vec::new()));
    let empty = WeightRows::new(Values::F32(&[]), 2, 0).unwrap();
    assert_eq!(matmul_t(empty, &[], 3), Ok(vec![0.0; 6]));
}
