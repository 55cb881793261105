//! The SigLIP vision tower (So400m in PaliGemma 2) and the multimodal projector.
//!
//! Matches HF `SiglipVisionModel` (eager attention): patch embedding + learned positions,
//! pre-LayerNorm encoder layers, `post_layernorm`, no pooling head; then
//! `PaliGemmaMultiModalProjector` (a linear layer with bias).

use candle_core::{DType, Module, Tensor};
use candle_nn::LayerNorm;

use crate::attention::{attention, Scores};
use crate::linear::Linear;

use crate::config::{Activation, VisionConfig};
use crate::error::Result;
use crate::weights::Loader;

pub(crate) fn activate(x: &Tensor, act: Activation) -> candle_core::Result<Tensor> {
    match act {
        Activation::GeluTanh => crate::ops::gelu_tanh(x),
        Activation::GeluErf => x.gelu_erf(),
    }
}

struct PatchEmbedding {
    /// Conv2d kernel flattened to `[hidden, channels·patch·patch]`: with stride = kernel the
    /// convolution is a matrix product over non-overlapping patches.
    weight: Tensor,
    bias: Tensor,
    position: Tensor,
    patch: usize,
    per_side: usize,
}

impl PatchEmbedding {
    fn new(cfg: &VisionConfig, vb: &Loader) -> Result<Self> {
        let (d, c, p) = (cfg.hidden_size, cfg.num_channels, cfg.patch_size);
        let conv = vb.pp("patch_embedding");
        let weight = conv.get("weight", &[d, c, p, p])?.reshape((d, c * p * p))?;
        let bias = conv.get("bias", &[d])?;
        let position = vb
            .pp("position_embedding")
            .get("weight", &[cfg.num_image_tokens(), d])?;
        Ok(Self {
            weight,
            bias,
            position,
            patch: p,
            per_side: cfg.patches_per_side(),
        })
    }

    fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let (b, c, _, _) = pixels.dims4()?;
        let (n, p) = (self.per_side, self.patch);
        let patches = pixels
            .reshape((b, c, n, p, n, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .contiguous()?
            .reshape((b, n * n, c * p * p))?;
        let embeds = patches
            .broadcast_matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?;
        Ok(embeds.broadcast_add(&self.position)?)
    }
}

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    scale: f64,
    bf16_products: bool,
}

impl Attention {
    fn new(cfg: &VisionConfig, vb: &Loader) -> Result<Self> {
        let d = cfg.hidden_size;
        let head_dim = cfg.head_dim();
        Ok(Self {
            q_proj: vb.linear("q_proj", d, d, true)?,
            k_proj: vb.linear("k_proj", d, d, true)?,
            v_proj: vb.linear("v_proj", d, d, true)?,
            out_proj: vb.linear("out_proj", d, d, true)?,
            heads: cfg.num_attention_heads,
            head_dim,
            scale: (head_dim as f64).powf(-0.5),
            bf16_products: vb.matrix_dtype() == DType::BF16,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let split = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.q_proj.forward(x)?)?.unsqueeze(2)?;
        let k = split(self.k_proj.forward(x)?)?;
        let v = split(self.v_proj.forward(x)?)?;
        let scores = Scores {
            scale: self.scale,
            softcap: None,
            bf16_products: self.bf16_products,
        };
        let out = attention(&q, &k, &v, scores, None)?
            .squeeze(2)?
            .transpose(1, 2)?
            .reshape((b, t, d))?;
        Ok(self.out_proj.forward(&out)?)
    }
}

struct EncoderLayer {
    layer_norm1: LayerNorm,
    self_attn: Attention,
    layer_norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    act: Activation,
}

impl EncoderLayer {
    fn new(cfg: &VisionConfig, vb: &Loader) -> Result<Self> {
        let (d, i, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let mlp = vb.pp("mlp");
        Ok(Self {
            layer_norm1: vb.layer_norm("layer_norm1", d, eps)?,
            self_attn: Attention::new(cfg, &vb.pp("self_attn"))?,
            layer_norm2: vb.layer_norm("layer_norm2", d, eps)?,
            fc1: mlp.linear("fc1", d, i, true)?,
            fc2: mlp.linear("fc2", i, d, true)?,
            act: cfg.hidden_act,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = (x + self.self_attn.forward(&self.layer_norm1.forward(x)?)?)?;
        let mlp = self.fc2.forward(&activate(
            &self.fc1.forward(&self.layer_norm2.forward(&h)?)?,
            self.act,
        )?)?;
        Ok((h + mlp)?)
    }
}

/// Intermediate tensors of the vision tower, kept when a caller asks for them (parity tests).
#[derive(Default)]
pub struct VisionTrace {
    pub embeddings: Option<Tensor>,
    pub layers: Vec<Tensor>,
    pub last_hidden_state: Option<Tensor>,
}

/// SigLIP vision tower plus the PaliGemma projector.
pub struct VisionTower {
    embeddings: PatchEmbedding,
    layers: Vec<EncoderLayer>,
    post_layernorm: LayerNorm,
    projector: Linear,
}

impl VisionTower {
    /// `vb` points at the vision model root (`vision_tower.vision_model`); `projector` at
    /// `multi_modal_projector`.
    pub fn new(
        cfg: &VisionConfig,
        projection_dim: usize,
        vb: &Loader,
        projector: &Loader,
    ) -> Result<Self> {
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| EncoderLayer::new(cfg, &vb.pp("encoder.layers").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: PatchEmbedding::new(cfg, &vb.pp("embeddings"))?,
            layers,
            post_layernorm: vb.layer_norm("post_layernorm", cfg.hidden_size, cfg.layer_norm_eps)?,
            projector: projector.linear("linear", cfg.hidden_size, projection_dim, true)?,
        })
    }

    /// Bytes of the tower's and the projector's weights as held.
    pub fn weight_bytes(&self) -> usize {
        use crate::linear::tensor_bytes;
        let norm = |n: &LayerNorm| tensor_bytes(n.weight()) + n.bias().map_or(0, tensor_bytes);
        let e = &self.embeddings;
        let layer = |l: &EncoderLayer| {
            let a = &l.self_attn;
            [&a.q_proj, &a.k_proj, &a.v_proj, &a.out_proj, &l.fc1, &l.fc2]
                .iter()
                .map(|p| p.bytes())
                .sum::<usize>()
                + norm(&l.layer_norm1)
                + norm(&l.layer_norm2)
        };
        tensor_bytes(&e.weight)
            + tensor_bytes(&e.bias)
            + tensor_bytes(&e.position)
            + self.layers.iter().map(layer).sum::<usize>()
            + norm(&self.post_layernorm)
            + self.projector.bytes()
    }

    /// `pixels`: `[batch, 3, S, S]` in the model dtype. Returns the projector output
    /// `[batch, image_tokens, projection_dim]`.
    pub fn forward(&self, pixels: &Tensor, mut trace: Option<&mut VisionTrace>) -> Result<Tensor> {
        let mut h = self.embeddings.forward(pixels)?;
        if let Some(t) = trace.as_deref_mut() {
            t.embeddings = Some(h.clone());
        }
        for layer in &self.layers {
            h = layer.forward(&h)?;
            if let Some(t) = trace.as_deref_mut() {
                t.layers.push(h.clone());
            }
        }
        let h = self.post_layernorm.forward(&h)?;
        if let Some(t) = trace {
            t.last_hidden_state = Some(h.clone());
        }
        Ok(self.projector.forward(&h)?)
    }
}
