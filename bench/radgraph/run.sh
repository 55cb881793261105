#!/usr/bin/env bash
# RadGraph benchmark: raddraft vs the radgraph package 0.1.18 (PyTorch, CPU, same thread count) in
# one run, on 1,000 synthetic reports through a full-size BERT-base random-weight RadGraph v1 model.
# The reports are processed in ROUNDS slices; in each round both implementations run on the same
# slice, in alternating order, so background load on a shared machine hits both alike. Prints one
# JSON line per implementation (reports/s over annotation, model load excluded; process peak RSS
# from /usr/bin/time), the throughput ratio and the output agreement; then `raddraft eval` end to
# end on the same reports as pairs.
#
#   bench/radgraph/run.sh            # THREADS=2 LIMIT=1000 ROUNDS=5 MATMUL=auto by default
#   MATMUL=auto,f32,amx-bf16x3 bench/radgraph/run.sh   # several encoder kernel choices side by side
#
# Needs the pinned venv of tests/fixtures/radgraph/requirements.txt at $RADGRAPH_VENV.
set -euo pipefail
cd "$(dirname "$0")/../.."
RADGRAPH_VENV=${RADGRAPH_VENV:-$HOME/.cache/raddraft/radgraph-venv}
MODEL_ROOT=${MODEL_ROOT:-$HOME/.cache/raddraft/bench-radgraph-base}
THREADS=${THREADS:-2}
LIMIT=${LIMIT:-1000}
ROUNDS=${ROUNDS:-5}
MATMUL=${MATMUL:-auto}
OUT=bench/out/radgraph
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}

[ -f "$MODEL_ROOT/radgraph/weights.th" ] || "$RADGRAPH_VENV/bin/python" bench/radgraph/make_model.py "$MODEL_ROOT" >&2
cargo build --release -q -p raddraft-eval --example radgraph_bench
mkdir -p "$OUT"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, $(date -u +%F), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$RADGRAPH_VENV/bin/python" bench/radgraph/run.py "$MODEL_ROOT" "$CARGO_TARGET_DIR/release/examples/radgraph_bench" "$OUT" \
  --threads "$THREADS" --reports "$LIMIT" --rounds "$ROUNDS" --matmul "$MATMUL"
for kernels in ${MATMUL//,/ }; do
  echo "# $kernels against the package:"
  "$RADGRAPH_VENV/bin/python" bench/radgraph/compare.py "$OUT/raddraft-$kernels.jsonl" "$OUT/package.jsonl" \
    --model-root "$MODEL_ROOT" --reports "$MODEL_ROOT/reports.jsonl" 2>/dev/null | grep "^{"
done
# The whole CLI path on the same reports as pairs (hypothesis = report 2i, reference = 2i+1):
# reading, text metrics, RadGraph, one flushed row per pair; model load included. Checks that the
# annotation throughput above carries over to `raddraft eval`.
cargo build --release -q -p raddraft-cli --bin raddraft
"$RADGRAPH_VENV/bin/python" - "$MODEL_ROOT/reports.jsonl" "$LIMIT" > "$OUT/cli-pairs.jsonl" <<'PY'
import json, sys
reports = [json.loads(line) for line in open(sys.argv[1])][: int(sys.argv[2])]
for i in range(0, len(reports) - 1, 2):
    print(json.dumps({"id": reports[i]["id"], "hypothesis": reports[i]["text"],
                      "reference": reports[i + 1]["text"]}))
PY
rm -f "$OUT/cli-rows.jsonl"
/usr/bin/time -f "%e %M" -o "$OUT/cli.time" env RAYON_NUM_THREADS="$THREADS" \
  "$CARGO_TARGET_DIR/release/raddraft" eval --pairs "$OUT/cli-pairs.jsonl" \
  --radgraph-model "$MODEL_ROOT/radgraph" --out "$OUT/cli-rows.jsonl" --json > /dev/null
read -r wall rss_kib < "$OUT/cli.time"
pairs=$(wc -l < "$OUT/cli-pairs.jsonl")
echo "{\"impl\": \"raddraft eval (CLI, end to end)\", \"pairs\": $pairs, \"wall_s\": $wall, \"reports_per_s\": $(python3 -c "print(round(2 * $pairs / $wall, 2))"), \"peak_rss_mib\": $((rss_kib / 1024))}"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
