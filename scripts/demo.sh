#!/usr/bin/env bash
# Sets up and drafts a report for the bundled sample DICOM with the bundled demo checkpoint; the
# prompt is the INDICATION read from the DICOM header.
# The demo checkpoint has RANDOM WEIGHTS: its text is meaningless and only shows the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
echo "building raddraft (release; the first build compiles every dependency and takes several minutes)…" >&2
cargo build --release -q -p raddraft-cli --bin raddraft
exec "$CARGO_TARGET_DIR/release/raddraft" generate \
  --model demo/checkpoint \
  --image demo/sample-cxr.dcm \
  --max-new-tokens 48 "$@"
