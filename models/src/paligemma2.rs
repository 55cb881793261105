//! PaliGemma 2: SigLIP image features placed into the `<image>` slots of a Gemma 2 prompt.
//!
//! Follows HF `PaliGemmaForConditionalGeneration` (eager attention): the prefix (image tokens,
//! `<bos>`, prompt, `"\n"`) is one bidirectional block, generated tokens are causal, positions are
//! 1-based and logits come from the tied embedding.

use std::str::FromStr;

use candle_core::{DType, Device, Tensor};

use crate::config::PaliGemma2Config;
use crate::error::{ModelError, Result};
use crate::gemma2::{Gemma2, TextTrace, WindowMode};
use crate::siglip::{VisionTower, VisionTrace};
use crate::weights::{Loader, SafetensorsFiles};

const VISION_ROOTS: [&str; 4] = [
    "vision_tower.vision_model",
    "vision_tower",
    "model.vision_tower.vision_model",
    "model.vision_tower",
];
const PROJECTOR_ROOTS: [&str; 2] = ["multi_modal_projector", "model.multi_modal_projector"];
const TEXT_ROOTS: [&str; 4] = [
    "language_model.model",
    "language_model",
    "model.language_model.model",
    "model.language_model",
];
const LM_HEAD_NAMES: [&str; 2] = ["language_model.lm_head.weight", "lm_head.weight"];

/// Where the `√hidden` embedding scale applies to image features.
///
/// - `Legacy` (transformers 4.4x to early 5.x): projector output ÷ √hidden, then every embedding
///   × √hidden rounded to the model dtype. In bf16 this leaves image features ×0.998 (10B) or
///   ×1.0017 (28B).
/// - `Unscaled` (transformers 5.24, big_vision): image slots hold the projector output; only text
///   embeddings are scaled.
///
/// Identical up to float rounding in f32; pick the one the fine-tune was trained with in bf16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageScaling {
    #[default]
    Legacy,
    Unscaled,
}

impl FromStr for ImageScaling {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "legacy" => Ok(Self::Legacy),
            "unscaled" => Ok(Self::Unscaled),
            other => Err(ModelError::InvalidInput(format!(
                "unknown image scaling `{other}` (choose legacy or unscaled)"
            ))),
        }
    }
}

/// Numerical options chosen at load time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelOptions {
    pub window_mode: WindowMode,
    pub image_scaling: ImageScaling,
    /// `Some(None)` disables the final soft-cap, `Some(Some(c))` sets it; `None` keeps the config's.
    pub final_softcap: Option<Option<f64>>,
    /// How the decoder's weights (layers, embedding table, head) are stored; the vision tower
    /// and projector keep the model dtype.
    pub quantization: crate::device::Quantization,
    /// With bf16 weights on CPU, round activations to bf16 between operations as transformers
    /// does. Off by default: activations stay f32 and only the weight matrices are bf16, which
    /// is closer to f32 and faster, because candle's CPU operations on bf16 tensors (attention
    /// over the KV cache, norms, soft-caps) widen their operands to f32 on every call.
    pub bf16_activations: bool,
}

/// Intermediate tensors of a prefill, for parity tests.
#[derive(Default)]
pub struct PrefillTrace {
    pub vision: VisionTrace,
    pub image_features: Option<Tensor>,
    pub inputs_embeds: Option<Tensor>,
    pub text: TextTrace,
    pub hidden: Option<Tensor>,
}

pub struct PaliGemma2 {
    vision: VisionTower,
    text: Gemma2,
    image_token_id: u32,
    num_image_tokens: usize,
    image_scaling: ImageScaling,
}

impl PaliGemma2 {
    /// Builds the model from mapped checkpoint files; every stored tensor must be used.
    pub fn load(
        cfg: &PaliGemma2Config,
        files: &SafetensorsFiles,
        dtype: DType,
        device: &Device,
        options: ModelOptions,
    ) -> Result<Self> {
        let matrix_dtype = dtype;
        let dtype = if dtype == DType::BF16 && device.is_cpu() && !options.bf16_activations {
            DType::F32
        } else {
            dtype
        };
        let loader = |roots: &[&str]| {
            Loader::new(files, roots, dtype, device).with_matrix_dtype(matrix_dtype)
        };
        let vision_vb = loader(&VISION_ROOTS);
        let projector_vb = loader(&PROJECTOR_ROOTS);
        let text_vb = loader(&TEXT_ROOTS).with_quantization(options.quantization);
        let vision = VisionTower::new(
            &cfg.vision_config,
            cfg.projection_dim,
            &vision_vb,
            &projector_vb,
        )?;
        let tc = &cfg.text_config;
        let lm_head = if tc.tie_word_embeddings {
            None
        } else {
            let root = loader(&[""]);
            let name = LM_HEAD_NAMES
                .iter()
                .find(|n| files.contains(n))
                .ok_or_else(|| ModelError::MissingTensor {
                    name: LM_HEAD_NAMES[0].into(),
                    tried: LM_HEAD_NAMES.join(", "),
                })?;
            Some(root.matrix(name, &[tc.vocab_size, tc.hidden_size])?)
        };
        let mut text = Gemma2::new(tc, &text_vb, lm_head, options.window_mode)?;
        if let Some(cap) = options.final_softcap {
            text.set_final_softcap(cap);
        }
        let tied = tc.tie_word_embeddings;
        // A tied checkpoint may still store a copy of the head; transformers ignores it too.
        let unused = files.unused(|name| tied && LM_HEAD_NAMES.contains(&name));
        if let Some(first) = unused.first() {
            return Err(ModelError::UnexpectedTensors {
                count: unused.len(),
                first: first.clone(),
            });
        }
        Ok(Self {
            vision,
            text,
            image_token_id: cfg.image_token_index,
            num_image_tokens: cfg.num_image_tokens(),
            image_scaling: options.image_scaling,
        })
    }

