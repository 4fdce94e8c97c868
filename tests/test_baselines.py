"""The frozen-encoder baseline's sentence embeddings (sentence-transformers) against plain mean pooling."""
from __future__ import annotations

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from stance.encoders import resolve
from stance.evaluation.baselines import embed, sentence_encoder


def test_sentence_transformers_embeddings_are_normalised_mean_pooling():
    texts = ["Russia is not threatening anyone.", "All options are on the table.",
             "They will pay a heavy price for this provocation " * 20]  # longer than max_length: truncated
    path = resolve("packaged:all-MiniLM-L6-v2")
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    enc = tok(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    got = embed(sentence_encoder("packaged:all-MiniLM-L6-v2", max_length=32), texts)
    assert got.shape == (3, model.config.hidden_size)
    np.testing.assert_allclose(got, expected, atol=1e-5)
