#!/usr/bin/env bash
# PaliGemma 2 benchmark: raddraft vs HF transformers (eager, same thread count) in one run, on a
# full-width, truncated-depth random 3B-448 model (real widths and vocabulary, 2 text layers,
# 4 vision layers, 1024 image tokens). The implementations alternate for ROUNDS rounds so that
# machine noise hits both; summarise.py prints the medians and ratios as a Markdown table.
#
#   bench/paligemma2/run.sh      # THREADS=2 ROUNDS=3 REPEATS=3 DECODE_STEPS=16 by default
#
# Needs the pinned reference venv (tests/fixtures/paligemma2/requirements.txt) at $REF_VENV.
set -euo pipefail
cd "$(dirname "$0")/../.."
REF_VENV=${REF_VENV:-$HOME/.cache/raddraft/ref-venv}
MODEL_DIR=${MODEL_DIR:-$HOME/.cache/raddraft/bench-pg2-3b-448-2L4V}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
REPEATS=${REPEATS:-3}
DECODE_STEPS=${DECODE_STEPS:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}
OUT=${OUT:-bench/out/paligemma2-$(date -u +%Y%m%dT%H%M%S).jsonl}

[ -f "$MODEL_DIR/config.json" ] || "$REF_VENV/bin/python" bench/paligemma2/make_model.py "$MODEL_DIR" >&2
cargo build --release -q -p raddraft-bench --bin paligemma2
mkdir -p "$(dirname "$OUT")"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)" >&2
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
for round in $(seq "$ROUNDS"); do
  "$CARGO_TARGET_DIR/release/paligemma2" "$MODEL_DIR" f32 none "$REPEATS" "$DECODE_STEPS" | tee -a "$OUT"
  for dtype in f32 bf16; do
    "$REF_VENV/bin/python" bench/paligemma2/bench_transformers.py "$MODEL_DIR" --dtype $dtype \
      --threads "$THREADS" --repeats "$REPEATS" --decode-steps "$DECODE_STEPS" 2>/dev/null | tee -a "$OUT"
  done
done
python3 bench/paligemma2/summarise.py "$OUT"
