#!/usr/bin/env python3
"""Medians over all rounds, the speed-up, and whether both outputs are identical, as Markdown.
Usage: summarise.py RESULTS.jsonl OUT_DIR"""

import json
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
out = Path(sys.argv[2])
files = sorted({r["file"] for r in rows})
print("| file | raddraft median (ms) | pydicom + OpenCV + PIL median (ms) | speed-up | outputs identical |")
print("|---|---|---|---|---|")
for name in files:
    ours = statistics.median(t for r in rows if r["file"] == name and r["implementation"] == "raddraft"
                             for t in r["runs_ms"])
    theirs = statistics.median(t for r in rows if r["file"] == name and r["implementation"] != "raddraft"
                               for t in r["runs_ms"])
    stem = Path(name).stem
    same = np.array_equal(np.asarray(Image.open(out / f"{stem}.raddraft.png").convert("RGB")),
                          np.load(out / f"{stem}.reference.npy"))
    print(f"| {name} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.1f}× | {'yes' if same else 'NO'} |")
