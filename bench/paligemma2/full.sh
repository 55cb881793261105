#!/usr/bin/env bash
# The headline PaliGemma 2 benchmark: the full-depth 3B model (26 Gemma 2 and 27 SigLIP layers,
# random bf16 weights) at 896 px (4,141-token prefix) and 448 px (1,069 tokens). One draft is a
# prefill plus DECODE_STEPS greedy tokens. raddraft f32, bf16 and bf16 with an int8 decoder run
# against transformers f32 and bf16 (eager) in one interleaved run, each in its own process so
# peak RSS is its own. The machine's rooflines (PyTorch GEMM f32/bf16, read bandwidth, and
# raddraft's own product rates) are measured in the same run. summarise.py prints the table.
#
#   bench/paligemma2/full.sh        # THREADS=2 ROUNDS=1 DECODE_STEPS=100 SIZES="896 448"
#   IMPLS="raddraft-bf16 transformers-bf16" bench/paligemma2/full.sh   # a subset
#
# Needs the pinned reference venv (tests/fixtures/paligemma2/requirements.txt) at $REF_VENV,
# about 14 GB of disk for the two checkpoints (made on first use), and 20 GB of memory for
# transformers f32 at 896 px. One round takes about 40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
REF_VENV=${REF_VENV:-$HOME/.cache/raddraft/ref-venv}
MODELS=${MODELS:-$HOME/.cache/raddraft}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
DECODE_STEPS=${DECODE_STEPS:-100}
SIZES=${SIZES:-896 448}
IMPLS=${IMPLS:-raddraft-f32 raddraft-bf16 raddraft-int8 transformers-f32 transformers-bf16}
# PyTorch's bf16 products need AVX-512 BF16 or AMX: without them its GEMM ran at 0.44 GFLOP/s on
# an AVX2 EPYC (f32: 108), so one 896 px prefill would take about 16 hours. Such machines skip it;
# roofline.py still records the rate.
if ! grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && [ -z "${KEEP_TRANSFORMERS_BF16:-}" ]; then
  echo "no AVX-512 BF16 or AMX here: transformers bf16 left out (KEEP_TRANSFORMERS_BF16=1 keeps it)" >&2
  IMPLS=$(echo "$IMPLS" | tr ' ' '\n' | grep -vx transformers-bf16 | tr '\n' ' ')
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}
OUT=${OUT:-bench/out/paligemma2-full-$(date -u +%Y%m%dT%H%M%S).jsonl}

for size in $SIZES; do
  dir="$MODELS/bench-pg2-3b-$size-full"
  [ -f "$dir/config.json" ] ||
    "$REF_VENV/bin/python" bench/paligemma2/make_model.py "$dir" --full-depth --image-size "$size" >&2
done
echo "building the benchmark binaries (release)…" >&2
cargo build --release -q -p raddraft-bench --bin paligemma2 --bin kernels
mkdir -p "$(dirname "$OUT")"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)" >&2
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS BENCH_VISION=0

"$REF_VENV/bin/python" bench/paligemma2/roofline.py --threads "$THREADS" | tee -a "$OUT"
"$CARGO_TARGET_DIR/release/kernels" | tee -a "$OUT"
for round in $(seq "$ROUNDS"); do
  for size in $SIZES; do
    dir="$MODELS/bench-pg2-3b-$size-full"
    for impl in $IMPLS; do
      echo "round $round, $size px: $impl" >&2
      case $impl in
        raddraft-f32) "$CARGO_TARGET_DIR/release/paligemma2" "$dir" f32 none 1 "$DECODE_STEPS" ;;
        raddraft-bf16) "$CARGO_TARGET_DIR/release/paligemma2" "$dir" bf16 none 1 "$DECODE_STEPS" ;;
        raddraft-int8) "$CARGO_TARGET_DIR/release/paligemma2" "$dir" bf16 int8 1 "$DECODE_STEPS" ;;
        # transformers' bf16 activations (--bf16-activations), not in the default set.
        raddraft-bf16-act) BENCH_BF16_ACTIVATIONS=1 "$CARGO_TARGET_DIR/release/paligemma2" "$dir" bf16 none 1 "$DECODE_STEPS" ;;
        transformers-f32 | transformers-bf16)
          "$REF_VENV/bin/python" bench/paligemma2/bench_transformers.py "$dir" --dtype "${impl#transformers-}" \
            --threads "$THREADS" --repeats 1 --decode-steps "$DECODE_STEPS" --no-vision 2>/dev/null ;;
        *) echo "unknown implementation $impl" >&2; exit 2 ;;
      esac | tee -a "$OUT"
    done
  done
done
python3 bench/paligemma2/summarise.py "$OUT"
