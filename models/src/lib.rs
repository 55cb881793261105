//! PaliGemma 2 inference on candle, numerically faithful to Hugging Face transformers.
//!
//! The crate is organised one network per file, in the spirit of candle-transformers:
//! - [`config`]: `config.json` in both the transformers 4.x and 5.x schemas, with HF defaults;
//! - [`weights`]: memory-mapped (sharded) safetensors with both weight-name layouts and strict checks;
//! - [`linear`]: linear layers over f32, bf16 or int8 weights, products by `raddraft-kernels`;
//! - `attention`: attention in blocks of query rows, shared by both networks;
//! - [`siglip`]: the SigLIP vision tower and the multimodal projector;
//! - [`gemma2`]: the Gemma 2 decoder with soft-capping, prefix-LM mask, sliding window and KV cache;
//! - [`paligemma2`]: the glue that merges image features into the prompt;
//! - [`preprocess`]: Pillow-identical bicubic (and big_vision bilinear) resizing and normalisation;
//! - [`prompt`]: the tokenizer and the `<image>…<bos>prompt\n` layout;
//! - [`generation`]: greedy and beam decoding with streaming callbacks and log-probabilities;
//! - [`checkpoint`]: one call that loads a checkpoint directory.

mod attention;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod error;
pub mod gemma2;
pub mod generation;
pub mod linear;
pub mod ops;
pub mod paligemma2;
pub mod preprocess;
pub mod prompt;
pub mod siglip;
pub mod weights;

pub use checkpoint::{Checkpoint, LoadOptions};
pub use error::{ModelError, Result};

/// What the unit tests of several modules share.
#[cfg(test)]
mod test_support {
    use candle_core::{DType, Tensor};

    /// The largest `|a - b|`, compared in f32.
    pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        let f32 = |t: &Tensor| t.to_dtype(DType::F32);
        (f32(a).unwrap() - f32(b).unwrap())
            .and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>())
            .unwrap()
    }
}
