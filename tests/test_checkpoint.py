"""The checkpoint's metadata (stance_config.json) reads what every version wrote, and writes it back the same."""
from __future__ import annotations

import pytest

from stance.checkpoint import CheckpointMeta

LABELS = ["reassure", "threaten", "dismiss", "none"]


def test_metadata_round_trips_with_the_keys_earlier_versions_wrote():
    meta = CheckpointMeta(labels=LABELS, temperature=1.7, abstain_threshold=0.42, abstain_target_coverage=0.9,
                          max_length=96, input_format="text+speaker", base_model="packaged:all-MiniLM-L6-v2",
                          data_hash="78ed63480c05", seed=42)
    obj = meta.to_json()
    assert list(obj) == ["labels", "temperature", "abstain_threshold", "abstain_rule", "abstain_target_coverage",
                         "max_length", "input_format", "use_context", "base_model", "data_hash", "seed"]
    assert obj["abstain_rule"].startswith("flag the top stance") and obj["use_context"] is False
    assert CheckpointMeta.from_json(obj, LABELS) == meta
    three = CheckpointMeta(labels=LABELS[:3], input_format="text+context").to_json()
    assert three["abstain_rule"].startswith("none when") and three["use_context"] is True


def test_older_and_plain_checkpoints_read_with_their_defaults():
    old = CheckpointMeta.from_json({"labels": LABELS[:3], "temperature": 2.0, "use_context": True, "note": "kept"}, LABELS[:3])
    assert old.input_format == "text+context" and old.temperature == 2.0 and old.max_length == 128
    assert old.extra == {"note": "kept"} and old.to_json()["note"] == "kept"
    plain = CheckpointMeta.from_json({}, ["neg", "pos"])  # a Hugging Face folder without stance_config.json
    assert (plain.labels, plain.temperature, plain.abstain_threshold, plain.input_format) == (["neg", "pos"], 1.0, None, "text")
    with pytest.raises(ValueError, match="input format"):
        CheckpointMeta.from_json({"input_format": "text+image"}, LABELS)
