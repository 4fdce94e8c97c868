"""Loading a saved checkpoint and predicting stances: ``StanceClassifier.load(path).predict(texts)``."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from . import checkpoint
from .calibration import apply_temperature
from .checkpoint import NONE, CheckpointMeta
from .inputs import second_segments
from .lite import LiteBert


def set_num_threads(n: int | None) -> None:
    """Torch's process-wide thread count (a global: set by a program's entry point, not by a library
    call); ``None`` or 0 leaves it as it is."""
    if n:
        torch.set_num_threads(n)


@dataclass
class Prediction:
    """One statement's answer. ``label`` is the stance, or ``none`` when the model finds no stance
    (its ``none`` class wins, or the best stance's probability is under the abstention threshold);
    ``stance`` and ``stance_score`` keep the best of the three stances either way."""

    label: str  # reassure / threaten / dismiss, or none
    score: float  # the probability of ``label``; for ``none``: 1 - stance_score (the mass not on the best stance)
    probabilities: dict[str, float]
    abstained: bool = False  # True when ``label`` is none
    truncated: bool = False
    stance: str = ""  # the most probable stance, kept beside a ``none``
    stance_score: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class StanceClassifier:
    """A fine-tuned stance model with its calibration (temperature) and abstention threshold.

    Two runtimes compute the same logits: transformers' model classes, and, for BERT checkpoints on
    CPU, :mod:`stance.lite` (the same forward pass without importing transformers' model code,
    which halves a cold start). ``runtime="auto"`` picks lite where it applies. The checkpoint's
    files and metadata belong to :mod:`stance.checkpoint`; ``meta`` is its :class:`CheckpointMeta`."""

    def __init__(self, model, tokenizer, meta: CheckpointMeta, *, abstain_threshold: float | None = None,
                 device: str | torch.device | None = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.lite = isinstance(model, LiteBert)
        self.model = model if self.lite else model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.meta = meta
        self.labels = list(meta.labels)
        self.temperature = float(meta.temperature)
        self.abstain_threshold = abstain_threshold if abstain_threshold is not None else meta.abstain_threshold
        self.max_length = meta.max_length
        self.input_format = meta.input_format
        self.stance_idx = [i for i, lab in enumerate(self.labels) if lab != NONE]

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | None = None,
             abstain_threshold: float | None = None, quantize: bool = False,
             runtime: str = "auto") -> StanceClassifier:
        """Load a checkpoint folder written by ``stance train`` (:func:`stance.checkpoint.load`).
        A plain Hugging Face classification checkpoint also loads (temperature 1, no abstention).
        ``abstain_threshold`` replaces the checkpoint's own. ``quantize=True`` (CPU only) converts the
        linear layers to int8 dynamic quantization: faster on CPU, with the macro-F1 change measured
        by ``make bench``. ``runtime``: ``auto``, ``lite`` (BERT checkpoints only) or ``transformers``.
        Torch's thread count is the caller's to set (:func:`set_num_threads`)."""
        loaded = checkpoint.load(path, device=device, quantize=quantize, runtime=runtime)
        return cls(loaded.model, loaded.tokenizer, loaded.meta, abstain_threshold=abstain_threshold, device=loaded.device)

    # -- scoring -------------------------------------------------------------------------------
    def logits(self, texts: Sequence[str], batch_size: int = 32, contexts: Sequence[str] | None = None,
               speakers: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits in input order, and whether each statement was truncated to the model's window.
        Batches are formed from texts sorted by length, so little padding is computed. ``speakers``
        (who said each text, e.g. "Dmitry Peskov, Kremlin spokesman") are read by checkpoints trained
        with the speaker segment, ``contexts`` (the previous sentence) by those trained with
        ``model.input_format=text+context``; a checkpoint ignores what it was not trained on."""
        texts = list(texts)
        segs = second_segments(self.input_format, len(texts), speakers=speakers, contexts=contexts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        truncated = np.zeros(len(texts), dtype=bool)
        if not texts:
            return out, truncated
        lengths = [len(t) + (len(segs[i]) if segs else 0) for i, t in enumerate(texts)]
        order = np.argsort(lengths, kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                out[idx], truncated[idx] = self._forward([texts[i] for i in idx], [segs[i] for i in idx] if segs else None)
        return out, truncated

    def _encode(self, batch: list[str], segs: list[str] | None) -> tuple[list[list[int]], list[list[int]], np.ndarray]:
        """Token ids and type ids: a single segment (truncated keeping the final [SEP]) where there is no
        second segment, a pair truncated longest-first where there is one. ``truncated`` is whether the
        input (pair included) was longer than the model's window."""
        single = self._ids(batch)
        trunc = np.array([len(x) > self.max_length for x in single])
        ids = [x if len(x) <= self.max_length else x[: self.max_length - 1] + x[-1:] for x in single]
        types = [[0] * len(x) for x in ids]
        pairs = [i for i, s in enumerate(segs or []) if s]
        if pairs:
            a, b = [batch[i] for i in pairs], [segs[i] for i in pairs]
            if self.lite:
                p_ids, p_types = self.tokenizer.pair_ids(a, b, self.max_length)
            else:
                enc = self.tokenizer(a, b, truncation="longest_first", max_length=self.max_length,
                                     return_token_type_ids=True)
                p_ids, p_types = enc["input_ids"], enc["token_type_ids"]
            seg_lengths = [len(x) for x in self._ids(b)]
            for j, i in enumerate(pairs):
                ids[i], types[i] = p_ids[j], p_types[j]
                trunc[i] = len(single[i]) + seg_lengths[j] - 1 > self.max_length  # [CLS] a [SEP] b [SEP]
        return ids, types, trunc

    def _ids(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer.ids(texts) if self.lite else self.tokenizer(texts, add_special_tokens=True)["input_ids"]

    def _forward(self, batch: list[str], segs: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
        ids, types, trunc = self._encode(batch, segs)
        if self.lite:
            return self.model.logits(ids, types).cpu().numpy(), trunc
        feats = {"input_ids": ids}
        if "token_type_ids" in self.tokenizer.model_input_names:
            feats["token_type_ids"] = types
        enc = self.tokenizer.pad(feats, return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        return self.model(**enc).logits.float().cpu().numpy(), trunc

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32, contexts: Sequence[str] | None = None,
                      speakers: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities, shape (n_texts, n_labels), columns in ``self.labels`` order."""
        logits, _ = self.logits(texts, batch_size, contexts, speakers)
        return apply_temperature(logits, self.temperature)

    def predict(self, texts: Sequence[str] | str, batch_size: int = 32, contexts: Sequence[str] | None = None,
                speakers: Sequence[str] | str | None = None) -> list[Prediction]:
        """One ``Prediction`` per text: the stance or ``none``, its probability, every label's
        probability, and the best stance kept beside a ``none``. ``speakers``: who said each text."""
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(speakers, str):
            speakers = [speakers]
        logits, truncated = self.logits(texts, batch_size, contexts, speakers)
        return self.predictions(apply_temperature(logits, self.temperature), truncated)

    def predictions(self, probs: np.ndarray, truncated: Sequence[bool]) -> list[Prediction]:
        """``Prediction`` objects from calibrated probabilities (rows in ``self.labels`` order) and the
        truncation flags of ``logits``: for callers that batch the forward pass themselves (``stance serve``)."""
        return [self._prediction(p, f, t) for p, f, t in zip(probs, self.decide(probs), truncated)]

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Final label index per row; -1 where the answer is ``none`` and the checkpoint has no none class.
        A stance is flagged when it is the most probable label and its probability reaches the threshold."""
        return decide(probs, self.labels, self.abstain_threshold)

    def _prediction(self, probs: np.ndarray, final: int, truncated: bool) -> Prediction:
        best = int(self.stance_idx[int(np.argmax(probs[self.stance_idx]))])
        stance_score = float(probs[best])
        label = NONE if final < 0 else self.labels[final]
        if label == NONE:
            score = 1.0 - stance_score  # the same for three- and four-label checkpoints, and never below P(none)
        else:
            score = float(probs[final])
        return Prediction(label, score, {lab: float(p) for lab, p in zip(self.labels, probs)},
                          label == NONE, bool(truncated), self.labels[best], stance_score)


def decide(probs: np.ndarray, labels: list[str], threshold: float | None) -> np.ndarray:
    """The end-to-end decision on calibrated probabilities: the top label, turned into ``none`` (its
    index, or -1 for a model without a none class) when it is a stance under ``threshold``."""
    probs = np.asarray(probs)
    top = probs.argmax(axis=1)
    none_idx = labels.index(NONE) if NONE in labels else -1
    if threshold is not None:
        low = (top != none_idx) & (probs[np.arange(len(top)), top] < threshold)
        top = np.where(low, none_idx, top)
    return top
