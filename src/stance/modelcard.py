"""The model card (``README.md`` with Hugging Face metadata) written into every checkpoint at save time."""
from __future__ import annotations

import platform
import statistics
from collections import Counter
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

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

    lines = [f"| {key} | statements | with a stance | stance macro-F1 (95% CI) | end-to-end macro-F1 (95% CI) "
             "| flag precision | flag recall |",
             "|---|---|---|---|---|---|---|"]
    for g, r in table.items():
        lines.append(f"| {g} | {r['n_statements']} | {r.get('n_stance', 0)} | {f(r.get('stance_macro_f1'))} "
                     f"({ci(r.get('stance_macro_f1_ci95'))}) | {f(r['e2e_macro_f1'])} ({ci(r['e2e_macro_f1_ci95'])}) | "
                     f"{f(r['flag_precision'])} | {f(r['flag_recall'])} |")
    return "\n".join(lines)


TEMPLATE = Path(__file__).with_name("modelcard_template.md")


def card_data(cfg, data, metrics: dict) -> ModelCardData:
    """The card's Hub metadata (YAML front matter): base model, task, tags and the test scores as a model-index."""
    test = metrics["test"]
    base_id = hub_id(cfg.model.name_or_path)
    common = {"task_type": "text-classification", "task_name": "Stance classification", "dataset_type": "stance-quotes",
              "dataset_name": f"stance {cfg.data.name} (data hash {data.data_hash})", "dataset_split": "test"}
    return ModelCardData(
        language=["en"], license="apache-2.0", library_name="transformers", pipeline_tag="text-classification",
        base_model=base_id, tags=["stance-detection", "text-classification", "political-communication"],
        model_name=f"stance-{cfg.data.name}-" + base_id.split("/")[-1],
        eval_results=[EvalResult(**common, metric_type="f1", metric_name="macro-F1", metric_value=round(test["macro_f1"], 4)),
                      EvalResult(**common, metric_type="accuracy", metric_name="accuracy", metric_value=round(test["accuracy"], 4))],
    )


def _ci(v) -> str:
    return f"{v[0]:.3f}-{v[1]:.3f}"


def write_model_card(model_dir: Path, cfg, data, metrics: dict, checkpoint_meta) -> Path:
    """Write ``README.md`` (Hub metadata and the card from ``modelcard_template.md``) into ``model_dir``;
    ``checkpoint_meta``: its ``CheckpointMeta`` (temperature, flag threshold)."""
    test, e2e = metrics["test"], metrics["test_end_to_end"]
    cb, ca = test["calibration_before"], test["calibration_after"]
    best_val = metrics["best_validation_macro_f1"]
    flag_rule = ("a stance is flagged when it is the top label and its probability reaches it, else the answer is none"
                 if "none" in data.labels else "below it the answer is none")
    card = ModelCard.from_template(
        card_data(cfg, data, metrics), template_path=str(TEMPLATE),
        labels=list(data.labels), base_model=hub_id(cfg.model.name_or_path),
        definitions=[(lab, LABEL_DEFINITIONS.get(lab, "(user-defined label)")) for lab in data.labels],
        input_format=cfg.model.input_format, temperature=f"{checkpoint_meta.temperature:.3f}",
        threshold=f"{checkpoint_meta.abstain_threshold:.3f}", flag_rule=flag_rule,
        data_files=", ".join(cfg.data.files), data_hash=data.data_hash, split_seed=cfg.data.split_seed,
        pinned=(f" Statements from {', '.join(cfg.data.test_only_sources)} are always in test."
                if cfg.data.test_only_sources else ""),
        stats_table=_stats_table(data), examples=_examples(data),
        t=cfg.trainer, seed=cfg.seed, max_length=cfg.model.max_length,
        context={"text+context": ", with the speaker's previous sentence as a second segment",
                 "text+speaker": ", with the speaker (name, role, side) as a second segment"}.get(cfg.model.input_format, ""),
        best_validation=f"{best_val:.3f}" if best_val is not None else "not measured (no evaluation step ran)",
        train_seconds=f"{metrics['train_runtime_seconds']:.0f}",
        test={"n": test["n"], "macro_f1": f"{test['macro_f1']:.3f}", "accuracy": f"{test['accuracy']:.3f}",
              "ci": _ci(test.get("macro_f1_ci95", [float("nan")] * 2))},
        e2e={"n": e2e["n"], "macro_f1": f"{e2e['macro_f1']:.3f}", "ci": _ci(e2e["macro_f1_ci95"]), "flags": e2e["flags"],
             "flag_precision": f"{e2e['flag_precision']:.1%}", "flag_recall": f"{e2e['flag_recall']:.1%}"},
        genre_table=_group_table(metrics.get("test_by_genre", {}), "genre"),
        source_table=_group_table(metrics.get("test_by_source", {}), "source"),
        per_class="\n".join(f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                            for lab, v in test["per_class"].items()),
        calibration={k: f"{cb[k]:.3f} → {ca[k]:.3f}" for k in ("ece", "nll", "brier")},
        versions=list(_versions().items()),
    )
    path = model_dir / "README.md"
    card.save(path)
    return path
