"""Grouped, stratified, seeded train/validation/test splits and the checks that guard them.

No document contributes to two splits. Near-duplicate statements link their documents into one
group, so a quote repeated across two briefings cannot leak from train into test.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold

from .records import Problem, Record

SPLITS = ("train", "validation", "test")


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def near_duplicate_pairs(texts: list[str], threshold: float, chunk: int = 512) -> list[tuple[int, int, float]]:
    """Pairs (i, j, cosine) with i < j whose word 1-2-gram TF-IDF cosine is at least ``threshold``."""
    if len(texts) < 2:
        return []
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    X = vec.fit_transform(texts)
    pairs = []
    for a in range(0, X.shape[0], chunk):
        sims = (X[a : a + chunk] @ X.T).toarray()
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows, cols):
            i = a + int(r)
            if i < c:
                pairs.append((i, int(c), float(sims[r, c])))
    return pairs


def _components(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    """Each node's group: the connected component of ``edges`` it belongs to, named by the component's
    smallest node name (the name is what ``StratifiedGroupKFold`` orders groups by, so it stays stable)."""
    index = {n: i for i, n in enumerate(dict.fromkeys([*nodes, *(n for e in edges for n in e)]))}
    rows = [index[a] for a, _ in edges]
    cols = [index[b] for _, b in edges]
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(index), len(index)))
    _, component = connected_components(graph, directed=False)
    name: dict[int, str] = {}
    for n, i in index.items():
        c = int(component[i])
        name[c] = min(name.get(c, n), n)
    return {n: name[int(component[i])] for n, i in index.items()}


@dataclass
class SplitResult:
    assignment: dict[str, str]  # record id -> split
    problems: list[Problem] = field(default_factory=list)
    near_duplicates: list[tuple[Record, Record, float]] = field(default_factory=list)


def check_duplicates(records: list[Record], threshold: float) -> tuple[list[Problem], list[tuple[Record, Record, float]]]:
    """Duplicate ids and exact duplicate texts are errors; near duplicates are returned for grouping."""
    problems: list[Problem] = []
    seen_ids: dict[str, Record] = {}
    seen_text: dict[str, Record] = {}
    for rec in records:
        first = seen_ids.get(rec["id"])
        if first is not None:
            problems.append(Problem(rec.file, rec.line, f"duplicate id {rec['id']!r} (first at {first.where})"))
        else:
            seen_ids[rec["id"]] = rec
        norm = normalize_text(rec["text"])
        first = seen_text.get(norm)
        if first is not None:
            problems.append(
                Problem(rec.file, rec.line, f"exact duplicate text of {first.where} (ids {first['id']!r} and {rec['id']!r})")
            )
        else:
            seen_text[norm] = rec
    texts = [normalize_text(r["text"]) for r in records]
    near = [
        (records[i], records[j], s)
        for i, j, s in near_duplicate_pairs(texts, threshold)
        if texts[i] != texts[j]
    ]
    return problems, near


def assign_splits(
    records: list[Record],
    *,
    test_size: float,
    validation_size: float,
    seed: int,
    test_only_sources: list[str],
    train_only_origins: list[str],
    near_duplicates: list[tuple[Record, Record, float]] = (),
) -> SplitResult:
    """Assign every record to train/validation/test, grouped by document, plus near-duplicate links and
    documents published twice (same title and date)."""
    edges = []
    for rec in records:
        # A readout of one call or meeting published twice (two documents, same title and date) is one group.
        if rec.get("title") and rec.get("date"):
            edges.append(("doc:" + rec["doc"], f"title:{rec['date']}:{normalize_text(rec['title'])}"))
    edges += [("doc:" + a["doc"], "doc:" + b["doc"]) for a, b, _ in near_duplicates]
    group = _components(["doc:" + rec["doc"] for rec in records], edges)
    group_of = {rec["id"]: group["doc:" + rec["doc"]] for rec in records}

    forced: dict[str, str] = {}
    problems: list[Problem] = []
    for rec in records:
        g = group_of[rec["id"]]
        want = None
        if rec["source"] in test_only_sources:
            want = "test"
        elif rec.get("origin") in train_only_origins:
            want = "train"
        if want is None:
            continue
        if forced.setdefault(g, want) != want:
            problems.append(
                Problem(rec.file, rec.line, f"document {rec['doc']!r} must be in both {forced[g]} and {want}: "
                        f"a test-only source and a train-only origin share a document (id {rec['id']!r})")
            )

    free = [r for r in records if group_of[r["id"]] not in forced]
    assignment = {r["id"]: forced[group_of[r["id"]]] for r in records if group_of[r["id"]] in forced}
    if free:
        labels = np.array([r["label"] for r in free])
        groups = np.array([group_of[r["id"]] for r in free])
        test_idx = _group_fold(labels, groups, test_size, seed)
        for i in test_idx:
            assignment[free[i]["id"]] = "test"
        test_set = set(test_idx)
        rest = [i for i in range(len(free)) if i not in test_set]
        val_frac = validation_size / max(1e-9, 1.0 - test_size)
        val_local = _group_fold(labels[rest], groups[rest], val_frac, seed + 1) if rest else []
        val_idx = {rest[i] for i in val_local}
        for i in rest:
            assignment[free[i]["id"]] = "validation" if i in val_idx else "train"
    return SplitResult(assignment, problems, list(near_duplicates))


def _group_fold(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> list[int]:
    """Indices of one fold holding about ``fraction`` of the items, whole groups only, stratified."""
    n_groups = len(set(groups.tolist()))
    if fraction <= 0 or n_groups < 2:
        return []
    n_splits = max(2, min(n_groups, round(1.0 / fraction)))
    # StratifiedGroupKFold needs each class to appear; fall back to plain labels it can use.
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    _, fold = next(cv.split(np.zeros(len(labels)), labels, groups))
    return sorted(int(i) for i in fold)


def check_splits(records: list[Record], result: SplitResult, train_only_origins: list[str]) -> list[Problem]:
    """Invariants: every record has a split, no document spans two splits, train-only items in train,
    no near-duplicate pair across splits."""
    problems = []
    doc_splits: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        split = result.assignment.get(rec["id"])
        if split is None:
            problems.append(Problem(rec.file, rec.line, f"id {rec['id']!r} was given no split"))
            continue
        doc_splits[rec["doc"]].add(split)
        if rec.get("origin") in train_only_origins and split != "train":
            problems.append(Problem(rec.file, rec.line, f"{rec.get('origin')} item {rec['id']!r} is in {split}; it may only be in train"))
    for rec in records:
        if len(doc_splits.get(rec["doc"], ())) > 1:
            problems.append(
                Problem(rec.file, rec.line, f"document {rec['doc']!r} is split across {sorted(doc_splits[rec['doc']])}")
            )
            doc_splits[rec["doc"]] = set()  # report each document once
    for a, b, s in result.near_duplicates:
        sa, sb = result.assignment.get(a["id"]), result.assignment.get(b["id"])
        if sa != sb:
            problems.append(Problem(b.file, b.line, f"near duplicate (cosine {s:.2f}) of {a.where} is in {sb}, the other in {sa}"))
    return problems


def split_counts(records: list[Record], assignment: dict[str, str]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {s: Counter() for s in SPLITS}
    for rec in records:
        if rec["id"] in assignment:  # a record without a split is reported by check_splits
            counts[assignment[rec["id"]]][rec["label"]] += 1
    return counts
