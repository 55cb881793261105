"""Writes a random PaliGemma 2 3B checkpoint for the benchmarks, stored in bf16 like the published
weights. Random weights: only speed and memory are measured.

Real 3B widths and the real vocabulary (257216 rows). By default the quick A/B model: 2 Gemma 2
layers and 4 SigLIP layers at 448 px (1024 image tokens). `--full-depth` gives the real 26 + 27
layers, and `--image-size 896` the 4096 image tokens of the 896 px checkpoints.

    /root/.cache/raddraft/ref-venv/bin/python bench/paligemma2/make_model.py OUT_DIR \
        [--full-depth] [--image-size 448|896]
"""

import argparse
import json
from pathlib import Path

import torch
from transformers import Gemma2Config, PaliGemmaConfig, PaliGemmaForConditionalGeneration, SiglipVisionConfig


def main(out: Path, full_depth: bool, image_size: int) -> None:
    torch.manual_seed(0)
    text = Gemma2Config(
        vocab_size=257216, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26 if full_depth else 2,
        num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
        sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh",
    )
    vision = SiglipVisionConfig(
        hidden_size=1152, intermediate_size=4304, num_hidden_layers=27 if full_depth else 4, num_attention_heads=16,
        image_size=image_size, patch_size=14, hidden_act="gelu_pytorch_tanh", vision_use_head=False,
    )
    config = PaliGemmaConfig(text_config=text.to_dict(), vision_config=vision.to_dict(),
                             projection_dim=2304, image_token_index=257152)
    # Built in bf16 directly: a full-depth model in f32 would need twice the memory.
    torch.set_default_dtype(torch.bfloat16)
    model = PaliGemmaForConditionalGeneration(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size="2GB")
    (out / "BENCHMARK-RANDOM-WEIGHTS.txt").write_text("random weights for benchmarking only\n")
    print(json.dumps({"out": str(out), "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--full-depth", action="store_true")
    parser.add_argument("--image-size", type=int, default=448, choices=[448, 896])
    args = parser.parse_args()
    main(args.out, args.full_depth, args.image_size)
