"""Counts reports whose raddraft graph equals the radgraph package's (JSON equality, entity order
included); prints one JSON line and the first differences.

    python bench/radgraph/compare.py RADDRAFT.jsonl PACKAGE.jsonl
"""

import json
import sys


def load(path):
    with open(path) as f:
        return {row["id"]: row["graph"] for row in map(json.loads, f)}


def main(ours_path, theirs_path):
    ours, theirs = load(ours_path), load(theirs_path)
    different = [i for i in theirs if ours.get(i) != theirs[i]]
    entities = sum(len(g["entities"]) for g in theirs.values())
    relations = sum(len(e["relations"]) for g in theirs.values() for e in g["entities"].values())
    print(json.dumps({"reports": len(theirs), "identical": len(theirs) - len(different), "different": different[:20],
                      "package_entities": entities, "package_relations": relations}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
