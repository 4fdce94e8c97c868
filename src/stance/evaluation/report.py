"""``stance eval``: the fine-tuned checkpoint and baselines on the same held-out split, with
bootstrap intervals, calibration, abstention, a breakdown by source, figures and a markdown report."""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

import datasets
import numpy as np
from omegaconf import OmegaConf

from ..atomic import FileLock, atomic_write_text
from ..calibration import apply_temperature
from ..checkpoint import read_metrics, read_run_config
from ..data import checkpoint_splits
from ..inference import StanceClassifier
from ..inputs import dataset_speakers
from ..training import subsample_none
from . import plots
from .baselines import REGISTRY
from .behaviour import markdown as behaviour_markdown
from .behaviour import run_suite
from .metrics import (
    calibration_before_after,
    choose_flag_threshold,
    expected_calibration_error,
    reliability_bins,
    risk_coverage,
    score_split,
    stance_view,
)

log = logging.getLogger(__name__)



def _command(cfg) -> str:
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("model_path=")]
    except ValueError:
        overrides = []
    return " ".join(["stance eval --model", str(cfg.model_path), *overrides])


def run_evaluation(cfg, run_dir: str | Path | None = None) -> Path:
    datasets.disable_progress_bars()
    model_path = Path(cfg.model_path)
    if cfg.split not in ("test", "validation"):
        raise ValueError(f"split={cfg.split!r}: evaluate on test (or validation), never on the training split")
    clf = StanceClassifier.load(model_path)
    labels = clf.labels
    ckpt_metrics = read_metrics(model_path)
    data = checkpoint_splits(model_path, cfg.data_files, cfg.allow_data_mismatch)
    if list(data.labels) != labels:
        raise ValueError(f"{model_path}: checkpoint labels {labels} differ from its data config {data.labels}")
    ckpt_cfg = read_run_config(model_path)
    split = cfg.split
    # the baselines train on the very items the checkpoint trained on: the same draw of `none` items
    train = subsample_none(data.dataset["train"], labels, ckpt_cfg.data.get("train_none_ratio"), ckpt_cfg.seed)
    val, test = data.dataset["validation"], data.dataset[split]
    names = list(test["label_name"])
    y = np.asarray(test["label"])
    encoder = clf.meta.base_model or ckpt_cfg.model.name_or_path  # the baselines read the checkpoint's encoder
    resolved_run = model_path.resolve().parent.name
    out = Path(cfg.report_dir) if cfg.report_dir else Path(cfg.paths.reports_dir) / resolved_run
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / ".lock", f"report folder {out}").acquire()  # one writer per report folder; freed at exit
    none_ds = data.others[split].filter(lambda r: r["label_name"] == "none")  # three-label checkpoints only
    speakers = dataset_speakers(test)

    # Fine-tuned model (its throughput measured the same way as the baselines').
    start = time.perf_counter()
    logits, truncated = clf.logits(test["text"], batch_size=cfg.batch_size, contexts=test["context_before"], speakers=speakers)
    tput = len(y) / max(time.perf_counter() - start, 1e-9)
    probs_raw = apply_temperature(logits, 1.0)
    probs = apply_temperature(logits, clf.temperature)
    none_probs = None
    if len(none_ds):
        none_probs = (none_ds, clf.predict_proba(none_ds["text"], cfg.batch_size, none_ds["context_before"],
                                                 dataset_speakers(none_ds)))
    rows = [{"name": "fine-tuned (this checkpoint)", "key": "finetuned", "probs": probs, "threshold": clf.abstain_threshold,
             "none_probs": none_probs, "train_seconds": ckpt_metrics.get("train_runtime_seconds"), "throughput": tput,
             "description": f"{clf.meta.base_model or 'encoder'} fine-tuned ({clf.input_format}), {model_path}"}]
    rows += _teacher_rows(clf, data, split, labels)
    for other in cfg.get("compare") or []:
        rows.append(_checkpoint_row(other, data, test, speakers, labels, cfg.batch_size))
    for name in cfg.baselines.enabled:
        if name not in REGISTRY:
            raise ValueError(f"unknown baseline {name!r}; known: {sorted(REGISTRY)}")
        print(f"baseline: {name} ...", file=sys.stderr)
        r = REGISTRY[name](train, val, test, len(labels), encoder_name=encoder, max_length=clf.max_length,
                           iterations=cfg.baselines.setfit_iterations, epochs=cfg.baselines.setfit_epochs, seed=cfg.seed)
        rows.append({"name": r.name, "key": r.name, "probs": r.probs, "threshold": None, "none_probs": None,
                     "train_seconds": r.train_seconds, "throughput": r.throughput, "description": r.description,
                     "skipped": r.skipped})

    results, by = {}, {}
    groups = {"genre": test["genre"], "source": test["source"]}
    for r in rows:
        if r["probs"] is None:
            results[r["key"]] = {"name": r["name"], "skipped": r.get("skipped", "")}
            continue
        sc = score_split(names, r["probs"], labels, r["threshold"], seed=cfg.seed, groups=groups,
                         none_probs=r["none_probs"], bootstrap_samples=cfg.baselines.bootstrap_samples)
        m = sc["stance"]
        m.update(name=r["name"], description=r["description"], train_seconds=r["train_seconds"], throughput=r["throughput"],
                 end_to_end=sc["end_to_end"])
        results[r["key"]] = m
        by[r["key"]] = sc["by"]
        r.update(macro_f1=m["macro_f1"], ci=m["macro_f1_ci95"])

    ft = results["finetuned"]
    stance_y, stance_p = stance_view(names, probs, labels)
    stance_raw = stance_view(names, probs_raw, labels)[1]
    cal = calibration_before_after(logits, y, clf.temperature, cfg.ece_bins)

    # Stance flags end to end, as a function of the flag threshold (the checkpoint's own is marked).
    grid = np.linspace(0, 0.95, 39)
    curve = []
    for t in grid:
        e = score_split(names, probs, labels, float(t), none_probs=none_probs, bootstrap_samples=0)["end_to_end"]
        curve.append((float(t), e["flag_precision"], e["flag_recall"]))

    seed_items = [i for i, src in enumerate(test["source"]) if src == "seed-article"]
    final = clf.decide(probs)
    seed_right = sum(1 for i in seed_items if (labels[final[i]] if final[i] >= 0 else "none") == names[i])
    behaviour = run_suite(clf) if cfg.behaviour else {}

    figs = {
        "comparison": plots.model_comparison(rows, out / "models.png", split),
        "confusion": plots.confusion(ft["end_to_end"]["confusion_matrix"], ["reassure", "threaten", "dismiss", "none"],
                                     out / "confusion_matrix.png", f"Fine-tuned, end to end, {split}"),
        "reliability": plots.reliability(reliability_bins(probs_raw, y, cfg.ece_bins), reliability_bins(probs, y, cfg.ece_bins),
                                         out / "reliability.png", split),
        "risk": plots.risk_coverage({r["name"]: risk_coverage(stance_view(names, r["probs"], labels)[1], stance_y)
                                     for r in rows if r["probs"] is not None}, out / "risk_coverage.png", split),
        "flags": plots.flag_curve(curve, clf.abstain_threshold, out / "stance_flags.png", split),
    }

    targets = _targets(results, by, seed_right, len(seed_items), behaviour)
    summary = {
        "checkpoint": str(model_path), "checkpoint_resolved": str(model_path.resolve()), "data_hash": data.data_hash,
        "base_model": clf.meta.base_model, "input_format": clf.input_format,
        "split": split, "n": int(len(y)), "n_stance": int(len(stance_y)), "labels": labels, "command": _command(cfg),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "models": results, "by": by,
        "calibration": {"temperature": clf.temperature, **cal,
                        "stance_view_ece": {"before": expected_calibration_error(stance_raw, stance_y, cfg.ece_bins),
                                            "after": expected_calibration_error(stance_p, stance_y, cfg.ece_bins)}},
        "flag_threshold": clf.abstain_threshold, "flag_curve": curve,
        "seed_article": {"right": seed_right, "n": len(seed_items)},
        "behaviour": behaviour, "targets": targets,
        "truncated_items": int(truncated.sum()), "ece_bins": cfg.ece_bins,
    }
    atomic_write_text(out / "metrics.json", json.dumps(summary, indent=2) + "\n")  # temp file + rename
    atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write_text(out / "report.md", _markdown(summary, figs, data, out))
    if run_dir:
        atomic_write_text(Path(run_dir) / "report_path.txt", str(out) + "\n")
    lock.release()
    return out / "report.md"


