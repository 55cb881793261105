//! Decoding: greedy (the paper's choice for MIMIC-CXR) and beam search, with per-token
//! log-probabilities streamed to a callback that may cancel.

use std::ops::ControlFlow;
use std::time::Instant;

use candle_core::Tensor;

use crate::error::{ModelError, Result};
use crate::paligemma2::PaliGemma2;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Decoding {
    Greedy,
    /// Beam search scored like HF: sum of log-probabilities / length^length_penalty.
    Beam {
        num_beams: usize,
        length_penalty: f64,
    },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GenerationConfig {
    pub max_new_tokens: usize,
    pub eos_token_ids: Vec<u32>,
    pub decoding: Decoding,
}

impl GenerationConfig {
    pub fn greedy(max_new_tokens: usize, eos_token_ids: Vec<u32>) -> Self {
        Self {
            max_new_tokens,
            eos_token_ids,
            decoding: Decoding::Greedy,
        }
    }
}

/// One generated token, as streamed to the caller.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct TokenEvent {
    pub index: usize,
    pub id: u32,
    /// Natural-log probability of the token under the full-vocabulary softmax.
    pub logprob: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Eos,
    MaxNewTokens,
    Cancelled,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    pub prefill_s: f64,
    pub decode_s: f64,
    pub decode_ms_per_token: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Generation {
    /// Generated ids, including the EOS id when generation stopped on it.
    pub token_ids: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub finish_reason: FinishReason,
    pub timings: Timings,
}

/// Receives the f32 logits each token was chosen from (greedy only), e.g. for `--dump-logits`.
pub type LogitsSink<'a> = &'a mut dyn FnMut(&Tensor) -> Result<()>;

/// Index of the largest value (the first on ties, like `torch.argmax`) and its log-probability.
pub fn argmax_with_logprob(logits: &[f32]) -> Result<(u32, f32)> {
    let (best, &max) = logits
        .iter()
        .enumerate()
        .fold(None, |acc: Option<(usize, &f32)>, (i, v)| match acc {
            Some((_, m)) if *v <= *m => acc,
            _ => Some((i, v)),
        })
        .ok_or_else(|| ModelError::InvalidInput("empty logits".into()))?;
    Ok((best as u32, max - log_sum_exp(logits, max)))
}

fn log_sum_exp(logits: &[f32], max: f32) -> f32 {
    let sum: f64 = logits.iter().map(|&v| ((v - max) as f64).exp()).sum();
    max + sum.ln() as f32
}

/// Generates from a prepared prefix. `on_token` may return `Break` to cancel.
pub fn generate(
    model: &mut PaliGemma2,
    prefix_ids: &[u32],
    pixel_values: &Tensor,
    cfg: &GenerationConfig,
    on_token: &mut dyn FnMut(TokenEvent) -> ControlFlow<()>,
    logits_sink: Option<LogitsSink>,
) -> Result<Generation> {
    match cfg.decoding {
        Decoding::Greedy => greedy(model, prefix_ids, pixel_values, cfg, on_token, logits_sink),
        Decoding::Beam {
            num_beams,
            length_penalty,
        } => beam_search(
            model,
            prefix_ids,
            pixel_values,
            cfg,
            num_beams,
            length_penalty,
            on_token,
        ),
    }
}

fn greedy(
    model: &mut PaliGemma2,
    prefix_ids: &[u32],
    pixel_values: &Tensor,
    cfg: &GenerationConfig,
    on_token: &mut dyn FnMut(TokenEvent) -> ControlFlow<()>,
    mut logits_sink: Option<LogitsSink>,
) -> Result<Generation> {
    let start = Instant::now();
    let mut logits = model.prefill(prefix_ids, pixel_values, None)?.squeeze(0)?;
    let prefill_s = start.elapsed().as_secs_f64();
    let decode_start = Instant::now();
    let (mut token_ids, mut logprobs) = (Vec::new(), Vec::new());
    let mut finish_reason = FinishReason::MaxNewTokens;
    for index in 0..cfg.max_new_tokens {
        if let Some(sink) = logits_sink.as_mut() {
            sink(&logits)?;
        }
        let (id, logprob) = argmax_with_logprob(&logits.to_vec1::<f32>()?)?;
        token_ids.push(id);
        logprobs.push(logprob);
        if on_token(TokenEvent { index, id, logprob }).is_break() {
            finish_reason = FinishReason::Cancelled;
            break;
        }
        if cfg.eos_token_ids.contains(&id) {
            finish_reason = FinishReason::Eos;
            break;
        }
        if index + 1 < cfg.max_new_tokens {
            logits = model.step(&[id])?.squeeze(0)?;
        }
    }
    Ok(finished(
        token_ids,
        logprobs,
        finish_reason,
        prefill_s,
        decode_start,
    ))
}

fn finished(
    token_ids: Vec<u32>,
    logprobs: Vec<f32>,
    finish_reason: FinishReason,
    prefill_s: f64,
    decode_start: Instant,
) -> Generation {
    let decode_s = decode_start.elapsed().as_secs_f64();
    let decode_ms_per_token = if token_ids.len() > 1 {
        decode_s * 1000.0 / (token_ids.len() - 1) as f64
    } else {
        0.0
    };
    Generation {
        token_ids,
        logprobs,
        finish_reason,
        timings: Timings {
            prefill_s,
            decode_s,
            decode_ms_per_token,
        },
    }
}

#[derive(Clone)]
struct Beam {
    ids: Vec<u32>,
    logprobs: Vec<f32>,
    score: f64,
}

impl Beam {
    fn normalised(&self, length_penalty: f64) -> f64 {
        self.score / (self.ids.len().max(1) as f64).powf(length_penalty)
    }
}

/// Log-softmax of each row of `[beams, vocab]` logits.
fn log_softmax_rows(logits: &Tensor) -> Result<Vec<Vec<f32>>> {
    let rows = logits.to_vec2::<f32>()?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = log_sum_exp(&row, max);
            row.into_iter().map(|v| v - lse).collect()
        })
        .collect())
}

