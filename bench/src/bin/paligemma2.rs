//! Times raddraft's PaliGemma 2 on the benchmark checkpoint: prefill seconds, decode ms/token and
//! peak RSS, as `bench/paligemma2/bench_transformers.py` does for transformers. Prints one JSON
//! object. Run through `bench/paligemma2/run.sh`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use raddraft_models::config::PaliGemma2Config;
use raddraft_models::device::ModelDType;
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

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<()> {
    raddraft_models::device::tune_allocator_for_inference();
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: paligemma2 MODEL_DIR [f32|bf16|f16] [repeats] [decode_steps]")?,
    );
    let dtype: ModelDType = args.next().unwrap_or_else(|| "f32".into()).parse()?;
    let repeats: usize = args.next().map_or(Ok(3), |s| s.parse())?;
    let decode_steps: usize = args.next().map_or(Ok(16), |s| s.parse())?;

    let start = Instant::now();
    let config = PaliGemma2Config::from_file(&dir.join("config.json"))?;
    let files = SafetensorsFiles::open_dir(&dir)?;
    let mut model = PaliGemma2::load(
        &config,
        &files,
        dtype.to_candle(),
        &Device::Cpu,
        ModelOptions::default(),
    )?;
    drop(files);
    let load_s = start.elapsed().as_secs_f64();

    let size = config.vision_config.image_size;
    let mut ids = vec![config.image_token_index; config.num_image_tokens()];
    ids.extend(PROMPT_IDS);
    let pixels =
        Tensor::rand(-1f32, 1f32, (1, 3, size, size), &Device::Cpu)?.to_dtype(DType::F32)?;

    let (mut prefill, mut decode) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let t0 = Instant::now();
        let logits = model.prefill(&ids, &pixels, None)?;
        prefill.push(t0.elapsed().as_secs_f64());
        let (mut next, _) = argmax_with_logprob(&logits.squeeze(0)?.to_vec1::<f32>()?)?;
        let t0 = Instant::now();
        for _ in 0..decode_steps {
            let logits = model.step(&[next])?;
            next = argmax_with_logprob(&logits.squeeze(0)?.to_vec1::<f32>()?)?.0;
        }
        decode.push(t0.elapsed().as_secs_f64() * 1000.0 / decode_steps as f64);
    }
    let t0 = Instant::now();
    model.encode_image(&pixels, None)?;
    let vision_s = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "impl": "raddraft",
            "dtype": dtype.to_string(),
            "threads": candle_core::utils::get_num_threads(),
            "prefix_tokens": ids.len(),
            "load_s": load_s,
            "prefill_s": median(prefill),
            "decode_ms_per_token": median(decode),
            "vision_s": vision_s,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
