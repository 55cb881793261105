//! Times raddraft's RadGraph annotation on the benchmark reports; writes its graphs as JSONL.
//!
//!     radgraph_bench MODEL_DIR REPORTS.jsonl OUT.jsonl [LIMIT [OFFSET]]
//!
//! Prints one JSON line: reports/s over annotation (model loading excluded, reported separately)
//! and the process's peak RSS. Thread count: RAYON_NUM_THREADS; dense-layer kernels: MATMUL
//! (auto, f32, amx-bf16x6, amx-bf16x3; default auto).

use std::io::Write;
use std::time::Instant;

use raddraft_eval::radgraph::{LoadOptions, Matmul, RadGraph};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: radgraph_bench MODEL_DIR REPORTS.jsonl OUT.jsonl [LIMIT [OFFSET]]");
        std::process::exit(2);
    }
    let limit: usize = args
        .get(4)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    let offset: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let rows: Vec<(String, String)> = std::fs::read_to_string(&args[2])?
        .lines()
        .skip(offset)
        .take(limit)
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            (
                v["id"].as_str().unwrap().to_owned(),
                v["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let start = Instant::now();
    let matmul: Matmul = match std::env::var("MATMUL") {
        Ok(name) => name.parse()?,
        Err(_) => Matmul::Auto,
    };
    let options = LoadOptions {
        matmul,
        ..LoadOptions::default()
    };
    let model = RadGraph::load(std::path::Path::new(&args[1]), &options)?;
    let load_s = start.elapsed().as_secs_f64();
    let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let start = Instant::now();
    let graphs = model.annotate_many(&texts)?;
    let elapsed = start.elapsed().as_secs_f64();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args[3])?);
    for ((id, _), graph) in rows.iter().zip(&graphs) {
        writeln!(out, "{}", serde_json::json!({"id": id, "graph": graph}))?;
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!(
        "{}",
        serde_json::json!({
            "impl": "raddraft-eval (candle 0.11.1)",
            "reports": rows.len(),
            "threads": threads,
            "matmul": model.provenance().matmul,
            "load_s": (load_s * 100.0).round() / 100.0,
            "annotate_s": (elapsed * 100.0).round() / 100.0,
            "reports_per_s": ((rows.len() as f64 / elapsed) * 100.0).round() / 100.0,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}

/// VmHWM from /proc/self/status (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
