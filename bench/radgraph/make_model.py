"""Writes the benchmark's full-size random RadGraph v1 model and its 1,000 synthetic reports.

Model: the public archive layout (config.json, vocabulary/, weights.th + encoder/) with a BERT-base
encoder (12 layers, hidden 768, 12 heads, intermediate 3072, vocabulary 30,522, max_length 512) and
the DyGIE++ template heads (max_span_width 8, feature_size 20, feed-forwards 2 × 150), built by the
radgraph package itself. Random weights (encoder: transformers' BERT init; heads: N(0, 0.3²)
matrices, output biases set so about 15 % of spans are entities): only speed, memory and agreement
are measured. Reports: sentences from templates filled with chest X-ray vocabulary, 3–8 sentences
each (about 45 words), seed 0. Nothing here comes from real reports.

    /root/.cache/raddraft/radgraph-venv/bin/python bench/radgraph/make_model.py OUT_DIR
"""

import json
import random
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/fixtures/radgraph"))
import generate as fixture  # noqa: E402  (the fixture generator's archive helpers)

SENTENCES = [
    "The {organ} is {size}.",
    "{severity} {finding} in the {side} {region}.",
    "No {finding} or {finding2}.",
    "There is no {finding}.",
    "{severity} {finding} at the {side} {region}, {change}.",
    "The {device} tip projects over the {anatomy}.",
    "{device} in {position} position.",
    "Heart size is {size}; the mediastinal contours are {size}.",
    "{finding} of the {side} {region} may represent {finding2} or {finding3}.",
    "Compared to the prior study, the {finding} is {change}.",
    "Lungs are clear without {finding}.",
    "{severity} {finding} with {severity2} {finding2}.",
    "Degenerative changes of the {spine} spine.",
    "{side} {region} opacity measuring {num} cm.",
    "No acute cardiopulmonary process.",
    "Possible {severity} {finding} in the {region}.",
]
WORDS = {
    "organ": ["heart", "cardiac silhouette", "aorta", "mediastinum", "hilum"],
    "size": ["normal", "enlarged", "mildly enlarged", "within normal limits", "stable", "unremarkable"],
    "severity": ["Mild", "Moderate", "Small", "Large", "Trace", "Severe", "Minimal"],
    "severity2": ["mild", "moderate", "small", "large", "trace", "minimal"],
    "finding": ["effusion", "pneumothorax", "consolidation", "atelectasis", "edema", "opacity", "pneumonia",
                "nodule", "cardiomegaly", "scarring", "thickening", "emphysema", "fracture", "hernia"],
    "side": ["left", "right", "bilateral"],
    "region": ["lower lobe", "upper lobe", "base", "apex", "lung", "hemithorax", "perihilar region", "costophrenic angle"],
    "change": ["unchanged", "improved", "worsened", "new", "decreased", "increased", "stable"],
    "device": ["endotracheal tube", "nasogastric tube", "right PICC", "left subclavian catheter", "pacemaker lead", "chest tube"],
    "anatomy": ["carina", "stomach", "superior vena cava", "right atrium", "cavoatrial junction"],
    "position": ["standard", "appropriate", "unchanged", "satisfactory"],
    "spine": ["thoracic", "lumbar", "cervical"],
}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def fill(template, rng):
    def choose(match):
        slot = match.group(1)
        if slot == "num":
            return f"{rng.randint(1, 9)}.{rng.randint(0, 9)}"
        return rng.choice(WORDS[slot.rstrip("23")])

    return re.sub(r"\{(\w+)\}", choose, template)


def reports(count=1000, seed=0):
    rng = random.Random(seed)
    return [" ".join(fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(3, 8))) for _ in range(count)]


def vocab():
    words = {w.lower() for values in WORDS.values() for v in values for w in v.split()}
    words |= {w.strip(".,;").lower() for s in SENTENCES for w in s.split() if "{" not in w}
    tokens = SPECIAL + list(".,;:()/-%'\"") + list("abcdefghijklmnopqrstuvwxyz0123456789")
    tokens += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"] + sorted(words - set(tokens))
    tokens += [f"[unused{i}]" for i in range(30522 - len(tokens))]
    return tokens


def main(out: Path) -> None:
    spec = {
        "encoder_name": "encoder", "max_length": 512, "max_position_embeddings": 512, "ner_labels": fixture.V1_NER,
        "write_tokenizer_json": False, "tarball": False,
    }
    if out.exists():
        shutil.rmtree(out)
    model_dir = out / "radgraph"
    encoder = model_dir / "encoder"
    encoder.mkdir(parents=True)
    tokens = vocab()
    (encoder / "vocab.txt").write_text("\n".join(tokens) + "\n")
    config = fixture.encoder_config(len(tokens), 512)
    config.update(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    (encoder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (encoder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}) + "\n")
    fixture.write_vocabulary(model_dir / "vocabulary", "radgraph", spec)
    archive = fixture.archive_config("radgraph", spec)
    archive["model"]["feedforward_params"]["hidden_dims"] = 150
    (model_dir / "config.json").write_text(json.dumps(archive, indent=2) + "\n")

    import os
    os.chdir(model_dir)  # the encoder is named by the relative path "encoder"
    torch.manual_seed(0)
    dygie = fixture.build_dygie(model_dir)
    state = {k: v.clone() for k, v in dygie.state_dict().items()}
    for name, tensor in state.items():
        if name.startswith("_embedder") or "LayerNorm" in name or not tensor.is_floating_point():
            continue
        state[name] = torch.randn(tensor.shape) * (0.3 if tensor.dim() >= 2 else 0.1)
    fixture.tie_mention_scorer_to_ner(state, "radgraph")
    ner, relation = fixture.output_layer_names("radgraph")
    state[f"{ner}.bias"].zero_()
    state[f"{relation}.bias"].zero_()
    torch.save(state, model_dir / "weights.th")
    texts = reports()
    radgraph = fixture.load_radgraph(out, "radgraph")
    recorder = fixture.Recorder(radgraph, "radgraph")
    with torch.no_grad():
        fixture.annotate(radgraph, texts[:40])
    ner_max = np.concatenate([r["ner_logits"].max(axis=1) for r in recorder.records])
    rel_max = np.concatenate([r["relation_scores"][..., 1:].max(axis=-1).ravel() for r in recorder.records])
    state[f"{ner}.bias"].fill_(-float(np.quantile(ner_max, 0.85)))
    state[f"{relation}.bias"].fill_(-float(np.quantile(rel_max, 0.90)))
    torch.save(state, model_dir / "weights.th")
    with open(out / "reports.jsonl", "w") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"r{i:04d}", "text": text}) + "\n")
    print(f"model -> {model_dir}, {len(texts)} reports -> {out / 'reports.jsonl'}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
