"""Print the datasheet's tables (counts, lengths, agreement) from the data as it is now.

    .venv/bin/python data/tools/dataset_stats.py
"""
from __future__ import annotations

import glob
import json
from collections import Counter
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from sklearn.metrics import cohen_kappa_score

from stance.config import config_dir, register_configs
from stance.data import validate

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["reassure", "threaten", "dismiss", "none"]


def main() -> None:
    register_configs()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose(config_name="train")
    data = validate(cfg.data)
    recs = data.records
    print(f"data hash {data.data_hash}; {len(recs)} statements; {len({r['doc'] for r in recs})} documents\n")
    print("| source | origin | split | " + " | ".join(LABELS) + " | total |")
    print("|---|---|---|" + "---|" * (len(LABELS) + 1))
    groups = Counter((r["source"], r.get("origin"), data.assignment[r["id"]], r["label"]) for r in recs)
    keys = sorted({k[:3] for k in groups})
    for k in keys:
        row = [groups[(*k, lab)] for lab in LABELS]
        print(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    tot = Counter(r["label"] for r in recs)
    print("| **all** | | | " + " | ".join(str(tot[lab]) for lab in LABELS) + f" | {len(recs)} |\n")
    print("| split | " + " | ".join(LABELS) + " | total |")
    print("|---|" + "---|" * (len(LABELS) + 1))
    for s in ("train", "validation", "test"):
        c = Counter(r["label"] for r in recs if data.assignment[r["id"]] == s)
        print(f"| {s} | " + " | ".join(str(c[lab]) for lab in LABELS) + f" | {sum(c.values())} |")
    print("\n| label | n | words: mean | median | min | max |")
    print("|---|---|---|---|---|---|")
    for lab in LABELS:
        w = np.array([len(r["text"].split()) for r in recs if r["label"] == lab])
        print(f"| {lab} | {len(w)} | {w.mean():.1f} | {np.median(w):.0f} | {w.min()} | {w.max()} |")
    ann = ROOT / "data" / "annotations"
    p1 = {json.loads(l)["id"]: json.loads(l)["label"] for f in glob.glob(str(ann / "pass1" / "*.jsonl")) for l in open(f)}
    p2 = {json.loads(l)["id"]: json.loads(l)["label"] for f in glob.glob(str(ann / "pass2" / "*.jsonl")) for l in open(f)}
    ids = sorted(p2)
    a, b = [p1[i] for i in ids], [p2[i] for i in ids]
    print(f"\nagreement on {len(ids)} double-labelled items: raw {np.mean([x == y for x, y in zip(a, b)]):.3f}, "
          f"Cohen's kappa {cohen_kappa_score(a, b):.3f}")
    print(f"first-pass labels of the sample: {dict(Counter(a))}")
    for lab in LABELS:
        print(f"  {lab}: kappa (one-vs-rest) {cohen_kappa_score([x == lab for x in a], [y == lab for y in b]):.3f}")
    print("disagreements:", dict(Counter(f"{x}->{y}" for x, y in zip(a, b) if x != y)))


if __name__ == "__main__":
    main()
