"""Labelled quotes: reading, validating, splitting, and turning them into a ``datasets.DatasetDict``."""
from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from .records import DataError, Problem, Record, read_jsonl
from .splits import SPLITS, assign_splits, check_duplicates, check_splits, split_counts

__all__ = ["DataError", "Problem", "Record", "SplitData", "load_splits", "data_hash", "checkpoint_splits"]

COLUMNS = ("id", "text", "context_before", "speaker", "side", "source", "doc", "date", "origin", "genre", "kind")


@dataclass
class SplitData:
    """What a run trains and evaluates on, plus everything it set aside and why."""

    dataset: DatasetDict  # configured labels only, integer `label` (ClassLabel)
    others: DatasetDict  # items whose label is outside the configured set (e.g. `none`), per split
    records: list[Record]
    assignment: dict[str, str]
    labels: list[str]
    problems: list[Problem] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    data_hash: str = ""


def data_hash(files: list[str]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:12]


def load_splits(data_cfg) -> SplitData:
    """Read the labelled files, check them and split them (the ``data`` config); raise ``DataError``
    listing every error with file and line. Warnings are kept in ``SplitData.problems``."""
    files = [str(f) for f in data_cfg.files]
    loaded = read_jsonl(files, list(data_cfg.codebook_labels))
    problems = list(loaded.problems)
    unknown = [lab for lab in data_cfg.labels if lab not in data_cfg.codebook_labels]
    if unknown:
        problems.append(Problem("config data.labels", 0,
                                f"labels {unknown} are not in data.codebook_labels {list(data_cfg.codebook_labels)}"))
    records = loaded.records
    if not records and not loaded.errors:
        problems.append(Problem(", ".join(files) or "config data.files", 0, "no labelled statements"))
    dup_problems, near = check_duplicates(records, data_cfg.near_duplicate_threshold)
    problems += dup_problems
    result = assign_splits(
        records,
        test_size=data_cfg.test_size,
        validation_size=data_cfg.validation_size,
        seed=data_cfg.split_seed,
        test_only_sources=list(data_cfg.test_only_sources),
        train_only_origins=list(data_cfg.train_only_origins),
        near_duplicates=near,
    )
    problems += result.problems + check_splits(records, result, list(data_cfg.train_only_origins))
    for a, b, s in near:
        problems.append(Problem(b.file, b.line, f"near duplicate (cosine {s:.2f}) of {a.where}; both kept, held in one split", "warning"))
    problems += _check_label_coverage(records, result.assignment, list(data_cfg.labels))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(errors)
    return _build(records, result.assignment, list(data_cfg.labels), problems, files)


def _check_label_coverage(records, assignment, labels) -> list[Problem]:
    """A configured label with no training item is an error; one missing from validation/test a warning."""
    if not records:
        return []
    counts = split_counts(records, assignment)
    problems = []
    for lab in labels:
        if counts["train"][lab] == 0:
            problems.append(Problem("config data.labels", 0, f"label {lab!r} has no statement in the train split"))
        for s in ("validation", "test"):
            if counts[s][lab] == 0:
                problems.append(Problem("config data.labels", 0, f"label {lab!r} has no statement in the {s} split", "warning"))
    return problems


class DataMismatchError(ValueError):
    """The data files changed since the checkpoint was trained: its splits cannot be trusted."""


def checkpoint_splits(model_dir, files: list[str] | None = None, allow_mismatch: bool = False) -> SplitData:
    """The splits a checkpoint was trained with, rebuilt from its saved ``config.yaml`` (files, labels,
    split seed and sizes) and checked against the data hash recorded at training time. ``files``
    points at a moved copy of the same data; different data raises ``DataMismatchError``."""
    from omegaconf import open_dict

    from ..checkpoint import read_meta, read_run_config

    model_dir = Path(model_dir)
    data_cfg = read_run_config(model_dir).data
    if files:
        with open_dict(data_cfg):
            data_cfg.files = list(files)
    data = load_splits(data_cfg)
    trained_on = read_meta(model_dir).data_hash
    if trained_on and trained_on != data.data_hash:
        msg = (f"{model_dir} was trained on data {trained_on} but {list(data_cfg.files)} is now {data.data_hash}: "
               "the splits may differ, so test items may have been trained on")
        if not allow_mismatch:
            raise DataMismatchError(msg + ". Retrain, or pass allow_data_mismatch=true to evaluate anyway.")
        print(f"warning: {msg}", file=sys.stderr)
    return data


def _build(records, assignment, labels, problems, files) -> SplitData:
    features = Features({**{c: Value("string") for c in COLUMNS}, "label": ClassLabel(names=labels), "label_name": Value("string")})
    inside: dict[str, list[dict]] = {s: [] for s in SPLITS}
    outside: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for rec in records:
        row = {c: (rec.get(c) or "") for c in COLUMNS}
        row["label_name"] = rec["label"]
        split = assignment[rec["id"]]
        if rec["label"] in labels:
            row["label"] = labels.index(rec["label"])
            inside[split].append(row)
        else:
            row["label"] = -1
            outside[split].append(row)
    other_features = features.copy()
    other_features["label"] = Value("int64")
    dataset = DatasetDict({s: _dataset(inside[s], features) for s in SPLITS})
    others = DatasetDict({s: _dataset(outside[s], other_features) for s in SPLITS})
    counts = split_counts(records, assignment)
    summary = [f"{len(records)} labelled statements from {len(files)} file(s): " + ", ".join(files)]
    for s in SPLITS:
        summary.append(f"  {s:<10} " + "  ".join(f"{lab}={counts[s][lab]}" for lab in sorted(counts[s])))
    excluded = Counter(rec["label"] for rec in records if rec["label"] not in labels)
    for lab, n in sorted(excluded.items()):
        summary.append(f"  not trained on: {n} item(s) labelled {lab!r} (not in data.labels {labels}); kept for the abstention evaluation")
    warnings = [p for p in problems if p.severity == "warning"]
    if warnings:
        summary.append(f"  {len(warnings)} warning(s) (run `stance data validate` to list them)")
    return SplitData(dataset, others, records, assignment, labels, problems, summary, data_hash(files))


def _dataset(rows: list[dict], features: Features) -> Dataset:
    if not rows:
        return Dataset.from_dict({k: [] for k in features}, features=features)
    return Dataset.from_list(rows, features=features)
