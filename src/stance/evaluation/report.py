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

from ..calibration import apply_temperature
from ..data import checkpoint_splits
from ..inference import StanceClassifier
from . import plots
from .baselines import REGISTRY
from .metrics import calibration_before_after, classification_metrics, held_out_scores, reliability_bins, risk_coverage

log = logging.getLogger(__name__)

TARGET_F1 = 0.80
TARGET_OVER_TFIDF = 0.10


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
    ckpt_metrics = json.loads((model_path / "metrics.json").read_text()) if (model_path / "metrics.json").is_file() else {}
    data = checkpoint_splits(model_path, cfg.data_files, cfg.allow_data_mismatch)
    if list(data.labels) != labels:
        raise ValueError(f"{model_path}: checkpoint labels {labels} differ from its data config {data.labels}")
    split = cfg.split
    train, val, test = data.dataset["train"], data.dataset["validation"], data.dataset[split]
    y = np.asarray(test["label"])
    encoder = clf.meta.get("base_model", "packaged:all-MiniLM-L6-v2")
    resolved_run = model_path.resolve().parent.name
    out = Path(cfg.report_dir) if cfg.report_dir else Path(cfg.paths.reports_dir) / resolved_run
    out.mkdir(parents=True, exist_ok=True)

    # Fine-tuned model (its throughput measured the same way as the baselines').
    start = time.perf_counter()
    logits, truncated = clf.logits(test["text"], batch_size=cfg.batch_size, contexts=test["context_before"])
    tput = len(y) / max(time.perf_counter() - start, 1e-9)
    probs_raw = apply_temperature(logits, 1.0)
    probs = apply_temperature(logits, clf.temperature)
    rows = [{"name": "fine-tuned (this checkpoint)", "key": "finetuned", "probs": probs,
             "train_seconds": ckpt_metrics.get("train_runtime_seconds"), "throughput": tput,
             "description": f"{clf.meta.get('base_model', 'encoder')} fine-tuned, {model_path}"}]
    for name in cfg.baselines.enabled:
        if name not in REGISTRY:
            raise ValueError(f"unknown baseline {name!r}; known: {sorted(REGISTRY)}")
        print(f"baseline: {name} ...", file=sys.stderr)
        r = REGISTRY[name](train, val, test, len(labels), encoder_name=encoder, max_length=clf.max_length, iterations=cfg.baselines.setfit_iterations,
                           epochs=cfg.baselines.setfit_epochs, seed=cfg.seed)
        rows.append({"name": r.name, "key": r.name, "probs": r.probs, "train_seconds": r.train_seconds,
                     "throughput": r.throughput, "description": r.description, "skipped": r.skipped})

    results = {}
    for r in rows:
        if r["probs"] is None:
            results[r["key"]] = {"name": r["name"], "skipped": r.get("skipped", "")}
            continue
        m = held_out_scores(y, r["probs"], labels, cfg.baselines.bootstrap_samples, seed=cfg.seed)
        m.update(name=r["name"], description=r["description"], train_seconds=r["train_seconds"], throughput=r["throughput"])
        results[r["key"]] = m
        r.update(macro_f1=m["macro_f1"], ci=m["macro_f1_ci95"])

    ft = results["finetuned"]
    cal = calibration_before_after(logits, y, clf.temperature, cfg.ece_bins)

    # Abstention: the `none` items of the same split against the stance items kept.
    none_ds = data.others[split].filter(lambda r: r["label_name"] == "none")
    thr = clf.abstain_threshold if clf.abstain_threshold is not None else 0.0
    conf_stance = probs.max(1)
    if len(none_ds):
        conf_none = apply_temperature(clf.logits(none_ds["text"], batch_size=cfg.batch_size, contexts=none_ds["context_before"])[0], clf.temperature).max(1)
    else:
        conf_none = np.zeros(0)
    grid = np.linspace(1 / len(labels), 1, 101)
    cov_curve = [(conf_stance >= t).mean() for t in grid]
    abst_curve = [(conf_none < t).mean() if len(conf_none) else float("nan") for t in grid]
    kept = conf_stance >= thr
    abstention = {
        "threshold": thr,
        "stance_coverage": float(kept.mean()) if len(kept) else float("nan"),
        "macro_f1_on_kept": classification_metrics(y[kept], probs.argmax(1)[kept], labels)["macro_f1"] if kept.any() else float("nan"),
        "none_items": int(len(conf_none)),
        "none_abstained": float((conf_none < thr).mean()) if len(conf_none) else float("nan"),
    }

    # Breakdown by source.
    by_source = {}
    sources = np.asarray(test["source"])
    for src in sorted(set(sources.tolist())):
        m = sources == src
        by_source[src] = classification_metrics(y[m], probs.argmax(1)[m], labels)

    figs = {
        "comparison": plots.model_comparison(rows, out / "models.png", split),
        "confusion": plots.confusion(ft["confusion_matrix"], labels, out / "confusion_matrix.png", f"Fine-tuned, {split}"),
        "reliability": plots.reliability(reliability_bins(probs_raw, y, cfg.ece_bins), reliability_bins(probs, y, cfg.ece_bins),
                                         out / "reliability.png", split),
        "risk": plots.risk_coverage({r["name"]: risk_coverage(r["probs"], y) for r in rows if r["probs"] is not None},
                                    out / "risk_coverage.png", split),
        "abstention": plots.abstention(grid, cov_curve, abst_curve, thr, out / "abstention.png", split),
    }

    targets = _targets(results)
    summary = {
        "checkpoint": str(model_path), "checkpoint_resolved": str(model_path.resolve()), "data_hash": data.data_hash,
        "base_model": clf.meta.get("base_model"),
        "split": split, "n": int(len(y)), "labels": labels, "command": _command(cfg),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "models": {k: {kk: vv for kk, vv in v.items()} for k, v in results.items()},
        "calibration": {"temperature": clf.temperature, **cal},
        "abstention": abstention, "by_source": by_source, "targets": targets,
        "truncated_items": int(truncated.sum()), "ece_bins": cfg.ece_bins,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (out / "report.md").write_text(_markdown(summary, figs, data, out))
    if run_dir:
        (Path(run_dir) / "report_path.txt").write_text(str(out) + "\n")
    return out / "report.md"


def _targets(results: dict) -> list[dict]:
    ft = results["finetuned"]["macro_f1"]
    out = [{"target": f"fine-tuned macro-F1 >= {TARGET_F1:.2f}", "value": ft, "met": ft >= TARGET_F1}]
    if "macro_f1" in results.get("tfidf_lr", {}):
        tf = results["tfidf_lr"]["macro_f1"]
        out.append({"target": f"fine-tuned >= TF-IDF + {TARGET_OVER_TFIDF:.2f}", "value": ft - tf, "met": ft - tf >= TARGET_OVER_TFIDF})
    if "macro_f1" in results.get("setfit", {}):
        sf = results["setfit"]["macro_f1"]
        out.append({"target": "fine-tuned >= SetFit (same encoder)", "value": ft - sf, "met": ft >= sf})
    return out


def _fmt(x, spec=".3f"):
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _markdown(s: dict, figs: dict, data, out: Path) -> str:
    labels = s["labels"]
    lines = [
        f"# Evaluation report: {Path(s['checkpoint_resolved']).parent.name}", "",
        f"- checkpoint: `{s['checkpoint']}` (`{s['checkpoint_resolved']}`)",
        f"- data: hash `{s['data_hash']}`, split `{s['split']}` ({s['n']} statements labelled {', '.join(labels)})",
        f"- reproduce: `{s['command']}`",
        f"- date: {s['date']}", "",
        f"## Models on the same {s['split']} split", "",
        "| model | macro-F1 | 95% CI (bootstrap) | accuracy | training time (s) | throughput (statements/s) |",
        "|---|---|---|---|---|---|",
    ]
    for m in s["models"].values():
        if m.get("skipped") is not None and "macro_f1" not in m:
            lines.append(f"| {m['name']} | skipped: {m['skipped']} | | | | |")
            continue
        best = m["macro_f1"] == max(v.get("macro_f1", -1) for v in s["models"].values())
        f1 = f"**{m['macro_f1']:.3f}**" if best else f"{m['macro_f1']:.3f}"
        lines.append(f"| {m['name']} | {f1} | {m['macro_f1_ci95'][0]:.3f}-{m['macro_f1_ci95'][1]:.3f} | {m['accuracy']:.3f} | "
                     f"{_fmt(m['train_seconds'], '.1f')} | {_fmt(m['throughput'], '.0f')} |")
    lines += ["", "Baselines: " + "; ".join(f"**{m['name']}**: {m.get('description', '')}" for k, m in s["models"].items()
                                            if k != "finetuned" and "macro_f1" in m) + ".",
              "Training time of the fine-tuned model is read from its checkpoint; throughput is measured here, on this machine, in this run.",
              "", f"![models]({figs['comparison']})", "", "## Targets", ""]
    for t in s["targets"]:
        lines.append(f"- {'met' if t['met'] else '**missed**'}: {t['target']} (value {t['value']:+.3f})")
    ft = s["models"]["finetuned"]
    lines += ["", "## Fine-tuned model per class", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, v in ft["per_class"].items():
        lines.append(f"| {lab} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for lab, row in zip(labels, ft["confusion_matrix"]):
        lines.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
    c = s["calibration"]
    lines += ["", f"![confusion matrix]({figs['confusion']})", "",
              "## Calibration", "",
              f"Temperature {c['temperature']:.3f}, fitted on validation. On {s['split']}:", "",
              f"| | ECE ({s['ece_bins']} bins) | NLL | Brier |", "|---|---|---|---|",
              f"| before (T=1) | {c['before']['ece']:.3f} | {c['before']['nll']:.3f} | {c['before']['brier']:.3f} |",
              f"| after | {c['after']['ece']:.3f} | {c['after']['nll']:.3f} | {c['after']['brier']:.3f} |",
              "", f"![reliability]({figs['reliability']})", "", f"![risk-coverage]({figs['risk']})", ""]
    a = s["abstention"]
    lines += ["## Abstention", "",
              f"Threshold {a['threshold']:.3f} (chosen on validation to keep its target coverage of stance statements). "
              f"On {s['split']} it keeps {a['stance_coverage']:.1%} of stance statements (macro-F1 on those kept "
              f"{_fmt(a['macro_f1_on_kept'])}) and abstains on {_fmt(a['none_abstained'], '.1%')} of the "
              f"{a['none_items']} statements labelled `none` (no stance), which the model was never trained on.", "",
              f"![abstention]({figs['abstention']})", "",
              "## By source", "", "| source | n | macro-F1 | accuracy |", "|---|---|---|---|"]
    for src, m in s["by_source"].items():
        lines.append(f"| {src} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} |")
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
