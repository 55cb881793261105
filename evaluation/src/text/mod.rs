//! Text metrics as pycocoevalcap 1.2 computes them: BLEU-4 (`Bleu(4)`, option "closest"),
//! ROUGE-L (`Rouge`, β = 1.2) and CIDEr-D (`Cider`, σ = 6, clipped, length penalty), each on the
//! captions its `PTBTokenizer` produces ([`ptb`]). One reference per hypothesis, as in report
//! generation.
//!
//! Splitting follows the scorers: BLEU and CIDEr use Python `str.split()` (any whitespace,
//! including the U+00A0 CoreNLP puts inside fraction and phone tokens); ROUGE-L uses
//! `str.split(" ")`, so an empty caption is one empty token.

pub mod bleu;
pub mod cider;
pub mod ptb;
pub mod rouge;

pub use bleu::{BleuStats, CorpusBleu};
pub use cider::CiderD;
pub use ptb::{CoreNlpJar, PtbTokenizer};
