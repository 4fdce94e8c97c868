"""Draw the items of the three new pools that are labelled (run from the repository root).

- every candidate of news_statements.jsonl, reported_statements.jsonl and foreign_statements.jsonl.

Labelling went in two rounds: first every `cue: true` candidate of the readout and Kremlin pools plus
1,000 of their others drawn at random with a fixed seed (``first_round``), then all the rest.

Writes data/annotations/pools/draw.json (the ids, per pool, in pool order). Deterministic: the same
pools and seed give the same draw.
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("STANCE_CORPORA", ROOT.parent / "shared" / "corpora"))
SEED = 20261202
RANDOM_EXTRA = 1000


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    draw, first_round = {}, {}
    news = read(CORPORA / "news_statements.jsonl")
    draw["news_statements"] = [r["id"] for r in news]
    for pool in ("reported_statements", "foreign_statements"):
        rows = read(CORPORA / f"{pool}.jsonl")
        cue = [r["id"] for r in rows if r.get("cue")]
        rest = [r["id"] for r in rows if not r.get("cue")]
        extra = set(random.Random(f"{SEED}:{pool}").sample(rest, RANDOM_EXTRA))
        first_round[pool] = [r["id"] for r in rows if r["id"] in extra or r.get("cue")]
        draw[pool] = [r["id"] for r in rows]
        print(f"{pool}: first round {len(cue)} cue + {len(extra)} drawn of {len(rest)} others; then the rest: {len(draw[pool])}")
    print(f"news_statements: {len(draw['news_statements'])}")
    out = ROOT / "data" / "annotations" / "pools" / "draw.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seed": SEED, "random_extra": RANDOM_EXTRA, "ids": draw, "first_round": first_round}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