def _teacher_rows(clf, data, split: str, labels: list[str]) -> list[dict]:
    """The teacher a distilled checkpoint learned from, scored from its committed probabilities (the same
    statements; its flag threshold chosen on validation as the student's was)."""
    from ..distillation import TeacherProbabilities

    info = clf.meta.distilled_from
    if not info:
        return []
    teacher = TeacherProbabilities.load(info["teacher_probabilities"], labels, data.data_hash)
    val = data.dataset["validation"]
    threshold = (choose_flag_threshold(val["label_name"], np.asarray(teacher.for_ids(list(val["id"]), "validation")), labels)
                 if "none" in labels else None)
    probs = np.asarray(teacher.for_ids(list(data.dataset[split]["id"]), split))
    ts = teacher.meta.get("teachers", [])
    bases = sorted({_encoder_name(t.get("base_model")) for t in ts})
    return [{"name": f"teacher ({', '.join(bases)}, {len(ts)} seed{'s' if len(ts) != 1 else ''})", "key": "teacher", "probs": probs,
             "threshold": threshold, "none_probs": None, "throughput": None,
             "train_seconds": None, "description": f"probabilities from {info['teacher_probabilities']}"}]


def _encoder_name(name_or_path) -> str:
    """``all-MiniLM-L6-v2`` from ``packaged:all-MiniLM-L6-v2``, a hub name or a folder."""
    return Path(str(name_or_path).removeprefix("packaged:")).name


