#!/usr/bin/env bash
# PaliGemma 2 benchmark: raddraft vs HF transformers (eager, same thread count) in one run, on a
# full-width, truncated-depth random 3B-448 model (real widths and vocabulary, 2 text layers,
# 4 vision layers, 1024 image tokens). Prints one JSON line per implementation and dtype.
#
#   bench/paligemma2/run.sh            # THREADS=2 REPEATS=3 DECODE_STEPS=16 by default
#
# Needs the pinned reference venv (tests/fixtures/paligemma2/requirements.txt) at $REF_VENV.
set -euo pipefail
cd "$(dirname "$0")/../.."
REF_VENV=${REF_VENV:-$HOME/.cache/raddraft/ref-venv}
MODEL_DIR=${MODEL_DIR:-$HOME/.cache/raddraft/bench-pg2-3b-448-2L4V}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
DECODE_STEPS=${DECODE_STEPS:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}

[ -f "$MODEL_DIR/config.json" ] || "$REF_VENV/bin/python" bench/paligemma2/make_model.py "$MODEL_DIR" >&2
cargo build --release -q -p raddraft-bench --bin paligemma2
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, $(date -u +%F)"
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
"$CARGO_TARGET_DIR/release/paligemma2" "$MODEL_DIR" f32 "$REPEATS" "$DECODE_STEPS"
"$REF_VENV/bin/python" bench/paligemma2/bench_transformers.py "$MODEL_DIR" --dtype f32 --threads "$THREADS" --repeats "$REPEATS" --decode-steps "$DECODE_STEPS"
"$REF_VENV/bin/python" bench/paligemma2/bench_transformers.py "$MODEL_DIR" --dtype bf16 --threads "$THREADS" --repeats "$REPEATS" --decode-steps "$DECODE_STEPS"
