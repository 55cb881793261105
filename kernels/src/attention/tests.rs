//! bf16 attention against f64 attention on the same bf16-rounded operands, with a windowed
//! causal mask and a soft-cap, on sizes that leave ragged blocks, tiles and pairs.

use half::bf16;

use super::{attention_bf16, Scores, Shape, QUERY_BLOCK};
use crate::Error;

fn value(i: usize) -> f32 {
    ((i * 7919 % 1013) as f32 / 1013.0) - 0.5
}

fn round(v: f32) -> f64 {
    f64::from(bf16::from_f32(v).to_f32())
}

/// Eager attention in f64. The kernel rounds q, k (scores) and the probabilities and v (output)
/// to bf16; `rounded` makes the reference do the same.
fn reference(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    shape: Shape,
    scores: &Scores<'_>,
    rounded: bool,
) -> Vec<f64> {
    let Shape {
        kv_heads,
        group,
        queries,
        keys,
        head_dim: d,
    } = shape;
    let r = |x: f32| if rounded { round(x) } else { f64::from(x) };
    let mut out = vec![0f64; q.len()];
    for head in 0..kv_heads * group {
        let kv = head / group;
        for i in 0..queries {
            let qi = &q[(head * queries + i) * d..][..d];
            let s: Vec<f64> = (0..keys)
                .map(|j| {
                    let kj = &k[(kv * keys + j) * d..][..d];
                    let dot: f64 = qi.iter().zip(kj).map(|(&a, &b)| r(a) * r(b)).sum();
                    let mut s = dot * f64::from(scores.scale);
                    if let Some(cap) = scores.softcap {
                        s = f64::from(cap) * (s / f64::from(cap)).tanh();
                    }
                    s + scores.mask.map_or(0.0, |m| f64::from(m[i * keys + j]))
                })
                .collect();
            let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = s.iter().map(|x| (x - max).exp()).sum();
            for j in 0..keys {
                let p = (s[j] - max).exp() / total;
                let p = if rounded { round(p as f32) } else { p };
                for c in 0..d {
                    out[(head * queries + i) * d + c] += p * r(v[(kv * keys + j) * d + c]);
                }
            }
        }
    }
    out
}

fn worst(got: &[f32], expected: &[f64]) -> f64 {
    got.iter()
        .zip(expected)
        .map(|(&g, &e)| (f64::from(g) - e).abs())
        .fold(0.0, f64::max)
}

