#!/usr/bin/env python3
"""Writes the benchmark radiographs: a 3000 × 3000 CR (16 bits allocated, 15 stored, MONOCHROME1,
noisy chest-like phantom from tests/fixtures/dicom/generate.py), uncompressed, plus a JPEG-lossless
copy made with dcmcjpeg. Usage: make_cr.py OUT_DIR"""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/fixtures/dicom"))
from generate import dx_dataset, phantom  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
pixels = 32767 - phantom(3000, 3000, 15, seed=11)
ds = dx_dataset(pixels, "MONOCHROME1", 15, Modality="CR", SOPClassUID="1.2.840.10008.5.1.4.1.1.1",
                WindowCenter=16384, WindowWidth=32768)
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
ds.save_as(out / "cr_3000_uncompressed.dcm", enforce_file_format=True)
subprocess.run(["dcmcjpeg", "+e1", "+un", str(out / "cr_3000_uncompressed.dcm"),
                str(out / "cr_3000_jpeg_lossless.dcm")], check=True)
