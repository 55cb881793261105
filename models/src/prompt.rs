//! The tokenizer and the PaliGemma prompt layout: `<image>`×N, `<bos>`, prompt, `"\n"`.
//!
//! Mirrors HF `PaliGemmaProcessor`: the whole string is tokenized at once with no automatic
//! special tokens (BOS comes from the literal `<bos>`), and everything up to and including the
//! `"\n"` is the bidirectional prefix.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::{ModelError, Result};

pub const IMAGE_TOKEN: &str = "<image>";
pub const BOS_TOKEN: &str = "<bos>";

pub struct PromptTokenizer {
    tokenizer: Tokenizer,
    image_token_id: u32,
}

impl PromptTokenizer {
    /// Loads `tokenizer.json` and checks that it knows `<image>` (with the config's id) and `<bos>`.
    pub fn from_file(path: &Path, image_token_id: u32) -> Result<Self> {
        if !path.is_file() {
            return Err(ModelError::Tokenizer(format!(
                "{} not found: the checkpoint directory must contain the tokenizer.json of the model",
                path.display()
            )));
        }
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        Self::new(tokenizer, image_token_id).map_err(|e| match e {
            ModelError::Tokenizer(reason) => {
                ModelError::Tokenizer(format!("{}: {reason}", path.display()))
            }
            other => other,
        })
    }

    pub fn new(tokenizer: Tokenizer, image_token_id: u32) -> Result<Self> {
        match tokenizer.token_to_id(IMAGE_TOKEN) {
            Some(id) if id == image_token_id => {}
            Some(id) => {
                return Err(ModelError::Tokenizer(format!(
                    "<image> has id {id} but the config's image_token_index is {image_token_id}"
                )))
            }
            None => {
                return Err(ModelError::Tokenizer(
                    "no <image> token: not a PaliGemma tokenizer".into(),
                ))
            }
        }
        if tokenizer.token_to_id(BOS_TOKEN).is_none() {
            return Err(ModelError::Tokenizer("no <bos> token".into()));
        }
        Ok(Self {
            tokenizer,
            image_token_id,
        })
    }

    pub fn image_token_id(&self) -> u32 {
        self.image_token_id
    }

    /// Token ids of the prefix for one image with `num_image_tokens` slots.
    pub fn encode_prefix(&self, prompt: &str, num_image_tokens: usize) -> Result<Vec<u32>> {
        let mut text = IMAGE_TOKEN.repeat(num_image_tokens);
        text.push_str(BOS_TOKEN);
        text.push_str(prompt);
        text.push('\n');
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of generated ids, special tokens skipped (as HF `skip_special_tokens=True`).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }
}