    pub fn dtype(&self) -> DType {
        self.text.dtype()
    }

    pub fn device(&self) -> &Device {
        self.text.device()
    }

    /// Bytes of all weights as held in memory: what a draft reads, and what peak memory is
    /// measured against.
    pub fn weight_bytes(&self) -> usize {
        self.vision.weight_bytes() + self.text.weight_bytes()
    }

    pub fn num_image_tokens(&self) -> usize {
        self.num_image_tokens
    }

    pub fn text(&self) -> &Gemma2 {
        &self.text
    }

    pub fn text_mut(&mut self) -> &mut Gemma2 {
        &mut self.text
    }

    /// Projector output `[1, image_tokens, hidden]` for `pixel_values` `[1, 3, S, S]`.
    pub fn encode_image(
        &self,
        pixel_values: &Tensor,
        trace: Option<&mut VisionTrace>,
    ) -> Result<Tensor> {
        let pixels = pixel_values.to_dtype(self.dtype())?;
        self.vision.forward(&pixels, trace)
    }

    /// Scaled embeddings of `ids` with the image features in the `<image>` slots.
    pub fn merge_embeddings(&self, ids: &[u32], image_features: Option<&Tensor>) -> Result<Tensor> {
        let device = self.device();
        let ids_tensor = Tensor::new(ids, device)?.unsqueeze(0)?;
        let normalizer = self.text.normalizer();
        let text = (self.text.embed(&ids_tensor)? * normalizer)?;
        let slots = ids.iter().filter(|&&id| id == self.image_token_id).count();
        let Some(features) = image_features else {
            if slots > 0 {
                return Err(ModelError::InvalidInput(format!(
                    "{slots} <image> tokens but no image"
                )));
            }
            return Ok(text);
        };
        let available = features.dim(1)?;
        if slots != available {
            return Err(ModelError::InvalidInput(format!(
                "prompt has {slots} <image> tokens but the image gives {available} features"
            )));
        }
        let image = match self.image_scaling {
            ImageScaling::Legacy => {
                let divisor = (self.text.embed_dim() as f64).sqrt();
                ((features.to_dtype(DType::F32)? / divisor)?.to_dtype(self.dtype())? * normalizer)?
            }
            ImageScaling::Unscaled => features.clone(),
        };
        // Runs of text rows and image rows, in prompt order.
        let mut pieces = Vec::new();
        let (mut start, mut used) = (0, 0);
        while start < ids.len() {
            let is_image = ids[start] == self.image_token_id;
            let run = ids[start..]
                .iter()
                .take_while(|&&id| (id == self.image_token_id) == is_image)
                .count();
            pieces.push(if is_image {
                used += run;
                image.narrow(1, used - run, run)?
            } else {
                text.narrow(1, start, run)?
            });
            start += run;
        }
        Ok(Tensor::cat(&pieces, 1)?)
    }

    /// Runs the whole prefix (`ids` with `<image>` slots) and returns the last position's logits
    /// `[1, vocab]` in f32. Resets the cache.
    pub fn prefill(
        &mut self,
        ids: &[u32],
        pixel_values: &Tensor,
        mut trace: Option<&mut PrefillTrace>,
    ) -> Result<Tensor> {
        if ids.is_empty() {
            return Err(ModelError::InvalidInput("empty prompt".into()));
        }
        let features =
            self.encode_image(pixel_values, trace.as_deref_mut().map(|t| &mut t.vision))?;
        let embeds = self.merge_embeddings(ids, Some(&features))?;
        self.text.start_sequence(ids.len());
        let hidden = self
            .text
            .forward_embeds(&embeds, trace.as_deref_mut().map(|t| &mut t.text))?;
        if let Some(t) = trace {
            t.image_features = Some(features);
            t.inputs_embeds = Some(embeds);
            t.hidden = Some(hidden.clone());
        }
        self.text.last_logits(&hidden)
    }

    /// Feeds one generated token per batch row and returns `[batch, vocab]` f32 logits.
    pub fn step(&mut self, ids: &[u32]) -> Result<Tensor> {
        let ids_tensor = Tensor::new(ids, self.device())?.unsqueeze(1)?;
        let embeds = (self.text.embed(&ids_tensor)? * self.text.normalizer())?;
        let hidden = self.text.forward_embeds(&embeds, None)?;
        self.text.last_logits(&hidden)
    }

    /// One uncached pass over a prefix followed by `suffix` tokens (teacher forcing); returns the
    /// logits of every position `[1, t, vocab]`.
    pub fn forward_uncached(
        &mut self,
        prefix: &[u32],
        suffix: &[u32],
        pixel_values: &Tensor,
    ) -> Result<Tensor> {
        let features = self.encode_image(pixel_values, None)?;
        let ids: Vec<u32> = prefix.iter().chain(suffix).copied().collect();
        let embeds = self.merge_embeddings(&ids, Some(&features))?;
        self.text.start_sequence(prefix.len());
        let hidden = self.text.forward_embeds(&embeds, None)?;
        self.text.logits(&hidden)
    }
}
