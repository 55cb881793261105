//! `config.json` of a PaliGemma 2 checkpoint, in the transformers 4.x and 5.x schemas.
//!
//! HF only serialises non-default values, so every omitted field is filled with the default of the
//! class transformers would build (`Gemma2Config`, `SiglipVisionConfig`, `PaliGemmaConfig`). Stale
//! fields of published configs (top-level `hidden_size`, vision `num_positions`, `_vocab_size`,
//! `use_bidirectional_attention`) are ignored.

use std::path::Path;

use serde::Deserialize;

use crate::error::{ModelError, Result};

/// Attention kind of one decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerType {
    Sliding,
    Full,
}

/// The MLP non-linearity (`hidden_activation` in HF Gemma 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// `gelu_pytorch_tanh`: the tanh approximation used by every PaliGemma 2 checkpoint.
    #[serde(rename = "gelu_pytorch_tanh", alias = "gelu_new", alias = "gelu_fast")]
    GeluTanh,
    /// `gelu`: the exact erf GELU.
    #[serde(rename = "gelu")]
    GeluErf,
}

fn default_gelu_tanh() -> Activation {
    Activation::GeluTanh
}

/// One integer or a list of them (`eos_token_id` is `[1, 107]` in Gemma 2 text configs).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            Self::One(id) => vec![*id],
            Self::Many(ids) => ids.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RopeParameters {
    #[serde(default = "default_rope_type")]
    rope_type: String,
    #[serde(default = "default_rope_theta")]
    rope_theta: f64,
}

fn default_rope_type() -> String {
    "default".into()
}

/// Gemma 2 text decoder settings, with `Gemma2Config` defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct TextConfig {
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default = "default_text_vocab")]
    pub vocab_size: usize,
    #[serde(default = "default_text_hidden")]
    pub hidden_size: usize,
    #[serde(default = "default_text_intermediate")]
    pub intermediate_size: usize,
    #[serde(default = "default_text_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "default_text_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "default_text_kv_heads")]
    pub num_key_value_heads: usize,
    #[serde(default = "default_head_dim")]
    pub head_dim: usize,
    #[serde(default = "default_gelu_tanh")]
    pub hidden_activation: Activation,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    rope_theta: f64,
    #[serde(default)]
    rope_parameters: Option<RopeParameters>,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default = "default_query_pre_attn_scalar")]
    pub query_pre_attn_scalar: f64,
    #[serde(default = "default_sliding_window")]
    pub sliding_window: Option<usize>,
    /// `None` (JSON `null`) disables the final soft-cap, as big_vision fine-tunes do.
    #[serde(default = "default_final_softcap")]
    pub final_logit_softcapping: Option<f64>,
    #[serde(default = "default_attn_softcap")]
    pub attn_logit_softcapping: Option<f64>,
    #[serde(default)]
    layer_types: Option<Vec<String>>,
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
}

fn default_text_vocab() -> usize {
    256_000
}
fn default_text_hidden() -> usize {
    2304
}
fn default_text_intermediate() -> usize {
    9216
}
fn default_text_layers() -> usize {
    26
}
fn default_text_heads() -> usize {
    8
}
fn default_text_kv_heads() -> usize {
    4
}
fn default_head_dim() -> usize {
    256
}
fn default_max_positions() -> usize {
    8192
}
fn default_eps() -> f64 {
    1e-6
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_query_pre_attn_scalar() -> f64 {
    256.0
}
fn default_sliding_window() -> Option<usize> {
    Some(4096)
}
fn default_final_softcap() -> Option<f64> {
    Some(30.0)
}
fn default_attn_softcap() -> Option<f64> {
    Some(50.0)
}
fn default_true() -> bool {
    true
}

impl TextConfig {
    /// RoPE base frequency, from `rope_parameters` (5.x) or `rope_theta` (4.x).
    pub fn rope_theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .map_or(self.rope_theta, |p| p.rope_theta)
    }

    /// The attention kind of layer `i`: `layer_types` when given, else HF's default of sliding
    /// attention on even layers (0, 2, 4, …).
    pub fn layer_type(&self, i: usize) -> LayerType {
        match &self.layer_types {
            Some(types) if types[i] == "sliding_attention" => LayerType::Sliding,
            Some(_) => LayerType::Full,
            None if i.is_multiple_of(2) => LayerType::Sliding,
            None => LayerType::Full,
        }
    }

    /// Attention scale: `query_pre_attn_scalar^-0.5` (HF Gemma2Attention.scaling), not `head_dim^-0.5`.
    pub fn attention_scale(&self) -> f64 {
        self.query_pre_attn_scalar.powf(-0.5)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let invalid = |reason: String| ModelError::InvalidConfig {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(p) = &self.rope_parameters {
            if p.rope_type != "default" {
                return Err(ModelError::Unsupported(format!(
                    "rope_type `{}` (only `default` RoPE is used by PaliGemma 2)",
                    p.rope_type
                )));
            }
        }
        if let Some(types) = &self.layer_types {
            if types.len() != self.num_hidden_layers {
                return Err(invalid(format!(
                    "text_config.layer_types has {} entries for {} layers",
                    types.len(),
                    self.num_hidden_layers
                )));
            }
            if let Some(bad) = types
                .iter()
                .find(|t| *t != "sliding_attention" && *t != "full_attention")
            {
                return Err(invalid(format!("unknown layer type `{bad}`")));
            }
        }
        if self.num_attention_heads == 0
            || self.num_key_value_heads == 0
            || !self
                .num_attention_heads
                .is_multiple_of(self.num_key_value_heads)
        {
            return Err(invalid(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            )));
        }
        if !self.head_dim.is_multiple_of(2) || self.hidden_size == 0 || self.vocab_size == 0 {
            return Err(invalid("head_dim must be even and sizes non-zero".into()));
        }
        if self.query_pre_attn_scalar <= 0.0 {
            return Err(invalid("query_pre_attn_scalar must be positive".into()));
        }
        Ok(())
    }
}