#[test]
fn matches_eager_attention_with_a_windowed_causal_mask_and_a_soft_cap() {
    let shape = Shape {
        kv_heads: 2,
        group: 2,
        queries: QUERY_BLOCK + 37,
        keys: QUERY_BLOCK + 41,
        head_dim: 41,
    };
    let q: Vec<f32> = (0..2 * 2 * shape.queries * 41)
        .map(|i| 2.0 * value(i))
        .collect();
    let k: Vec<f32> = (0..2 * shape.keys * 41)
        .map(|i| 2.0 * value(i + 7))
        .collect();
    let v: Vec<f32> = (0..2 * shape.keys * 41).map(|i| value(i * 3 + 1)).collect();
    if !crate::dpbf16::available() {
        let scores = Scores {
            scale: 1.0,
            softcap: None,
            mask: None,
        };
        assert_eq!(
            attention_bf16(&q, &k, &v, shape, scores),
            Err(Error::Bf16Unavailable)
        );
        return;
    }
    // Query i sits at key position i + offset and sees the 100 keys up to it.
    let offset = shape.keys - shape.queries;
    let mask: Vec<f32> = (0..shape.queries)
        .flat_map(|i| {
            (0..shape.keys).map(move |j| {
                if j <= i + offset && j + 100 > i + offset {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    for scores in [
        Scores {
            scale: 0.3,
            softcap: Some(5.0),
            mask: Some(&mask),
        },
        Scores {
            scale: 0.15,
            softcap: None,
            mask: None,
        },
    ] {
        let got = attention_bf16(&q, &k, &v, shape, scores).unwrap();
        // Same roundings: what is left is f32 sums and exp, and an occasional probability
        // rounded to the other neighbouring bf16 value.
        let same = worst(&got, &reference(&q, &k, &v, shape, &scores, true));
        assert!(same < 2e-3, "against the rounded reference: {same}");
        // And it is attention: within bf16 error of the exact f64 result.
        let exact = worst(&got, &reference(&q, &k, &v, shape, &scores, false));
        assert!(exact < 2e-2, "against the exact reference: {exact}");
    }
}

#[test]
fn mismatched_operands_are_refused() {
    if !crate::dpbf16::available() {
        return;
    }
    let shape = Shape {
        kv_heads: 1,
        group: 1,
        queries: 2,
        keys: 3,
        head_dim: 4,
    };
    let scores = Scores {
        scale: 1.0,
        softcap: None,
        mask: Some(&[0.0; 5]),
    };
    let result = attention_bf16(&[0.0; 8], &[0.0; 12], &[0.0; 12], shape, scores);
    assert_eq!(
        result,
        Err(Error::Size {
            operand: "mask",
            needed: 6,
            got: 5
        })
    );
    let scores = Scores {
        scale: 1.0,
        softcap: None,
        mask: None,
    };
    let result = attention_bf16(&[0.0; 8], &[0.0; 11], &[0.0; 12], shape, scores);
    assert!(matches!(
        result,
        Err(Error::Size {
            operand: "keys",
            ..
        })
    ));
}

#[test]
fn decoding_steps_read_the_cache_in_place_and_match_eager_attention() {
    // 3 heads of a cache with room for 70 keys, holding 61; 2 query heads per KV head, 2 rows.
    let (kv_heads, group, queries, keys, d, room) = (3, 2, 2, 61, 24, 70);
    let shape = Shape {
        kv_heads,
        group,
        queries,
        keys,
        head_dim: d,
    };
    let q: Vec<f32> = (0..kv_heads * group * queries * d)
        .map(|i| 2.0 * value(i))
        .collect();
    let cache = |seed: usize| -> Vec<f32> {
        (0..kv_heads * room * d)
            .map(|i| value(i * 5 + seed))
            .collect()
    };
    let (k_cache, v_cache) = (cache(3), cache(8));
    // The same keys and values packed tightly, for the reference.
    let packed = |cache: &[f32]| -> Vec<f32> {
        (0..kv_heads)
            .flat_map(|h| cache[h * room * d..][..keys * d].to_vec())
            .collect()
    };
    let (k, v) = (packed(&k_cache), packed(&v_cache));
    // The last query row sees every key, the first all but the last.
    let mask: Vec<f32> = (0..queries)
        .flat_map(|i| {
            (0..keys).map(move |j| {
                if j + queries <= keys + i {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    fn heads(values: &[f32], head_stride: usize) -> super::Heads<'_> {
        super::Heads {
            values,
            head_stride,
        }
    }
    for scores in [
        Scores {
            scale: 0.3,
            softcap: Some(5.0),
            mask: Some(&mask),
        },
        Scores {
            scale: 0.2,
            softcap: None,
            mask: None,
        },
    ] {
        let got = super::attention_decode(
            &q,
            heads(&k_cache, room * d),
            heads(&v_cache, room * d),
            shape,
            scores,
        )
        .unwrap();
        let diff = worst(&got, &reference(&q, &k, &v, shape, &scores, false));
        assert!(diff < 1e-5, "{diff}");
    }
    // A cache shorter than its heads claim is refused, not read past.
    let short = super::Heads {
        values: &k_cache[..kv_heads * room * d - 10],
        head_stride: room * d,
    };
    let shape_full = Shape {
        keys: room,
        ..shape
    };
    let scores = Scores {
        scale: 1.0,
        softcap: None,
        mask: None,
    };
    assert!(matches!(
        super::attention_decode(&q, short, heads(&v_cache, room * d), shape_full, scores),
        Err(Error::TooShort {
            operand: "keys",
            ..
        })
    ));
}
