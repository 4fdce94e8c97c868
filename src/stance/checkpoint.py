"""The checkpoint folder ``stance train`` writes and everything else reads: its file names, its
metadata (:class:`CheckpointMeta`, ``stance_config.json``), :func:`save`, :func:`read_meta` and
:func:`load`, and the checks run before loading, so that a damaged or mismatched checkpoint gives
one clear error naming the file at fault (:class:`CheckpointError`), not a traceback from deep
inside a loader.

A folder holds ``model.safetensors`` + ``config.json`` (``id2label``) + the tokenizer files
(``save_pretrained``), ``stance_config.json`` (the metadata: the one place for the temperature, the
stance-flag threshold and the data hash), ``metrics.json`` (test scores), ``config.yaml`` (the
resolved training config) and ``README.md`` (the model card)."""
from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CheckpointError", "CheckpointMeta", "LoadedCheckpoint", "verify_checkpoint", "read_meta", "read_metrics",
           "read_run_config", "save", "load", "RUN_MODEL_DIR", "MODEL_CONFIG", "STANCE_CONFIG", "METRICS", "RUN_CONFIG", "WEIGHTS",
           "TOKENIZER", "MODEL_CARD"]

RUN_MODEL_DIR = "model"  # a training run's checkpoint folder, inside its run folder
MODEL_CONFIG = "config.json"  # transformers' model config, with id2label/label2id
STANCE_CONFIG = "stance_config.json"  # CheckpointMeta
METRICS = "metrics.json"  # test (and validation) scores of the run
RUN_CONFIG = "config.yaml"  # the resolved training config (data files, split settings, seed)
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer.json"
MODEL_CARD = "README.md"

JSON_FILES = (MODEL_CONFIG, STANCE_CONFIG, TOKENIZER, "tokenizer_config.json", "special_tokens_map.json")

NONE = "none"
_RULE_WITH_NONE = "flag the top stance when its probability >= abstain_threshold, else none"
_RULE_WITHOUT_NONE = "none when the top stance's probability < abstain_threshold"
_HEAD_NAMES = ("classifier.weight", "classifier.out_proj.weight", "score.weight")


class CheckpointError(ValueError):
    """The checkpoint folder is incomplete, damaged or inconsistent; the message names the file."""


def _json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({str(exc)[:100]}); the checkpoint is damaged "
                              "(copy it again or retrain)") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(obj).__name__}; the checkpoint is damaged")
    return obj


def _labels(config: dict, path: Path) -> list[str]:
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise CheckpointError(f"{path}: no id2label table: not a classification checkpoint written by stance train")
    try:
        ids = sorted(int(k) for k in id2label)
    except (TypeError, ValueError):
        raise CheckpointError(f"{path}: id2label keys must be integers 0..n-1, got {list(id2label)[:5]}") from None
    if ids != list(range(len(ids))):
        raise CheckpointError(f"{path}: id2label keys must be 0..{len(ids) - 1}, got {ids[:10]}")
    labels = [id2label[k] for k in sorted(id2label, key=int)]
    if not all(isinstance(v, str) and v.strip() for v in labels) or len(set(labels)) != len(labels):
        raise CheckpointError(f"{path}: id2label values must be distinct, non-empty label names, got {labels[:10]}")
    if all(v == "none" for v in labels):
        raise CheckpointError(f"{path}: id2label has no stance label ({labels})")
    label2id = config.get("label2id")
    if label2id is not None and (not isinstance(label2id, dict)
                                 or {k: _as_int(v) for k, v in label2id.items()} != {v: i for i, v in enumerate(labels)}):
        raise CheckpointError(f"{path}: label2id does not match id2label {labels}")
    return labels


