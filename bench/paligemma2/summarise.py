"""Summarises bench/paligemma2/run.sh output (JSON lines) as a Markdown table of medians."""

import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = defaultdict(list)
for row in rows:
    groups[(row["impl"], row["dtype"])].append(row)

def median(key, runs):
    return statistics.median(r[key] for r in runs)

base = groups[("raddraft", "f32")]
print("| implementation | dtype | prefill s | vision s | decode ms/token | peak RSS MB | prefill vs raddraft f32 | decode vs raddraft f32 |")
print("|---|---|---|---|---|---|---|---|")
for (impl, dtype), runs in sorted(groups.items()):
    print(f"| {impl} | {dtype} | {median('prefill_s', runs):.2f} | {median('vision_s', runs):.2f} | "
          f"{median('decode_ms_per_token', runs):.0f} | {median('peak_rss_mb', runs):.0f} | "
          f"{median('prefill_s', runs) / median('prefill_s', base):.2f}× | "
          f"{median('decode_ms_per_token', runs) / median('decode_ms_per_token', base):.2f}× |")
print(f"\n{len(base)} rounds; each figure is the median over rounds of per-round medians.")
