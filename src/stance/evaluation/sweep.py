"""``stance aggregate``: mean and standard deviation of test metrics over a multirun sweep (seeds),
and what averaging the seeds' calibrated probabilities (a seed ensemble) would score on the same test split."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..checkpoint import METRICS, RUN_MODEL_DIR, read_meta, read_metrics, read_run_config


def collect(sweep_dir: Path) -> list[dict]:
    runs = []
    for metrics_file in sorted(sweep_dir.glob(f"*/{RUN_MODEL_DIR}/{METRICS}")):
        m = read_metrics(metrics_file.parent)
        t = m["test"]
        flat = {"test macro-F1": t["macro_f1"], "test accuracy": t["accuracy"]}
        flat.update({f"test F1 {lab}": v["f1"] for lab, v in t["per_class"].items()})
        flat["test ECE after calibration"] = t["calibration_after"]["ece"]
        if "test_end_to_end" in m:
            e = m["test_end_to_end"]
            flat.update({"end-to-end macro-F1": e["macro_f1"], "flag precision": e["flag_precision"],
                         "flag recall": e["flag_recall"]})
        flat["best validation macro-F1"] = m["best_validation_macro_f1"]
        flat["training time (s)"] = m["train_runtime_seconds"]
        runs.append({"run": metrics_file.parents[1].name, "metrics": flat})
    return runs


def sweep_command(sweep_dir: Path) -> str:
    """The command that ran the sweep, read from Hydra's ``multirun.yaml`` in its folder."""
    from omegaconf import OmegaConf

    try:
        overrides = list(OmegaConf.load(sweep_dir / "multirun.yaml").hydra.overrides.task)
    except Exception:  # noqa: BLE001  (no or unreadable multirun.yaml: say so rather than guess)
        return f"unknown (no readable {sweep_dir / 'multirun.yaml'})"
    return " ".join(["stance train --multirun", *overrides])


def seed_ensemble(model_dirs: list[Path], bootstrap_samples: int = 1000) -> dict:
    """Test scores of the mean calibrated probabilities of ``model_dirs``: one split, rebuilt from
    the first checkpoint and required to be the one every other checkpoint was trained on."""
    from ..data import checkpoint_splits
    from ..inference import StanceClassifier
    from ..inputs import dataset_speakers
    from .metrics import stance_scores

    data = checkpoint_splits(model_dirs[0])
    test = data.dataset["test"]
    speakers = dataset_speakers(test)
    data_cfg = read_run_config(model_dirs[0]).data
    probs = []
    for d in model_dirs:
        clf = StanceClassifier.load(d)
        same_split = read_run_config(d).data == data_cfg
        if clf.meta.data_hash != data.data_hash or clf.labels != list(data.labels) or not same_split:
            raise ValueError(f"{d}: trained on other data, labels or split settings than {model_dirs[0]}; cannot average them")
        probs.append(np.asarray(clf.predict_proba(list(test["text"]), contexts=list(test["context_before"]),
                                                  speakers=speakers)))
    m = stance_scores(test["label_name"], np.mean(probs, axis=0), list(data.labels), bootstrap_samples)
    return {"n_models": len(model_dirs), "n_test": int(m["n"]), "macro_f1": m["macro_f1"], "accuracy": m["accuracy"],
            "macro_f1_ci95": m["macro_f1_ci95"], "per_class_f1": {lab: v["f1"] for lab, v in m["per_class"].items()}}


def aggregate(sweep_dir: Path, reports_dir: Path, ensemble: bool = True) -> Path:
    runs = collect(sweep_dir)
    if not runs:
        raise FileNotFoundError(f"{sweep_dir}: no */{RUN_MODEL_DIR}/{METRICS} (did the sweep finish?)")
    keys = list(runs[0]["metrics"])
    stats = {k: {"mean": float(np.mean([r["metrics"][k] for r in runs])),
                 "std": float(np.std([r["metrics"][k] for r in runs], ddof=1)) if len(runs) > 1 else 0.0,
                 "values": [r["metrics"][k] for r in runs]} for k in keys}
    out = reports_dir / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    first = read_meta(sweep_dir / runs[0]["run"] / RUN_MODEL_DIR)
    summary = {"sweep_dir": str(sweep_dir), "n_runs": len(runs), "runs": [r["run"] for r in runs],
               "command": sweep_command(sweep_dir), "base_model": first.base_model,
               "data_hash": first.data_hash, "metrics": stats}
    if ensemble and len(runs) > 1:
        try:
            summary["seed_ensemble"] = seed_ensemble([sweep_dir / r["run"] / RUN_MODEL_DIR for r in runs])
        except (OSError, ValueError) as exc:  # the mean/std table is still worth writing
            summary["seed_ensemble"] = {"skipped": str(exc)}
            print(f"warning: seed ensemble not scored: {exc}", file=sys.stderr)
    from ..atomic import atomic_write_text

    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    lines = [f"# Seed sweep: {sweep_dir}", "", f"{len(runs)} runs ({', '.join(summary['runs'])}); reproduce with `{summary['command']}`.",
             "Each run: same data split, different training seed; scores on the held-out test split.", "",
             "| metric | mean | std | per run |", "|---|---|---|---|"]
    for k, v in stats.items():
        lines.append(f"| {k} | {v['mean']:.3f} | {v['std']:.3f} | {', '.join(f'{x:.3f}' for x in v['values'])} |")
    if "skipped" in summary.get("seed_ensemble", {}):
        lines += ["", f"Seed ensemble not scored: {summary['seed_ensemble']['skipped']}"]
    elif "seed_ensemble" in summary:
        e = summary["seed_ensemble"]
        lines += ["", f"Seed ensemble (mean calibrated probabilities of the {e['n_models']} runs, one model per seed; "
                  f"not what `make train` ships): test macro-F1 {e['macro_f1']:.3f} "
                  f"(95% CI {e['macro_f1_ci95'][0]:.3f}-{e['macro_f1_ci95'][1]:.3f}), accuracy {e['accuracy']:.3f}, "
                  "F1 " + ", ".join(f"{lab} {v:.3f}" for lab, v in e["per_class_f1"].items()) + "."]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return out / "report.md"


def newest_sweep(output_dir: Path) -> Path:
    sweeps = sorted(p for p in (output_dir / "train_multirun").glob("*") if p.is_dir())
    if not sweeps:
        raise FileNotFoundError(f"no sweep under {output_dir / 'train_multirun'}; run `make sweep` first")
    return sweeps[-1]


def aggregate_command(argv: list[str]) -> int:
    from ..command_line import Command

    cmd = Command("aggregate", "aggregate", __doc__)
    cmd.add("sweep_dir", setting="sweep_dir", nargs="?", metavar="SWEEP_DIR",
            help="a multirun folder (null: the newest under paths.output_dir/train_multirun)")
    cmd.add("--outputs", setting="paths.output_dir", help="where sweeps are looked for")
    cmd.add("--reports", setting="paths.reports_dir", help="the report goes to its sweep/ folder")
    cmd.add("--no-ensemble", setting="ensemble", action="store_false",
            help="skip scoring the seed ensemble (which loads every checkpoint)")
    return cmd.run(argv, _aggregate)


def _aggregate(args, cfg) -> int:
    sweep = Path(cfg.sweep_dir) if cfg.sweep_dir else newest_sweep(Path(cfg.paths.output_dir))
    path = aggregate(sweep, Path(cfg.paths.reports_dir), ensemble=cfg.ensemble)
    print(path.read_text())
    print(f"written: {path}")
    return 0
