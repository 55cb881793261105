"""Drives the RadGraph benchmark in rounds: each round runs raddraft (once per kernel choice in
--matmul) and the package, order rotating, on the same slice of reports, so all see the same
background load; totals are summed.

    python bench/radgraph/run.py MODEL_ROOT RADDRAFT_BIN OUT_DIR --threads 2 --reports 1000 --rounds 5 \
        --matmul auto,f32
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd, env):
    """Run cmd under /usr/bin/time; return its JSON line and the process's peak RSS in MiB."""
    rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"radgraph-bench-{os.getpid()}.rss"
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + cmd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True)
    line = next(l for l in out.stdout.splitlines() if l.startswith("{"))
    rss = int(rss_file.read_text().split()[-1]) / 1024
    rss_file.unlink()
    return json.loads(line), rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_root", type=Path)
    parser.add_argument("raddraft_bin")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--matmul", default="auto",
                        help="comma-separated raddraft kernel choices (auto, f32, amx-bf16x6, amx-bf16x3)")
    args = parser.parse_args()
    kernels = args.matmul.split(",")
    args.out_dir = args.out_dir.resolve()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    reports = args.model_root / "reports.jsonl"
    per_round = -(-args.reports // args.rounds)
    names = [f"raddraft-{k}" for k in kernels] + ["package"]
    totals = {name: {"reports": 0, "annotate_s": 0.0, "load_s": 0.0, "peak_rss_mib": 0.0} for name in names}
    outputs = {name: [] for name in totals}
    for r in range(args.rounds):
        offset = r * per_round
        limit = min(per_round, args.reports - offset)
        if limit <= 0:
            break
        cmds = {
            f"raddraft-{k}": ([args.raddraft_bin, str(args.model_root / "radgraph"), str(reports),
                               str(args.out_dir / f"raddraft-{k}.{r}.jsonl"), str(limit), str(offset)],
                              dict(env, MATMUL=k))
            for k in kernels
        }
        cmds["package"] = ([sys.executable, str(HERE / "bench_package.py"), str(args.model_root), str(reports),
                            str(args.out_dir / f"package.{r}.jsonl"), "--threads", str(args.threads),
                            "--limit", str(limit), "--offset", str(offset)], env)
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            cmd, cmd_env = cmds[name]
            result, rss = timed(cmd, cmd_env)
            t = totals[name]
            t["reports"] += result["reports"]
            t["annotate_s"] += result["annotate_s"]
            t["load_s"] += result["load_s"]
            t["peak_rss_mib"] = max(t["peak_rss_mib"], rss)
            t["impl"] = result["impl"] + (f", {result['matmul']}" if "matmul" in result else "")
            outputs[name].append(args.out_dir / f"{name}.{r}.jsonl")
            print(f"# round {r + 1} {name}: {result['reports']} reports, {result['reports_per_s']} reports/s, "
                  f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    for name, files in outputs.items():
        with open(args.out_dir / f"{name}.jsonl", "w") as merged:
            for f in files:
                merged.write(f.read_text())
                f.unlink()
    for name, t in totals.items():
        print(json.dumps({"impl": t["impl"], "threads": args.threads, "reports": t["reports"],
                          "annotate_s": round(t["annotate_s"], 2),
                          "reports_per_s": round(t["reports"] / t["annotate_s"], 2),
                          "mean_load_s": round(t["load_s"] / args.rounds, 2),
                          "process_peak_rss_mib": round(t["peak_rss_mib"])}))
    package = totals["package"]["reports"] / totals["package"]["annotate_s"]
    for k in kernels:
        t = totals[f"raddraft-{k}"]
        print(json.dumps({"matmul": k, "throughput_ratio": round(t["reports"] / t["annotate_s"] / package, 2)}))


if __name__ == "__main__":
    main()
