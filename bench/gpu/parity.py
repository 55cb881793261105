"""CUDA parity of raddraft against PyTorch on the same GPU, on the committed fixture checkpoints.

raddraft (`raddraft generate --device cuda --dump-logits`) chose its tokens greedily; this runs one
uncached transformers forward (eager, the same dtype, on CUDA) over the prefix and those tokens and
compares the logits each token was chosen from, row for row. f32 must also reproduce the fixture's
CPU greedy ids. Prints one JSON object; exits 1 when a check fails.

    python bench/gpu/parity.py FIXTURE_DIR DUMP.safetensors RADDRAFT.json --dtype f32|bf16
"""

import argparse
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import PaliGemmaForConditionalGeneration

# Max |logit difference| allowed (logits lie within ±3 on these fixtures). bf16 is the CPU parity
# test's documented tolerance against f32; f32 allows for cuBLAS's different summation order.
TOLERANCE = {"f32": 1e-3, "bf16": 0.15}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("dump")
    ap.add_argument("generated", help="raddraft generate --json output")
    ap.add_argument("--dtype", choices=["f32", "bf16"], required=True)
    args = ap.parse_args()
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    reference = load_file(f"{args.fixture}/reference.safetensors")
    ours = load_file(args.dump)["step_logits"].float()
    generated = json.load(open(args.generated))
    ids = [int(i) for i in generated["token_ids"]]
    prefix = reference["input_ids"].long().flatten().tolist()

    model = PaliGemmaForConditionalGeneration.from_pretrained(
        args.fixture, dtype=dtype, attn_implementation="eager").eval().to("cuda")
    full = torch.tensor([prefix + ids[:-1]], device="cuda")
    token_type_ids = torch.tensor([[0] * len(prefix) + [1] * (len(ids) - 1)], device="cuda")
    pixels = reference["pixel_values"].unsqueeze(0).to("cuda", dtype)
    with torch.inference_mode():
        logits = model(input_ids=full, pixel_values=pixels, token_type_ids=token_type_ids).logits
    theirs = logits[0, len(prefix) - 1:].float().cpu()

    diff = (ours - theirs).abs().max().item()
    result = {
        "fixture": args.fixture, "dtype": args.dtype, "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0), "rows": ours.shape[0],
        "max_abs_logit_diff_vs_torch_cuda": diff, "tolerance": TOLERANCE[args.dtype],
    }
    ok = diff <= TOLERANCE[args.dtype]
    if args.dtype == "f32":
        expected = reference["greedy_ids"].long().tolist()[:len(ids)]
        result["greedy_ids_equal_cpu_fixture"] = ids == expected
        ok = ok and ids == expected
    result["ok"] = ok
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
