"""Loading a saved checkpoint and predicting stances: ``StanceClassifier.load(path).predict(texts)``."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import lite
from .calibration import apply_temperature
from .lite import LiteBert, LiteTokenizer

STANCE_CONFIG = "stance_config.json"


@dataclass
class Prediction:
    label: str  # the most probable label (kept even when abstaining)
    score: float  # its (calibrated) probability
    probabilities: dict[str, float]
    abstained: bool = False
    truncated: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class StanceClassifier:
    """A fine-tuned stance model with its calibration (temperature) and abstention threshold.

    Two runtimes compute the same logits: transformers' model classes, and, for BERT checkpoints on
    CPU, :mod:`stance.lite` (the same forward pass without importing transformers' model code,
    which halves a cold start). ``runtime="auto"`` picks lite where it applies."""

    def __init__(self, model, tokenizer, *, config: dict, temperature: float = 1.0,
                 abstain_threshold: float | None = None, max_length: int = 128,
                 device: str | torch.device | None = None, meta: dict | None = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.lite = isinstance(model, LiteBert)
        self.model = model if self.lite else model.to(self.device).eval()
        self.tokenizer = tokenizer
        id2label = {int(k): v for k, v in config["id2label"].items()}
        self.labels = [id2label[i] for i in range(len(id2label))]
        self.temperature = float(temperature)
        self.abstain_threshold = abstain_threshold
        self.max_length = max_length
        self.meta = meta or {}
        self.use_context = bool(self.meta.get("use_context", False))

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None, num_threads: int | None = None,
             abstain_threshold: float | None = None, quantize: bool = False,
             runtime: str = "auto") -> "StanceClassifier":
        """Load a ``save_pretrained`` folder written by ``stance train`` (safetensors + JSON, no pickle).
        A plain Hugging Face classification checkpoint also loads (temperature 1, no abstention).
        ``quantize=True`` (CPU only) converts the linear layers to int8 dynamic quantization: faster on
        CPU, with the macro-F1 change measured by ``make bench``. ``runtime``: ``auto``, ``lite``
        (BERT checkpoints only) or ``transformers``."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a checkpoint folder (no config.json)")
        if runtime not in ("auto", "lite", "transformers"):
            raise ValueError(f"runtime {runtime!r}: use auto, lite or transformers")
        if num_threads:
            torch.set_num_threads(num_threads)
        config = json.loads((path / "config.json").read_text())
        meta = json.loads((path / STANCE_CONFIG).read_text()) if (path / STANCE_CONFIG).is_file() else {}
        threshold = abstain_threshold if abstain_threshold is not None else meta.get("abstain_threshold")
        if quantize:
            if device not in (None, "cpu") or (device is None and torch.cuda.is_available()):
                raise ValueError("quantize=True is for CPU inference; pass device='cpu'")
            device = "cpu"
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        can_lite = (lite.supports(config) and (path / "tokenizer.json").is_file()
                    and (path / "model.safetensors").is_file() and not quantize)
        if runtime == "lite" and not can_lite:
            raise ValueError(f"{path}: the lite runtime needs a BERT checkpoint with tokenizer.json and model.safetensors"
                             + (", and no quantization" if quantize else ""))
        if runtime == "lite" or (runtime == "auto" and can_lite and dev.type == "cpu"):
            model, tokenizer = LiteBert.load(path, dev), LiteTokenizer(path)
        else:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
            if quantize:
                model = torch.ao.quantization.quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
        return cls(model, tokenizer, config=config, temperature=meta.get("temperature", 1.0),
                   abstain_threshold=threshold, max_length=meta.get("max_length", 128), device=dev, meta=meta)

    # -- scoring -------------------------------------------------------------------------------
    def logits(self, texts: Sequence[str], batch_size: int = 32,
               contexts: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits in input order, and whether each statement was truncated to the model's window.
        Batches are formed from texts sorted by length, so little padding is computed. ``contexts``
        (the speaker's previous sentence, per text) are used only by checkpoints trained with
        ``model.use_context=true``; other checkpoints ignore them."""
        texts = list(texts)
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} texts")
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        truncated = np.zeros(len(texts), dtype=bool)
        if not texts:
            return out, truncated
        ctx = (list(contexts) if contexts is not None else [""] * len(texts)) if self.use_context else None
        lengths = [len(t) + (len(ctx[i]) if ctx else 0) for i, t in enumerate(texts)]
        order = np.argsort(lengths, kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                batch = [texts[i] for i in idx]
                out[idx], truncated[idx] = self._forward(batch, [ctx[i] for i in idx] if ctx else None)
        return out, truncated

    def _forward(self, batch: list[str], contexts: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
        ids = self.tokenizer.ids(batch) if self.lite else self.tokenizer(batch, add_special_tokens=True)["input_ids"]
        trunc = np.array([len(x) > self.max_length for x in ids])
        if contexts is not None:
            if self.lite:
                ids, types = self.tokenizer.pair_ids(batch, contexts, self.max_length)
                return self.model.logits(ids, types).cpu().numpy(), trunc
            enc = self.tokenizer(batch, contexts, truncation="longest_first", max_length=self.max_length,
                                 padding=True, return_tensors="pt")
        else:
            # Truncate once ourselves (keeping the final [SEP]) so truncation is known and counted.
            ids = [x if len(x) <= self.max_length else x[: self.max_length - 1] + x[-1:] for x in ids]
            if self.lite:
                return self.model.logits(ids).cpu().numpy(), trunc
            enc = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        return self.model(**enc).logits.float().cpu().numpy(), trunc

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32, contexts: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities, shape (n_texts, n_labels), columns in ``self.labels`` order."""
        logits, _ = self.logits(texts, batch_size, contexts)
        return apply_temperature(logits, self.temperature)

    def predict(self, texts: Sequence[str] | str, batch_size: int = 32,
                contexts: Sequence[str] | None = None) -> list[Prediction]:
        """One ``Prediction`` per text: label, its probability, every label's probability, abstention."""
        if isinstance(texts, str):
            texts = [texts]
        logits, truncated = self.logits(texts, batch_size, contexts)
        return [self._prediction(p, t) for p, t in zip(apply_temperature(logits, self.temperature), truncated)]

    def _prediction(self, probs: np.ndarray, truncated: bool) -> Prediction:
        best = int(np.argmax(probs))
        score = float(probs[best])
        abstain = self.abstain_threshold is not None and score < self.abstain_threshold
        return Prediction(self.labels[best], score, {lab: float(p) for lab, p in zip(self.labels, probs)},
                          bool(abstain), bool(truncated))