def _checkpoint_row(path, data, test, speakers, labels, batch_size) -> dict:
    """Another checkpoint trained on the same data (``compare=[...]``), e.g. the plain fine-tune."""
    other = StanceClassifier.load(path)
    if other.meta.data_hash != data.data_hash or other.labels != labels:
        raise ValueError(f"{path}: trained on data {other.meta.data_hash} with labels {other.labels}; "
                         f"compare needs the same data ({data.data_hash}) and labels ({labels})")
    start = time.perf_counter()
    probs = other.predict_proba(test["text"], batch_size, test["context_before"], speakers)
    tput = len(probs) / max(time.perf_counter() - start, 1e-9)
    run = read_run_config(path)
    recipe = "distilled" if (run.get("distill") or {}).get("teacher") else "gold labels"
    if (run.get("data") or {}).get("augment_reported"):
        recipe += " + reported speech"
    name = f"{_encoder_name(other.meta.base_model)}, {recipe}"
    return {"name": name, "key": f"compare:{path}", "probs": probs, "threshold": other.abstain_threshold,
            "none_probs": None, "train_seconds": read_metrics(path).get("train_runtime_seconds"), "throughput": tput,
            "description": f"{other.meta.base_model} ({other.input_format}), {path}"}


TARGETS = {"stance_macro_f1": 0.86, "over_tfidf": 0.10, "reassure_f1": 0.80, "reported_news_f1": 0.80,
           "seed_right": 11, "flag_precision": 0.80, "flag_recall": 0.75, "e2e_macro_f1": 0.75}


def _targets(results: dict, by: dict, seed_right: int, seed_n: int, behaviour: dict) -> list[dict]:
    ft = results["finetuned"]
    f1, e2e = ft["macro_f1"], ft["end_to_end"]
    out = [{"target": f"stance macro-F1 >= {TARGETS['stance_macro_f1']:.2f}", "value": f1, "met": f1 >= TARGETS["stance_macro_f1"]}]
    if "macro_f1" in results.get("tfidf_lr", {}):
        d = f1 - results["tfidf_lr"]["macro_f1"]
        out.append({"target": f"stance macro-F1 >= TF-IDF + {TARGETS['over_tfidf']:.2f}", "value": d, "met": d >= TARGETS["over_tfidf"]})
    if "macro_f1" in results.get("teacher", {}):
        d = f1 - results["teacher"]["macro_f1"]
        out.append({"target": "stance macro-F1 within 0.02 of the teacher", "value": d, "met": d >= -0.02})
    if "macro_f1" in results.get("setfit", {}):
        d = f1 - results["setfit"]["macro_f1"]
        out.append({"target": "stance macro-F1 >= SetFit (same encoder)", "value": d, "met": d >= 0})
    r = ft["per_class"]["reassure"]["f1"]
    out.append({"target": f"reassure F1 >= {TARGETS['reassure_f1']:.2f}", "value": r, "met": r >= TARGETS["reassure_f1"]})
    for g in ("reported", "news"):
        v = by["finetuned"]["genre"].get(g, {}).get("stance_macro_f1")
        if v is not None:
            out.append({"target": f"{g} genre stance macro-F1 >= {TARGETS['reported_news_f1']:.2f}", "value": v,
                        "met": v >= TARGETS["reported_news_f1"]})
    if seed_n:
        out.append({"target": f"seed article >= {TARGETS['seed_right']} of {seed_n} right end to end", "value": seed_right,
                    "met": seed_right >= TARGETS["seed_right"], "integer": True})
    out.append({"target": f"stance flags: precision >= {TARGETS['flag_precision']:.2f}", "value": e2e["flag_precision"],
                "met": e2e["flag_precision"] >= TARGETS["flag_precision"]})
    out.append({"target": f"stance flags: recall >= {TARGETS['flag_recall']:.2f}", "value": e2e["flag_recall"],
                "met": e2e["flag_recall"] >= TARGETS["flag_recall"]})
    out.append({"target": f"end-to-end four-way macro-F1 >= {TARGETS['e2e_macro_f1']:.2f}", "value": e2e["macro_f1"],
                "met": e2e["macro_f1"] >= TARGETS["e2e_macro_f1"]})
    for name, b in behaviour.items():
        out.append({"target": f"behaviour: {name} failure rate <= {b['target']:.0%}", "value": b["failure_rate"], "met": b["met"]})
    return out


