"""Agreement between the first pass and the blind second passes of the hand labels
(``data/annotations/pass1`` and ``pass2``), overall and per genre and source."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

# The blind second passes, what each covers, in the order they were made.
PASSES = {
    "sample_1.jsonl": "briefings and UN speeches, first round (stratified by first label)",
    "sample_2.jsonl": "briefings and UN speeches, first round (stratified by first label)",
    "un_block2.jsonl": "UN block 2: every stance item plus 150 none items",
    "new_A.jsonl": "new pools: Wikinews and Kremlin (stratified by first label)",
    "new_B.jsonl": "new pools: White House readouts and Kremlin (stratified by first label)",
    "new_C.jsonl": "new pools: White House readouts (stratified by first label)",
}
SOURCE_OF_PREFIX = {"wn-": "wikinews", "rs-": "wh-readouts", "fs-": "kremlin", "seed": "seed-article"}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pairs(annotations: Path, records: dict[str, dict]) -> list[dict]:
    """One row per double-labelled item: id, pass, first and second label, genre and source (an item
    that was excluded in the end has genre ``excluded``)."""
    first = {r["id"]: r["label"] for f in sorted((annotations / "pass1").glob("*.jsonl")) for r in _read(f)}
    out = []
    for name in PASSES:
        path = annotations / "pass2" / name
        if not path.is_file():
            continue
        for r in _read(path):
            rec = records.get(r["id"])
            source = rec["source"] if rec else SOURCE_OF_PREFIX.get(r["id"][:3], "excluded (briefing or UN)")
            out.append({"id": r["id"], "pass": name, "first": first[r["id"]], "second": r["label"],
                        "genre": rec.get("genre") if rec else "excluded", "source": source})
    return out


def kappa_table(rows: list[dict], key: str) -> list[dict]:
    """Raw agreement and Cohen's kappa per value of ``key`` (plus ``all``)."""
    groups = sorted({r[key] for r in rows})
    out = []
    for g in [*groups, "all"]:
        sel = rows if g == "all" else [r for r in rows if r[key] == g]
        a, b = [r["first"] for r in sel], [r["second"] for r in sel]
        k = cohen_kappa_score(a, b) if len(set(a) | set(b)) > 1 else float("nan")
        out.append({key: g, "n": len(sel), "agreement": sum(x == y for x, y in zip(a, b)) / len(sel),
                    "kappa": float(k), "first_labels": dict(Counter(a))})
    return out
