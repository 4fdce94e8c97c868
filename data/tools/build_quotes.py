"""Assemble data/quotes.jsonl from the hand annotations (run from the repository root).

Inputs (all committed):
- data/annotations/seed_statements.jsonl     statements of the seed article, labelled by hand
- ../shared/corpora/official_statements.jsonl (or $STANCE_CORPUS) the unlabelled corpus, for provenance
- data/annotations/pass1/chunk_*.jsonl        first-pass labels of every corpus sentence
- data/annotations/adjudication.jsonl         final labels where the blind second pass disagreed
- data/annotations/authored/*.jsonl           team-written statements (train only)
- data/annotations/excluded.jsonl             corpus sentences left out, each with its reason

Every corpus sentence ends up either in quotes.jsonl or in excluded.jsonl; the script fails otherwise.
"""
from __future__ import annotations

import glob
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("STANCE_CORPUS", ROOT.parent / "shared" / "corpora" / "official_statements.jsonl"))
FIELDS = ["id", "text", "label", "speaker", "source", "doc", "date", "url", "origin", "context_before", "notes"]


def read(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    ann = ROOT / "data" / "annotations"
    corpus = {r["id"]: r for r in read(CORPUS)}
    pass1 = {}
    for f in sorted(glob.glob(str(ann / "pass1" / "chunk_*.jsonl"))):
        for r in read(f):
            if r["id"] in pass1:
                sys.exit(f"{f}: id {r['id']} labelled twice in pass 1")
            pass1[r["id"]] = r
    adjudicated = {r["id"]: r for r in read(ann / "adjudication.jsonl")} if (ann / "adjudication.jsonl").is_file() else {}
    excluded = {r["id"]: r for r in read(ann / "excluded.jsonl")} if (ann / "excluded.jsonl").is_file() else {}
    missing = set(corpus) - set(pass1)
    if missing:
        sys.exit(f"{len(missing)} corpus sentences have no pass-1 label, e.g. {sorted(missing)[:5]}")

    out = []
    for r in read(ann / "seed_statements.jsonl"):
        out.append({**r, "source": "seed-article", "doc": "seed/article.txt", "date": "2019-03-28",
                    "url": None, "origin": "seed"})
    for cid in sorted(corpus):
        if cid in excluded:
            continue
        src, lab = corpus[cid], pass1[cid]
        label, notes = lab["label"], lab.get("notes", "")
        if cid in adjudicated:
            label = adjudicated[cid]["final"]
            notes = f"adjudicated: {adjudicated[cid]['reason']}"
        out.append({"id": cid, "text": src["text"], "label": label, "speaker": src["speaker"], "source": src["source"],
                    "doc": src["doc"], "date": src.get("date"), "url": src.get("url"), "origin": "corpus",
                    "context_before": src.get("context_before", ""), "notes": notes})
    for f in sorted(glob.glob(str(ann / "authored" / "*.jsonl"))):
        out.extend(read(f))
    with open(ROOT / "data" / "quotes.jsonl", "w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps({k: r.get(k) for k in FIELDS}, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} statements; excluded {len(excluded)} corpus sentences (see excluded.jsonl)")
    print(Counter((r["origin"], r["label"]) for r in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
