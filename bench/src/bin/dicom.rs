//! Times raddraft's DICOM ingest as the model uses it: read the file, decode, the mimic-cxr-jpg
//! profile, the Pillow-identical bicubic resize and grey → RGB. Prints one JSON object per file,
//! as `bench/dicom/bench_reference.py` does for pydicom + OpenCV + PIL. Run through
//! `bench/dicom/run.sh`.
//!
//! Usage: dicom REPEATS SIZE OUT_DIR FILE… (OUT_DIR gets the last output as <stem>.raddraft.png)

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use raddraft_ingest::{grey_to_rgb, Profile, Radiograph};
use raddraft_models::preprocess::{resize_gray8, ResizeFilter};

fn model_image(path: &Path, size: u32) -> Result<image::RgbImage> {
    let radiograph = Radiograph::open(path)?;
    let grey = radiograph.render_gray8(Profile::MimicCxrJpg);
    Ok(grey_to_rgb(&resize_gray8(
        &grey,
        size,
        size,
        ResizeFilter::PilBicubic,
    )))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: dicom REPEATS SIZE OUT_DIR FILE…";
    let repeats: usize = args.next().context(usage)?.parse()?;
    let size: u32 = args.next().context(usage)?.parse()?;
    let out = PathBuf::from(args.next().context(usage)?);
    for file in args.map(PathBuf::from) {
        model_image(&file, size)?; // warm-up: page cache
        let mut runs_ms = Vec::with_capacity(repeats);
        let mut result = None;
        for _ in 0..repeats {
            let start = Instant::now();
            result = Some(model_image(&file, size)?);
            runs_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        if let Some(image) = result {
            image.save(out.join(format!("{stem}.raddraft.png")))?;
        }
        let mut sorted = runs_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let name = file
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        println!(
            "{}",
            serde_json::json!({
                "implementation": "raddraft",
                "file": name,
                "median_ms": sorted[sorted.len() / 2],
                "runs_ms": runs_ms,
            })
        );
    }
    Ok(())
}
