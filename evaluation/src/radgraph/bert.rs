//! BERT encoder (Hugging Face `BertModel`, last hidden state), f32, CPU.
//!
//! Weights come from the archive through candle's pickle reader. The dense layers run on Intel
//! AMX tiles at f32 accuracy where the CPU has them (see [`Matmul`]), else on the
//! `gemm` crate (candle's own CPU matrix kernels); the forward pass calls them directly on packed
//! buffers so that it can:
//! run each segment's attention on its own length (no padding, so no mask is needed and nothing
//! is computed for padding), pack the segments of many reports into one matrix for the dense
//! layers, and spread groups of segments over the worker threads with single-threaded kernels
//! instead of synchronising threads inside every small product.
//!
//! Per layer, as HF `BertLayer` (eager): `qkv = x·Wᵀ + b`; per head `softmax(q·kᵀ / √d)·v`;
//! `LayerNorm(ctx·Woᵀ + bo + x)`; `LayerNorm(gelu(x·W1ᵀ + b1)·W2ᵀ + b2 + x)` with the exact erf
//! GELU. Token types are all 0 (the package passes `token_type_ids=None`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gemm::Parallelism;
use serde::Deserialize;

use raddraft_kernels::{amx, cpu, vecmath};

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

/// Tokens per group of segments run through the layers together by one worker.
const GROUP_TOKENS: usize = 2048;

/// `y = x·Wᵀ + b` with `W` stored `(out, in)` row-major, as PyTorch's `Linear`.
struct Dense {
    weight: DenseWeight,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

enum DenseWeight {
    /// Row-major f32 for gemm's kernels.
    F32(Vec<f32>),
    /// Split and packed for AMX tiles (the f32 copy is dropped).
    Amx(amx::PackedWeight),
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

struct Layer {
    qkv: Dense,
    attention_output: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// One worker's activations, kept between groups so that each group reuses the memory
/// instead of faulting in fresh pages.
#[derive(Default)]
struct GroupBuffers {
    x: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    hidden: Vec<f32>,
    intermediate: Vec<f32>,
    /// The GELU output already split for the AMX output product (the f32 values never written).
    intermediate_split: amx::SplitActivations,
    scores: Vec<f32>,
}

thread_local! {
    static GROUP_BUFFERS: std::cell::RefCell<GroupBuffers> =
        std::cell::RefCell::new(GroupBuffers::default());
}

/// The encoder with its weights.
pub struct BertEncoder {
    config: BertConfig,
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    token_type_zero: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    matmul: Matmul,
}

fn encoder_name(name: &str) -> String {
    format!("{ENCODER_PREFIX}.{name}")
}

fn load_norm(state: &mut StateDict, name: &str, h: usize, eps: f32) -> Result<Norm> {
    Ok(Norm {
        weight: values(state, &encoder_name(&format!("{name}.weight")), &[h])?,
        bias: values(state, &encoder_name(&format!("{name}.bias")), &[h])?,
        eps,
    })
}

/// Which kernels compute the encoder's dense layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Matmul {
    /// AMX bf16×6 where the CPU has AMX (and `RADDRAFT_NO_AMX` is unset), else f32.
    #[default]
    Auto,
    /// f32 on AVX-512/AVX2 (the `gemm` crate).
    F32,
    /// AMX tiles, six bf16 piece products: f32 accuracy.
    AmxBf16x6,
    /// AMX tiles, three bf16 piece products: about 2⁻¹⁶ relative error per product, faster.
    AmxBf16x3,
}

impl Matmul {
    /// The kernels actually used on this machine; an error where AMX is asked for and absent.
    pub fn resolve(self) -> Result<Matmul> {
        match self {
            Matmul::Auto if cpu::features().amx => Ok(Matmul::AmxBf16x6),
            Matmul::Auto => Ok(Matmul::F32),
            Matmul::AmxBf16x6 | Matmul::AmxBf16x3 if !cpu::features().amx => {
                Err(EvalError::Invalid(format!(
                    "{} needs Intel AMX-BF16, which this CPU or kernel does not offer (or RADDRAFT_NO_AMX is set)",
                    self.name()
                )))
            }
            other => Ok(other),
        }
    }

