//! The Gemma 2 text decoder of PaliGemma 2, matching HF `Gemma2Model` with eager attention.
//!
//! Differences from candle-transformers' `gemma2.rs` that matter for fidelity: attention scale
//! `query_pre_attn_scalar^-0.5`, the window only on sliding layers, a prefix-LM mask, RoPE tables
//! in f32, and RMSNorm's `(1 + w)` in f32.

use std::str::FromStr;

use candle_core::{DType, Device, Module, Tensor};

use crate::linear::Linear;

use crate::attention::{attention, Scores};
use crate::config::{LayerType, TextConfig};
use crate::error::{ModelError, Result};
use crate::siglip::activate;
use crate::weights::Loader;

/// How sliding layers treat keys older than `sliding_window`.
///
/// - `Hf` reproduces transformers 5.x (the pinned reference): the prefix block (image tokens,
///   `<bos>`, prompt, `"\n"`) stays fully visible to itself on every layer; generated tokens see
///   only the last `sliding_window` keys on sliding layers. Use it to match HF outputs.
/// - `Global` applies no window at all, as big_vision (where PaliGemma 2 was trained and most
///   fine-tunes are made) does. Use it for big_vision fine-tunes at 896 px.
///
/// Both agree whenever prefix + generated tokens fit in the window (224 and 448 px).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowMode {
    #[default]
    Hf,
    Global,
}

impl FromStr for WindowMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "hf" => Ok(Self::Hf),
            "global" => Ok(Self::Global),
            other => Err(ModelError::InvalidInput(format!(
                "unknown window mode `{other}` (choose hf or global)"
            ))),
        }
    }
}

