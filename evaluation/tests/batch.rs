//! Batch scoring: agreement with the reference fixtures, resuming, bad input, comparison.
//! References: `tests/fixtures/radgraph/expected/radgraph-xl.json` (radgraph 0.1.18) and
//! `tests/fixtures/textmetrics/expected.json` (pycocoevalcap 1.2); F1 and text metrics within 1e-9.

use std::path::{Path, PathBuf};

use raddraft_eval::batch::{self, compare, output::read_rows, BatchOptions, CaptionTokenizer};
use raddraft_eval::f1::CaseMode;
use raddraft_eval::radgraph::{LoadOptions, RadGraph, NEAR_TIE_MARGIN};
use raddraft_eval::EvalError;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("raddraft-eval-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn options<'a>(model: Option<&'a RadGraph>, out: Option<PathBuf>) -> BatchOptions<'a> {
    BatchOptions {
        radgraph: model,
        case: CaseMode::Package0118,
        tokenizer: CaptionTokenizer::Port,
        out,
        bootstrap: 0,
        seed: 0,
        progress: false,
    }
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}"));
    assert!(
        (got - want).abs() <= 1e-9,
        "{what}: got {got}, expected {want}"
    );
}

/// Number of pairs in the shared fixture.
fn pair_count() -> usize {
    std::fs::read_to_string(fixtures().join("radgraph/pairs.jsonl"))
        .expect("pairs")
        .lines()
        .count()
}

fn xl_model() -> RadGraph {
    RadGraph::load(
        &fixtures().join("radgraph/models/radgraph-xl"),
        &LoadOptions::default(),
    )
    .expect("model")
}

#[test]
fn rows_and_summary_match_the_reference_packages() {
    let model = xl_model();
    let dir = scratch("reference");
    let out = dir.join("rows.jsonl");
    let summary = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(Some(&model), Some(out.clone())),
    )
    .expect("scores");
    let radgraph = json(fixtures().join("radgraph/expected/radgraph-xl.json"));
    let text = json(fixtures().join("textmetrics/expected.json"));
    let rows = read_rows(&out).expect("rows");
    assert_eq!(rows.len(), pair_count());
    for ((row, want), want_text) in rows
        .iter()
        .zip(radgraph["pairs"].as_array().unwrap())
        .zip(text["pairs"].as_array().unwrap())
    {
        assert_eq!(Some(row.id.as_str()), want["id"].as_str());
        close(row.rg_e.unwrap(), &want["rg_e"], "rg_e");
        close(row.rg_er.unwrap(), &want["rg_er"], "rg_er");
        close(row.rg_er_bar.unwrap(), &want["rg_er_bar"], "rg_er_bar");
        close(
            row.radgraph_f1.unwrap(),
            &want["radgraph_f1"],
            "radgraph_f1",
        );
        close(row.bleu4, &want_text["bleu"][3], "bleu4");
        close(row.rouge_l, &want_text["rougeL"], "rougeL");
    }
    close(
        summary.metrics["rg_e"].value,
        &radgraph["mean"]["rg_e"],
        "mean rg_e",
    );
    close(
        summary.metrics["rg_er"].value,
        &radgraph["mean"]["rg_er"],
        "mean rg_er",
    );
    close(
        summary.metrics["rg_er_bar"].value,
        &radgraph["mean"]["rg_er_bar"],
        "mean rg_er_bar",
    );
    close(
        summary.metrics["bleu4_corpus"].value,
        &text["corpus"]["bleu"][3],
        "corpus BLEU-4",
    );
    close(
        summary.metrics["rougeL"].value,
        &text["corpus"]["rougeL"],
        "mean ROUGE-L",
    );
    close(
        summary.metrics["cider"].value,
        &text["corpus"]["cider"],
        "corpus CIDEr-D",
    );
    assert_eq!(summary.radgraph.status, "scored");

    // Each row carries its graphs' smallest decision margin; the fixtures hold no near-tie.
    let pairs: Vec<Value> = std::fs::read_to_string(fixtures().join("radgraph/pairs.jsonl"))
        .expect("pairs")
        .lines()
        .map(|line| serde_json::from_str(line).expect("pair"))
        .collect();
    for (row, pair) in rows.iter().zip(&pairs) {
        let texts: Vec<&str> = ["hypothesis", "reference"]
            .iter()
            .filter_map(|key| pair[*key].as_str())
            .filter(|t| !t.is_empty())
            .collect();
        let want = model
            .annotate_with_margins(&texts)
            .expect("annotates")
            .iter()
            .map(|a| f64::from(a.decision_margin))
            .reduce(f64::min);
        assert_eq!(row.rg_min_margin, want, "{}", row.id);
        if let Some(margin) = row.rg_min_margin {
            assert!(margin >= f64::from(NEAR_TIE_MARGIN), "{}", row.id);
        }
    }
    assert!(
        rows.iter().any(|r| r.rg_min_margin.is_none()),
        "a pair of empty reports"
    );
    assert!(!summary.notes.iter().any(|n| n.contains("rg_min_margin")));
}

