"""A smoke training run writes a complete, pickle-free checkpoint that reloads exactly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from stance import StanceClassifier
from stance.checkpoint import read_meta


def test_checkpoint_folder_is_complete_and_pickle_free(smoke_run):
    model_dir = Path(smoke_run["model_dir"])
    names = {p.name for p in model_dir.iterdir()}
    for required in ("model.safetensors", "config.json", "tokenizer.json", "stance_config.json", "metrics.json",
                     "config.yaml", "README.md"):
        assert required in names, required
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle"))]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["id2label"] == {"0": "reassure", "1": "threaten", "2": "dismiss", "3": "none"}
    assert config["label2id"] == {"reassure": 0, "threaten": 1, "dismiss": 2, "none": 3}
    meta = json.loads((model_dir / "stance_config.json").read_text())
    assert meta["input_format"] == "text+speaker" and meta["labels"][-1] == "none"
    assert meta == smoke_run["result"].meta.to_json()  # what train() returns is what it saved
    resolved = yaml.safe_load((model_dir / "config.yaml").read_text())
    assert resolved["trainer"]["max_steps"] == 4 and resolved["data"]["files"] == [str(smoke_run["data_file"])]


def test_metrics_are_on_held_out_test(smoke_run):
    from stance.data import checkpoint_splits

    m = json.loads((Path(smoke_run["model_dir"]) / "metrics.json").read_text())
    data = checkpoint_splits(smoke_run["model_dir"])
    test_ids = {r["id"] for r in data.dataset["test"]}
    trained_docs = {r["doc"] for s in ("train", "validation") for r in data.dataset[s]}
    assert test_ids and not {r["doc"] for r in data.dataset["test"]} & trained_docs
    test_names = data.dataset["test"]["label_name"]
    assert m["test"]["n"] == sum(n != "none" for n in test_names)  # the three-way stance task
    assert m["test_end_to_end"]["n"] == len(test_ids) == m["n_examples"]["test"]  # every test statement
    assert 0 <= m["test_end_to_end"]["flag_precision"] <= 1 and 0 <= m["test_end_to_end"]["flag_recall"] <= 1
    assert set(m["test_by_genre"]) <= {"transcript", "speech", "statement", "reported", "news"}
    assert sum(g["n_statements"] for g in m["test_by_source"].values()) == len(test_ids)
    assert m == smoke_run["result"].metrics
    lo, hi = m["test"]["macro_f1_ci95"]
    assert 0.0 <= lo <= hi <= 1.0
    # the calibration and the data hash have one home, stance_config.json (the checkpoint's metadata)
    meta = read_meta(smoke_run["model_dir"])
    assert meta.temperature > 0 and 0 <= meta.abstain_threshold <= 1 and meta.data_hash == data.data_hash
    assert not {"temperature", "abstain_threshold", "data_hash"} & set(m)


def test_model_card_has_metadata_and_sections(smoke_run):
    card = (Path(smoke_run["model_dir"]) / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["pipeline_tag"] == "text-classification"
    result = meta["model-index"][0]["results"][0]
    assert {m["name"] for m in result["metrics"]} == {"macro-F1", "accuracy"}
    for heading in ("## Labels", "## Intended uses", "## Out-of-scope uses", "## Training data", "## Framework versions",
                    "example from the training data"):
        assert heading in card


def _training_path_probs(model_dir, test) -> np.ndarray:
    """Calibrated test probabilities computed as training computed them: the training encoding
    (modeling.encode_dataset), padded batches, transformers' model, the saved temperature."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding

    from stance.calibration import apply_temperature
    from stance.modeling import encode_dataset

    meta = read_meta(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    enc = encode_dataset(test, tokenizer, meta.input_format, meta.max_length).remove_columns(["label"])
    collate = DataCollatorWithPadding(tokenizer)
    rows = [enc[i] for i in range(len(enc))]
    with torch.inference_mode():
        logits = np.concatenate([model(**collate(rows[i:i + 8])).logits.numpy() for i in range(0, len(rows), 8)])
    return apply_temperature(logits, meta.temperature)


def test_reload_reproduces_its_own_probabilities_and_scores(smoke_run):
    from stance.data import checkpoint_splits
    from stance.evaluation.metrics import score_split
    from stance.inputs import dataset_speakers

    test = checkpoint_splits(smoke_run["model_dir"]).dataset["test"]
    texts, speakers = list(test["text"]), dataset_speakers(test)
    clf = StanceClassifier.load(smoke_run["model_dir"], device="cpu")
    probs = clf.predict_proba(texts, batch_size=4, speakers=speakers)
    np.testing.assert_allclose(probs, _training_path_probs(smoke_run["model_dir"], test), atol=1e-5)
    # the reloaded checkpoint scores exactly what training saved in metrics.json
    m = json.loads((Path(smoke_run["model_dir"]) / "metrics.json").read_text())
    scores = score_split(list(test["label_name"]), probs, clf.labels, clf.abstain_threshold, seed=smoke_run["cfg"].seed,
                         groups={"genre": test["genre"], "source": test["source"]})
    for key in ("macro_f1", "accuracy", "macro_f1_ci95", "per_class"):
        assert scores["stance"][key] == m["test"][key], key
    for key in ("macro_f1", "flag_precision", "flag_recall", "confusion_matrix"):
        assert scores["end_to_end"][key] == m["test_end_to_end"][key], key
    preds = clf.predict(texts[:3], speakers=speakers[:3])
    assert all(set(p.probabilities) == {"reassure", "threaten", "dismiss", "none"} for p in preds)
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-5 for p in preds)
    never = StanceClassifier.load(smoke_run["model_dir"], device="cpu", abstain_threshold=0.0)
    assert all(p.label == max(p.probabilities, key=p.probabilities.get)
               for p in never.predict(texts, speakers=speakers))


