"""The model to fine-tune: a pretrained encoder with a fresh classification head, and the tokenized
inputs it trains on. (The *trained* model, loaded from a checkpoint folder, is
:class:`stance.inference.StanceClassifier`; the folder itself belongs to :mod:`stance.checkpoint`.)"""
from __future__ import annotations

import datasets
import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .config import resolve_model_name
from .distillation import COLUMN as TEACHER_COLUMN
from .inputs import speaker_segment


def build_classifier(
    name_or_path: str, labels: list[str], revision: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The pretrained encoder (``packaged:...``, a local folder or a hub name) with a fresh head whose
    ``config.json`` carries ``id2label``/``label2id``."""
    path = resolve_model_name(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
    model = AutoModelForSequenceClassification.from_pretrained(
        path,
        revision=revision,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
        problem_type="single_label_classification",
    )
    return model, tokenizer


def _second_segment(row: dict, fmt: str) -> str:
    if fmt == "text+speaker":
        return speaker_segment(row.get("speaker"), row.get("side"))
    if fmt == "text+context":
        return row.get("context_before") or ""
    return ""


def encode_dataset(ds: datasets.Dataset, tokenizer, fmt: str, max_length: int, dropout: float = 0.0,
                   seed: int = 0) -> datasets.Dataset:
    """Tokenize statements with their second segment (see :mod:`stance.inputs`). ``dropout``: the share
    of items whose segment is left out, so the model also reads statements without one (training only)."""
    rng = np.random.default_rng(seed)

    def tokenize(batch):
        out = {"input_ids": [], "attention_mask": [], "token_type_ids": []}
        rows = [dict(zip(batch, vals)) for vals in zip(*batch.values())]
        for row in rows:
            seg = _second_segment(row, fmt)
            if seg and dropout and rng.random() < dropout:
                seg = ""
            enc = (tokenizer(row["text"], seg, truncation="longest_first", max_length=max_length,
                             return_token_type_ids=True) if seg
                   else tokenizer(row["text"], truncation=True, max_length=max_length, return_token_type_ids=True))
            for k in out:
                out[k].append(enc.get(k, [0] * len(enc["input_ids"])))
        return out

    keep = {"input_ids", "attention_mask", "token_type_ids", "label", TEACHER_COLUMN}
    enc = ds.map(tokenize, batched=True)
    enc = enc.remove_columns([c for c in enc.column_names if c not in keep])
    if "token_type_ids" not in tokenizer.model_input_names:
        enc = enc.remove_columns(["token_type_ids"])
    return enc
