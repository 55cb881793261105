#!/usr/bin/env python3
"""The reference pipeline, timed: pydicom 3.0.2 decode (pylibjpeg for JPEG lossless) → the
MIMIC-CXR-JPG conversion (numpy min-max, MONOCHROME1 inversion, cv2.equalizeHist) → PIL bicubic
resize to SIZE × SIZE → RGB, i.e. what the model sees. Prints one JSON object per file.

Usage: bench_reference.py REPEATS SIZE OUT_DIR FILE… (OUT_DIR gets the last output as .npy)"""

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pydicom
from PIL import Image


def model_image(path: str, size: int) -> np.ndarray:
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    arr = arr - np.min(arr)
    arr = arr / np.max(arr)
    arr = (arr * 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        arr = 255 - arr
    arr = cv2.equalizeHist(arr)
    image = Image.fromarray(arr).resize((size, size), Image.Resampling.BICUBIC).convert("RGB")
    return np.asarray(image)


def main() -> None:
    repeats, size, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    for path in sys.argv[4:]:
        model_image(path, size)  # warm-up: imports, page cache
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = model_image(path, size)
            times.append(time.perf_counter() - start)
        np.save(out / f"{Path(path).stem}.reference.npy", result)
        print(json.dumps({"implementation": "pydicom+opencv+pil", "file": Path(path).name,
                          "median_ms": 1000 * float(np.median(times)), "runs_ms": [1000 * t for t in times]}))


if __name__ == "__main__":
    main()