/// HF `Gemma2RMSNorm`: normalise in f32, multiply by `(1 + w)` in f32, cast once.
struct RmsNorm {
    one_plus_weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn new(vb: &Loader, name: &str, dim: usize, eps: f64) -> Result<Self> {
        let weight = vb.pp(name).get_as("weight", &[dim], DType::F32)?;
        Ok(Self {
            one_plus_weight: (weight + 1.0)?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let normed =
            candle_nn::ops::rms_norm(&x.to_dtype(DType::F32)?, &self.one_plus_weight, self.eps)?;
        normed.to_dtype(x.dtype())
    }
}

/// Rotary tables computed in f32 for the requested positions, then cast (HF computes cos/sin in
/// f32 with autocast disabled).
struct Rotary {
    inv_freq: Vec<f32>,
}

impl Rotary {
    fn new(head_dim: usize, theta: f64) -> Self {
        let inv_freq = (0..head_dim)
            .step_by(2)
            .map(|i| 1.0 / (theta as f32).powf(i as f32 / head_dim as f32))
            .collect();
        Self { inv_freq }
    }

    fn tables(
        &self,
        first_position: usize,
        len: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<(Tensor, Tensor)> {
        let half = self.inv_freq.len();
        let mut angles = Vec::with_capacity(len * half);
        for p in first_position..first_position + len {
            angles.extend(self.inv_freq.iter().map(|f| p as f32 * f));
        }
        let angles = Tensor::from_vec(angles, (len, half), device)?;
        Ok((
            angles.cos()?.to_dtype(dtype)?,
            angles.sin()?.to_dtype(dtype)?,
        ))
    }
}

/// A growable key/value cache `[batch, kv_heads, capacity, head_dim]` written in place.
#[derive(Clone, Default)]
struct KvCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
    len: usize,
}

impl KvCache {
    const GROW_BY: usize = 256;

    fn append(&mut self, k: &Tensor, v: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        let needed = self.len + t;
        let capacity = self.k.as_ref().map_or(0, |k| k.dim(2).unwrap_or(0));
        if needed > capacity {
            let new_capacity = needed.next_multiple_of(Self::GROW_BY);
            let grow = |old: &Option<Tensor>, new: &Tensor| -> candle_core::Result<Tensor> {
                let (b, h, _, d) = new.dims4()?;
                let buffer = Tensor::zeros((b, h, new_capacity, d), new.dtype(), new.device())?;
                if let Some(old) = old {
                    buffer.slice_set(&old.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
                Ok(buffer)
            };
            self.k = Some(grow(&self.k, k)?);
            self.v = Some(grow(&self.v, v)?);
        }
        let (kb, vb) = match (&self.k, &self.v) {
            (Some(kb), Some(vb)) => (kb, vb),
            _ => candle_core::bail!("kv cache buffers missing after growth"),
        };
        kb.slice_set(&k.contiguous()?, 2, self.len)?;
        vb.slice_set(&v.contiguous()?, 2, self.len)?;
        self.len = needed;
        Ok((kb.narrow(2, 0, self.len)?, vb.narrow(2, 0, self.len)?))
    }

    fn reorder(&mut self, batch_indices: &Tensor) -> candle_core::Result<()> {
        if let (Some(k), Some(v)) = (&self.k, &self.v) {
            self.k = Some(k.index_select(batch_indices, 0)?);
            self.v = Some(v.index_select(batch_indices, 0)?);
        }
        Ok(())
    }
}

struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    scale: f64,
    softcap: Option<f64>,
    bf16_products: bool,
    cache: KvCache,
}

impl Attention {
    fn new(cfg: &TextConfig, vb: &Loader) -> Result<Self> {
        let (h, d) = (cfg.hidden_size, cfg.head_dim);
        let (heads, kv_heads, bias) = (
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            cfg.attention_bias,
        );
        Ok(Self {
            q_proj: vb.linear("q_proj", h, heads * d, bias)?,
            k_proj: vb.linear("k_proj", h, kv_heads * d, bias)?,
            v_proj: vb.linear("v_proj", h, kv_heads * d, bias)?,
            o_proj: vb.linear("o_proj", heads * d, h, bias)?,
            heads,
            kv_heads,
            head_dim: d,
            scale: cfg.attention_scale(),
            softcap: cfg.attn_logit_softcapping,
            bf16_products: vb.matrix_dtype() == DType::BF16,
            cache: KvCache::default(),
        })
    }

    fn forward(
        &mut self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let d = self.head_dim;
        let heads_first =
            |y: Tensor, n: usize| y.reshape((b, t, n, d))?.transpose(1, 2)?.contiguous();
        let q = heads_first(self.q_proj.forward(x)?, self.heads)?;
        let k = heads_first(self.k_proj.forward(x)?, self.kv_heads)?;
        let v = heads_first(self.v_proj.forward(x)?, self.kv_heads)?;
        let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
        let (k, v) = self.cache.append(&k, &v)?;

        // Grouped-query attention without copying K/V: the query heads served by one KV head
        // (HF `repeat_kv` order) share it.
        let group = self.heads / self.kv_heads;
        let q = q.reshape((b, self.kv_heads, group, t, d))?;
        let scores = Scores {
            scale: self.scale,
            softcap: self.softcap,
            bf16_products: self.bf16_products,
        };
        let out = attention(&q, &k, &v, scores, mask)?
            .reshape((b, self.heads, t, d))?
            .transpose(1, 2)?
            .reshape((b, t, self.heads * d))?;
        self.o_proj.forward(&out)
    }
}

struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
    act: crate::config::Activation,
}

impl Mlp {
    fn new(cfg: &TextConfig, vb: &Loader) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Self {
            gate_proj: vb.linear("gate_proj", h, i, false)?,
            up_proj: vb.linear("up_proj", h, i, false)?,
            down_proj: vb.linear("down_proj", i, h, false)?,
            act: cfg.hidden_activation,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let gate = activate(&self.gate_proj.forward(x)?, self.act)?;
        self.down_proj.forward(&(gate * self.up_proj.forward(x)?)?)
    }
}

struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    pre_feedforward_layernorm: RmsNorm,
    mlp: Mlp,
    post_feedforward_layernorm: RmsNorm,
    kind: LayerType,
}

impl DecoderLayer {
    fn new(cfg: &TextConfig, vb: &Loader, kind: LayerType) -> Result<Self> {
        let (h, eps) = (cfg.hidden_size, cfg.rms_norm_eps);
        Ok(Self {
            input_layernorm: RmsNorm::new(vb, "input_layernorm", h, eps)?,
            self_attn: Attention::new(cfg, &vb.pp("self_attn"))?,
            post_attention_layernorm: RmsNorm::new(vb, "post_attention_layernorm", h, eps)?,
            pre_feedforward_layernorm: RmsNorm::new(vb, "pre_feedforward_layernorm", h, eps)?,
            mlp: Mlp::new(cfg, &vb.pp("mlp"))?,
            post_feedforward_layernorm: RmsNorm::new(vb, "post_feedforward_layernorm", h, eps)?,
            kind,
        })
    }

