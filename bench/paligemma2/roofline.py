"""What this machine allows, measured with PyTorch in the benchmark's run: the GEMM rate of a
prefill-shaped product (rows × 2304 × 9216, Gemma 2's MLP; 2048 rows, but 256 for bf16 on CPUs
without AVX-512 BF16 or AMX, where its products crawl) and the read bandwidth of a sum over 2 GiB.
Prints one JSON object.

    python bench/paligemma2/roofline.py --threads 2
"""

import argparse
import json
import time

import torch


def best_of(fn, repeats=3):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    k, n = 2304, 9216
    out = {"impl": "roofline", "threads": args.threads, "torch": torch.__version__,
           "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    bf16_hardware = "avx512_bf16" in flags or "amx_bf16" in flags
    for name, dtype, m in [("f32", torch.float32, 2048),
                           ("bf16", torch.bfloat16, 2048 if bf16_hardware else 256)]:
        out[f"torch_gemm_{name}_shape"] = [m, k, n]
        a = torch.randn(m, k).to(dtype)
        b = torch.randn(k, n).to(dtype)
        seconds = best_of(lambda: torch.matmul(a, b))
        out[f"torch_gemm_{name}_gflops"] = 2 * m * k * n / seconds / 1e9
    x = torch.ones(2**29, dtype=torch.float32)  # 2 GiB
    seconds = best_of(lambda: x.sum())
    out["read_bandwidth_gbs"] = x.numel() * 4 / seconds / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
