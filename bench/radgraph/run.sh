#!/usr/bin/env bash
# RadGraph benchmark: raddraft vs the radgraph package 0.1.18 (PyTorch, CPU, same thread count) in
# one run, on 1,000 synthetic reports through a full-size BERT-base random-weight RadGraph v1 model.
# Prints one JSON line per implementation (reports/s over annotation, model load excluded; peak RSS
# of the whole process from /usr/bin/time) and the output agreement.
#
#   bench/radgraph/run.sh            # THREADS=2 LIMIT=1000 by default
#
# Needs the pinned venv of tests/fixtures/radgraph/requirements.txt at $RADGRAPH_VENV.
set -euo pipefail
cd "$(dirname "$0")/../.."
RADGRAPH_VENV=${RADGRAPH_VENV:-$HOME/.cache/raddraft/radgraph-venv}
MODEL_ROOT=${MODEL_ROOT:-$HOME/.cache/raddraft/bench-radgraph-base}
THREADS=${THREADS:-2}
LIMIT=${LIMIT:-1000}
OUT=bench/out/radgraph
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}

[ -f "$MODEL_ROOT/radgraph/weights.th" ] || "$RADGRAPH_VENV/bin/python" bench/radgraph/make_model.py "$MODEL_ROOT" >&2
cargo build --release -q -p raddraft-eval --example radgraph_bench
mkdir -p "$OUT"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, $(date -u +%F), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

/usr/bin/time -f '{"process_peak_rss_mib": %M}' -o "$OUT/raddraft.rss" \
  "$CARGO_TARGET_DIR/release/examples/radgraph_bench" "$MODEL_ROOT/radgraph" "$MODEL_ROOT/reports.jsonl" "$OUT/raddraft.jsonl" "$LIMIT" \
  > "$OUT/raddraft.json"
/usr/bin/time -f '{"process_peak_rss_mib": %M}' -o "$OUT/package.rss" \
  "$RADGRAPH_VENV/bin/python" bench/radgraph/bench_package.py "$MODEL_ROOT" "$MODEL_ROOT/reports.jsonl" "$OUT/package.jsonl" \
  --threads "$THREADS" --limit "$LIMIT" 2>/dev/null | grep '^{' > "$OUT/package.json"
for name in raddraft package; do
  # /usr/bin/time reports KiB; convert.
  rss_kib=$(sed -n 's/.*: \([0-9]*\)}/\1/p' "$OUT/$name.rss")
  echo "$(cat "$OUT/$name.json") {\"process_peak_rss_mib\": $((rss_kib / 1024))}"
done
"$RADGRAPH_VENV/bin/python" bench/radgraph/compare.py "$OUT/raddraft.jsonl" "$OUT/package.jsonl"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
