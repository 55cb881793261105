//! raddraft-eval: report metrics for chest X-ray report generation, each reproducing a named
//! reference implementation.
//!
//! * [`radgraph`]: RadGraph entity/relation extraction identical to the `radgraph` package 0.1.18,
//!   on candle (v1 and XL models, read from the public archive layout).
//! * [`f1`]: RadGraph F1 variants named explicitly: `rg_e`, `rg_er`, `rg_er_bar` (Delbrouck et al.,
//!   0.1.18 case semantics or the later lower-casing fix) and `radgraph_f1` (Yu et al.);
//!   [`f1::compare`]: one pair on every variant, with the entities matched, missed and added.
//! * [`text`]: BLEU-4, ROUGE-L and CIDEr-D as pycocoevalcap 1.2 computes them, and a Rust
//!   equivalent of the Stanford PTBTokenizer call it makes.
//! * [`batch`]: resumable batch scoring of `{id, hypothesis, reference}` pairs with bootstrap
//!   confidence intervals; [`stats`]: bootstrap and paired approximate randomisation.
//! * [`jsonl`]: the append-only JSON Lines outputs of resumable runs (this crate's and
//!   `raddraft batch`'s drafts): reading them back and continuing them after an interruption.

pub mod batch;
pub mod error;
pub mod f1;
pub mod jsonl;
pub mod radgraph;
pub mod stats;
pub mod text;

pub use error::{EvalError, Result};
