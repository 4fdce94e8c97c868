"""Distillation: the teacher's probabilities as data (stance teacher), their checks, the loss, and a
distilled smoke run that records its teacher."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from stance.distillation import META_FILE, PROBS_FILE, TeacherError, TeacherProbabilities, distillation_loss

LABELS = ["reassure", "threaten", "dismiss", "none"]


def test_loss_is_cross_entropy_at_alpha_one_and_with_one_hot_teacher():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    ce = torch.nn.functional.cross_entropy(logits, y)
    uniform = torch.full((6, 4), 0.25)
    assert torch.allclose(distillation_loss(logits, y, uniform, alpha=1.0), ce)
    one_hot = torch.nn.functional.one_hot(y, 4).float()
    assert torch.allclose(distillation_loss(logits, y, one_hot, alpha=0.0), ce, atol=1e-6)
    # the soft part pulls the student towards the teacher: lower when the student agrees with it
    teacher = torch.softmax(torch.randn(6, 4), -1)
    near = distillation_loss(torch.log(teacher), y, teacher, alpha=0.0)
    far = distillation_loss(-torch.log(teacher), y, teacher, alpha=0.0)
    assert near < far


def _write(folder: Path, probs: dict, labels=LABELS, data_hash="abc") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_FILE).write_text(json.dumps({"labels": labels, "data_hash": data_hash, "teachers": []}))
    (folder / PROBS_FILE).write_text("".join(json.dumps({"id": k, "probs": v}) + "\n" for k, v in probs.items()))
    return folder


def test_teacher_probabilities_are_checked(tmp_path):
    ok = _write(tmp_path / "ok", {"a": [0.7, 0.1, 0.1, 0.1], "b": [0.25] * 4})
    t = TeacherProbabilities.load(ok, LABELS, "abc")
    assert t.for_ids(["b", "a"]) == [[0.25] * 4, [0.7, 0.1, 0.1, 0.1]]
    with pytest.raises(TeacherError, match="no teacher probabilities for 1 training"):
        t.for_ids(["a", "zzz"])
    with pytest.raises(TeacherError, match="run `make teacher` again"):
        TeacherProbabilities.load(ok, LABELS, "other-hash")
    with pytest.raises(TeacherError, match="teacher labels"):
        TeacherProbabilities.load(ok, ["reassure", "threaten", "dismiss"], "abc")
    bad = _write(tmp_path / "bad", {"a": [0.7, 0.1, 0.1, 0.1], "b": [0.5, 0.5, 0.5, 0.5]})
    with pytest.raises(TeacherError, match=rf"{PROBS_FILE}:2: probs must be 4 non-negative numbers summing to 1"):
        TeacherProbabilities.load(bad, LABELS)
    broken = _write(tmp_path / "broken", {"a": [0.7, 0.1, 0.1, 0.1]})
    with (broken / PROBS_FILE).open("a") as fh:
        fh.write("\n{not json\n")
    with pytest.raises(TeacherError, match=rf"{PROBS_FILE}:3: not a JSON line"):
        TeacherProbabilities.load(broken, LABELS)
    with pytest.raises(TeacherError, match="missing"):
        TeacherProbabilities.load(tmp_path / "nowhere", LABELS)


@pytest.mark.slow
def test_teacher_command_then_a_distilled_run(smoke_run, tmp_path):
    """``stance teacher`` writes the smoke model's own calibrated probabilities for every statement; a run
    distilled from them records the teacher's weights hash, and a changed data file is refused."""
    from stance.cli import main
    from stance.config import compose
    from stance.data import checkpoint_splits
    from stance.inference import StanceClassifier
    from stance.inputs import dataset_speakers
    from stance.training import train

    model = Path(smoke_run["model_dir"])
    out = tmp_path / "teacher"
    assert main(["teacher", str(model), "--output", str(out)]) == 0
    meta = json.loads((out / META_FILE).read_text())
    data = checkpoint_splits(model)
    n = sum(len(data.dataset[s]) + len(data.others[s]) for s in ("train", "validation", "test"))
    assert meta["n_statements"] == n and meta["data_hash"] == data.data_hash and len(meta["teachers"]) == 1
    teacher = TeacherProbabilities.load(out, data.labels, data.data_hash)
    test = data.dataset["test"]
    expected = StanceClassifier.load(model).predict_proba(test["text"], contexts=test["context_before"],
                                                          speakers=dataset_speakers(test))
    np.testing.assert_allclose(teacher.for_ids(list(test["id"])), expected, atol=1e-5)

    cfg = compose("train", ["experiment=smoke", f"data.files=[{smoke_run['data_file']}]", "trainer.num_threads=2",
                            f"distill.teacher={out}", "distill.alpha=0.5"])
    result = train(cfg, tmp_path / "student")
    student = json.loads((Path(result.model_dir) / "stance_config.json").read_text())
    assert student["distilled_from"]["teachers"][0]["weights_sha256"] == meta["teachers"][0]["weights_sha256"]

    changed = tmp_path / "changed.jsonl"
    changed.write_text(Path(smoke_run["data_file"]).read_text() + "\n")
    cfg2 = compose("train", ["experiment=smoke", f"data.files=[{changed}]", f"distill.teacher={out}"])
    with pytest.raises(TeacherError, match="run `make teacher` again on the current data"):
        train(cfg2, tmp_path / "stale")
