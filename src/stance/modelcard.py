"""The model card (``README.md`` with Hugging Face metadata) written into every checkpoint at save time."""
from __future__ import annotations

import platform
import statistics
from collections import Counter
from pathlib import Path

import yaml

from .encoders import hub_id

LABEL_DEFINITIONS = {
    "reassure": "the speaker lowers alarm: asserts its own benign, limited, lawful, defensive or routine intent or "
                "presence, denies hostile intent, promises restraint, or offers talks to calm a dispute.",
    "threaten": "the speaker signals coercion, force, punishment or costs against another party, explicit or implied, "
                "conditional or not (warnings, ultimatums, 'all options are open', promised sanctions).",
    "dismiss": "the speaker brushes aside, rejects, denies or delegitimises the other party's claims, demands, "
               "concerns, credibility or standing ('nonsense', 'groundless', 'a puppet', 'illegitimate').",
    "none": "none of the three is the statement's main function (facts, procedure, policy description), "
            "or it is too ambiguous to call.",
}


def _versions() -> dict[str, str]:
    import datasets
    import sklearn
    import torch
    import transformers

    from . import __version__

    return {"stance": __version__, "transformers": transformers.__version__, "torch": torch.__version__,
            "datasets": datasets.__version__, "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def _stats_table(data) -> str:
    lines = ["| split | " + " | ".join(data.labels) + " | total | words (median / max) |",
             "|---" * (len(data.labels) + 3) + "|"]
    for split in ("train", "validation", "test"):
        ds = data.dataset[split]
        c = Counter(ds["label_name"])
        words = [len(t.split()) for t in ds["text"]] or [0]
        lines.append(f"| {split} | " + " | ".join(str(c[lab]) for lab in data.labels)
                     + f" | {len(ds)} | {statistics.median(words):.0f} / {max(words)} |")
    return "\n".join(lines)


def _examples(data, per_label: int = 2) -> str:
    out = []
    train = data.dataset["train"]
    for lab in data.labels:
        rows = [r for r in train if r["label_name"] == lab and r["origin"] != "authored"][:per_label]
        for r in rows:
            speaker = f" ({r['speaker']}, {r['source']})" if r["speaker"] else ""
            out.append(f"| {lab} | {r['text'].replace('|', '/')}{speaker} |")
    return "| label | example from the training data |\n|---|---|\n" + "\n".join(out)


def _group_table(table: dict, key: str) -> str:
    def f(v):
        return "-" if v is None else f"{v:.3f}"

    def ci(v):
        return "-" if not v else f"{v[0]:.3f}-{v[1]:.3f}"

    lines = [f"| {key} | statements | with a stance | stance macro-F1 (95% CI) | end-to-end macro-F1 (95% CI) | flag precision | flag recall |",
             "|---|---|---|---|---|---|---|"]
    for g, r in table.items():
        lines.append(f"| {g} | {r['n_statements']} | {r.get('n_stance', 0)} | {f(r.get('stance_macro_f1'))} "
                     f"({ci(r.get('stance_macro_f1_ci95'))}) | {f(r['e2e_macro_f1'])} ({ci(r['e2e_macro_f1_ci95'])}) | "
                     f"{f(r['flag_precision'])} | {f(r['flag_recall'])} |")
    return "\n".join(lines)


def write_model_card(model_dir: Path, cfg, data, metrics: dict, checkpoint_meta) -> Path:
    """The model card (``README.md``) of a checkpoint folder; ``checkpoint_meta``: its ``CheckpointMeta``."""
    test = metrics["test"]
    e2e = metrics["test_end_to_end"]
    base = cfg.model.name_or_path
    base_id = hub_id(base)
    meta = {
        "language": ["en"],
        "license": "apache-2.0",
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": base_id,
        "tags": ["stance-detection", "text-classification", "political-communication"],
        "model-index": [{
            "name": f"stance-{cfg.data.name}-" + base_id.split("/")[-1],
            "results": [{
                "task": {"type": "text-classification", "name": "Stance classification"},
                "dataset": {"name": f"stance {cfg.data.name} (data hash {data.data_hash})", "type": "stance-quotes",
                            "split": "test"},
                "metrics": [
                    {"type": "f1", "name": "macro-F1", "value": round(test["macro_f1"], 4)},
                    {"type": "accuracy", "name": "accuracy", "value": round(test["accuracy"], 4)},
                ],
            }],
        }],
    }
    per_class = "\n".join(
        f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for lab, v in test["per_class"].items()
    )
    lo, hi = test.get("macro_f1_ci95", [float("nan")] * 2)
    cb, ca = test["calibration_before"], test["calibration_after"]
    definitions = "\n".join(f"- **{lab}**: {LABEL_DEFINITIONS.get(lab, '(user-defined label)')}" for lab in data.labels)
    t = cfg.trainer
    pinned = (f" Statements from {', '.join(cfg.data.test_only_sources)} are always in test."
              if cfg.data.test_only_sources else "")
    context = {"text+context": ", with the speaker's previous sentence as a second segment",
               "text+speaker": ", with the speaker (name, role, side) as a second segment"}.get(cfg.model.input_format, "")
    best_val = metrics["best_validation_macro_f1"]
    best_val = f"{best_val:.3f}" if best_val is not None else "not measured (no evaluation step ran)"
    versions = "\n".join(f"- {k}: {v}" for k, v in _versions().items())
    body = f"""# Stance classifier ({', '.join(data.labels)})

Fine-tuned from `{base_id}` to tell, for a statement by an official about an international
tension, whether the speaker means to **{'**, **'.join(data.labels)}**. Written automatically by
`stance train` on save.

## Labels
{definitions}

The full codebook, with decision rules and hard cases, is `data/CODEBOOK.md` in the stance repository.

## Use
```python
from stance import StanceClassifier
clf = StanceClassifier.load("path/to/this/folder")
clf.predict(["Russia is not threatening anyone."], speakers=["Maria Zakharova, Russian Foreign Ministry"])
# -> label (a stance or none), score, probabilities, abstained, and the best stance kept beside a none
```
or, with plain Hugging Face tooling (uncalibrated probabilities, same label names; the pipeline reads the
statement alone, without the speaker segment, which the model was also trained to do):
```python
from transformers import pipeline
pipeline("text-classification", model="path/to/this/folder")("All options are on the table.")
```
`stance_config.json` holds the input format (`{cfg.model.input_format}`), the temperature (calibration,
fitted on validation: {checkpoint_meta.temperature:.3f}) and the stance-flag threshold
({checkpoint_meta.abstain_threshold:.3f}: {'a stance is flagged when it is the top label and its probability reaches it, else the answer is none' if 'none' in data.labels else 'below it the answer is none'}).

## Intended uses
Tracking the rhetoric of officials' quoted statements across many news articles, briefings and
speeches, in English, as an aid to analysts, researchers and journalists who read the flagged quotes.

## Out-of-scope uses
Judging the truth of a statement; predicting actions; moderation or decisions about people; text
that is not an official's statement about another party (social media, opinion pieces); languages
other than English. A `none` answer keeps the best stance and its probability beside it: check them
when recall matters more than precision.

## Training data
`{', '.join(cfg.data.files)}` (hash `{data.data_hash}`), split by source document (no document in
two splits), seed {cfg.data.split_seed}.{pinned}

{_stats_table(data)}

{_examples(data)}

## Training
Hugging Face `Trainer`, {t.num_train_epochs} epochs at most (early stopping on validation macro-F1,
patience {t.early_stopping_patience}), learning rate {t.learning_rate}, batch size {t.per_device_train_batch_size},
weight decay {t.weight_decay}, warm-up ratio {t.warmup_ratio}, class weights {t.class_weights}, seed {cfg.seed},
max length {cfg.model.max_length} tokens{context}. Best validation macro-F1 {best_val};
training took {metrics['train_runtime_seconds']:.0f} s.

## Evaluation (held-out test split)
**Stance task** ({test['n']} test statements whose gold label is a stance; the model's best stance):
macro-F1 **{test['macro_f1']:.3f}** (bootstrap 95% interval {lo:.3f}-{hi:.3f}), accuracy {test['accuracy']:.3f}.

**End to end** ({e2e['n']} test statements, stance and none mixed, as over whole articles): four-way
macro-F1 {e2e['macro_f1']:.3f} (95% interval {e2e['macro_f1_ci95'][0]:.3f}-{e2e['macro_f1_ci95'][1]:.3f});
of the {e2e['flags']} stance flags raised, {e2e['flag_precision']:.1%} are right (precision), and they find
{e2e['flag_recall']:.1%} of the stance statements (recall).

{_group_table(metrics.get('test_by_genre', {}), 'genre')}

{_group_table(metrics.get('test_by_source', {}), 'source')}

Three-way scores per class:

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

Calibration on test (temperature fitted on validation): ECE {cb['ece']:.3f} → {ca['ece']:.3f},
NLL {cb['nll']:.3f} → {ca['nll']:.3f}, Brier {cb['brier']:.3f} → {ca['brier']:.3f}.

## Limitations and biases
The labelled statements come from US White House briefings and readouts (2021-2025), UN General
Debate speeches (2014-2024), Kremlin readouts, addresses and press answers (1999-2022) and Wikinews
articles: US and Russian officials and formal diplomatic register dominate; other governments speak
mostly through news reports. Per-genre test sets are small, so their intervals are wide. Labels are one team's reading of a codebook; see the datasheet for
inter-annotator agreement.

## Framework versions
{versions}
"""
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    path = model_dir / "README.md"
    path.write_text(text)
    return path
