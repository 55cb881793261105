"""Counts reports whose raddraft graph equals the radgraph package's (JSON equality, entity order
included). With --model-root, reruns the package with read-only hooks on every differing report and
prints its smallest decision margin (NER label vs null, top-k boundary, relation label): a
difference is expected only at such near-ties of the f32 logits.

    python bench/radgraph/compare.py RADDRAFT.jsonl PACKAGE.jsonl [--model-root DIR --reports REPORTS.jsonl]
"""

import argparse
import json
import os
import sys
from pathlib import Path


def load(path):
    with open(path) as f:
        return {row["id"]: row["graph"] for row in map(json.loads, f)}


def margins(model_root, texts):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests/fixtures/radgraph"))
    import generate as fixture  # the fixture generator's read-only hooks
    import torch

    os.chdir(model_root / "radgraph")
    radgraph = fixture.load_radgraph(model_root, "radgraph")
    recorder = fixture.Recorder(radgraph, "radgraph")
    with torch.no_grad():
        fixture.annotate(radgraph, texts)
    out = []
    for record in recorder.records:
        ner, topk, relation = fixture.margins(record)
        kinds = {"ner": float(ner.min()), "topk": float(topk), "relation": float(relation.min())}
        kind = min(kinds, key=kinds.get)
        out.append({"smallest_margin": kinds[kind], "decision": kind})
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ours")
    parser.add_argument("theirs")
    parser.add_argument("--model-root", type=Path)
    parser.add_argument("--reports", type=Path)
    args = parser.parse_args()
    ours, theirs = load(args.ours), load(args.theirs)
    different = [i for i in theirs if ours.get(i) != theirs[i]]
    entities = sum(len(g["entities"]) for g in theirs.values())
    relations = sum(len(e["relations"]) for g in theirs.values() for e in g["entities"].values())
    details = [{"id": i} for i in different[:20]]
    if args.model_root and different:
        texts = {row["id"]: row["text"] for row in map(json.loads, args.reports.read_text().splitlines())}
        for detail, margin in zip(details, margins(args.model_root.resolve(), [texts[d["id"]] for d in details])):
            detail.update(margin)
    print(json.dumps({"reports": len(theirs), "identical": len(theirs) - len(different), "different": details,
                      "package_entities": entities, "package_relations": relations}))


if __name__ == "__main__":
    main()