def _as_int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def _safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header, checking the file is as long as the header says."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated ({size} bytes); the checkpoint is damaged")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 100_000_000:
            raise CheckpointError(f"{path}: truncated or not a safetensors file (header of {n} bytes in a "
                                  f"{size}-byte file); the checkpoint is damaged")
        try:
            header = json.loads(fh.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise CheckpointError(f"{path}: unreadable safetensors header; the checkpoint is damaged") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: unreadable safetensors header; the checkpoint is damaged")
    end, shapes = 0, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            shapes[name] = [int(d) for d in info["shape"]]
            end = max(end, int(info["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise CheckpointError(f"{path}: tensor {name!r} has a malformed entry; the checkpoint is damaged") from None
    if end != size - 8 - n:
        raise CheckpointError(f"{path}: {size - 8 - n} bytes of tensor data where the header says {end}: "
                              "truncated or damaged (copy it again or retrain)")
    return shapes


def verify_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """Check a checkpoint folder's files and their agreement; return ``(config, stance_meta)``."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such checkpoint folder")
    if not (path / MODEL_CONFIG).is_file():
        raise FileNotFoundError(f"{path}: not a checkpoint folder (no {MODEL_CONFIG})")
    parsed = {name: _json(path / name) for name in JSON_FILES if (path / name).is_file()}
    config, meta = parsed[MODEL_CONFIG], parsed.get(STANCE_CONFIG, {})
    labels = _labels(config, path / MODEL_CONFIG)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing (stance checkpoints keep their weights in safetensors)")
    shapes = _safetensors_shapes(weights)
    head = next((s for name, s in shapes.items() if name.endswith(_HEAD_NAMES)), None)
    if head is not None and head[0] != len(labels):
        raise CheckpointError(f"{path / 'config.json'}: {len(labels)} labels {labels} but the classifier in {weights.name} "
                              f"has {head[0]} outputs: the files come from different checkpoints")
    if not ((path / TOKENIZER).is_file() or (path / "vocab.txt").is_file()):
        raise CheckpointError(f"{path / TOKENIZER}: missing (no tokenizer.json or vocab.txt in the checkpoint)")
    if meta:
        where = path / STANCE_CONFIG
        if "labels" in meta and meta["labels"] != labels:
            raise CheckpointError(f"{where}: labels {meta['labels']} do not match config.json's id2label {labels}")
        t = meta.get("temperature", 1.0)
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) or t <= 0:
            raise CheckpointError(f"{where}: temperature must be a positive number, got {t!r}")
        th = meta.get("abstain_threshold")
        if th is not None and (not isinstance(th, (int, float)) or isinstance(th, bool) or not math.isfinite(th)):
            raise CheckpointError(f"{where}: abstain_threshold must be a number or null, got {th!r}")
        ml = meta.get("max_length", 128)
        if not isinstance(ml, int) or isinstance(ml, bool) or ml < 2:
            raise CheckpointError(f"{where}: max_length must be an integer >= 2, got {ml!r}")
        fmt = meta.get("input_format")
        if fmt is not None and not isinstance(fmt, str):
            raise CheckpointError(f"{where}: input_format must be a string, got {fmt!r}")
    return config, meta


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint needs besides its weights to predict as it was evaluated
    (``stance_config.json``). A plain Hugging Face classification folder (no ``stance_config.json``)
    reads as temperature 1, no threshold, the statement alone."""

    labels: list[str]  # in the classifier's output order (config.json's id2label)
    temperature: float = 1.0  # calibration, fitted on validation
    abstain_threshold: float | None = None  # the stance-flag threshold, chosen on validation
    abstain_target_coverage: float | None = None
    max_length: int = 128
    input_format: str = "text"  # stance.inputs.INPUT_FORMATS
    base_model: str | None = None  # the encoder it was fine-tuned from (model.name_or_path)
    data_hash: str | None = None  # stance.data.data_hash of the training files
    seed: int | None = None
    distilled_from: dict | None = None  # the teacher probabilities and teachers of a distilled run
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as read

    @property
    def abstain_rule(self) -> str:
        return _RULE_WITH_NONE if NONE in self.labels else _RULE_WITHOUT_NONE

    def to_json(self) -> dict:
        """The ``stance_config.json`` object (same keys and order as every earlier version wrote)."""
        return {"labels": list(self.labels), "temperature": self.temperature, "abstain_threshold": self.abstain_threshold,
                "abstain_rule": self.abstain_rule, "abstain_target_coverage": self.abstain_target_coverage,
                "max_length": self.max_length, "input_format": self.input_format,
                "use_context": self.input_format == "text+context",  # for readers older than input_format
                "base_model": self.base_model, "data_hash": self.data_hash, "seed": self.seed,
                **({"distilled_from": self.distilled_from} if self.distilled_from else {}), **self.extra}

    @classmethod
    def from_json(cls, obj: dict, labels: list[str]) -> CheckpointMeta:
        """From a ``stance_config.json`` object (``{}`` when there is none); ``labels``: config.json's."""
        from .inputs import input_format

        known = {"labels", "temperature", "abstain_threshold", "abstain_rule", "abstain_target_coverage", "max_length",
                 "input_format", "use_context", "base_model", "data_hash", "seed", "distilled_from"}
        return cls(labels=list(obj.get("labels") or labels), temperature=float(obj.get("temperature", 1.0)),
                   abstain_threshold=obj.get("abstain_threshold"),
                   abstain_target_coverage=obj.get("abstain_target_coverage"),
                   max_length=obj.get("max_length", 128), input_format=input_format(obj),
                   base_model=obj.get("base_model"), data_hash=obj.get("data_hash"), seed=obj.get("seed"),
                   distilled_from=obj.get("distilled_from"), extra={k: v for k, v in obj.items() if k not in known})


def read_meta(path: str | os.PathLike) -> CheckpointMeta:
    """The checkpoint's metadata, after :func:`verify_checkpoint` (a damaged file: ``CheckpointError``)."""
    config, raw = verify_checkpoint(path)
    return _meta(Path(path), config, raw)


def _meta(path: Path, config: dict, raw: dict) -> CheckpointMeta:
    try:
        return CheckpointMeta.from_json(raw, _labels(config, path / MODEL_CONFIG))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path / STANCE_CONFIG}: {exc}") from None


def read_metrics(path: str | os.PathLike) -> dict:
    """The checkpoint's ``metrics.json`` (``{}`` when it has none, e.g. a plain Hugging Face folder)."""
    f = Path(path) / METRICS
    return json.loads(f.read_text()) if f.is_file() else {}


def read_run_config(path: str | os.PathLike):
    """The resolved training config saved with the checkpoint (an OmegaConf ``DictConfig``)."""
    from omegaconf import OmegaConf

    f = Path(path) / RUN_CONFIG
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no training config in the checkpoint, so its splits cannot be rebuilt")
    return OmegaConf.load(f)


def save(final_dir: str | os.PathLike, model, tokenizer, meta: CheckpointMeta, metrics: dict, run_config: dict,
         extra: Callable[[Path], None] | None = None) -> Path:
    """Write a complete checkpoint folder: written into a hidden sibling and renamed to ``final_dir``
    once complete (:mod:`stance.atomic`), so a reader never sees half of one. ``model`` and
    ``tokenizer``: ``save_pretrained`` objects; ``run_config``: the resolved training config;
    ``extra(folder)`` writes anything more (the model card) before the rename."""
    from omegaconf import OmegaConf

    from .atomic import commit_dir, staging_dir

    staged = staging_dir(final_dir)
    model.save_pretrained(str(staged))  # model.safetensors + config.json (id2label)
    tokenizer.save_pretrained(str(staged))
    (staged / STANCE_CONFIG).write_text(json.dumps(meta.to_json(), indent=2) + "\n")
    (staged / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    (staged / RUN_CONFIG).write_text(OmegaConf.to_yaml(run_config))
    if extra is not None:
        extra(staged)
    return commit_dir(staged, final_dir)


@dataclass
class LoadedCheckpoint:
    model: Any  # a transformers model, or a stance.lite.LiteBert
    tokenizer: Any  # a transformers tokenizer, or a stance.lite.LiteTokenizer
    meta: CheckpointMeta
    device: Any  # torch.device


def load(path: str | os.PathLike, *, device: str | None = None, quantize: bool = False,
         runtime: str = "auto") -> LoadedCheckpoint:
    """Load a folder written by :func:`save` (safetensors + JSON, no pickle), after
    :func:`verify_checkpoint`. ``runtime``: ``auto`` (the lite runtime for BERT checkpoints on CPU),
    ``lite`` or ``transformers``; ``quantize`` (CPU only): int8 dynamic quantization of the linear layers."""
    import torch

    from .lite import LiteBert, LiteTokenizer, supports

    path = Path(path)
    config, raw = verify_checkpoint(path)  # a damaged file: CheckpointError naming it
    meta = _meta(path, config, raw)
    if runtime not in ("auto", "lite", "transformers"):
        raise ValueError(f"runtime {runtime!r}: use auto, lite or transformers")
    if quantize:
        if device not in (None, "cpu") or (device is None and torch.cuda.is_available()):
            raise ValueError("quantize=True is for CPU inference; pass device='cpu'")
        device = "cpu"
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    can_lite = supports(config) and (path / TOKENIZER).is_file() and (path / WEIGHTS).is_file() and not quantize
    if runtime == "lite" and not can_lite:
        raise ValueError(f"{path}: the lite runtime needs a BERT checkpoint with tokenizer.json and model.safetensors"
                         + (", and no quantization" if quantize else ""))
    try:
        if runtime == "lite" or (runtime == "auto" and can_lite and dev.type == "cpu"):
            return LoadedCheckpoint(LiteBert.load(path, dev), LiteTokenizer(path), meta, dev)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
        return LoadedCheckpoint(model, tokenizer, meta, dev)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError, IndexError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path}: cannot load the checkpoint ({type(exc).__name__}: {str(exc)[:200]})") from exc
