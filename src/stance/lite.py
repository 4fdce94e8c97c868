"""A light inference runtime for BERT-family checkpoints: the same forward pass as transformers'
``BertForSequenceClassification`` (eval mode), written with ``torch.nn.functional`` over the
checkpoint's safetensors, and the fast tokenizer from ``tokenizer.json`` via ``tokenizers``.

Why: importing transformers' model code costs more than a second on a laptop CPU, which is most of
a cold start. ``StanceClassifier`` uses this path on CPU for BERT checkpoints (``runtime="auto"``);
``tests/test_lite.py`` checks that its logits match transformers' to 1e-4.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

SUPPORTED = {"bert"}


def supports(config: dict) -> bool:
    return (config.get("model_type") in SUPPORTED and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and "BertForSequenceClassification" in (config.get("architectures") or []))


class LiteTokenizer:
    """The checkpoint's fast tokenizer without transformers: ids for single texts and text pairs."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.no_truncation()

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(texts)]

    def pair_ids(self, texts: list[str], contexts: list[str], max_length: int) -> tuple[list[list[int]], list[list[int]]]:
        self.tok.enable_truncation(max_length, strategy="longest_first")
        try:
            encs = self.tok.encode_batch(list(zip(texts, contexts)))
        finally:
            self.tok.no_truncation()
        return [e.ids for e in encs], [e.type_ids for e in encs]


class LiteBert:
    """Eval-mode forward of BertForSequenceClassification from a state dict (no dropout)."""

    def __init__(self, config: dict, weights: dict[str, torch.Tensor], device: torch.device):
        self.c = config
        self.w = {k: v.to(device) for k, v in weights.items()}
        self.device = device
        self.heads = config["num_attention_heads"]
        self.eps = config["layer_norm_eps"]
        self.pad_id = config.get("pad_token_id") or 0

    @classmethod
    def load(cls, path: Path, device: torch.device) -> LiteBert:
        from safetensors.torch import load_file

        config = json.loads((path / "config.json").read_text())
        return cls(config, load_file(str(path / "model.safetensors")), device)

    def _ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _lin(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    @torch.inference_mode()
    def logits(self, ids: list[list[int]], type_ids: list[list[int]] | None = None) -> torch.Tensor:
        n, length = len(ids), max(len(x) for x in ids)
        input_ids = torch.full((n, length), self.pad_id, dtype=torch.long)
        token_types = torch.zeros((n, length), dtype=torch.long)
        mask = torch.zeros((n, length), dtype=torch.bool)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = True
            if type_ids is not None:
                token_types[i, : len(x)] = torch.tensor(type_ids[i])
        input_ids, token_types, mask = input_ids.to(self.device), token_types.to(self.device), mask.to(self.device)
        w, p = self.w, "bert.embeddings."
        h = (F.embedding(input_ids, w[p + "word_embeddings.weight"])
             + w[p + "position_embeddings.weight"][:length].unsqueeze(0)
             + F.embedding(token_types, w[p + "token_type_embeddings.weight"]))
        h = self._ln(h, p + "LayerNorm")
        head_dim = h.shape[-1] // self.heads
        attn_mask = mask[:, None, None, :]
        for layer in range(self.c["num_hidden_layers"]):
            p = f"bert.encoder.layer.{layer}."

            def split(t):
                return t.view(n, length, self.heads, head_dim).transpose(1, 2)

            q = split(self._lin(h, p + "attention.self.query"))
            k = split(self._lin(h, p + "attention.self.key"))
            v = split(self._lin(h, p + "attention.self.value"))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=1.0 / math.sqrt(head_dim))
            ctx = ctx.transpose(1, 2).reshape(n, length, -1)
            h = self._ln(self._lin(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
            inter = F.gelu(self._lin(h, p + "intermediate.dense"))
            h = self._ln(self._lin(inter, p + "output.dense") + h, p + "output.LayerNorm")
        pooled = torch.tanh(self._lin(h[:, 0], "bert.pooler.dense"))
        return self._lin(pooled, "classifier").float()