    /// How outputs state it.
    pub fn name(self) -> &'static str {
        match self {
            Matmul::Auto => "auto",
            Matmul::F32 => "f32",
            Matmul::AmxBf16x6 => "amx-bf16x6",
            Matmul::AmxBf16x3 => "amx-bf16x3",
        }
    }
}

impl std::str::FromStr for Matmul {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            Matmul::Auto,
            Matmul::F32,
            Matmul::AmxBf16x6,
            Matmul::AmxBf16x3,
        ]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| format!("`{s}` is not one of auto, f32, amx-bf16x6, amx-bf16x3"))
    }
}

/// One or more `Linear` layers stacked along the output dimension.
fn load_dense(
    state: &mut StateDict,
    names: &[String],
    outputs: usize,
    inputs: usize,
    matmul: Matmul,
) -> Result<Dense> {
    let mut weight = Vec::with_capacity(names.len() * outputs * inputs);
    let mut bias = Vec::with_capacity(names.len() * outputs);
    for name in names {
        weight.extend(values(
            state,
            &encoder_name(&format!("{name}.weight")),
            &[outputs, inputs],
        )?);
        bias.extend(values(
            state,
            &encoder_name(&format!("{name}.bias")),
            &[outputs],
        )?);
    }
    let outputs = outputs * names.len();
    let weight = match matmul {
        Matmul::AmxBf16x6 => DenseWeight::Amx(amx::PackedWeight::new(
            &weight,
            outputs,
            inputs,
            amx::Products::Six,
        )?),
        Matmul::AmxBf16x3 => DenseWeight::Amx(amx::PackedWeight::new(
            &weight,
            outputs,
            inputs,
            amx::Products::Three,
        )?),
        Matmul::Auto | Matmul::F32 => DenseWeight::F32(weight),
    };
    Ok(Dense {
        weight,
        bias,
        inputs,
        outputs,
    })
}

/// Move a tensor out of the state dict into a plain buffer (the tensor is freed right away).
fn values(state: &mut StateDict, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    Ok(state.take(name, shape)?.flatten_all()?.to_vec1::<f32>()?)
}

