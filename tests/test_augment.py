"""Reported-speech augmentation: the rewrite, which rows it applies to, and that it stays in training."""
from __future__ import annotations

from stance.augment import AUGMENTED_SUFFIX, augment_rows, to_reported_speech
from stance.config import compose
from stance.data import load_splits
from stance.training import training_items

from .helpers import make_records, write_jsonl


def test_first_person_plural_becomes_reported_speech():
    assert (to_reported_speech("“We will do everything in our power, and we’re ready.”", "Mr. Kirby")
            == "Mr. Kirby said that they would do everything in their power, and they were ready.")
    assert (to_reported_speech("Russia is not threatening anyone; we have no plans to attack us!", "Dmitry Peskov")
            == "Dmitry Peskov said that Russia was not threatening anyone; they had no plans to attack them.")
    # the modal keeps its verb as it is ("would do", not "would did")
    assert "they could do" in to_reported_speech("We can do more.", "A spokesman")


def test_rule_applies_only_where_it_is_safe():
    assert to_reported_speech("I will not allow it, and we agree.", "Mr. X") is None  # singular first person
    assert to_reported_speech("The talks are over.", "Mr. X") is None  # no first person
    assert to_reported_speech("We are ready.", "") is None  # no speaker
    rows = [{"id": "a", "text": "We are ready.", "speaker": "Ms. Y", "kind": "direct", "origin": "corpus"},
            {"id": "b", "text": "We are ready.", "speaker": "Ms. Y", "kind": "reported", "origin": "corpus"}]
    out = augment_rows(rows)
    assert [(r["id"], r["origin"], r["kind"]) for r in out] == [("a" + AUGMENTED_SUFFIX, "augmented", "reported")]
    assert out[0]["text"] == "Ms. Y said that they were ready."


def test_augmented_copies_are_added_to_training_items_only(tmp_path):
    rows = make_records()
    for r in rows:
        r["text"] = "We say: " + r["text"]
    data_file = write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = compose("train", [f"data.files=[{data_file}]", "data.augment_reported=true", "data.train_none_ratio=null"])
    data = load_splits(cfg.data)
    items = training_items(cfg, data)
    copies = [r for r in items if r["origin"] == "augmented"]
    originals = {r["id"]: r for r in data.dataset["train"]}
    assert copies and len(items) == len(data.dataset["train"]) + len(copies)
    for c in copies:
        source = originals[c["id"].removesuffix(AUGMENTED_SUFFIX)]
        assert c["label"] == source["label"] and c["text"].startswith(f"{source['speaker']} said that they say:")
    for split in ("validation", "test"):
        assert not any(r["origin"] == "augmented" for r in data.dataset[split])
