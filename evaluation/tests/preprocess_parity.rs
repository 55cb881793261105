//! Preprocessing parity with radgraph 0.1.18 `utils.preprocess_reports` (nltk 3.10.4) on 300 random
//! strings mixing Python/Rust whitespace differences, combining marks, the v1 punctuation class and
//! literal escape sequences. Reference: `tests/fixtures/radgraph/preprocess.jsonl`, written by
//! `generate.py`. Required: identical word lists.

use std::path::Path;

use raddraft_eval::radgraph::preprocess::{words, Preprocessing};
use serde_json::Value;

#[test]
fn v1_and_xl_words_match_the_package() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/radgraph/preprocess.jsonl");
    let text = std::fs::read_to_string(path).expect("fixture present");
    let mut cases = 0;
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).expect("JSON");
        let input = case["text"].as_str().expect("text");
        let v1: Vec<String> = serde_json::from_value(case["v1"].clone()).expect("v1");
        let xl: Vec<String> = serde_json::from_value(case["xl"].clone()).expect("xl");
        assert_eq!(words(input, Preprocessing::V1), v1, "v1 words of {input:?}");
        assert_eq!(words(input, Preprocessing::Xl), xl, "XL words of {input:?}");
        cases += 1;
    }
    assert_eq!(cases, 300);
}
