//! The rates raddraft's own products reach on this machine, beside `bench/paligemma2/roofline.py`
//! (PyTorch's): `matmul_t` on a prefill-shaped product (2048 × 2304 × 9216) for each weight
//! format, and the weight bandwidth of `gemv` on the 3B head (257,216 × 2,304), one row of x.
//! Prints one JSON object.

use std::time::Instant;

use half::bf16;
use raddraft_kernels::matmul::{describe, matmul_t};
use raddraft_kernels::weights::{Format, Int8Matrix, Values, WeightRows};

fn best_of(mut f: impl FnMut()) -> f64 {
    f();
    (0..3)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> anyhow::Result<()> {
    let value = |i: usize| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 0.02;
    let mut out = serde_json::Map::new();
    out.insert("impl".into(), "raddraft-kernels".into());
    out.insert("threads".into(), rayon::current_num_threads().into());
    out.insert(
        "features".into(),
        format!("{:?}", raddraft_kernels::cpu::features()).into(),
    );

    let (m, k, n) = (2048, 2304, 9216);
    let x: Vec<f32> = (0..m * k).map(value).collect();
    let w: Vec<f32> = (0..n * k).map(|i| value(i + 5)).collect();
    let wb: Vec<bf16> = w.iter().map(|&v| bf16::from_f32(v)).collect();
    let f32_rows = WeightRows::new(Values::F32(&w), n, k)?;
    let bf16_rows = WeightRows::new(Values::Bf16(&wb), n, k)?;
    let int8 = Int8Matrix::quantize(f32_rows);
    for (format, rows) in [
        (Format::F32, f32_rows),
        (Format::Bf16, bf16_rows),
        (Format::Int8, int8.rows()),
    ] {
        let seconds = best_of(|| {
            matmul_t(rows, &x, m).expect("sizes match");
        });
        out.insert(
            format!("matmul_{format}_gflops"),
            (2.0 * (m * k * n) as f64 / seconds / 1e9).into(),
        );
        out.insert(format!("kernels_{format}"), describe(format).into());
    }
    drop((w, wb, int8));

    let (vocab, hidden) = (257_216, 2_304);
    let x: Vec<f32> = (0..hidden).map(value).collect();
    let head: Vec<bf16> = (0..vocab * hidden)
        .map(|i| bf16::from_f32(value(i)))
        .collect();
    let bf16_head = WeightRows::new(Values::Bf16(&head), vocab, hidden)?;
    let int8_head = Int8Matrix::quantize(bf16_head);
    for (format, rows, bytes) in [
        (Format::Bf16, bf16_head, 2),
        (Format::Int8, int8_head.rows(), 1),
    ] {
        let seconds = best_of(|| {
            matmul_t(rows, &x, 1).expect("sizes match");
        });
        out.insert(
            format!("gemv_{format}_head_gbs"),
            ((vocab * hidden * bytes) as f64 / seconds / 1e9).into(),
        );
    }
    drop((head, int8_head));
    let head: Vec<f32> = (0..vocab * hidden).map(value).collect();
    let seconds = best_of(|| {
        matmul_t(
            WeightRows::new(Values::F32(&head), vocab, hidden).expect("sizes"),
            &x,
            1,
        )
        .expect("sizes match");
    });
    out.insert(
        "gemv_f32_head_gbs".into(),
        ((vocab * hidden * 4) as f64 / seconds / 1e9).into(),
    );
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