#[test]
fn without_a_model_text_metrics_run_and_radgraph_is_reported_skipped() {
    let summary = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(None, None),
    )
    .expect("scores");
    assert_eq!(summary.radgraph.status, "skipped");
    assert!(summary.radgraph.detail.contains("RadGraph was skipped"));
    assert!(!summary.metrics.contains_key("rg_e"));
    assert!(summary.metrics.contains_key("cider"));
}

#[test]
fn resuming_skips_written_ids_and_drops_an_interrupted_line() {
    let model = xl_model();
    let dir = scratch("resume");
    let full = dir.join("full.jsonl");
    batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(Some(&model), Some(full.clone())),
    )
    .expect("scores");
    let full_text = std::fs::read_to_string(&full).expect("rows");
    let lines: Vec<&str> = full_text.lines().collect();
    // Ten complete rows and half of the eleventh, as an interrupted run leaves them.
    let partial = dir.join("partial.jsonl");
    let cut = format!(
        "{}\n{}",
        lines[..10].join("\n"),
        &lines[10][..lines[10].len() / 2]
    );
    std::fs::write(&partial, cut).expect("write");
    let summary = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(Some(&model), Some(partial.clone())),
    )
    .expect("resumes");
    assert_eq!(
        (summary.resumed, summary.scored_now),
        (10, pair_count() - 10)
    );
    assert!(summary
        .notes
        .iter()
        .any(|n| n.contains("incomplete last line")));
    let mut resumed_rows = read_rows(&partial).expect("rows");
    let mut full_rows = read_rows(&full).expect("rows");
    resumed_rows.sort_by(|a, b| a.id.cmp(&b.id));
    full_rows.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(resumed_rows, full_rows);
    // A second resume has nothing left to do.
    let again = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(Some(&model), Some(partial)),
    )
    .expect("resumes");
    assert_eq!((again.resumed, again.scored_now), (pair_count(), 0));
}

#[test]
fn malformed_input_line_is_reported_with_its_number_and_nothing_is_lost() {
    let dir = scratch("malformed");
    let pairs = dir.join("pairs.jsonl");
    std::fs::write(
        &pairs,
        "{\"id\": \"a\", \"hypothesis\": \"x\", \"reference\": \"y\"}\n\n{\"id\": \"b\", \"hypothesis\": \"x\"\n",
    )
    .expect("write");
    let out = dir.join("rows.jsonl");
    std::fs::write(&out, "{\"id\":\"z\",\"rg_e\":null,\"rg_er\":null,\"rg_er_bar\":null,\"radgraph_f1\":null,\"bleu4\":0.5,\"rougeL\":0.5,\"hyp_graph\":null,\"ref_graph\":null}\n").expect("write");
    let before = std::fs::read(&out).expect("read");
    let err = batch::score(&pairs, &options(None, Some(out.clone()))).expect_err("malformed line");
    match &err {
        EvalError::InvalidLine { line, .. } => assert_eq!(*line, 3, "{err}"),
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("pairs.jsonl:3:"), "{err}");
    assert_eq!(std::fs::read(&out).expect("read"), before);

    std::fs::write(&pairs, "{\"id\": \"a\", \"hypothesis\": \"x\"}\n").expect("write");
    let err = batch::score(&pairs, &options(None, None)).expect_err("missing field");
    assert!(
        err.to_string().contains(":1: missing \"reference\""),
        "{err}"
    );

    std::fs::write(&pairs, "{\"id\":\"a\",\"hypothesis\":\"x\",\"reference\":\"y\"}\n{\"id\":\"a\",\"hypothesis\":\"x\",\"reference\":\"y\"}\n").expect("write");
    let err = batch::score(&pairs, &options(None, None)).expect_err("duplicate");
    assert!(
        err.to_string()
            .contains(":2: duplicate id \"a\" (first on line 1)"),
        "{err}"
    );
}