    fn forward(
        &mut self,
        h: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let attn = self
            .self_attn
            .forward(&self.input_layernorm.forward(h)?, cos, sin, mask)?;
        let h = (h + self.post_attention_layernorm.forward(&attn)?)?;
        let mlp = self
            .mlp
            .forward(&self.pre_feedforward_layernorm.forward(&h)?)?;
        h + self.post_feedforward_layernorm.forward(&mlp)?
    }
}

/// Additive mask `[queries, keys]` for queries at absolute indices `first_query..first_query+t`
/// against keys `0..first_query+t`, or `None` when every pair is visible.
///
/// A query sees a key when both lie in the prefix (the bidirectional block), or when the key is
/// not in the future and, with a window, is one of the last `window` tokens.
fn attention_mask(
    first_query: usize,
    t: usize,
    prefix_len: usize,
    window: Option<usize>,
) -> Option<Vec<f32>> {
    let keys = first_query + t;
    let visible = |q: usize, k: usize| {
        (q < prefix_len && k < prefix_len) || (k <= q && window.is_none_or(|w| k + w > q))
    };
    let all_visible = (first_query..keys).all(|q| (0..keys).all(|k| visible(q, k)));
    if all_visible {
        return None;
    }
    let mut mask = Vec::with_capacity(t * keys);
    for q in first_query..keys {
        mask.extend((0..keys).map(|k| {
            if visible(q, k) {
                0.0
            } else {
                f32::NEG_INFINITY
            }
        }));
    }
    Some(mask)
}

/// Intermediate tensors of the decoder, kept when a caller asks for them (parity tests).
#[derive(Default)]
pub struct TextTrace {
    pub layers: Vec<Tensor>,
    pub final_norm: Option<Tensor>,
}

/// The Gemma 2 decoder with its KV cache.
pub struct Gemma2 {
    /// The embedding table, which is also the output head of tied checkpoints.
    embed_tokens: Linear,
    lm_head: Option<Linear>,
    dtype: DType,
    device: Device,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    rotary: Rotary,
    hidden_size: usize,
    sliding_window: Option<usize>,
    window_mode: WindowMode,
    final_softcap: Option<f64>,
    prefix_len: usize,
    cached_len: usize,
}

/// HF PaliGemma positions are 1-based (`position_ids = arange + 1`).
pub const FIRST_POSITION: usize = 1;

impl Gemma2 {
    /// `vb` points at the decoder root (`language_model.model`); `lm_head` is `Some` only for
    /// untied checkpoints. The embedding table, the head and every layer's projections are
    /// stored as `vb`'s quantisation says.
    pub fn new(
        cfg: &TextConfig,
        vb: &Loader,
        lm_head: Option<Tensor>,
        window_mode: WindowMode,
    ) -> Result<Self> {
        let embed_tokens = vb.stored(Linear::new(
            vb.pp("embed_tokens")
                .matrix("weight", &[cfg.vocab_size, cfg.hidden_size])?,
            None,
        )?)?;
        let lm_head = lm_head
            .map(|head| vb.stored(Linear::new(head, None)?))
            .transpose()?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| DecoderLayer::new(cfg, &vb.pp("layers").pp(i), cfg.layer_type(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embed_tokens,
            lm_head,
            dtype: vb.dtype(),
            device: vb.device().clone(),
            layers,
            norm: RmsNorm::new(vb, "norm", cfg.hidden_size, cfg.rms_norm_eps)?,
            rotary: Rotary::new(cfg.head_dim, cfg.rope_theta()),
            hidden_size: cfg.hidden_size,
            sliding_window: cfg.sliding_window,
            window_mode,
            final_softcap: cfg.final_logit_softcapping,
            prefix_len: 0,
            cached_len: 0,
        })
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn embed_dim(&self) -> usize {
        self.hidden_size
    }

    pub fn vocab_size(&self) -> usize {
        self.embed_tokens.out_dim()
    }

    /// Bytes of the decoder's weights as held (norm vectors included; the head once if tied).
    pub fn weight_bytes(&self) -> usize {
        let norm = self.hidden_size * 4;
        let layer = |l: &DecoderLayer| {
            let a = &l.self_attn;
            let m = &l.mlp;
            [
                &a.q_proj,
                &a.k_proj,
                &a.v_proj,
                &a.o_proj,
                &m.gate_proj,
                &m.up_proj,
                &m.down_proj,
            ]
            .iter()
            .map(|p| p.bytes())
            .sum::<usize>()
                + 4 * norm
        };
        self.embed_tokens.bytes()
            + self.lm_head.as_ref().map_or(0, Linear::bytes)
            + self.layers.iter().map(layer).sum::<usize>()
            + norm
    }

    pub fn set_final_softcap(&mut self, cap: Option<f64>) {
        self.final_softcap = cap;
    }

    pub fn final_softcap(&self) -> Option<f64> {
        self.final_softcap
    }

    /// `sqrt(hidden_size)` rounded to the model dtype, as HF's `normalizer` tensor.
    pub fn normalizer(&self) -> f64 {
        let exact = (self.hidden_size as f64).sqrt();
        match self.dtype() {
            DType::BF16 => half::bf16::from_f64(exact).to_f64(),
            DType::F16 => half::f16::from_f64(exact).to_f64(),
            DType::F32 => exact as f32 as f64,
            _ => exact,
        }
    }

    /// Raw (unscaled) token embeddings `[batch, t, hidden]`.
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let flat = self
            .embed_tokens
            .rows(&ids.flatten_all()?, self.dtype)?
            .to_device(&self.device)?;
        Ok(flat.reshape((b, t, self.hidden_size))?)
    }

