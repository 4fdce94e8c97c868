"""The behavioural suite's machinery (not a model's pass rates, which go in the report)."""
from __future__ import annotations

import json

from stance.evaluation.behaviour import build_suite, run_suite
from stance.inference import Prediction

from .helpers import ROOT

LABELS = ["reassure", "threaten", "dismiss", "none"]


class Constant:
    """A majority-class model: always the same label."""

    labels = LABELS

    def __init__(self, label: str):
        self.label = label

    def predict(self, texts, batch_size=32, speakers=None):
        probs = {lab: (0.7 if lab == self.label else 0.1) for lab in LABELS}
        return [Prediction(self.label, 0.7, probs, self.label == "none", False, "reassure", 0.1) for _ in texts]


class Oracle:
    """Answers each case's expected label, and keeps it under every perturbation."""

    labels = LABELS

    def __init__(self, suite):
        self.answer = {}
        for c in suite.cases:
            label = c.expected or "threaten"
            self.answer[(c.text, c.speaker)] = label
            if c.pair:
                self.answer[c.pair] = label

    def predict(self, texts, batch_size=32, speakers=None):
        out = []
        for t, s in zip(texts, speakers):
            lab = self.answer[(t, s)]
            probs = {x: (0.97 if x == lab else 0.01) for x in LABELS}
            out.append(Prediction(lab, 0.97, probs, lab == "none", False, lab if lab != "none" else "reassure", 0.97))
        return out


def test_a_majority_class_model_fails_the_minimum_functionality_tests():
    results = run_suite(Constant("none"))
    mft = {k: r for k, r in results.items() if r["kind"] == "MFT"}
    assert len(mft) >= 5
    assert all(r["failure_rate"] == 1.0 and not r["met"] for r in mft.values())
    # a constant model never flips a label: the invariance tests cannot catch it, which is why MFTs exist
    assert all(r["failure_rate"] == 0.0 for r in results.values() if r["kind"] == "INV")


def test_a_model_that_is_right_and_invariant_passes_everything():
    suite = build_suite()
    results = run_suite(Oracle(suite), suite)
    assert all(r["met"] and r["failure_rate"] == 0.0 for r in results.values())


def test_perturbations_change_the_form_not_the_content():
    suite = build_suite()
    inv = [c for c in suite.cases if c.kind == "INV"]
    kinds = {c.test for c in inv}
    assert kinds == {"direct quote vs reported speech", "curly vs straight quotes",
                     "actor names swapped within the same role", "casing", "trailing attribution"}
    for c in inv:
        text, pair = c.text, c.pair[0]
        assert c.pair != (text, c.speaker)  # the text, or for actor swaps at least the speaker, changes
        if c.test == "actor names swapped within the same role" and "{other}" in c.template:
            assert pair != text  # the other side's name is swapped for another state's
        if c.test == "casing":
            assert pair == text.lower()
        if c.test == "curly vs straight quotes":
            assert text.startswith("“") and pair.startswith('"') and pair.strip('"') == text.strip("“”")
        if c.test == "direct quote vs reported speech":
            assert pair.startswith(c.speaker.split(",")[0] + " said that ")
        if c.test == "trailing attribution":
            assert pair.endswith(f", {c.speaker.split(',')[0]} said.")
    flips = [c for c in suite.cases if c.test.startswith("speaker on the other side")]
    assert {c.expected for c in flips} == {"reassure", "dismiss"}


def test_a_drop_in_p_threaten_is_a_directional_failure():
    class Softer(Oracle):
        def predict(self, texts, batch_size=32, speakers=None):
            out = super().predict(texts, batch_size, speakers)
            for t, p in zip(texts, out):
                if t.endswith("or face consequences."):
                    p.probabilities = {**p.probabilities, "threaten": 0.5}
            return out

    suite = build_suite()
    results = run_suite(Softer(suite), suite)
    d = [r for r in results.values() if r["kind"] == "DIR"]
    assert d and all(r["failure_rate"] == 1.0 for r in d)


def test_no_template_is_in_the_training_data():
    texts = {json.loads(line)["text"].strip().lower() for line in (ROOT / "data" / "quotes.jsonl").read_text().splitlines()}
    suite = build_suite()
    made = {c.text.strip().lower() for c in suite.cases} | {c.pair[0].strip().lower() for c in suite.cases if c.pair}
    assert not made & texts
