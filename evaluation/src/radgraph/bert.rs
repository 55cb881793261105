//! BERT encoder (Hugging Face `BertModel`, last hidden state) on candle, f32, CPU.
//!
//! Several segments run as one padded batch; padded keys get `f32::MIN` added to their attention
//! scores (as HF's extended mask does), so their weight is exactly zero and every segment's output
//! equals what it would be alone. Token types are all 0 (the package passes `token_type_ids=None`).

use candle_core::{Device, IndexOp, Module, Tensor, D};
use candle_nn::{LayerNorm, Linear};
use serde::Deserialize;

use super::weights::StateDict;
use crate::error::{EvalError, Result};

/// The fields of the encoder's `config.json` that the forward pass needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
}

fn default_model_type() -> String {
    "bert".into()
}
fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_position_type() -> String {
    "absolute".into()
}

/// The state-dict prefix of the encoder inside a DyGIE archive.
pub const ENCODER_PREFIX: &str =
    "_embedder.token_embedder_bert._matched_embedder.transformer_model";

struct Layer {
    qkv: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The encoder with its weights.
pub struct BertEncoder {
    config: BertConfig,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_zero: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl BertEncoder {
    /// Check the config and load the weights under [`ENCODER_PREFIX`].
    pub fn new(config: BertConfig, state: &StateDict) -> Result<Self> {
        if config.model_type != "bert" {
            return Err(EvalError::Invalid(format!(
                "encoder model_type `{}` is not supported (only BERT encoders: radgraph, radgraph-xl)",
                config.model_type
            )));
        }
        if config.hidden_act != "gelu" {
            return Err(EvalError::Invalid(format!(
                "encoder hidden_act `{}` is not supported (only the exact erf GELU, `gelu`)",
                config.hidden_act
            )));
        }
        if config.position_embedding_type != "absolute" {
            return Err(EvalError::Invalid(format!(
                "encoder position_embedding_type `{}` is not supported",
                config.position_embedding_type
            )));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(EvalError::Invalid(
                "encoder hidden_size must divide into the attention heads".into(),
            ));
        }
        let h = config.hidden_size;
        let p = |name: &str| format!("{ENCODER_PREFIX}.{name}");
        let norm = |name: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(
                state.get(&p(&format!("{name}.weight")), &[h])?,
                state.get(&p(&format!("{name}.bias")), &[h])?,
                config.layer_norm_eps,
            ))
        };
        let linear = |name: &str, out: usize, inp: usize| -> Result<Linear> {
            Ok(Linear::new(
                state.get(&p(&format!("{name}.weight")), &[out, inp])?,
                Some(state.get(&p(&format!("{name}.bias")), &[out])?),
            ))
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = |name: &str| format!("encoder.layer.{i}.{name}");
            let q = linear(&l("attention.self.query"), h, h)?;
            let k = linear(&l("attention.self.key"), h, h)?;
            let v = linear(&l("attention.self.value"), h, h)?;
            // One matmul for Q, K and V; each output element is still one dot product + bias.
            let qkv_weight = Tensor::cat(&[q.weight(), k.weight(), v.weight()], 0)?;
            let qkv_bias = Tensor::cat(
                &[
                    q.bias().expect("has bias"),
                    k.bias().expect("has bias"),
                    v.bias().expect("has bias"),
                ],
                0,
            )?;
            layers.push(Layer {
                qkv: Linear::new(qkv_weight, Some(qkv_bias)),
                attention_output: linear(&l("attention.output.dense"), h, h)?,
                attention_norm: norm(&l("attention.output.LayerNorm"))?,
                intermediate: linear(&l("intermediate.dense"), config.intermediate_size, h)?,
                output: linear(&l("output.dense"), h, config.intermediate_size)?,
                output_norm: norm(&l("output.LayerNorm"))?,
            });
        }
        let token_types = state.get(
            &p("embeddings.token_type_embeddings.weight"),
            &[config.type_vocab_size, h],
        )?;
        Ok(BertEncoder {
            word_embeddings: state.get(
                &p("embeddings.word_embeddings.weight"),
                &[config.vocab_size, h],
            )?,
            position_embeddings: state.get(
                &p("embeddings.position_embeddings.weight"),
                &[config.max_position_embeddings, h],
            )?,
            token_type_zero: token_types.i(0)?,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            config,
        })
    }

    /// Hidden size H.
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Longest segment the position embeddings allow.
    pub fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    /// Last hidden states of a batch of segments: one `(len_i, H)` tensor per segment.
    pub fn forward(&self, segments: &[&[u32]]) -> Result<Vec<Tensor>> {
        let batch = segments.len();
        if batch == 0 {
            return Ok(Vec::new());
        }
        let longest = segments.iter().map(|s| s.len()).max().unwrap_or(0);
        if longest > self.config.max_position_embeddings {
            return Err(EvalError::Invalid(format!(
                "segment of {longest} pieces exceeds the encoder's {} positions",
                self.config.max_position_embeddings
            )));
        }
        let vocab = self.config.vocab_size as u32;
        let mut ids = Vec::with_capacity(batch * longest);
        let mut mask = Vec::with_capacity(batch * longest);
        for segment in segments {
            for position in 0..longest {
                match segment.get(position) {
                    Some(&id) if id < vocab => {
                        ids.push(id);
                        mask.push(0f32);
                    }
                    Some(&id) => {
                        return Err(EvalError::Invalid(format!(
                            "token id {id} is outside the encoder's vocabulary of {vocab}"
                        )))
                    }
                    None => {
                        ids.push(0);
                        mask.push(f32::MIN);
                    }
                }
            }
        }
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (batch * longest,), &device)?;
        let h = self.config.hidden_size;
        let words = self
            .word_embeddings
            .index_select(&ids, 0)?
            .reshape((batch, longest, h))?;
        let positions = self.position_embeddings.narrow(0, 0, longest)?;
        // HF: inputs_embeds + token_type_embeddings, then + position_embeddings.
        let embeddings = words
            .broadcast_add(&self.token_type_zero)?
            .broadcast_add(&positions)?;
        let mut hidden = self.embedding_norm.forward(&embeddings)?;
        let additive_mask = Tensor::from_vec(mask, (batch, 1, 1, longest), &device)?;
        for layer in &self.layers {
            hidden = self.layer_forward(layer, &hidden, &additive_mask)?;
        }
        let mut out = Vec::with_capacity(batch);
        for (b, segment) in segments.iter().enumerate() {
            out.push(hidden.i(b)?.narrow(0, 0, segment.len())?.contiguous()?);
        }
        Ok(out)
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        hidden: &Tensor,
        additive_mask: &Tensor,
    ) -> Result<Tensor> {
        let (batch, length, h) = hidden.dims3()?;
        let heads = self.config.num_attention_heads;
        let head_dim = h / heads;
        let qkv = layer.qkv.forward(hidden)?;
        let split = |index: usize| -> Result<Tensor> {
            Ok(qkv
                .narrow(D::Minus1, index * h, h)?
                .reshape((batch, length, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        // HF eager attention: (q·kᵀ) / sqrt(d) + mask, softmax, · v.
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let scores = scores.broadcast_add(additive_mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((batch, length, h))?;
        let attention = layer.attention_output.forward(&context)?;
        let hidden = layer.attention_norm.forward(&(attention + hidden)?)?;
        let intermediate = layer.intermediate.forward(&hidden)?.gelu_erf()?;
        let output = layer.output.forward(&intermediate)?;
        Ok(layer.output_norm.forward(&(output + hidden)?)?)
    }
}
