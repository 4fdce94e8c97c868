"""The light CPU runtime computes the same logits as transformers' model classes."""
from __future__ import annotations

import numpy as np
import pytest

from stance import StanceClassifier

TEXTS = ["Russia is not threatening anyone.", "They will pay a heavy price for this provocation.",
         "The claims are groundless nonsense, frankly.", "We will respond to any attack " * 40, "Short."]
CONTEXTS = ["", "The minister spoke first.", "", "Earlier he said that " * 30, "Yes."]


@pytest.fixture(scope="module")
def runtimes(smoke_run):
    lite = StanceClassifier.load(smoke_run["model_dir"], device="cpu")
    hf = StanceClassifier.load(smoke_run["model_dir"], device="cpu", runtime="transformers")
    return lite, hf


def test_auto_runtime_is_lite_on_cpu(runtimes):
    lite, hf = runtimes
    assert lite.lite and not hf.lite
    assert lite.labels == hf.labels == ["reassure", "threaten", "dismiss", "none"]


def test_same_logits_and_truncation_flags(runtimes):
    lite, hf = runtimes
    a, ta = lite.logits(TEXTS, batch_size=2)
    b, tb = hf.logits(TEXTS, batch_size=2)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert ta.tolist() == tb.tolist() == [False, False, False, True, False]


def test_same_logits_for_text_pairs(runtimes):
    lite, hf = runtimes
    lite.input_format = hf.input_format = "text+context"
    try:
        a, _ = lite.logits(TEXTS, contexts=CONTEXTS)
        b, _ = hf.logits(TEXTS, contexts=CONTEXTS)
    finally:
        lite.input_format = hf.input_format = "text"
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_same_logits_for_speaker_segments_some_missing(runtimes):
    """Speakers as the second segment; an empty speaker is a single-segment input in both runtimes,
    the same logits as with no speakers at all."""
    lite, hf = runtimes
    speakers = ["Dmitry Peskov, Russia", "", "Mr. Kirby, United States", "", "Maria Zakharova"]
    lite.input_format = hf.input_format = "text+speaker"
    try:
        a, _ = lite.logits(TEXTS, speakers=speakers)
        b, _ = hf.logits(TEXTS, speakers=speakers)
        none_given, _ = lite.logits(TEXTS)
    finally:
        lite.input_format = hf.input_format = "text"
    np.testing.assert_allclose(a, b, atol=1e-4)
    plain, _ = lite.logits(TEXTS)
    empty = [i for i, s in enumerate(speakers) if not s]
    np.testing.assert_allclose(a[empty], plain[empty], atol=1e-5)
    np.testing.assert_allclose(none_given, plain, atol=1e-5)
    assert not np.allclose(a[0], plain[0], atol=1e-3)  # a speaker changes what the model reads


def test_runtime_choices_are_checked(smoke_run):
    with pytest.raises(ValueError, match="runtime"):
        StanceClassifier.load(smoke_run["model_dir"], runtime="fast")
    with pytest.raises(ValueError, match="no quantization"):
        StanceClassifier.load(smoke_run["model_dir"], runtime="lite", quantize=True)
    q = StanceClassifier.load(smoke_run["model_dir"], quantize=True)
    assert not q.lite and q.predict("We will respond.")[0].label in q.labels
