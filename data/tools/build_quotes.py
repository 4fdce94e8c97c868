"""Assemble data/quotes.jsonl from the hand annotations (run from the repository root).

Inputs (all committed, except the team's pools, read from ../shared/corpora or $STANCE_CORPORA):
- data/annotations/seed_statements.jsonl       statements of the seed article, labelled by hand
- official_statements.jsonl                      briefings and UN speeches (every sentence labelled)
- news_statements.jsonl (+ news_articles.jsonl)  Wikinews quotes and reported speech (every candidate)
- reported_statements.jsonl                      White House readouts and statements (the draw)
- foreign_statements.jsonl                       Kremlin readouts, addresses, press answers (the draw)
- data/annotations/pools/draw.json               which pool items were drawn for labelling
- data/annotations/pass1/*.jsonl                 first-pass labels, with each labeller's note and side
- data/annotations/adjudication*.jsonl           final labels where a blind second pass disagreed
- data/annotations/excluded.jsonl                items left out, each with its reason

Every labelled pool item ends up in quotes.jsonl, in excluded.jsonl (left out by hand, with a reason)
or in excluded_by_label.jsonl (labelled `exclude` in the first pass or by adjudication, with the
reason); the script fails otherwise.
"""
from __future__ import annotations

import glob
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("STANCE_CORPORA", ROOT.parent / "shared" / "corpora"))
FIELDS = ["id", "text", "label", "speaker", "side", "source", "doc", "date", "url", "title", "origin", "genre", "kind",
          "context_before", "notes", "licence"]
LABELS = {"reassure", "threaten", "dismiss", "none"}

# pool file -> (source name, how its `kind` maps to the dataset's `genre`, default side)
POOLS = {
    "official_statements": ("", {}, ""),
    "news_statements": ("wikinews", {"direct": "news", "reported": "news"}, ""),
    "reported_statements": ("wh-readouts", {"reported": "reported", "direct": "reported", "statement": "statement"},
                            "United States"),
    "foreign_statements": ("kremlin", {"reported": "reported", "direct": "reported", "statement": "statement",
                                       "turn": "transcript"}, "Russia"),
}
PREFIX = {"os-": "official_statements", "wn-": "news_statements", "rs-": "reported_statements", "fs-": "foreign_statements"}
OFFICIAL_GENRE = {"wh-briefings": "transcript", "un-general-debate": "speech"}
OFFICIAL_LICENCE = {"wh-briefings": "public domain (US government work)", "un-general-debate": "CC0 (UN General Debate Corpus)"}
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[\"“‘A-Z])")


def read(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def previous_sentence(article: str, start: int) -> str:
    """The sentence before a news statement, inside its paragraph (the news pool's context)."""
    before = article[:start].rsplit("\n\n", 1)[-1].strip()
    parts = SENTENCE_END.split(before)
    return parts[-1].strip() if parts and parts[-1].strip() else ""


def main() -> int:
    ann = ROOT / "data" / "annotations"
    draw = json.loads((ann / "pools" / "draw.json").read_text())["ids"]
    pools = {name: {r["id"]: r for r in read(CORPORA / f"{name}.jsonl")} for name in POOLS}
    articles = {a["doc"]: a for a in read(CORPORA / "news_articles.jsonl")}
    pass1: dict[str, dict] = {}
    for f in sorted(glob.glob(str(ann / "pass1" / "*.jsonl"))):
        for i, r in enumerate(read(f), start=1):
            if r["id"] in pass1:
                sys.exit(f"{f}:{i}: id {r['id']} labelled twice in pass 1")
            if r["label"] not in LABELS | {"exclude"}:
                sys.exit(f"{f}:{i}: label {r['label']!r} for {r['id']} is not a codebook label")
            pass1[r["id"]] = r
    adjudicated = {}
    for f in sorted(glob.glob(str(ann / "adjudication*.jsonl"))):
        for r in read(f):
            adjudicated[r["id"]] = r  # later files (later rounds) win
    excluded = {r["id"]: r for r in read(ann / "excluded.jsonl")}

    wanted = [*pools["official_statements"]]
    for name in ("news_statements", "reported_statements", "foreign_statements"):
        wanted += draw[name]
    missing = [i for i in wanted if i not in pass1]
    if missing:
        sys.exit(f"{len(missing)} drawn pool items have no pass-1 label, e.g. {missing[:5]}")
    stray = sorted(set(pass1) - set(wanted))
    if stray:
        sys.exit(f"{len(stray)} pass-1 labels are for items that were not drawn, e.g. {stray[:5]}")

    out = []
    for r in read(ann / "seed_statements.jsonl"):
        out.append({**r, "source": "seed-article", "doc": "seed/article.txt", "date": "2019-03-28", "url": None,
                    "title": "Russia's military 'specialists' in Venezuela (seed article)", "origin": "seed",
                    "genre": "news", "licence": "short quotation of a news report, used for research"})
    new_excluded = []
    for cid in wanted:
        pool = PREFIX[cid[:3]]
        src, lab = pools[pool][cid], pass1[cid]
        label, notes = lab["label"], lab.get("notes", "")
        if cid in adjudicated:
            label = adjudicated[cid]["final"]
            notes = f"adjudicated: {adjudicated[cid]['reason']}"
        if cid in excluded:
            continue
        if label == "exclude":
            reason = notes if cid in adjudicated else f"first pass: {notes or 'not an official statement'}"
            new_excluded.append({"id": cid, "reason": reason})
            continue
        source, genres, default_side = POOLS[pool]
        row = {"id": cid, "text": src["text"], "label": label, "speaker": src.get("speaker") or "",
               "doc": src["doc"], "date": src.get("date"), "url": src.get("url"), "title": src.get("title"),
               "origin": "corpus", "context_before": src.get("context_before", ""), "notes": notes,
               "side": lab.get("side") or default_side, "licence": src.get("licence")}
        if pool == "official_statements":
            row.update(source=src["source"], genre=OFFICIAL_GENRE[src["source"]], kind=None,
                       licence=OFFICIAL_LICENCE[src["source"]])
            if src["source"] == "un-general-debate" and not lab.get("side"):
                row["side"] = src["speaker"]  # the speaking country's ISO-3 code
            elif src["source"] == "wh-briefings" and not lab.get("side"):
                row["side"] = "United States"
        else:
            row.update(source=source, genre=genres[src["kind"]], kind=src["kind"])
            if pool == "news_statements":
                row["context_before"] = previous_sentence(articles[src["doc"]]["text"], src["start"])
                row["licence"] = "CC BY 2.5 (Wikinews; credit Wikinews and link the article)"
        out.append(row)
    with open(ROOT / "data" / "quotes.jsonl", "w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps({k: r.get(k) for k in FIELDS}, ensure_ascii=False) + "\n")
    with open(ann / "excluded_by_label.jsonl", "w", encoding="utf-8") as fh:
        for r in new_excluded:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} statements; excluded {len(excluded)} (excluded.jsonl) + {len(new_excluded)} "
          "(labelled `exclude`, excluded_by_label.jsonl)")
    for (source, genre), c in sorted(Counter((r["source"], r["genre"]) for r in out).items()):
        print(f"  {source:<18} {genre:<11}", dict(Counter(r["label"] for r in out if (r["source"], r["genre"]) == (source, genre))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
