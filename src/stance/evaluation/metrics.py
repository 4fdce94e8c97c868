"""Classification, uncertainty and calibration metrics (scikit-learn where it has them)."""
from __future__ import annotations

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    out = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "macro_f1": macro_f1(y_true, y_pred, len(labels)),
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=idx).tolist(),
    }
    return out


def held_out_scores(y_true, probs: np.ndarray, labels: list[str], bootstrap_samples: int = 1000, seed: int = 0) -> dict:
    """What every model gets on a held-out split: ``classification_metrics`` of its top label, plus
    the percentile bootstrap 95% interval of macro-F1 (``macro_f1_ci95``)."""
    pred = np.asarray(probs).argmax(1)
    m = classification_metrics(y_true, pred, labels)
    m["macro_f1_ci95"] = list(bootstrap_ci(y_true, pred, len(labels), bootstrap_samples, seed=seed))
    return m


def calibration_before_after(logits: np.ndarray, y_true, temperature: float, n_bins: int = 5) -> dict:
    """ECE, NLL and Brier of softmax(logits) (``before``) and of softmax(logits / T) (``after``)."""
    from ..calibration import apply_temperature

    return {"before": calibration_metrics(apply_temperature(logits, 1.0), y_true, n_bins),
            "after": calibration_metrics(apply_temperature(logits, temperature), y_true, n_bins)}


