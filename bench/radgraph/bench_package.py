"""Times the radgraph package (0.1.18, CPU) on the benchmark reports; writes its graphs as JSONL.

    python bench/radgraph/bench_package.py MODEL_ROOT REPORTS.jsonl OUT.jsonl --threads 2 [--limit N] [--offset K]

MODEL_ROOT holds `radgraph/` (from make_model.py). Prints one JSON line: reports/s over the
annotation call (model loading excluded, reported separately) and the process's peak RSS.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_root", type=Path)
    parser.add_argument("reports", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.reports = args.reports.resolve()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from radgraph import RadGraph

    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in args.reports.read_text().splitlines()][args.offset :]
    rows = rows[: args.limit]
    os.chdir(args.model_root / "radgraph")  # its config names the encoder by the path "encoder"
    start = time.perf_counter()
    radgraph = RadGraph(model_type="radgraph", model_cache_dir=str(args.model_root.resolve()), cuda=-1)
    load_s = time.perf_counter() - start
    texts = [r["text"] for r in rows]
    start = time.perf_counter()
    with torch.no_grad():
        graphs = radgraph(texts)
    elapsed = time.perf_counter() - start
    with open(args.out, "w") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": row["id"], "graph": graphs[str(i)]}) + "\n")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "impl": "radgraph 0.1.18 (PyTorch " + torch.__version__ + ")",
        "reports": len(rows),
        "threads": args.threads,
        "load_s": round(load_s, 2),
        "annotate_s": round(elapsed, 2),
        "reports_per_s": round(len(rows) / elapsed, 2),
        "peak_rss_mib": round(peak_mib),
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