def test_abstention_says_none_and_keeps_the_best_stance(smoke_run):
    always = StanceClassifier.load(smoke_run["model_dir"], abstain_threshold=1.01)
    never = StanceClassifier.load(smoke_run["model_dir"], abstain_threshold=0.0)
    a, n = always.predict("We will respond."), never.predict("We will respond.")
    assert a[0].abstained and a[0].label == "none"
    assert n[0].abstained == (n[0].label == "none")
    assert a[0].probabilities == n[0].probabilities
    best = max(("reassure", "threaten", "dismiss"), key=a[0].probabilities.get)
    assert a[0].stance == n[0].stance == best and a[0].stance_score == a[0].probabilities[best]
    assert a[0].score == 1 - a[0].stance_score >= a[0].probabilities["none"]


def test_long_statements_are_truncated_and_flagged(smoke_run):
    clf = StanceClassifier.load(smoke_run["model_dir"])
    long_text = "We will respond to any provocation with force. " * 60
    p = clf.predict([long_text, "Short."])
    assert p[0].truncated and not p[1].truncated
    # a statement that fits alone but not with its speaker segment is cut too, and flagged
    n = len(clf._ids(["x"])[0])  # [CLS] x [SEP]
    words = "force " * (clf.max_length - n - 2)
    alone = clf.predict([words])[0]
    with_speaker = clf.predict([words], speakers=["Dmitry Peskov, Kremlin spokesman, Russian Federation"])[0]
    assert not alone.truncated and with_speaker.truncated


def test_aggregate_sweep_means_and_seed_ensemble(smoke_run, tmp_path):
    import shutil

    from stance.evaluation.sweep import aggregate, seed_ensemble

    sweep = tmp_path / "sweep"
    for run in ("seed=1", "seed=2"):
        shutil.copytree(smoke_run["model_dir"], sweep / run / "model")
    report = aggregate(sweep, tmp_path / "reports")
    summary = json.loads((report.parent / "summary.json").read_text())
    single = json.loads((Path(smoke_run["model_dir"]) / "metrics.json").read_text())["test"]
    assert summary["n_runs"] == 2 and summary["metrics"]["test macro-F1"]["std"] == 0.0
    assert summary["command"].startswith("unknown")  # copied folders: no multirun.yaml to read the command from
    # two copies of one model: their average predicts exactly what the model does
    assert summary["seed_ensemble"]["n_models"] == 2
    assert summary["seed_ensemble"]["macro_f1"] == pytest.approx(single["macro_f1"])
    assert "Seed ensemble" in report.read_text()

    # a run with another split seed has another test split: refused, and the mean/std table still written
    import yaml

    cfg_path = sweep / "seed=2" / "model" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["data"]["split_seed"] += 1
    cfg_path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="seed=2"):
        seed_ensemble([sweep / "seed=1" / "model", sweep / "seed=2" / "model"])
    report = aggregate(sweep, tmp_path / "reports")
    summary = json.loads((report.parent / "summary.json").read_text())
    assert "seed=2" in summary["seed_ensemble"]["skipped"] and summary["n_runs"] == 2
    assert "Seed ensemble not scored" in report.read_text()


def test_model_card_loads_with_huggingface_hub_and_names_no_local_model_path(smoke_run):
    from huggingface_hub import ModelCard

    model_dir = Path(smoke_run["model_dir"])
    card = ModelCard.load(model_dir / "README.md")
    assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert [r.metric_name for r in card.data.eval_results] == ["macro-F1", "accuracy"]
    assert card.data.eval_results[0].metric_value == round(smoke_run["result"].metrics["test"]["macro_f1"], 4)
    assert str(model_dir) not in card.text and str(model_dir.parent) not in card.text  # the reader's path, not the trainer's
    assert 'StanceClassifier.load("path/to/this/folder")' in card.text
