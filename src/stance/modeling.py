"""Loading the encoder with a classification head and the project's label names."""
from __future__ import annotations

from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .config import resolve_model_name


def load_encoder_for_classification(
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
