#!/usr/bin/env bash
# Seeds ingest/fuzz/corpus/ingest with the DICOM fixtures (small files only) and a PNG.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../../tests/fixtures/dicom
mkdir -p corpus/ingest
find "$fixtures/synthetic" "$fixtures/bad" -type f \( -name '*.dcm' -o -name '*.png' \) -size -200k \
    -exec cp {} corpus/ingest/ \;
ls corpus/ingest | wc -l