impl BertEncoder {
    /// Check the config and load the weights under [`ENCODER_PREFIX`].
    /// `matmul` picks the dense layers' kernels; [`Matmul::resolve`] first.
    pub fn new(config: BertConfig, state: &mut StateDict, matmul: Matmul) -> Result<Self> {
        let matmul = matmul.resolve()?;
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
        let eps = config.layer_norm_eps as f32;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = |name: &str| format!("encoder.layer.{i}.{name}");
            layers.push(Layer {
                // Q, K and V stacked into one product; each output is still one dot product + bias.
                qkv: load_dense(
                    state,
                    &[
                        l("attention.self.query"),
                        l("attention.self.key"),
                        l("attention.self.value"),
                    ],
                    h,
                    h,
                    matmul,
                )?,
                attention_output: load_dense(state, &[l("attention.output.dense")], h, h, matmul)?,
                attention_norm: load_norm(state, &l("attention.output.LayerNorm"), h, eps)?,
                intermediate: load_dense(
                    state,
                    &[l("intermediate.dense")],
                    config.intermediate_size,
                    h,
                    matmul,
                )?,
                output: load_dense(
                    state,
                    &[l("output.dense")],
                    h,
                    config.intermediate_size,
                    matmul,
                )?,
                output_norm: load_norm(state, &l("output.LayerNorm"), h, eps)?,
            });
        }
        let token_types = values(
            state,
            &encoder_name("embeddings.token_type_embeddings.weight"),
            &[config.type_vocab_size, h],
        )?;
        Ok(BertEncoder {
            word_embeddings: values(
                state,
                &encoder_name("embeddings.word_embeddings.weight"),
                &[config.vocab_size, h],
            )?,
            position_embeddings: values(
                state,
                &encoder_name("embeddings.position_embeddings.weight"),
                &[config.max_position_embeddings, h],
            )?,
            token_type_zero: token_types[..h].to_vec(),
            embedding_norm: load_norm(state, "embeddings.LayerNorm", h, eps)?,
            layers,
            config,
            matmul,
        })
    }

    /// The kernels in use (resolved, never [`Matmul::Auto`]).
    pub fn matmul(&self) -> Matmul {
        self.matmul
    }

    /// Hidden size H.
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Longest segment the position embeddings allow.
    pub fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    /// Last hidden states of every segment, each `len × H` row-major; groups of segments are
    /// spread over `threads` workers.
    pub fn forward(&self, segments: &[&[u32]], threads: usize) -> Result<Vec<Vec<f32>>> {
        for segment in segments {
            if segment.len() > self.config.max_position_embeddings {
                return Err(EvalError::Invalid(format!(
                    "segment of {} pieces exceeds the encoder's {} positions",
                    segment.len(),
                    self.config.max_position_embeddings
                )));
            }
            if let Some(&id) = segment
                .iter()
                .find(|&&id| id as usize >= self.config.vocab_size)
            {
                return Err(EvalError::Invalid(format!(
                    "token id {id} is outside the encoder's vocabulary of {}",
                    self.config.vocab_size
                )));
            }
        }
        let threads = threads.max(1);
        let lengths: Vec<usize> = segments.iter().map(|s| s.len()).collect();
        let groups = pack_groups(&lengths, threads);
        let workers = threads.min(groups.len()).max(1);
        // Spare threads go to the products of the few groups there are.
        let parallelism = if workers < threads {
            Parallelism::Rayon(threads / workers)
        } else {
            Parallelism::None
        };
        let results: Mutex<Vec<Option<Vec<f32>>>> = Mutex::new(vec![None; segments.len()]);
        let failure: Mutex<Option<EvalError>> = Mutex::new(None);
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    let Some(group) = groups.get(g) else { break };
                    let members: Vec<&[u32]> = group.iter().map(|&i| segments[i]).collect();
                    let outputs = match group_forward(self, &members, parallelism) {
                        Ok(outputs) => outputs,
                        Err(error) => {
                            let mut failure = failure.lock().unwrap_or_else(|e| e.into_inner());
                            failure.get_or_insert(error);
                            break;
                        }
                    };
                    let mut slots = results.lock().unwrap_or_else(|e| e.into_inner());
                    for (&i, output) in group.iter().zip(outputs) {
                        slots[i] = Some(output);
                    }
                });
            }
        });
        if let Some(error) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(error);
        }
        Ok(results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    #[inline(always)]
    fn group_forward_any_cpu(
        &self,
        segments: &[&[u32]],
        parallelism: Parallelism,
    ) -> Result<Vec<Vec<f32>>> {
        GROUP_BUFFERS.with(|buffers| {
            let buffers = &mut *buffers.borrow_mut();
            self.layers_forward(segments, parallelism, buffers)
        })
    }

    #[inline(always)]
    fn layers_forward(
        &self,
        segments: &[&[u32]],
        parallelism: Parallelism,
        buffers: &mut GroupBuffers,
    ) -> Result<Vec<Vec<f32>>> {
        let h = self.config.hidden_size;
        let offsets: Vec<usize> = segments
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.len();
                Some(start)
            })
            .collect();
        let m: usize = segments.iter().map(|s| s.len()).sum();
        let GroupBuffers {
            x,
            qkv,
            context,
            hidden,
            intermediate,
            intermediate_split,
            scores,
        } = buffers;
        // Every value of these is written before it is read.
        x.resize(m * h, 0.0);
        qkv.resize(m * 3 * h, 0.0);
        context.resize(m * h, 0.0);
        hidden.resize(m * h, 0.0);
        for (segment, &offset) in segments.iter().zip(&offsets) {
            for (position, &id) in segment.iter().enumerate() {
                let row = &mut x[(offset + position) * h..(offset + position + 1) * h];
                let word = &self.word_embeddings[id as usize * h..(id as usize + 1) * h];
                let pos = &self.position_embeddings[position * h..(position + 1) * h];
                for (((out, w), t), p) in
                    row.iter_mut().zip(word).zip(&self.token_type_zero).zip(pos)
                {
                    // HF: (inputs_embeds + token_type_embeddings) + position_embeddings.
                    *out = (w + t) + p;
                }
            }
        }
        layer_norm(x, &self.embedding_norm, h);
        for layer in &self.layers {
            dense(x, m, &layer.qkv, qkv, parallelism)?;
            for (segment, &offset) in segments.iter().zip(&offsets) {
                self.attention(qkv, offset, segment.len(), context, scores);
            }
            dense(context, m, &layer.attention_output, hidden, parallelism)?;
            for (out, residual) in hidden.iter_mut().zip(x.iter()) {
                *out += residual;
            }
            layer_norm(hidden, &layer.attention_norm, h);
            match (&layer.intermediate.weight, &layer.output.weight) {
                (DenseWeight::Amx(first), DenseWeight::Amx(second)) => {
                    amx::dense_gelu_split(
                        hidden,
                        m,
                        first,
                        &layer.intermediate.bias,
                        intermediate_split,
                        second.products(),
                    )?;
                    amx::dense_split(intermediate_split, second, &layer.output.bias, x)?;
                }
                _ => {
                    intermediate.resize(m * self.config.intermediate_size, 0.0);
                    dense(hidden, m, &layer.intermediate, intermediate, parallelism)?;
                    vecmath::gelu_in_place(intermediate);
                    dense(intermediate, m, &layer.output, x, parallelism)?;
                }
            }
            for (out, residual) in x.iter_mut().zip(hidden.iter()) {
                *out += residual;
            }
            layer_norm(x, &layer.output_norm, h);
        }
        Ok(segments
            .iter()
            .zip(&offsets)
            .map(|(s, &offset)| x[offset * h..(offset + s.len()) * h].to_vec())
            .collect())
    }

    /// Self-attention of one segment (rows `offset..offset+len` of `qkv`) into `context`.
    #[inline(always)]
    fn attention(
        &self,
        qkv: &[f32],
        offset: usize,
        len: usize,
        context: &mut [f32],
        scores: &mut Vec<f32>,
    ) {
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let d = h / heads;
        let scale = (d as f32).sqrt();
        scores.resize(len * len, 0.0);
        let row = 3 * h as isize;
        for head in 0..heads {
            let q = qkv[offset * 3 * h + head * d..].as_ptr();
            let k = qkv[offset * 3 * h + h + head * d..].as_ptr();
            let v = qkv[offset * 3 * h + 2 * h + head * d..].as_ptr();
            // SAFETY: every pointer/stride pair addresses rows offset..offset+len of qkv (3h wide)
            // or the len×len scores, all in bounds; dst does not alias the inputs.
            unsafe {
                gemm::gemm(
                    len,
                    len,
                    d,
                    scores.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    q,
                    1,
                    row,
                    k,
                    row,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
            for r in 0..len {
                let line = &mut scores[r * len..(r + 1) * len];
                let mut max = f32::NEG_INFINITY;
                for s in line.iter_mut() {
                    // HF eager: (q·kᵀ) / sqrt(head size), then softmax.
                    *s /= scale;
                    max = max.max(*s);
                }
                let mut sum = 0f32;
                for s in line.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                for s in line.iter_mut() {
                    *s /= sum;
                }
            }
            // SAFETY: as above; the destination is the head's d columns of rows offset.. of context.
            unsafe {
                gemm::gemm(
                    len,
                    d,
                    len,
                    context[offset * h + head * d..].as_mut_ptr(),
                    1,
                    h as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    len as isize,
                    v,
                    1,
                    row,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        }
    }
}

raddraft_kernels::multiversion! {
    [avx512bw]
    /// The layers on a group of segments packed one after the other (no padding); the
    /// element-wise loops compiled for AVX-512 where the CPU has it (same operations, same
    /// rounding: Rust never fuses a multiply and an add on its own).
    fn group_forward(
        encoder: &BertEncoder,
        segments: &[&[u32]],
        parallelism: Parallelism,
    ) -> Result<Vec<Vec<f32>>> {
        encoder.group_forward_any_cpu(segments, parallelism)
    }
}

/// Segment indices (empty segments left out) in groups of about GROUP_TOKENS tokens or fewer,
/// their count a multiple of `threads` so that the workers (one thread per group's products)
/// finish together: longest first, each segment to the group with the fewest tokens so far.
fn pack_groups(lengths: &[usize], threads: usize) -> Vec<Vec<usize>> {
    use std::cmp::Reverse;
    let mut order: Vec<usize> = (0..lengths.len()).filter(|&i| lengths[i] > 0).collect();
    if order.is_empty() {
        return Vec::new();
    }
    order.sort_by_key(|&i| Reverse(lengths[i]));
    let total: usize = order.iter().map(|&i| lengths[i]).sum();
    let count = total
        .div_ceil(GROUP_TOKENS)
        .next_multiple_of(threads.max(1))
        .min(order.len());
    let mut groups = vec![Vec::new(); count];
    let mut lightest: std::collections::BinaryHeap<Reverse<(usize, usize)>> =
        (0..count).map(|g| Reverse((0, g))).collect();
    for i in order {
        let Reverse((tokens, g)) = lightest.pop().expect("count > 0");
        groups[g].push(i);
        lightest.push(Reverse((tokens + lengths[i], g)));
    }
    groups
}

/// `out = x·Wᵀ + b` for `m` rows (the bias is written first and the product added to it, as
/// PyTorch's `addmm`).
fn dense(
    x: &[f32],
    m: usize,
    layer: &Dense,
    out: &mut [f32],
    parallelism: Parallelism,
) -> Result<()> {
    let (k, n) = (layer.inputs, layer.outputs);
    let weight = match &layer.weight {
        DenseWeight::F32(weight) => weight,
        DenseWeight::Amx(packed) => return Ok(amx::dense(x, m, packed, &layer.bias, out)?),
    };
    assert!(x.len() >= m * k && out.len() >= m * n && weight.len() == n * k);
    // gemm sums a product of one row, or of at most 256 outputs, with other kernels and in
    // another order; a row's values would then depend on how many rows share its group, that
    // is on which other reports are annotated with it. Such products run padded with zero rows.
    let general_rows = (GEMM_SMALL_OUTPUTS / n.max(1) + 1).max(2);
    if m < general_rows {
        let mut padded_x = vec![0f32; general_rows * k];
        padded_x[..m * k].copy_from_slice(&x[..m * k]);
        let mut padded_out = vec![0f32; general_rows * n];
        add_product(
            &padded_x,
            general_rows,
            weight,
            layer,
            &mut padded_out,
            parallelism,
        );
        out[..m * n].copy_from_slice(&padded_out[..m * n]);
    } else {
        add_product(x, m, weight, layer, out, parallelism);
    }
    Ok(())
}

/// Outputs up to which gemm 0.19 uses its "horizontal" kernels (`m·n ≤ 16·16`).
const GEMM_SMALL_OUTPUTS: usize = 256;

/// [`dense`] on gemm's general kernels (`m` ≥ 2 rows and more than 256 outputs).
fn add_product(
    x: &[f32],
    m: usize,
    weight: &[f32],
    layer: &Dense,
    out: &mut [f32],
    parallelism: Parallelism,
) {
    let (k, n) = (layer.inputs, layer.outputs);
    for row in out[..m * n].chunks_exact_mut(n) {
        row.copy_from_slice(&layer.bias);
    }
    // SAFETY: x is m×k row-major, W is n×k row-major (read as k×n with column stride k), out is
    // m×n row-major; the sizes were checked by `dense` and out does not alias x or W.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            weight.as_ptr(),
            k as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// PyTorch `LayerNorm` over rows of width `h` (biased variance), in place.
#[inline(always)]
fn layer_norm(x: &mut [f32], norm: &Norm, h: usize) {
    for row in x.chunks_exact_mut(h) {
        let mean = lane_sum(row, |v| v) / h as f32;
        let variance = lane_sum(row, |v| (v - mean) * (v - mean)) / h as f32;
        let rstd = 1.0 / (variance + norm.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *v = (*v - mean) * rstd * g + b;
        }
    }
}

/// A sum in 16 interleaved partial sums (one vector register's lanes), then added up: the
/// order vectorised reductions use, as PyTorch's own kernels do, instead of a strictly serial
/// sum that the compiler may not reorder.
#[inline(always)]
fn lane_sum(row: &[f32], term: impl Fn(f32) -> f32) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += term(*v);
        }
    }
    for (lane, v) in lanes.iter_mut().zip(rest) {
        *lane += term(*v);
    }
    lanes.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::{dense, pack_groups, Dense, DenseWeight, GROUP_TOKENS};
    use gemm::Parallelism;

    #[test]
    fn a_rows_dense_output_does_not_depend_on_how_many_rows_share_the_product() {
        // Small enough for gemm's single-row and "horizontal" kernels (tiny models, short
        // groups), and BERT-base size.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 20_001) as f32 / 10_000.0 - 1.0
        };
        for (inputs, outputs) in [(32, 32), (64, 32), (32, 96), (768, 768)] {
            let layer = Dense {
                weight: DenseWeight::F32((0..inputs * outputs).map(|_| next()).collect()),
                bias: (0..outputs).map(|_| next()).collect(),
                inputs,
                outputs,
            };
            let rows = 40;
            let x: Vec<f32> = (0..rows * inputs).map(|_| next()).collect();
            let mut all = vec![0f32; rows * outputs];
            dense(&x, rows, &layer, &mut all, Parallelism::None).unwrap();
            for m in 1..rows {
                let mut first = vec![0f32; m * outputs];
                dense(&x, m, &layer, &mut first, Parallelism::None).unwrap();
                let same = first
                    .iter()
                    .zip(&all)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{inputs}→{outputs}: the first {m} rows alone differ");
            }
        }
    }

    fn tokens(groups: &[Vec<usize>], lengths: &[usize]) -> Vec<usize> {
        groups
            .iter()
            .map(|g| g.iter().map(|&i| lengths[i]).sum())
            .collect()
    }

    #[test]
    fn a_small_batch_is_split_so_that_every_worker_has_a_group() {
        // 32 reports of 45 pieces: one group would leave the second worker idle.
        let lengths = [45; 32];
        let groups = pack_groups(&lengths, 2);
        assert_eq!(tokens(&groups, &lengths), vec![720, 720]);
        assert_eq!(pack_groups(&lengths, 1).len(), 1);
        // Never more groups than segments.
        assert_eq!(pack_groups(&[45], 2), vec![vec![0]]);
        assert!(pack_groups(&[0, 0], 2).is_empty());
    }

    #[test]
    fn groups_are_balanced_in_multiples_of_the_workers() {
        let lengths: Vec<usize> = (0..200).map(|i| 20 + (i * 37) % 60).collect();
        let total: usize = lengths.iter().sum();
        let groups = pack_groups(&lengths, 2);
        assert_eq!(
            groups.len(),
            total.div_ceil(GROUP_TOKENS).next_multiple_of(2)
        );
        let sizes = tokens(&groups, &lengths);
        let (least, most) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(most - least <= 79, "{sizes:?}");
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
    }
}
