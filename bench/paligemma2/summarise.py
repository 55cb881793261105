"""Summarises bench/paligemma2/run.sh or full.sh output (JSON lines) as a Markdown table of medians,
with each implementation's ratio to transformers bf16 (the issue's reference) where it ran."""

import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
groups = defaultdict(list)
for row in rows:
    groups[(row["prefix_tokens"], row["impl"], row["dtype"], row.get("quant", "none"))].append(row)


def median(key, runs):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def speedup(ours, base):
    return "–" if ours is None or base is None else f"{base / ours:.2f}×"


print("| prefix | implementation | dtype | quant | prefill s | decode ms/token | draft s | peak RSS MB "
      "| weights MB | RSS/weights | prefill speed-up | decode speed-up | draft speed-up | kernels |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(groups):
    prefix, impl, dtype, quant = key
    runs = groups[key]
    base = groups.get((prefix, "transformers", "bf16", "none"))
    b = lambda k: median(k, base) if base else None
    print(f"| {prefix} | {impl} | {dtype} | {quant} | {fmt(median('prefill_s', runs), '.1f')} | "
          f"{fmt(median('decode_ms_per_token', runs), '.0f')} | {fmt(median('draft_s', runs), '.1f')} | "
          f"{fmt(median('peak_rss_mb', runs), '.0f')} | {fmt(median('weights_mb', runs), '.0f')} | "
          f"{fmt(median('peak_rss_over_weights', runs), '.2f')} | "
          f"{speedup(median('prefill_s', runs), b('prefill_s'))} | "
          f"{speedup(median('decode_ms_per_token', runs), b('decode_ms_per_token'))} | "
          f"{speedup(median('draft_s', runs), b('draft_s'))} | {runs[0].get('kernels', '')} |")
cpus = sorted({r.get("cpu", "?") for r in rows})
print(f"\nCPU: {', '.join(cpus)}. Speed-ups are against transformers bf16 with the same prefix "
      f"(> 1 is faster); each figure is the median over rounds.")