    /// Forgets the cache and declares the length of the bidirectional prefix of the next
    /// sequence.
    pub fn start_sequence(&mut self, prefix_len: usize) {
        for layer in &mut self.layers {
            layer.self_attn.cache = KvCache::default();
        }
        self.prefix_len = prefix_len;
        self.cached_len = 0;
    }

    pub fn cached_len(&self) -> usize {
        self.cached_len
    }

    /// Keeps the cache rows of `batch_indices` (beam search).
    pub fn reorder_cache(&mut self, batch_indices: &Tensor) -> Result<()> {
        for layer in &mut self.layers {
            layer.self_attn.cache.reorder(batch_indices)?;
        }
        Ok(())
    }

    /// Runs the decoder over already scaled embeddings that continue the cached sequence and
    /// returns the final-norm hidden states `[batch, t, hidden]`.
    pub fn forward_embeds(
        &mut self,
        embeds: &Tensor,
        mut trace: Option<&mut TextTrace>,
    ) -> Result<Tensor> {
        let (_, t, _) = embeds.dims3()?;
        let first = self.cached_len;
        let (dtype, device) = (embeds.dtype(), embeds.device().clone());
        let (cos, sin) = self
            .rotary
            .tables(FIRST_POSITION + first, t, dtype, &device)?;
        let to_tensor = |mask: Option<Vec<f32>>| -> Result<Option<Tensor>> {
            mask.map(|m| Ok(Tensor::from_vec(m, (t, first + t), &device)?.to_dtype(dtype)?))
                .transpose()
        };
        let full_mask = to_tensor(attention_mask(first, t, self.prefix_len, None))?;
        let sliding_mask = match (self.window_mode, self.sliding_window) {
            (WindowMode::Hf, Some(w)) => {
                to_tensor(attention_mask(first, t, self.prefix_len, Some(w)))?
            }
            _ => full_mask.clone(),
        };
        let mut h = embeds.clone();
        for layer in &mut self.layers {
            let mask = match layer.kind {
                LayerType::Sliding => sliding_mask.as_ref(),
                LayerType::Full => full_mask.as_ref(),
            };
            h = layer.forward(&h, &cos, &sin, mask)?;
            if let Some(tr) = trace.as_deref_mut() {
                tr.layers.push(h.clone());
            }
        }
        self.cached_len += t;
        let h = self.norm.forward(&h)?;
        if let Some(tr) = trace {
            tr.final_norm = Some(h.clone());
        }
        Ok(h)
    }

    /// Logits in f32 for hidden states `[batch, t, hidden]`, with the final soft-cap when enabled.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        let mut logits = head.forward(hidden)?;
        if let Some(cap) = self.final_softcap {
            logits = crate::ops::soft_cap(&logits, cap)?;
        }
        Ok(logits.to_dtype(DType::F32)?)
    }

    /// Logits of the last position only: `[batch, vocab]`.
    pub fn last_logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let t = hidden.dim(1)?;
        self.logits(&hidden.narrow(1, t - 1, 1)?)?
            .squeeze(1)
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::attention_mask;

    fn visible(mask: &Option<Vec<f32>>, keys: usize, q: usize, k: usize) -> bool {
        mask.as_ref().is_none_or(|m| m[q * keys + k] == 0.0)
    }

    #[test]
    fn prefix_is_bidirectional_and_suffix_causal() {
        let mask = attention_mask(0, 6, 4, None);
        assert!(
            visible(&mask, 6, 0, 3),
            "prefix query sees later prefix key"
        );
        assert!(!visible(&mask, 6, 0, 4), "prefix query does not see suffix");
        assert!(visible(&mask, 6, 4, 3));
        assert!(!visible(&mask, 6, 4, 5), "suffix is causal");
        assert!(visible(&mask, 6, 5, 5));
    }

    #[test]
    fn prefix_only_prefill_needs_no_mask() {
        assert!(attention_mask(0, 10, 10, None).is_none());
        assert!(
            attention_mask(0, 10, 10, Some(4)).is_none(),
            "HF keeps the prefix block visible"
        );
    }

    #[test]
    fn window_limits_suffix_queries_only() {
        // Decode step at absolute index 12 with a window of 4: keys 9..=12 visible.
        let mask = attention_mask(12, 1, 10, Some(4));
        let keys = 13;
        assert!(!visible(&mask, keys, 0, 8));
        assert!(visible(&mask, keys, 0, 9));
        assert!(visible(&mask, keys, 0, 12));
        assert!(attention_mask(12, 1, 10, None).is_none());
    }
}
