//! Times raddraft's PaliGemma 2 on a benchmark checkpoint as `bench/paligemma2/bench_transformers.py`
//! does for transformers: prefill seconds, decode ms/token, a whole draft (prefill + the decode
//! steps), peak RSS against the bytes of the weights, and the CPU and kernels that ran. Prints one
//! JSON object. Run through `bench/paligemma2/run.sh` or `bench/paligemma2/full.sh`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use raddraft_kernels::weights::Format;
use raddraft_models::config::PaliGemma2Config;
use raddraft_models::device::{ModelDType, Quantization};
use raddraft_models::generation::argmax_with_logprob;
use raddraft_models::paligemma2::{ModelOptions, PaliGemma2};
use raddraft_models::weights::SafetensorsFiles;

const PROMPT_IDS: [u32; 10] = [
    2, 235285, 78802, 3867, 235292, 73199, 578, 23391, 235265, 108,
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A memory figure of this process from /proc/self/status (`VmHWM`: peak RSS, `VmRSS`: now),
/// in MiB.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

const USAGE: &str = "usage: paligemma2 MODEL_DIR [f32|bf16|f16] [none|int8] [repeats] \
                     [decode_steps] (BENCH_DEVICE=cuda for a CUDA build)";

fn main() -> Result<()> {
    raddraft_models::device::tune_allocator_for_inference();
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().context(USAGE)?);
    let dtype: ModelDType = args.next().unwrap_or_else(|| "f32".into()).parse()?;
    let quantization: Quantization = args.next().unwrap_or_else(|| "none".into()).parse()?;
    let repeats: usize = args.next().map_or(Ok(3), |s| s.parse()).context(USAGE)?;
    let decode_steps: usize = args.next().map_or(Ok(16), |s| s.parse()).context(USAGE)?;

    let device = raddraft_models::device::parse_device(
        &std::env::var("BENCH_DEVICE").unwrap_or_else(|_| "cpu".into()),
    )?;
    // BENCH_BF16_ACTIVATIONS=1: transformers' bf16 activations (`--bf16-activations`).
    let bf16_activations = std::env::var("BENCH_BF16_ACTIVATIONS").is_ok_and(|v| v == "1");
    let start = Instant::now();
    let config = PaliGemma2Config::from_file(&dir.join("config.json"))?;
    let files = SafetensorsFiles::open_dir(&dir)?;
    let mut model = PaliGemma2::load(
        &config,
        &files,
        dtype.to_candle(),
        &device,
        ModelOptions {
            quantization,
            bf16_activations,
            ..ModelOptions::default()
        },
    )?;
    drop(files);
    let load_s = start.elapsed().as_secs_f64();
    let rss_after_load_mb = status_mb("VmRSS:");
    let weights_mb = model.weight_bytes() as f64 / (1024.0 * 1024.0);

    let size = config.vision_config.image_size;
    let mut ids = vec![config.image_token_index; config.num_image_tokens()];
    ids.extend(PROMPT_IDS);
    let pixels = Tensor::rand(-1f32, 1f32, (1, 3, size, size), &Device::Cpu)?
        .to_dtype(DType::F32)?
        .to_device(&device)?;

    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let t0 = Instant::now();
        let logits = model.prefill(&ids, &pixels, None)?;
        // Reading the logits back also waits for a GPU to finish.
        let (mut next, _) = argmax_with_logprob(&logits.squeeze(0)?.to_vec1::<f32>()?)?;
        prefill.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        for _ in 0..decode_steps {
            let logits = model.step(&[next])?;
            next = argmax_with_logprob(&logits.squeeze(0)?.to_vec1::<f32>()?)?.0;
        }
        decode.push(t0.elapsed().as_secs_f64() * 1000.0 / decode_steps as f64);
    }
    // The vision tower alone, unless BENCH_VISION=0 (a full-depth 896 px run saves a minute).
    let vision_s = if std::env::var("BENCH_VISION").is_ok_and(|v| v == "0") {
        None
    } else {
        let t0 = Instant::now();
        model.encode_image(&pixels, None)?;
        Some(t0.elapsed().as_secs_f64())
    };
    let (prefill_s, decode_ms) = (median(prefill), median(decode));
    let decoder_format = match (quantization, dtype) {
        (Quantization::Int8, _) => Format::Int8,
        (_, ModelDType::Bf16) => Format::Bf16,
        _ => Format::F32,
    };
    let peak = status_mb("VmHWM:");
    println!(
        "{}",
        serde_json::json!({
            "impl": "raddraft",
            "dtype": dtype.to_string(),
            "quant": quantization.to_string(),
            "activations": model.dtype().as_str(),
            "cpu": cpu_model(),
            "device": format!("{device:?}"),
            "kernels": raddraft_kernels::matmul::describe(decoder_format),
            "threads": candle_core::utils::get_num_threads(),
            "prefix_tokens": ids.len(),
            "decode_steps": decode_steps,
            "load_s": load_s,
            "prefill_s": prefill_s,
            "decode_ms_per_token": decode_ms,
            "draft_s": prefill_s + decode_ms * decode_steps as f64 / 1000.0,
            "vision_s": vision_s,
            "weights_mb": weights_mb,
            "rss_after_load_mb": rss_after_load_mb,
            "peak_rss_mb": peak,
            "peak_rss_over_weights": peak / weights_mb,
        })
    );
    Ok(())
}