def macro_f1(y_true, y_pred, n_labels: int) -> float:
    """Macro-F1 over the labels that occur (in truth or prediction): a label absent from a small subset
    (one source, one bootstrap sample) is not counted as an F1 of zero."""
    present = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist())) or list(range(n_labels))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def bootstrap_ci(y_true, y_pred, n_labels: int, n_samples: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of macro-F1 over resampled test items (``scipy.stats.bootstrap``,
    pairs (y_true, y_pred) resampled together)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or n_samples <= 0:
        return float("nan"), float("nan")
    if len(y_true) == 1:  # every resample is the item itself (scipy needs two observations)
        score = macro_f1(y_true, y_pred, n_labels)
        return score, score
    res = bootstrap((y_true, y_pred), lambda t, p: macro_f1(t, p, n_labels), n_resamples=n_samples, paired=True,
                    vectorized=False, confidence_level=1 - alpha, method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def reliability_bins(probs: np.ndarray, y_true, n_bins: int = 5) -> list[dict]:
    """Equal-width bins of top-label confidence: count, mean confidence and accuracy in each."""
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, n_bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        out.append({"lo": float(lo), "hi": float(hi), "n": int(m.sum()),
                    "confidence": float(conf[m].mean()) if m.any() else None,
                    "accuracy": float(correct[m].mean()) if m.any() else None})
    return out


def expected_calibration_error(probs: np.ndarray, y_true, n_bins: int = 5) -> float:
    """ECE of the top-label confidence with equal-width bins (few bins: test sets here are small)."""
    bins = reliability_bins(probs, y_true, n_bins)
    total = sum(b["n"] for b in bins)
    return float(sum(b["n"] / total * abs(b["accuracy"] - b["confidence"]) for b in bins if b["n"])) if total else 0.0


def calibration_metrics(probs: np.ndarray, y_true, n_bins: int = 5) -> dict:
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    onehot = np.eye(probs.shape[1])[y_true]
    return {
        "ece": expected_calibration_error(probs, y_true, n_bins),
        "nll": float(log_loss(y_true, probs, labels=list(range(probs.shape[1])))),
        "brier": float(np.mean(np.sum((probs - onehot) ** 2, axis=1))),
    }


def risk_coverage(probs: np.ndarray, y_true) -> dict:
    """Selective risk (error rate among kept items) at every coverage level, most confident first."""
    probs, y_true = np.asarray(probs), np.asarray(y_true)
    conf = probs.max(axis=1)
    order = np.argsort(-conf, kind="stable")
    errors = (probs.argmax(axis=1) != y_true)[order]
    n = np.arange(1, len(order) + 1)
    return {"coverage": (n / len(order)).tolist(), "risk": (np.cumsum(errors) / n).tolist(),
            "threshold": conf[order].tolist()}


STANCES = ("reassure", "threaten", "dismiss")


def stance_view(y_names, probs: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Restrict to statements whose gold label is a stance, and read the model's best stance among the
    stance columns: the three-way task (comparable across three- and four-label checkpoints)."""
    y_names = np.asarray(y_names)
    cols = [labels.index(s) for s in STANCES]
    keep = np.isin(y_names, STANCES)
    y = np.array([STANCES.index(n) for n in y_names[keep]], dtype=int)
    sub = np.asarray(probs)[keep][:, cols]
    return y, sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)


def stance_scores(y_names, probs: np.ndarray, labels: list[str], bootstrap_samples: int = 1000, seed: int = 0) -> dict:
    """Three-way scores on the gold-stance statements (``held_out_scores`` of the stance view)."""
    y, sub = stance_view(y_names, probs, labels)
    return held_out_scores(y, sub, list(STANCES), bootstrap_samples, seed)


def end_to_end_scores(y_names, pred_names, bootstrap_samples: int = 1000, seed: int = 0) -> dict:
    """Every statement, stance and none mixed, as the model runs over whole articles: four-way
    macro-F1 (with a bootstrap interval), and precision/recall of stance flags (a flag is a predicted
    stance; it is right when the gold label is that stance)."""
    names = [*STANCES, "none"]
    y = np.array([names.index(n) for n in y_names], dtype=int)
    p = np.array([names.index(n) for n in pred_names], dtype=int)
    m = classification_metrics(y, p, names)
    m["macro_f1_ci95"] = list(bootstrap_ci(y, p, len(names), bootstrap_samples, seed=seed))
    flags = p != 3
    gold = y != 3
    right = flags & (p == y)
    m["flags"] = int(flags.sum())
    m["flag_precision"] = float(right.sum() / flags.sum()) if flags.any() else float("nan")
    m["flag_recall"] = float(right.sum() / gold.sum()) if gold.any() else float("nan")
    m["flag_f1"] = (2 * m["flag_precision"] * m["flag_recall"] / (m["flag_precision"] + m["flag_recall"])
                    if flags.any() and gold.any() and right.any() else 0.0)
    return m


def choose_flag_threshold(y_names, probs: np.ndarray, labels: list[str]) -> float:
    """The stance-flag threshold (see ``inference.decide``) that maximises end-to-end four-way
    macro-F1 on the given (validation) statements; ties go to the lower threshold."""
    from ..inference import NONE, decide

    best, best_t = -1.0, 0.0
    for t in np.round(np.arange(0.0, 0.96, 0.025), 3):
        pred = decide(probs, labels, float(t))
        names = [NONE if i < 0 else labels[i] for i in pred]
        f = end_to_end_scores(y_names, names, bootstrap_samples=0)["macro_f1"]
        if f > best + 1e-9:
            best, best_t = f, float(t)
    return best_t


def score_split(names: list[str], probs: np.ndarray, labels: list[str], threshold, *, seed: int = 0,
                groups: dict | None = None, none_probs=None, bootstrap_samples: int = 1000) -> dict:
    """The scores every report shows for one model on one held-out split: three-way on the gold-stance
    statements, end to end on every statement (a three-label model's none items passed in
    ``none_probs``), and both per group (genre, source) with bootstrap intervals and counts."""
    from ..inference import NONE, decide

    def final(p):
        return [NONE if i < 0 else labels[i] for i in decide(p, labels, threshold)]

    all_names, all_pred = list(names), final(probs)
    group_vals = {k: list(v) for k, v in (groups or {}).items()}
    if none_probs is not None:
        none_ds, nprobs = none_probs
        all_names += list(none_ds["label_name"])
        all_pred += final(nprobs)
        for k in group_vals:
            group_vals[k] += list(none_ds[k])
    out = {"stance": stance_scores(names, probs, labels, bootstrap_samples, seed),
           "end_to_end": end_to_end_scores(all_names, all_pred, bootstrap_samples, seed), "by": {}}
    names_arr, probs_arr = np.asarray(names), np.asarray(probs)
    all_names_arr, all_pred_arr = np.asarray(all_names), np.asarray(all_pred)
    for key, vals in group_vals.items():
        vals_arr = np.asarray(vals)
        table = {}
        for g in sorted(set(vals)):
            m_all = vals_arr == g
            m = m_all[: len(names)]
            row = {"n_statements": int(m_all.sum())}
            if np.isin(names_arr[m], ["reassure", "threaten", "dismiss"]).any():
                st = stance_scores(names_arr[m], probs_arr[m], labels, bootstrap_samples, seed)
                row.update(n_stance=st["n"], stance_macro_f1=st["macro_f1"], stance_macro_f1_ci95=st["macro_f1_ci95"],
                           stance_accuracy=st["accuracy"])
            e2e = end_to_end_scores(all_names_arr[m_all], all_pred_arr[m_all], bootstrap_samples, seed)
            row.update(e2e_macro_f1=e2e["macro_f1"], e2e_macro_f1_ci95=e2e["macro_f1_ci95"],
                       flag_precision=e2e["flag_precision"], flag_recall=e2e["flag_recall"])
            table[g] = row
        out["by"][key] = table
    return out
