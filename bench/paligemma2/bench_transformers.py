"""Times HF transformers on a benchmark checkpoint: prefill seconds, decode ms/token, a whole draft
(prefill + the decode steps), peak RSS against the bytes of the weights.

Eager attention, explicit dtype, `torch.set_num_threads(threads)`, the same input ids and pixel
values as the Rust side (`bench/src/bin/paligemma2.rs`). Prints one JSON object.

    python bench/paligemma2/bench_transformers.py MODEL_DIR --dtype f32 --threads 2
"""

import argparse
import json
import resource
import statistics
import time

import torch
from transformers import PaliGemmaForConditionalGeneration

IMAGE_TOKEN = 257152
PROMPT_IDS = [2, 235285, 78802, 3867, 235292, 73199, 578, 23391, 235265, 108]  # <bos> … "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--decode-steps", type=int, default=16)
    ap.add_argument("--no-vision", action="store_true", help="skip timing the vision tower alone")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[args.dtype]

    start = time.perf_counter()
    model = PaliGemmaForConditionalGeneration.from_pretrained(args.model, dtype=dtype, attn_implementation="eager")
    model.eval().to(args.device)
    load_s = time.perf_counter() - start
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    assert model.config.text_config._attn_implementation == "eager"

    size = model.config.vision_config.image_size
    n_img = (size // model.config.vision_config.patch_size) ** 2
    ids = torch.tensor([[IMAGE_TOKEN] * n_img + PROMPT_IDS], device=args.device)
    token_type_ids = torch.zeros_like(ids)
    gen = torch.Generator().manual_seed(0)
    pixels = (torch.rand((1, 3, size, size), generator=gen) * 2 - 1).to(dtype).to(args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    prefill, decode = [], []
    with torch.inference_mode():
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = model(input_ids=ids, pixel_values=pixels, token_type_ids=token_type_ids, use_cache=True,
                        logits_to_keep=1)
            next_id = out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            prefill.append(time.perf_counter() - t0)
            past = out.past_key_values
            t0 = time.perf_counter()
            for _ in range(args.decode_steps):
                out = model(input_ids=next_id, past_key_values=past, use_cache=True, logits_to_keep=1)
                past = out.past_key_values
                next_id = out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            decode.append((time.perf_counter() - t0) * 1000 / args.decode_steps)
        vision_s = None
        if not args.no_vision:
            t0 = time.perf_counter()
            model.get_image_features(pixel_values=pixels)
            vision_s = time.perf_counter() - t0
    prefill_s, decode_ms = statistics.median(prefill), statistics.median(decode)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "impl": "transformers", "dtype": args.dtype, "device": args.device, "quant": "none", "threads": args.threads,
        "torch": torch.__version__, "cpu": cpu_model(), "kernels": f"torch {torch.backends.cpu.get_cpu_capability()}",
        "prefix_tokens": ids.shape[1], "decode_steps": args.decode_steps, "load_s": load_s,
        "prefill_s": prefill_s, "decode_ms_per_token": decode_ms,
        "draft_s": prefill_s + decode_ms * args.decode_steps / 1000,
        "vision_s": vision_s, "weights_mb": weights_mb,
        "peak_rss_mb": peak, "peak_rss_over_weights": peak / weights_mb,
    }))


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
