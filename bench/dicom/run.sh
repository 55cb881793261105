#!/usr/bin/env bash
# DICOM ingest benchmark: a 3000 × 3000 CR (16 bits allocated, 15 stored, MONOCHROME1), read from
# disk, through the mimic-cxr-jpg profile and the 896 × 896 model resize to the RGB image the model
# sees, in raddraft (release) and in pydicom + OpenCV + PIL, alternating for ROUNDS rounds of
# REPEATS runs each; summarise.py prints medians, the speed-up and whether the outputs are equal.
#
#   bench/dicom/run.sh        # ROUNDS=3 REPEATS=5 SIZE=896 by default
#
# Needs the fixture venv (tests/fixtures/dicom/requirements.txt) at $DICOM_VENV and dcmcjpeg.
set -euo pipefail
cd "$(dirname "$0")/../.."
DICOM_VENV=${DICOM_VENV:-$HOME/.cache/raddraft/dicom-venv}
DATA=${DATA:-$HOME/.cache/raddraft/bench-dicom}
ROUNDS=${ROUNDS:-3}
REPEATS=${REPEATS:-5}
SIZE=${SIZE:-896}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}
OUT=${OUT:-bench/out/dicom-$(date -u +%Y%m%dT%H%M%S)}

[ -f "$DATA/cr_3000_jpeg_lossless.dcm" ] || "$DICOM_VENV/bin/python" bench/dicom/make_cr.py "$DATA" >&2
cargo build --release -q -p raddraft-bench --bin dicom
mkdir -p "$OUT"
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)" >&2
FILES=("$DATA/cr_3000_uncompressed.dcm" "$DATA/cr_3000_jpeg_lossless.dcm")
for round in $(seq "$ROUNDS"); do
  "$CARGO_TARGET_DIR/release/dicom" "$REPEATS" "$SIZE" "$OUT" "${FILES[@]}" | tee -a "$OUT/results.jsonl"
  "$DICOM_VENV/bin/python" bench/dicom/bench_reference.py "$REPEATS" "$SIZE" "$OUT" "${FILES[@]}" \
    | tee -a "$OUT/results.jsonl"
done
"$DICOM_VENV/bin/python" bench/dicom/summarise.py "$OUT/results.jsonl" "$OUT"