/// SigLIP vision tower settings, with `SiglipVisionConfig` defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct VisionConfig {
    #[serde(default = "default_vision_hidden")]
    pub hidden_size: usize,
    #[serde(default = "default_vision_intermediate")]
    pub intermediate_size: usize,
    #[serde(default = "default_vision_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "default_vision_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "default_channels")]
    pub num_channels: usize,
    #[serde(default = "default_image_size")]
    pub image_size: usize,
    #[serde(default = "default_patch_size")]
    pub patch_size: usize,
    #[serde(default = "default_gelu_tanh")]
    pub hidden_act: Activation,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub vision_use_head: Option<bool>,
}

fn default_vision_hidden() -> usize {
    768
}
fn default_vision_intermediate() -> usize {
    3072
}
fn default_vision_layers() -> usize {
    12
}
fn default_vision_heads() -> usize {
    12
}
fn default_channels() -> usize {
    3
}
fn default_image_size() -> usize {
    224
}
fn default_patch_size() -> usize {
    16
}

impl VisionConfig {
    pub fn patches_per_side(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Number of image tokens: `(image_size / patch_size)²` (the stale `num_positions` is ignored).
    pub fn num_image_tokens(&self) -> usize {
        self.patches_per_side().pow(2)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// The whole PaliGemma 2 configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct PaliGemma2Config {
    #[serde(default)]
    pub model_type: Option<String>,
    pub text_config: TextConfig,
    pub vision_config: VisionConfig,
    /// HF `PaliGemmaConfig` copies this onto the vision config; it sizes the projector output.
    #[serde(default = "default_projection_dim")]
    pub projection_dim: usize,
    #[serde(default = "default_image_token", alias = "image_token_id")]
    pub image_token_index: u32,
    #[serde(default = "default_bos")]
    pub bos_token_id: u32,
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// Set by `raddraft` on its bundled demo checkpoint: random weights, meaningless output.
    #[serde(default)]
    pub raddraft_demo: Option<String>,
}

fn default_projection_dim() -> usize {
    2048
}
fn default_image_token() -> u32 {
    256_000
}
fn default_bos() -> u32 {
    2
}

impl PaliGemma2Config {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parses and validates a config; `path` is only used in error messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ModelError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let not_pg2 = |reason: String| ModelError::NotPaliGemma2 {
            path: path.to_path_buf(),
            reason,
        };
        match value.get("model_type").and_then(|v| v.as_str()) {
            Some("paligemma") => {}
            Some(other) => {
                return Err(not_pg2(format!("model_type is `{other}`, not `paligemma`")))
            }
            None => return Err(not_pg2("model_type is missing".into())),
        }
        let text_cfg = value
            .get("text_config")
            .ok_or_else(|| not_pg2("text_config is missing".into()))?;
        let is_gemma2 = text_cfg.get("model_type").and_then(|v| v.as_str()) == Some("gemma2")
            || text_cfg
                .get("architectures")
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("Gemma2ForCausalLM")));
        if !is_gemma2 {
            return Err(not_pg2(
                "text_config is not Gemma 2 (PaliGemma 1 uses Gemma 1; PaliGemma 2 needs text_config.model_type `gemma2`)"
                    .into(),
            ));
        }
        if value.get("vision_config").is_none() {
            return Err(not_pg2("vision_config is missing".into()));
        }
        let cfg: Self = serde_json::from_value(value).map_err(|e| ModelError::InvalidConfig {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        self.text_config.validate(path)?;
        let invalid = |reason: String| ModelError::InvalidConfig {
            path: path.to_path_buf(),
            reason,
        };
        let v = &self.vision_config;
        if v.patch_size == 0 || !v.image_size.is_multiple_of(v.patch_size) {
            return Err(invalid(format!(
                "vision image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            )));
        }
        if v.num_attention_heads == 0 || !v.hidden_size.is_multiple_of(v.num_attention_heads) {
            return Err(invalid(
                "vision hidden_size is not divisible by its heads".into(),
            ));
        }
        if v.num_channels != 3 {
            return Err(invalid(format!(
                "vision num_channels {} (expected 3)",
                v.num_channels
            )));
        }
        if v.vision_use_head == Some(true) {
            return Err(ModelError::Unsupported(
                "vision_use_head: PaliGemma has no pooling head".into(),
            ));
        }
        if self.projection_dim != self.text_config.hidden_size {
            return Err(invalid(format!(
                "projection_dim {} differs from text hidden_size {}",
                self.projection_dim, self.text_config.hidden_size
            )));
        }
        if self.image_token_index as usize >= self.text_config.vocab_size {
            return Err(invalid(format!(
                "image_token_index {} is outside the text vocabulary ({})",
                self.image_token_index, self.text_config.vocab_size
            )));
        }
        Ok(())
    }

    /// End-of-sequence ids: the top-level ones, else the text config's, else `<eos>` = 1.
    pub fn eos_token_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .or(self.text_config.eos_token_id.as_ref())
            .map_or_else(|| vec![1], TokenIds::to_vec)
    }

    pub fn num_image_tokens(&self) -> usize {
        self.vision_config.num_image_tokens()
    }
}
