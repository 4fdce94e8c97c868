"""Print the datasheet's tables (counts, genres, lengths, agreement) from the data as it is now.

    .venv/bin/python data/tools/dataset_stats.py
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from stance.config import compose
from stance.data import validate
from stance.data.agreement import kappa_table, pairs

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["reassure", "threaten", "dismiss", "none"]
NEWS_GENRES = ("reported", "news")
GOAL = 200


def _table(rows, keys, title_cols) -> None:
    print("| " + " | ".join(title_cols) + " | " + " | ".join(LABELS) + " | total |")
    print("|---" * (len(title_cols) + len(LABELS) + 1) + "|")
    groups = Counter((*(r.get(k) or "" for k in keys), r["label"]) for r in rows)
    for k in sorted({g[:-1] for g in groups}):
        row = [groups[(*k, lab)] for lab in LABELS]
        print("| " + " | ".join(map(str, k)) + " | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    tot = Counter(r["label"] for r in rows)
    print("| **all** |" + " |" * (len(title_cols) - 1) + " " + " | ".join(str(tot[lab]) for lab in LABELS) + f" | {len(rows)} |\n")


def main() -> None:
    data = validate(compose("train").data)
    recs = [{**r.data, "split": data.assignment[r["id"]]} for r in data.records]
    print(f"data hash {data.data_hash}; {len(recs)} statements; {len({r['doc'] for r in recs})} documents\n")
    print("By source and genre:\n")
    _table(recs, ("source", "genre"), ("source", "genre"))
    print("By genre and split:\n")
    _table(recs, ("genre", "split"), ("genre", "split"))
    print("By split:\n")
    _table(recs, ("split",), ("split",))
    news = Counter(r["label"] for r in recs if r["genre"] in NEWS_GENRES)
    print(f"Stance items whose genre is reported or news (all real), goal {GOAL} each: "
          + ", ".join(f"{lab} {news[lab]} ({'met' if news[lab] >= GOAL else 'not met: every pool candidate was labelled'})"
                      for lab in LABELS[:3]) + "\n")
    print("| label | n | words: mean | median | min | max |")
    print("|---|---|---|---|---|---|")
    for lab in LABELS:
        w = np.array([len(r["text"].split()) for r in recs if r["label"] == lab])
        print(f"| {lab} | {len(w)} | {w.mean():.1f} | {np.median(w):.0f} | {w.min()} | {w.max()} |")
    rows = pairs(ROOT / "data" / "annotations", {r["id"]: r for r in recs})
    for key in ("pass", "genre", "source"):
        print(f"\nAgreement of the blind second pass with the first, by {key} (labels: the four and `exclude`):\n")
        print(f"| {key} | items | raw agreement | Cohen's kappa | first-pass labels |")
        print("|---|---|---|---|---|")
        for t in kappa_table(rows, key):
            print(f"| {t[key]} | {t['n']} | {t['agreement']:.3f} | {t['kappa']:.3f} | {t['first_labels']} |")
    print("\ndisagreements:", dict(Counter(f"{r['first']}->{r['second']}" for r in rows if r["first"] != r["second"])))


if __name__ == "__main__":
    main()
