"""The report's figures (matplotlib, written as PNG)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402


def _save(fig, path: Path) -> str:
    import os
    import tempfile

    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)  # written whole, then renamed
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, dpi=120, format=path.suffix.lstrip(".") or "png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)
    return path.name


def confusion(cm, labels, path: Path, title: str) -> str:
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ConfusionMatrixDisplay(np.asarray(cm), display_labels=labels).plot(ax=ax, cmap="Blues", colorbar=False)
    ax.set_title(title)
    return _save(fig, path)


def reliability(bins_before, bins_after, path: Path, split: str = "test") -> str:
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    for bins, name, marker in ((bins_before, "before (T=1)", "o"), (bins_after, "after temperature scaling", "s")):
        pts = [(b["confidence"], b["accuracy"], b["n"]) for b in bins if b["n"]]
        if pts:
            x, y, n = zip(*pts)
            ax.plot(x, y, marker=marker, label=name)
            for xi, yi, ni in zip(x, y, n):
                ax.annotate(str(ni), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="confidence (top label)", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02),
           title=f"Reliability on {split} (n per bin)")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def risk_coverage(curves: dict[str, dict], path: Path, split: str = "test") -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    for name, c in curves.items():
        ax.plot(c["coverage"], c["risk"], label=name)
    ax.set(xlabel=f"coverage (share of {split} statements kept)", ylabel="risk (error rate among kept)",
           xlim=(0, 1), ylim=(0, None), title=f"Risk-coverage on {split}")
    ax.legend(fontsize=8)
    return _save(fig, path)


def abstention(thresholds, stance_coverage, none_abstained, chosen: float, path: Path, split: str = "test") -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    ax.plot(thresholds, stance_coverage, label="stance statements kept (coverage)")
    ax.plot(thresholds, none_abstained, label="'none' statements abstained on")
    ax.axvline(chosen, color="grey", ls="--", label=f"threshold {chosen:.2f} (chosen on validation)")
    ax.set(xlabel="confidence threshold", ylabel="share", ylim=(0, 1.02), title=f"Abstention on {split}")
    ax.legend(fontsize=8)
    return _save(fig, path)


def model_comparison(rows: list[dict], path: Path, split: str = "test") -> str:
    rows = [r for r in rows if r.get("macro_f1") is not None]
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(rows) + 1.5))
    names = [r["name"] for r in rows]
    f1 = np.array([r["macro_f1"] for r in rows])
    lo = np.array([r["ci"][0] for r in rows])
    hi = np.array([r["ci"][1] for r in rows])
    ax.barh(names, f1, xerr=[f1 - lo, hi - f1], color="tab:blue", alpha=0.8, capsize=3)
    ax.set(xlabel=f"macro-F1 on {split} (95% bootstrap interval)", xlim=(0, 1), title=f"Models on the same {split} split")
    ax.invert_yaxis()
    return _save(fig, path)


def flag_curve(curve: list[tuple[float, float, float]], chosen: float | None, path: Path, split: str = "test") -> str:
    """Precision and recall of stance flags as the flag threshold moves; the checkpoint's own is marked."""
    t = [c[0] for c in curve]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(t, [c[1] for c in curve], label="precision of stance flags")
    ax.plot(t, [c[2] for c in curve], label="recall of stance statements")
    if chosen is not None:
        ax.axvline(chosen, color="grey", linestyle="--", label=f"chosen on validation ({chosen:.2f})")
    ax.set_xlabel("flag threshold (probability of the top stance)")
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Stance flags end to end ({split})")
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, path)