#[test]
fn malformed_output_row_is_an_error_and_the_file_is_untouched() {
    let dir = scratch("badout");
    let out = dir.join("rows.jsonl");
    std::fs::write(&out, "not json\n{}\n").expect("write");
    let err = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(None, Some(out.clone())),
    )
    .expect_err("bad out");
    assert!(err.to_string().contains("rows.jsonl:1:"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "not json\n{}\n"
    );
}

#[test]
fn csv_input_gives_the_same_rows_as_jsonl() {
    let dir = scratch("csv");
    let csv_path = dir.join("pairs.csv");
    let mut writer = csv::Writer::from_path(&csv_path).expect("csv");
    writer
        .write_record(["reference", "id", "hypothesis"])
        .expect("header");
    let text = std::fs::read_to_string(fixtures().join("radgraph/pairs.jsonl")).expect("pairs");
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        writer
            .write_record([
                v["reference"].as_str().unwrap(),
                v["id"].as_str().unwrap(),
                v["hypothesis"].as_str().unwrap(),
            ])
            .expect("row");
    }
    writer.flush().expect("flush");
    let from_csv = batch::score(&csv_path, &options(None, None)).expect("csv");
    let from_jsonl = batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(None, None),
    )
    .expect("jsonl");
    assert_eq!(from_csv.metrics, from_jsonl.metrics);
}

#[test]
fn bootstrap_is_seeded_and_brackets_the_value() {
    let mut opts = options(None, None);
    opts.bootstrap = 200;
    opts.seed = 42;
    let a = batch::score(&fixtures().join("radgraph/pairs.jsonl"), &opts).expect("scores");
    let b = batch::score(&fixtures().join("radgraph/pairs.jsonl"), &opts).expect("scores");
    assert_eq!(a.metrics, b.metrics);
    for (name, metric) in &a.metrics {
        let boot = metric.bootstrap.as_ref().expect("bootstrap");
        assert_eq!(boot.resamples, 200, "{name}");
        assert!(
            boot.ci95[0] <= boot.median && boot.median <= boot.ci95[1],
            "{name}: {boot:?}"
        );
    }
}

#[test]
fn comparing_a_run_with_itself_finds_no_difference() {
    let dir = scratch("compare");
    let out = dir.join("rows.jsonl");
    batch::score(
        &fixtures().join("radgraph/pairs.jsonl"),
        &options(None, Some(out.clone())),
    )
    .expect("scores");
    let result = compare::compare(&out, &out, 999, 3).expect("compares");
    assert_eq!(result.paired_reports, pair_count());
    assert_eq!(result.metrics["bleu4"].p_value, 1.0);
    assert!(
        !result.metrics.contains_key("rg_e"),
        "RadGraph was skipped in both runs"
    );
}

#[test]
fn bad_models_are_refused_with_the_file_named() {
    let dir = scratch("models");
    // Not a gzip archive.
    let fake = dir.join("radgraph.tar.gz");
    std::fs::write(&fake, b"not an archive").expect("write");
    let err = RadGraph::load(&fake, &LoadOptions::default())
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("radgraph.tar.gz is not a RadGraph model"),
        "{err}"
    );
    // A directory without weights.th.
    let model = dir.join("model");
    std::fs::create_dir_all(model.join("vocabulary")).expect("dir");
    std::fs::copy(
        fixtures().join("radgraph/models/radgraph/config.json"),
        model.join("config.json"),
    )
    .expect("copy");
    let err = RadGraph::load(&model, &LoadOptions::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("weights.th is missing"), "{err}");
    // The encoder cannot be found.
    let source = fixtures().join("radgraph/models/radgraph");
    for name in [
        "weights.th",
        "vocabulary/radgraph__ner_labels.txt",
        "vocabulary/radgraph__relation_labels.txt",
        "vocabulary/non_padded_namespaces.txt",
    ] {
        std::fs::copy(source.join(name), model.join(name)).expect("copy");
    }
    let err = RadGraph::load(&model, &LoadOptions::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("cannot find the encoder"), "{err}");
    // A label set the archive does not have.
    let options = LoadOptions {
        model_type: Some("radgraph-xl".into()),
        encoder_dir: Some(source.join("encoder")),
        ..LoadOptions::default()
    };
    let err = RadGraph::load(&model, &options).err().expect("refused");
    assert!(
        err.to_string()
            .contains("radgraph-xl__ner_labels.txt is missing"),
        "{err}"
    );
}
