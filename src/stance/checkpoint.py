"""Checks run before a checkpoint folder is loaded, so that a damaged or mismatched checkpoint gives
one clear error naming the file at fault (:class:`CheckpointError`), not a traceback from deep
inside a loader."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

__all__ = ["CheckpointError", "verify_checkpoint"]

JSON_FILES = ("config.json", "stance_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
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
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a checkpoint folder (no config.json)")
    parsed = {name: _json(path / name) for name in JSON_FILES if (path / name).is_file()}
    config, meta = parsed["config.json"], parsed.get("stance_config.json", {})
    labels = _labels(config, path / "config.json")
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing (stance checkpoints keep their weights in safetensors)")
    shapes = _safetensors_shapes(weights)
    head = next((s for name, s in shapes.items() if name.endswith(_HEAD_NAMES)), None)
    if head is not None and head[0] != len(labels):
        raise CheckpointError(f"{path / 'config.json'}: {len(labels)} labels {labels} but the classifier in {weights.name} "
                              f"has {head[0]} outputs: the files come from different checkpoints")
    if not ((path / "tokenizer.json").is_file() or (path / "vocab.txt").is_file()):
        raise CheckpointError(f"{path / 'tokenizer.json'}: missing (no tokenizer.json or vocab.txt in the checkpoint)")
    if meta:
        where = path / "stance_config.json"
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
