"""Summarises bench/paligemma2/full.sh output (JSON lines) as a Markdown table of medians, with each
implementation's speed-up over transformers bf16 (the reference), or transformers f32 where bf16 did
not run."""

import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
rows = [row for row in rows if "prefix_tokens" in row]  # roofline lines are reported apart
groups = defaultdict(list)
for row in rows:
    activations = row.get("activations", row["dtype"] if row["impl"] == "transformers" else "?")
    groups[(row["prefix_tokens"], row["impl"], row["dtype"], row.get("quant", "none"), activations)].append(row)


def median(key, runs):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def speedup(ours, base):
    return "–" if ours is None or base is None else f"{base / ours:.2f}×"


print("| prefix | implementation | weights | quant | activations | prefill s | decode ms/token | draft s | peak RSS MB "
      "| weights MB | RSS/weights | prefill speed-up | decode speed-up | draft speed-up | kernels |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in sorted(groups):
    prefix, impl, dtype, quant, activations = key
    runs = groups[key]
    base = (groups.get((prefix, "transformers", "bf16", "none", "bf16"))
            or groups.get((prefix, "transformers", "f32", "none", "f32")))
    b = lambda k: median(k, base) if base else None
    print(f"| {prefix} | {impl} | {dtype} | {quant} | {activations} | {fmt(median('prefill_s', runs), '.1f')} | "
          f"{fmt(median('decode_ms_per_token', runs), '.0f')} | {fmt(median('draft_s', runs), '.1f')} | "
          f"{fmt(median('peak_rss_mb', runs), '.0f')} | {fmt(median('weights_mb', runs), '.0f')} | "
          f"{fmt(median('peak_rss_over_weights', runs), '.2f')} | "
          f"{speedup(median('prefill_s', runs), b('prefill_s'))} | "
          f"{speedup(median('decode_ms_per_token', runs), b('decode_ms_per_token'))} | "
          f"{speedup(median('draft_s', runs), b('draft_s'))} | {runs[0].get('kernels', '')} |")
cpus = sorted({r.get("cpu", "?") for r in rows})
print(f"\nCPU: {', '.join(cpus)}. Speed-ups are against transformers bf16 with the same prefix, "
      f"or transformers f32 where bf16 did not run (> 1 is faster); each figure is the median over rounds.")