/// Beam search in the manner of HF `generate(num_beams=…)` without sampling: expand every live
/// beam, keep the best `num_beams` continuations, retire beams that emit EOS, stop when no live
/// beam can beat the retired ones. Tokens are streamed once the best hypothesis is known.
fn beam_search(
    model: &mut PaliGemma2,
    prefix_ids: &[u32],
    pixel_values: &Tensor,
    cfg: &GenerationConfig,
    num_beams: usize,
    length_penalty: f64,
    on_token: &mut dyn FnMut(TokenEvent) -> ControlFlow<()>,
) -> Result<Generation> {
    if num_beams == 0 {
        return Err(ModelError::InvalidInput(
            "num_beams must be at least 1".into(),
        ));
    }
    let start = Instant::now();
    let mut logits = model.prefill(prefix_ids, pixel_values, None)?;
    let prefill_s = start.elapsed().as_secs_f64();
    let decode_start = Instant::now();
    let device = model.device().clone();
    let mut live = vec![Beam {
        ids: Vec::new(),
        logprobs: Vec::new(),
        score: 0.0,
    }];
    let mut done: Vec<Beam> = Vec::new();
    for step in 0..cfg.max_new_tokens {
        let rows = log_softmax_rows(&logits)?;
        let mut candidates: Vec<(f64, usize, u32, f32)> = Vec::new();
        for (b, row) in rows.iter().enumerate() {
            let mut top: Vec<(u32, f32)> = row
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as u32, v))
                .collect();
            let keep = (2 * num_beams).min(top.len());
            top.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1));
            for &(id, lp) in &top[..keep] {
                candidates.push((live[b].score + lp as f64, b, id, lp));
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut next: Vec<Beam> = Vec::new();
        let mut parents: Vec<u32> = Vec::new();
        for (score, b, id, lp) in candidates {
            let mut beam = live[b].clone();
            beam.ids.push(id);
            beam.logprobs.push(lp);
            beam.score = score;
            if cfg.eos_token_ids.contains(&id) {
                if done.len() < num_beams
                    || beam.normalised(length_penalty) > worst(&done, length_penalty)
                {
                    done.push(beam);
                    done.sort_by(|a, b| {
                        b.normalised(length_penalty)
                            .total_cmp(&a.normalised(length_penalty))
                    });
                    done.truncate(num_beams);
                }
            } else if next.len() < num_beams {
                next.push(beam);
                parents.push(b as u32);
            }
            if next.len() == num_beams {
                break;
            }
        }
        let best_live = next
            .iter()
            .map(|b| b.normalised(length_penalty))
            .fold(f64::NEG_INFINITY, f64::max);
        if next.is_empty() || (done.len() == num_beams && best_live <= worst(&done, length_penalty))
        {
            live = next;
            break;
        }
        live = next;
        if step + 1 == cfg.max_new_tokens {
            break;
        }
        model
            .text_mut()
            .reorder_cache(&Tensor::new(parents.as_slice(), &device)?)?;
        let ids: Vec<u32> = live.iter().map(|b| *b.ids.last().unwrap_or(&0)).collect();
        logits = model.step(&ids)?;
    }
    let best_done = done.first().cloned();
    let best_live = live.into_iter().max_by(|a, b| {
        a.normalised(length_penalty)
            .total_cmp(&b.normalised(length_penalty))
    });
    let (best, reason) = match (best_done, best_live) {
        (Some(d), Some(l)) if l.normalised(length_penalty) > d.normalised(length_penalty) => {
            (l, FinishReason::MaxNewTokens)
        }
        (Some(d), _) => (d, FinishReason::Eos),
        (None, Some(l)) => (l, FinishReason::MaxNewTokens),
        (None, None) => {
            return Err(ModelError::InvalidInput(
                "beam search produced no hypothesis".into(),
            ))
        }
    };
    let mut finish_reason = reason;
    for (index, (&id, &logprob)) in best.ids.iter().zip(&best.logprobs).enumerate() {
        if on_token(TokenEvent { index, id, logprob }).is_break() {
            finish_reason = FinishReason::Cancelled;
            break;
        }
    }
    Ok(finished(
        best.ids,
        best.logprobs,
        finish_reason,
        prefill_s,
        decode_start,
    ))
}

fn worst(done: &[Beam], length_penalty: f64) -> f64 {
    done.iter()
        .map(|b| b.normalised(length_penalty))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::argmax_with_logprob;

    #[test]
    fn argmax_takes_first_of_ties_and_normalises() {
        let (id, lp) = argmax_with_logprob(&[0.0, 2.0, 2.0, -1.0]).unwrap();
        assert_eq!(id, 1);
        let expected = 2.0 - (1.0f64 + 2.0 * 2f64.exp() + (-1f64).exp()).ln();
        assert!((lp as f64 - expected).abs() < 1e-6);
    }
}
