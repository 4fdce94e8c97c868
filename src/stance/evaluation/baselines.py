"""Baselines trained and scored on the same split as the fine-tuned model."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from ..config import resolve_model_name
from ..encoders import short_name
from .metrics import macro_f1


@dataclass
class BaselineResult:
    name: str
    description: str
    probs: np.ndarray | None  # (n_test, n_labels)
    pred: np.ndarray | None
    train_seconds: float
    throughput: float  # test statements per second at prediction time
    skipped: str = ""


def _timed_predict(fn, texts):
    start = time.perf_counter()
    probs = fn(texts)
    return probs, len(texts) / max(time.perf_counter() - start, 1e-9)


def _pick_c(make, X_tr, y_tr, X_va, y_va, n_labels, grid=(0.3, 1.0, 3.0, 10.0)):
    """Regularisation chosen on validation macro-F1 (never on test)."""
    best, best_c = -1.0, grid[0]
    for c in grid:
        m = make(c).fit(X_tr, y_tr)
        f = macro_f1(y_va, m.predict(X_va), n_labels)
        if f > best:
            best, best_c = f, c
    return best_c


def majority(train, val, test, n_labels, **_) -> BaselineResult:
    start = time.perf_counter()
    clf = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train["label"]), 1)), train["label"])
    t = time.perf_counter() - start
    probs, tput = _timed_predict(lambda x: _full_proba(clf, clf.predict_proba(np.zeros((len(x), 1))), n_labels), test["text"])
    return BaselineResult("majority", "most frequent training label", probs, probs.argmax(1), t, tput)


def tfidf(train, val, test, n_labels, **_) -> BaselineResult:
    def make(c):
        feats = FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ])
        return make_pipeline(feats, LogisticRegression(C=c, max_iter=2000, class_weight="balanced"))

    start = time.perf_counter()
    c = _pick_c(make, train["text"], train["label"], val["text"], val["label"], n_labels)
    clf = make(c).fit(train["text"], train["label"])
    t = time.perf_counter() - start
    probs, tput = _timed_predict(lambda x: _full_proba(clf, clf.predict_proba(x), n_labels), test["text"])
    return BaselineResult("tfidf_lr", f"TF-IDF word 1-2 + char 2-5 grams, logistic regression (C={c} on validation)",
                          probs, probs.argmax(1), t, tput)


def sentence_encoder(name_or_path: str, max_length: int = 128):
    """The frozen encoder as a ``SentenceTransformer`` (its own pooling, mean for MiniLM; a folder without
    sentence-transformers modules gets mean pooling), statements truncated to ``max_length`` tokens."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model_name(name_or_path), device="cpu")
    model.max_seq_length = max_length
    return model


def embed(model, texts, batch_size: int = 64) -> np.ndarray:
    """L2-normalised sentence embeddings, one row per text."""
    return model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                        show_progress_bar=False)


def frozen_lr(train, val, test, n_labels, encoder_name: str, max_length: int = 128, **_) -> BaselineResult:
    start = time.perf_counter()  # loading the encoder counts as training time
    try:
        enc = sentence_encoder(encoder_name, max_length)
    except ImportError as exc:  # sentence-transformers comes with the setfit extra: pip install 'stance[setfit]'
        return BaselineResult("frozen_encoder_lr", "frozen encoder + logistic regression (not run)", None, None, 0.0, 0.0,
                              skipped=f"sentence-transformers not installed ({exc})")
    X_tr, X_va = embed(enc, train["text"]), embed(enc, val["text"])

    def make(c):
        return LogisticRegression(C=c, max_iter=2000, class_weight="balanced")

    c = _pick_c(make, X_tr, train["label"], X_va, val["label"], n_labels)
    clf = make(c).fit(X_tr, train["label"])
    t = time.perf_counter() - start
    probs, tput = _timed_predict(lambda x: _full_proba(clf, clf.predict_proba(embed(enc, x)), n_labels), test["text"])
    return BaselineResult("frozen_encoder_lr", f"frozen {short_name(encoder_name)} mean-pooled embeddings + logistic regression (C={c})",
                          probs, probs.argmax(1), t, tput)


def setfit(train, val, test, n_labels, encoder_name: str, iterations: int = 2, epochs: int = 1, seed: int = 42,
           max_length: int = 128, **_) -> BaselineResult:
    try:
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments
    except ImportError as exc:  # optional extra: pip install 'stance[setfit]'
        return BaselineResult("setfit", "SetFit (not run)", None, None, 0.0, 0.0, skipped=f"setfit not installed ({exc})")
    start = time.perf_counter()
    model = SetFitModel.from_pretrained(resolve_model_name(encoder_name))
    model.model_body.max_seq_length = max_length
    ds = Dataset.from_dict({"text": list(train["text"]), "label": list(train["label"])})
    with tempfile.TemporaryDirectory() as tmp:  # SetFit's own checkpoints (pickles) never reach the user's folder
        args = TrainingArguments(output_dir=tmp, save_strategy="no", batch_size=16, num_epochs=epochs,
                                 num_iterations=iterations, seed=seed, report_to="none", show_progress_bar=False)
        Trainer(model=model, args=args, train_dataset=ds).train()
    t = time.perf_counter() - start
    probs, tput = _timed_predict(
        lambda x: _full_proba(model.model_head, np.asarray(model.predict_proba(list(x), as_numpy=True)), n_labels), test["text"])
    description = f"SetFit, same encoder {short_name(encoder_name)} ({iterations} pair iterations, {epochs} epoch, logistic head)"
    return BaselineResult("setfit", description, probs, probs.argmax(1), t, tput)


def _full_proba(clf, probs: np.ndarray, n_labels: int) -> np.ndarray:
    """Columns for every label, also those absent from training."""
    full = np.zeros((probs.shape[0], n_labels))
    full[:, np.asarray(clf.classes_, dtype=int)] = probs
    return full


REGISTRY = {"majority": majority, "tfidf": tfidf, "frozen_lr": frozen_lr, "setfit": setfit}
