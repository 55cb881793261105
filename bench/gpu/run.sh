#!/usr/bin/env bash
# On a GPU machine: parity of the CUDA build against PyTorch CUDA, then a full 3B@896 draft
# (prefill + 100 greedy tokens) of raddraft bf16 against transformers bf16 on the same card.
#
#   bench/gpu/run.sh              # from a checkout carrying bench/gpu/dist (bench/gpu/build.sh)
#
# Needs only what such a machine has: the NVIDIA driver, Python with torch (CUDA) and transformers.
# No Rust, no network: the binaries come from bench/gpu/build.sh, the CUDA libraries they load
# from torch's own nvidia-* packages, and the checkpoints are made here with the torch present.
# Results go to $OUT (default bench/out/gpu-<time>/): one JSON line per check or timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIST=${DIST:-bench/gpu/dist}
PY=${PYTHON:-python3}
OUT=${OUT:-bench/out/gpu-$(date -u +%Y%m%dT%H%M%S)}
MODEL=${MODEL:-$HOME/.cache/raddraft/bench-pg2-3b-896-full}
DECODE_STEPS=${DECODE_STEPS:-100}
mkdir -p "$OUT"
log=$OUT/results.jsonl

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
cat "$DIST/nvcc-version.txt" | tail -n1 | tee -a "$OUT/gpu.txt"
# cuBLAS, cuRAND, NVRTC and the runtime, from the CUDA packages torch brought.
libs=$("$PY" - <<'PY'
import glob, os, site
dirs = set()
for root in site.getsitepackages():
    for lib in glob.glob(os.path.join(root, "nvidia", "**", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(lib))
print(":".join(sorted(dirs)))
PY
)
export LD_LIBRARY_PATH="$libs:${LD_LIBRARY_PATH:-}"
status=0

echo "parity: raddraft CUDA against torch CUDA on the fixture checkpoints" >&2
for fixture in tiny-v4-hub tiny-v5-sharded; do
  dir=tests/fixtures/paligemma2/$fixture
  prompt=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['prompt']['text'])" "$dir/reference.json")
  steps=$("$PY" -c "from safetensors.torch import load_file; print(load_file('$dir/reference.safetensors')['greedy_ids'].numel())")
  for dtype in f32 bf16; do
    "$DIST/raddraft" generate --json --device cuda --dtype "$dtype" --model "$dir" --image "$dir/input.png" \
      --prompt "$prompt" --max-new-tokens "$steps" --dump-logits "$OUT/$fixture-$dtype.safetensors" \
      > "$OUT/$fixture-$dtype.json"
    "$PY" bench/gpu/parity.py "$dir" "$OUT/$fixture-$dtype.safetensors" "$OUT/$fixture-$dtype.json" \
      --dtype "$dtype" | tee -a "$log" || status=1
  done
done

echo "full 3B@896 draft: raddraft bf16 against transformers bf16, prefill + $DECODE_STEPS tokens" >&2
[ -f "$MODEL/config.json" ] ||
  "$PY" bench/paligemma2/make_model.py "$MODEL" --full-depth --image-size 896 >&2
for round in 1 2; do
  BENCH_DEVICE=cuda BENCH_VISION=0 "$DIST/paligemma2" "$MODEL" bf16 none 1 "$DECODE_STEPS" | tee -a "$log"
  "$PY" bench/paligemma2/bench_transformers.py "$MODEL" --dtype bf16 --device cuda --repeats 1 \
    --decode-steps "$DECODE_STEPS" --no-vision 2>/dev/null | tee -a "$log"
done
"$PY" bench/paligemma2/summarise.py "$log" | tee "$OUT/summary.md"
exit $status