def _fmt(x, spec=".3f"):
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _ci(v) -> str:
    return f"{v[0]:.3f}-{v[1]:.3f}" if v and all(np.isfinite(v)) else "-"


def _markdown(s: dict, figs: dict, data, out: Path) -> str:
    lines = [
        f"# Evaluation report: {Path(s['checkpoint_resolved']).parent.name}", "",
        f"- checkpoint: `{s['checkpoint']}` (`{s['checkpoint_resolved']}`), input `{s['input_format']}`",
        f"- data: hash `{s['data_hash']}`, split `{s['split']}`: {s['n']} statements, {s['n_stance']} with a stance",
        f"- reproduce: `{s['command']}`",
        f"- date: {s['date']}", "",
        f"## Models on the same {s['split']} split", "",
        "**Stance** is the three-way task on the statements whose gold label is a stance (each model's best stance); "
        "**end to end** is every statement, stance and none mixed, as over whole articles: four-way macro-F1, and "
        "precision/recall of stance flags (a flag is right when its stance is right). The fine-tuned model flags a "
        "stance by its validation-chosen threshold; baselines by their top label.", "",
        "| model | stance macro-F1 | 95% CI | end-to-end macro-F1 | 95% CI | flag precision | flag recall "
        "| training time (s) | statements/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    best = max(v.get("macro_f1", -1) for v in s["models"].values())
    for m in s["models"].values():
        if "macro_f1" not in m:
            lines.append(f"| {m['name']} | skipped: {m.get('skipped', '')} | | | | | | | |")
            continue
        f1 = f"**{m['macro_f1']:.3f}**" if m["macro_f1"] == best else f"{m['macro_f1']:.3f}"
        e = m["end_to_end"]
        lines.append(f"| {m['name']} | {f1} | {_ci(m['macro_f1_ci95'])} | {e['macro_f1']:.3f} | {_ci(e['macro_f1_ci95'])} | "
                     f"{_fmt(e['flag_precision'])} | {_fmt(e['flag_recall'])} | {_fmt(m['train_seconds'], '.1f')} | "
                     f"{_fmt(m['throughput'], '.0f')} |")
    lines += ["", "Baselines: " + "; ".join(f"**{m['name']}**: {m.get('description', '')}" for k, m in s["models"].items()
                                            if k != "finetuned" and "macro_f1" in m) + ".",
              "Training time of the fine-tuned model is read from its checkpoint; "
              "throughput is measured here, on this machine, in this run.",
              "", f"![models]({figs['comparison']})", "", "## Targets", ""]
    for t in s["targets"]:
        if t.get("integer"):
            v = f"{t['value']}"
        elif any(w in t["target"] for w in ("TF-IDF", "SetFit", "teacher")):
            v = f"{t['value']:+.3f}"
        else:
            v = _fmt(t["value"])
        lines.append(f"- {'met' if t['met'] else '**missed**'}: {t['target']} (value {v})")
    ft = s["models"]["finetuned"]
    lines += ["", "## Fine-tuned model per class (stance task)", "",
              "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, v in ft["per_class"].items():
        lines.append(f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    e2e_labels = ["reassure", "threaten", "dismiss", "none"]
    lines += ["", "End to end (rows: true, columns: predicted, `none` included):", "",
              "| true \\ predicted | " + " | ".join(e2e_labels) + " |", "|---" * (len(e2e_labels) + 1) + "|"]
    for lab, row in zip(e2e_labels, ft["end_to_end"]["confusion_matrix"]):
        lines.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
    lines += ["", f"![confusion matrix]({figs['confusion']})", ""]
    for key, title in (("genre", "By genre"), ("source", "By source")):
        lines += [f"## {title}", "", "Fine-tuned model; 95% bootstrap intervals; TF-IDF's stance macro-F1 beside it for scale.", "",
                  f"| {key} | statements | with a stance | stance macro-F1 | 95% CI | end-to-end macro-F1 | 95% CI "
                  "| flag precision | flag recall | TF-IDF stance macro-F1 |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        tf = s["by"].get("tfidf_lr", {}).get(key, {})
        for g, r in s["by"]["finetuned"][key].items():
            lines.append(f"| {g} | {r['n_statements']} | {r.get('n_stance', 0)} | {_fmt(r.get('stance_macro_f1'))} | "
                         f"{_ci(r.get('stance_macro_f1_ci95'))} | {_fmt(r['e2e_macro_f1'])} | {_ci(r['e2e_macro_f1_ci95'])} | "
                         f"{_fmt(r['flag_precision'])} | {_fmt(r['flag_recall'])} | {_fmt(tf.get(g, {}).get('stance_macro_f1'))} |")
        lines.append("")
    sa = s["seed_article"]
    if sa["n"]:
        lines += [f"Seed article: {sa['right']} of {sa['n']} statements right end to end.", ""]
    c = s["calibration"]
    lines += ["## Calibration", "",
              f"Temperature {c['temperature']:.3f}, fitted on validation. On {s['split']} (all labels of the checkpoint):", "",
              f"| | ECE ({s['ece_bins']} bins) | NLL | Brier | ECE, stance view |", "|---|---|---|---|---|",
              f"| before (T=1) | {c['before']['ece']:.3f} | {c['before']['nll']:.3f} | {c['before']['brier']:.3f} "
              f"| {c['stance_view_ece']['before']:.3f} |",
              f"| after | {c['after']['ece']:.3f} | {c['after']['nll']:.3f} | {c['after']['brier']:.3f} "
              f"| {c['stance_view_ece']['after']:.3f} |",
              "", f"![reliability]({figs['reliability']})", "", f"![risk-coverage]({figs['risk']})", "",
              "## Stance flags", "",
              f"A stance is flagged when it is the top label and its probability reaches the threshold "
              f"({_fmt(s['flag_threshold'])}, chosen on validation to maximise end-to-end macro-F1); otherwise the answer is "
              "`none`. Precision and recall of flags on this split as the threshold moves:", "",
              f"![stance flags]({figs['flags']})", ""]
    if s["behaviour"]:
        lines += [behaviour_markdown(s["behaviour"]), ""]
    sweep = Path(out).parent / "sweep" / "summary.json"
    sw = json.loads(sweep.read_text()) if sweep.is_file() else None
    if sw and (sw.get("base_model"), sw.get("data_hash")) != (s["base_model"], s["data_hash"]):
        lines += ["", f"(`{sweep}` is a sweep of another encoder or data ({sw.get('base_model') or 'unknown encoder'}, "
                      f"data {sw.get('data_hash') or 'unknown'}): not shown here.)"]
    elif sw:
        lines += ["", "## Across seeds", "", f"From `{sweep}` ({sw['n_runs']} seeds, `{sw['command']}`):", "",
                  "| metric | mean | std |", "|---|---|---|"]
        for k, v in sw["metrics"].items():
            lines.append(f"| {k} | {v['mean']:.3f} | {v['std']:.3f} |")
        if "macro_f1" in sw.get("seed_ensemble", {}):
            e = sw["seed_ensemble"]
            lines += ["", f"Averaging the {e['n_models']} seeds' calibrated probabilities (a seed ensemble, not the "
                      f"shipped single model): test macro-F1 {e['macro_f1']:.3f} "
                      f"(95% CI {e['macro_f1_ci95'][0]:.3f}-{e['macro_f1_ci95'][1]:.3f})."]
    lines += ["", f"Statements longer than the model window (truncated): {s['truncated_items']}.", ""]
    return "\n".join(lines)
