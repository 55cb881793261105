//! `raddraft eval`: score report pairs (RadGraph F1 variants, BLEU-4, ROUGE-L, CIDEr-D) or compare
//! two scored runs. Thin over `raddraft_eval::batch`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use raddraft_eval::batch::{self, compare, BatchOptions, CaptionTokenizer, Summary};
use raddraft_eval::f1::CaseMode;
use raddraft_eval::radgraph::{LoadOptions, Matmul, RadGraph, Variant};
use raddraft_eval::text::CoreNlpJar;

/// RadGraph checkpoint family.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum VariantArg {
    /// `radgraph` (v1, BiomedBERT encoder).
    V1,
    /// `radgraph-xl` (CXR-BERT encoder).
    Xl,
}

#[derive(clap::Args)]
pub struct Args {
    /// Pairs to score: JSON Lines or .csv with columns id, hypothesis, reference.
    #[arg(long, value_name = "FILE", required_unless_present = "compare")]
    pairs: Option<PathBuf>,
    /// RadGraph model: a directory or .tar.gz in the public archive layout (config.json,
    /// vocabulary/, weights.th). Without it RadGraph is skipped and only text metrics are scored.
    #[arg(long, value_name = "DIR")]
    radgraph_model: Option<PathBuf>,
    /// Which label set of the archive to use (default: the only one it has).
    #[arg(long, value_enum)]
    variant: Option<VariantArg>,
    /// The encoder's tokenizer and config (default: encoder/ beside weights.th, the path or hub
    /// id named in the archive's config.json, the local Hugging Face cache).
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// Kernels of the RadGraph encoder's dense layers: auto (AMX bf16x6 where the CPU has AMX,
    /// else f32), f32, amx-bf16x6 (f32 accuracy on AMX tiles), amx-bf16x3 (faster, ~2^-16
    /// relative error per product). The choice is stated in the output.
    #[arg(long, default_value = "auto", value_name = "KERNELS")]
    matmul: Matmul,
    /// Per-report JSONL output; an existing file is resumed (ids already there are skipped).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Bootstrap resamples for the 95% intervals and medians (as MAIRA-2 reports; 0 = none).
    #[arg(long, default_value_t = 500, value_name = "N")]
    bootstrap: usize,
    /// Seed of the bootstrap and randomisation draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Lower-case entity tokens in rg_e/rg_er/rg_er_bar (upstream master's fix; default: 0.1.18).
    #[arg(long)]
    lowercase: bool,
    /// Tokenise captions with this stanford-corenlp-3.4.1.jar via java, as pycocoevalcap does
    /// (default: the built-in port).
    #[arg(long, value_name = "JAR")]
    corenlp_jar: Option<PathBuf>,
    /// Compare two --out files with a paired approximate-randomisation test.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "pairs")]
    compare: Option<Vec<PathBuf>>,
    /// Randomisation trials for --compare.
    #[arg(long, default_value_t = 10_000)]
    trials: usize,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(files) = &args.compare {
        let result =
            compare::compare(&files[0], &files[1], args.trials, args.seed).with_context(|| {
                format!(
                    "comparing {} with {}",
                    files[0].display(),
                    files[1].display()
                )
            })?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&result)?);
        } else {
            println!(
                "{} paired reports ({} only in A, {} only in B); paired approximate randomisation, {} trials, seed {}",
                result.paired_reports, result.only_in_a, result.only_in_b, args.trials, args.seed
            );
            println!(
                "{:<12} {:>10} {:>10} {:>10} {:>8}",
                "metric", "mean A", "mean B", "A - B", "p"
            );
            for (name, test) in &result.metrics {
                println!(
                    "{name:<12} {:>10.4} {:>10.4} {:>+10.4} {:>8.4}",
                    test.mean_a, test.mean_b, test.difference, test.p_value
                );
            }
        }
        return Ok(());
    }
    let Some(pairs) = &args.pairs else {
        bail!("give --pairs FILE (or --compare A B)");
    };
    let model = match &args.radgraph_model {
        Some(path) => {
            let options = LoadOptions {
                model_type: args.variant.map(|v| {
                    match v {
                        VariantArg::V1 => Variant::V1,
                        VariantArg::Xl => Variant::Xl,
                    }
                    .model_type()
                    .to_owned()
                }),
                encoder_dir: args.encoder.clone(),
                matmul: args.matmul,
            };
            Some(
                RadGraph::load(path, &options)
                    .with_context(|| format!("loading RadGraph model {}", path.display()))?,
            )
        }
        None => None,
    };
    let tokenizer = match &args.corenlp_jar {
        Some(jar) => CaptionTokenizer::CoreNlp(CoreNlpJar {
            jar: jar.clone(),
            java: PathBuf::from("java"),
        }),
        None => CaptionTokenizer::Port,
    };
    let options = BatchOptions {
        radgraph: model.as_ref(),
        case: if args.lowercase {
            CaseMode::Lowercase
        } else {
            CaseMode::Package0118
        },
        tokenizer,
        out: args.out.clone(),
        bootstrap: args.bootstrap,
        seed: args.seed,
        progress: true,
    };
    let summary =
        batch::score(pairs, &options).with_context(|| format!("scoring {}", pairs.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(summary: &Summary) {
    println!(
        "{} pairs ({} scored now, {} resumed){}",
        summary.pairs,
        summary.scored_now,
        summary.resumed,
        summary
            .out
            .as_ref()
            .map(|p| format!(", rows in {}", p.display()))
            .unwrap_or_default()
    );
    match &summary.radgraph.model {
        Some(model) => println!(
            "RadGraph: {} from {} (sha256 {}), reproducing {}",
            model.model_type,
            model.source.display(),
            &model.sha256[..12.min(model.sha256.len())],
            model.reference
        ),
        None => println!("{}", summary.radgraph.detail),
    }
    println!(
        "{:<14} {:>8} {:>8}  {:>8} {:>17}",
        "metric", "value", "kind", "median", "95% CI"
    );
    for (name, metric) in &summary.metrics {
        let (median, ci) = match &metric.bootstrap {
            Some(b) => (
                format!("{:.4}", b.median),
                format!("[{:.4}, {:.4}]", b.ci95[0], b.ci95[1]),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{name:<14} {:>8.4} {:>8}  {median:>8} {ci:>17}",
            metric.value, metric.kind
        );
    }
    for note in &summary.notes {
        println!("note: {note}");
    }
}
