"""Knowledge distillation: a larger teacher's calibrated probabilities, kept as data, teach the small default.

``stance teacher`` (``make teacher``) runs one or more teacher checkpoints (``experiment=mpnet``, several
seeds) over every labelled statement, averages their calibrated probabilities and writes them under
``data/teacher/NAME/``: ``probs.jsonl`` (one ``{"id", "probs"}`` per statement, in the data's label order)
and ``teacher.json`` (labels, data hash, each teacher's weights hash, seed and validation score, the
command and how long it took). The files are committed, so ``make train`` trains the distilled default on
a fresh clone without the teacher. The student's loss on a training item is

    alpha * CE(gold label) + (1 - alpha) * T^2 * CE(teacher probabilities at T, student at T)

Teacher probabilities on validation and test statements are written too, only so that ``stance eval`` can
score the teacher beside the student; training reads the train split's alone.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write_text
from .textio import BadLine, read_jsonl_lines

PROBS_FILE = "probs.jsonl"
META_FILE = "teacher.json"
COLUMN = "teacher_probs"


class TeacherError(ValueError):
    """Teacher probabilities that do not fit the data or labels of the run; the message names the file."""


@dataclass
class TeacherProbabilities:
    """The averaged teacher probabilities of every statement, by statement id, and their provenance."""

    probs: dict[str, list[float]]
    meta: dict
    folder: Path

    @classmethod
    def load(cls, folder: str | Path, labels: list[str], data_hash: str | None = None) -> TeacherProbabilities:
        """Read ``folder``; the labels must be the run's and the data hash (when given) the data's."""
        folder = Path(folder)
        meta_path, probs_path = folder / META_FILE, folder / PROBS_FILE
        for p in (meta_path, probs_path):
            if not p.is_file():
                raise TeacherError(f"{p}: missing; write the teacher probabilities with `make teacher` "
                                   "(or train without a teacher: experiment=plain)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise TeacherError(f"{meta_path}: not valid JSON ({exc})") from None
        if meta.get("labels") != list(labels):
            raise TeacherError(f"{meta_path}: teacher labels {meta.get('labels')} differ from the run's {list(labels)}")
        if data_hash and meta.get("data_hash") != data_hash:
            raise TeacherError(f"{meta_path}: the teacher ran on data {meta.get('data_hash')} but the data is now "
                               f"{data_hash}; run `make teacher` again on the current data, or train without a teacher: "
                               "experiment=plain")
        probs: dict[str, list[float]] = {}
        with probs_path.open("rb") as fh:
            for lineno, row in read_jsonl_lines(fh, str(probs_path), strict=True):
                if isinstance(row, BadLine):
                    if row.reason == "blank":
                        continue
                    raise TeacherError(f"{probs_path}:{lineno}: not a JSON line ({row.detail or row.reason})")
                try:
                    p = [float(x) for x in row["probs"]]
                    key = str(row["id"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise TeacherError(f"{probs_path}:{lineno}: expected {{\"id\": ..., \"probs\": [...]}} ({exc})") from None
                if len(p) != len(labels) or not all(math.isfinite(x) and x >= 0 for x in p) or abs(sum(p) - 1) > 1e-3:
                    raise TeacherError(f"{probs_path}:{lineno}: probs must be {len(labels)} non-negative numbers "
                                       f"summing to 1, got {row['probs']}")
                if key in probs:
                    raise TeacherError(f"{probs_path}:{lineno}: statement {key!r} listed twice")
                probs[key] = p
        return cls(probs, meta, folder)

    def for_ids(self, ids: list[str], what: str = "training") -> list[list[float]]:
        """The probabilities of ``ids``, in order; every id must have them."""
        missing = [i for i in ids if i not in self.probs]
        if missing:
            raise TeacherError(f"{self.folder / PROBS_FILE}: no teacher probabilities for {len(missing)} {what} "
                               f"statement(s), e.g. {missing[:3]}; run `make teacher` again on the current data")
        return [self.probs[i] for i in ids]


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_probs: torch.Tensor, alpha: float,
                      temperature: float = 1.0, class_weights: torch.Tensor | None = None,
                      label_smoothing: float = 0.0) -> torch.Tensor:
    """``alpha`` x cross-entropy with the gold labels + (1 - ``alpha``) x T^2 x cross-entropy between the
    teacher's probabilities softened at T and the student's at T (Hinton et al. 2015)."""
    hard = torch.nn.functional.cross_entropy(
        logits, labels, weight=None if class_weights is None else class_weights.to(logits.device),
        label_smoothing=label_smoothing)
    target = teacher_probs.to(logits.dtype)
    if temperature != 1.0:
        target = torch.softmax(torch.log(target.clamp_min(1e-8)) / temperature, dim=-1)
    soft = -(target * torch.log_softmax(logits / temperature, dim=-1)).sum(-1).mean() * temperature**2
    return alpha * hard + (1.0 - alpha) * soft


# -- writing the teacher's probabilities (stance teacher / make teacher) ------------------------------
def write_teacher_probabilities(checkpoints: list[str | Path], out_dir: str | Path, *, command: str = "",
                                batch_size: int = 64) -> dict:
    """Average the calibrated probabilities of ``checkpoints`` (trained on the same data, labels and
    split) over every labelled statement and write ``out_dir``. Returns the metadata written."""
    from .checkpoint import RUN_MODEL_DIR, WEIGHTS, read_metrics
    from .data import checkpoint_splits
    from .encoders import sha256_file
    from .inference import StanceClassifier
    from .inputs import dataset_speakers

    if not checkpoints:
        raise TeacherError("no teacher checkpoint given")
    start = time.perf_counter()
    first = Path(checkpoints[0])
    data = checkpoint_splits(first)
    labels = list(data.labels)
    rows = []
    for split in ("train", "validation", "test"):
        for part in (data.dataset[split], data.others[split]):
            if len(part):
                rows.append((split, part))
    ids = [i for _, part in rows for i in part["id"]]
    splits = [s for s, part in rows for _ in range(len(part))]
    texts = [t for _, part in rows for t in part["text"]]
    speakers = [s for _, part in rows for s in dataset_speakers(part)]
    contexts = [c for _, part in rows for c in part["context_before"]]
    teachers, total = [], np.zeros((len(ids), len(labels)))
    for ckpt in map(Path, checkpoints):
        clf = StanceClassifier.load(ckpt, runtime="transformers")
        if clf.labels != labels:
            raise TeacherError(f"{ckpt}: labels {clf.labels} differ from {first}'s {labels}")
        meta = clf.meta
        if meta.data_hash != data.data_hash:
            raise TeacherError(f"{ckpt}: trained on data {meta.data_hash}, not {data.data_hash} as {first}")
        t0 = time.perf_counter()
        total += clf.predict_proba(texts, batch_size=batch_size, contexts=contexts, speakers=speakers)
        metrics = read_metrics(ckpt)
        teachers.append({
            "checkpoint": ckpt.name if ckpt.name != RUN_MODEL_DIR else f"{ckpt.parent.name}/{ckpt.name}",
            "base_model": meta.base_model,
            "seed": meta.seed,
            "input_format": meta.input_format,
            "temperature": meta.temperature,
            "weights_sha256": sha256_file(ckpt / WEIGHTS),
            "best_validation_macro_f1": metrics.get("best_validation_macro_f1"),
            "seconds": round(time.perf_counter() - t0, 1),
        })
    probs = total / len(checkpoints)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    order = np.argsort(ids, kind="stable")
    atomic_write_text(out_dir / PROBS_FILE, "".join(
        json.dumps({"id": ids[i], "split": splits[i], "probs": [round(float(p), 6) for p in probs[i]]}) + "\n"
        for i in order))
    meta = {
        "labels": labels,
        "data_hash": data.data_hash,
        "n_statements": len(ids),
        "teachers": teachers,
        "average": "mean of the teachers' calibrated probabilities",
        "command": command,
        "seconds": round(time.perf_counter() - start, 1),
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


def teacher_command(argv: list[str]) -> int:
    """``stance teacher CHECKPOINT... [--output DIR]``: write the averaged teacher probabilities."""
    from .command_line import Command

    cmd = Command("teacher", "teacher", "Average the calibrated probabilities of teacher checkpoints (e.g. "
                  "experiment=mpnet, several seeds) over every labelled statement, for distillation "
                  "(experiment=distill). Writes DIR/probs.jsonl and DIR/teacher.json.")
    cmd.add("checkpoints", nargs="+", help="teacher checkpoint folders (same data and labels)")
    cmd.add("-o", "--output", setting="output_dir", help="the folder to write")
    cmd.add("--batch-size", setting="batch_size", type=int, help="statements per forward pass")
    return cmd.run(argv, lambda args, cfg: _teacher(args, cfg, argv))


def _teacher(args, cfg, argv: list[str]) -> int:
    import shlex
    import sys

    from .checkpoint import CheckpointError
    from .data import DataError

    try:
        meta = write_teacher_probabilities(args.checkpoints, cfg.output_dir, batch_size=cfg.batch_size,
                                           command=" ".join(["stance teacher", *map(shlex.quote, argv)]))
    except (TeacherError, CheckpointError, DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{cfg.output_dir}: {meta['n_statements']} statements, {len(meta['teachers'])} teacher(s), "
          f"data {meta['data_hash']}, {meta['seconds']:.0f} s")
    return 0
