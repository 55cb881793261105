#!/usr/bin/env bash
# Batch drafting throughput: `raddraft batch` over a manifest of identical studies (the demo DICOM
# through the mimic-cxr-jpg profile), model loaded once, so items/s is the steady-state rate a
# research run gets per process. Two models: the tiny demo checkpoint (pipeline overhead) and the
# full-width random 3B-448 model with 2 text / 4 vision layers (bench/paligemma2/make_model.py).
#
#   bench/batch/run.sh     # THREADS=2 DEMO_ITEMS=40 FULL_ITEMS=4 MAX_NEW_TOKENS=32 by default
#
# The random model has no tokenizer; the run uses a copy of the demo checkpoint's tokenizer with
# `<image>` moved to the model's image_token_index (257152), so prompts tokenise alike and the
# generated ids, mostly beyond that small vocabulary, decode to little text: decoding the text is
# a negligible part of a draft either way.
#
# Prints one Markdown row per model; the raw drafts files stay in bench/out/batch-*/.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL_DIR=${MODEL_DIR:-$HOME/.cache/raddraft/bench-pg2-3b-448-2L4V}
REF_VENV=${REF_VENV:-$HOME/.cache/raddraft/ref-venv}
THREADS=${THREADS:-2}
DEMO_ITEMS=${DEMO_ITEMS:-40}
FULL_ITEMS=${FULL_ITEMS:-4}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-32}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}
OUT=${OUT:-bench/out/batch-$(date -u +%Y%m%dT%H%M%S)}

[ -f "$MODEL_DIR/config.json" ] || "$REF_VENV/bin/python" bench/paligemma2/make_model.py "$MODEL_DIR" >&2
cargo build --release -q -p raddraft-cli --bin raddraft
mkdir -p "$OUT"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, threads=$THREADS, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)" >&2
export RAYON_NUM_THREADS=$THREADS

manifest() { # ITEMS FILE
  local image
  image=$(realpath demo/sample-cxr.dcm)
  for i in $(seq -w 1 "$1"); do
    printf '{"id":"bench-%s","images":["%s"],"indication":"Cough and fever. Evaluate for pneumonia."}\n' "$i" "$image"
  done >"$2"
}

run() { # NAME MODEL ITEMS
  local name=$1 model=$2 items=$3
  manifest "$items" "$OUT/$name-manifest.jsonl"
  rm -f "$OUT/$name-drafts.jsonl"
  "$CARGO_TARGET_DIR/release/raddraft" batch --manifest "$OUT/$name-manifest.jsonl" --model "$model" \
    --out "$OUT/$name-drafts.jsonl" --max-new-tokens "$MAX_NEW_TOKENS" 2>/dev/null | tee "$OUT/$name.log" >&2
  python3 - "$name" "$OUT/$name-drafts.jsonl" "$OUT/$name.log" <<'PY'
import json, re, statistics, sys
name, drafts, log = sys.argv[1:]
rows = [json.loads(line) for line in open(drafts)]
errors = [r for r in rows if "error" in r]
assert not errors, errors[0]["error"]
line = open(log).read()
rate = float(re.search(r"([0-9.]+) items/s", line).group(1))
load = float(re.search(r"model load ([0-9.]+) s", line).group(1))
median = lambda key: statistics.median(r["timings"][key] for r in rows)
tokens = statistics.median(r["tokens"] for r in rows)
print(f"| {name} | {len(rows)} | {tokens:.0f} | {rate:.3f} | {median('total_s'):.3f} | "
      f"{median('preprocess_s'):.3f} | {median('prefill_s'):.3f} | {median('decode_s'):.3f} | {load:.2f} |")
PY
}

# The full-width model with a tokenizer: links to its files, and the remapped demo tokenizer.
with_tokenizer() { # MODEL_DIR OUT_DIR
  mkdir -p "$2"
  for file in "$1"/*; do ln -sf "$(realpath "$file")" "$2/"; done
  python3 - demo/checkpoint/tokenizer.json "$1/config.json" "$2/tokenizer.json" <<'PY'
import json, sys
tokenizer, config, out = sys.argv[1:]
tokenizer, image_id = json.load(open(tokenizer)), json.load(open(config))["image_token_index"]
for token in tokenizer["added_tokens"]:
    if token["content"] == "<image>":
        token["id"] = image_id
# Added tokens take their id from the model's vocabulary when it has them.
tokenizer["model"]["vocab"]["<image>"] = image_id
json.dump(tokenizer, open(out, "w"))
PY
}

echo "| model | items | tokens/item | items/s | s/item (median) | preprocess s | prefill s | decode s | load s (excluded) |"
echo "|---|---|---|---|---|---|---|---|---|"
run demo demo/checkpoint "$DEMO_ITEMS"
with_tokenizer "$MODEL_DIR" "$OUT/3b-448-2L4V-model"
run 3b-448-2L4V "$OUT/3b-448-2L4V-model" "$FULL_ITEMS"
