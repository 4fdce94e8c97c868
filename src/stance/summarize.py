"""``stance summarize PREDICTIONS``: a corpus-level report (Markdown + PNG figures) of predicted stances.

Reads the Parquet output of ``stance batch`` (a folder of parts or one file) or the JSONL / CSV
output of ``stance predict``, and shows the stance mix per speaker and per source, stance over time
(by month) overall and for the top speakers, the most confident statements of each stance with
their articles, and how many statements the model left as ``none``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

NONE = "none"
STANCE_ORDER = ["reassure", "threaten", "dismiss", NONE]
# Okabe-Ito colours (colour-blind safe), the same in every figure; none in grey
COLOURS = {"reassure": "#0072B2", "threaten": "#D55E00", "dismiss": "#CC79A7", NONE: "#BBBBBB"}
UNKNOWN = "(no speaker)"


# -- loading ------------------------------------------------------------------------------------------------
def load_predictions(path: str | Path) -> pd.DataFrame:
    """One row per statement with at least ``label``, ``score``, ``abstained``, ``stance``, ``speaker``,
    ``source``, ``date``, ``id``, ``title``, ``url``, ``text`` (missing ones empty)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.parquet") if not f.name.startswith((".", "_")))
        if not files:
            raise ValueError(f"{p}: no .parquet files (expected the output folder of `stance batch`)")
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    elif not p.is_file():
        raise ValueError(f"{p}: no such file or folder")
    elif p.suffix.lower() == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix.lower() == ".jsonl":
        df = pd.read_json(p, lines=True, dtype=False)
    elif p.suffix.lower() == ".csv":
        df = pd.read_csv(p, keep_default_na=False, na_values=[""])
    else:
        raise ValueError(f"{p}: expected a folder or .parquet file from `stance batch`, or .jsonl/.csv from `stance predict`")
    return normalise(df)


def _probabilities(df: pd.DataFrame) -> pd.DataFrame | None:
    if "probabilities" in df.columns:
        return pd.DataFrame([d if isinstance(d, dict) else {} for d in df["probabilities"]], index=df.index)
    cols = [c for c in df.columns if c.startswith("p_")]
    return df[cols].rename(columns=lambda c: c[2:]) if cols else None


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Map `stance predict`'s columns (``stance`` is its final label, ``file`` its source) onto `stance batch`'s."""
    df = df.copy()
    if "label" not in df.columns:  # stance predict: `stance` holds the label (or none)
        if "stance" not in df.columns:
            raise ValueError("no `label` or `stance` column: not the output of stance batch or stance predict")
        df["label"] = df["stance"]
        probs = _probabilities(df)
        if probs is not None and len(probs.columns):
            stances = [c for c in probs.columns if c != NONE]
            df["stance"] = probs[stances].astype(float).idxmax(axis=1)
            df["stance_score"] = probs[stances].astype(float).max(axis=1)
        else:
            df["stance_score"] = df["score"]
    if "source" not in df.columns:
        df["source"] = df["file"] if "file" in df.columns else ""
    for c in ("speaker", "source", "date", "id", "title", "url", "text", "stance"):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].where(df[c].notna(), "").astype(str)
    if not df["id"].str.len().any() and "file" in df.columns:
        df["id"] = df["file"].astype(str)
    df["label"] = df["label"].astype(str)
    df["score"] = pd.to_numeric(df["score"], errors="coerce")
    if "abstained" not in df.columns:
        df["abstained"] = df["label"] == NONE
    df["abstained"] = (df["abstained"].astype(str).str.lower().isin(["true", "1"]) if df["abstained"].dtype == object
                       else df["abstained"].astype(bool))
    df["speaker"] = df["speaker"].str.strip().replace("", UNKNOWN)
    df["source"] = df["source"].str.strip().replace("", "(no source)")
    df["month"] = pd.to_datetime(df["date"].str.slice(0, 10), errors="coerce", format="%Y-%m-%d").dt.to_period("M")
    return df


def label_order(df: pd.DataFrame) -> list[str]:
    seen = list(dict.fromkeys(df["label"]))
    return [lab for lab in STANCE_ORDER if lab in seen] + sorted(lab for lab in seen if lab not in STANCE_ORDER)


def colour(label: str) -> str:
    return COLOURS.get(label, "#666666")


# -- figures ----------------------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _legend_name(lab: str) -> str:
    return "none (no stance / abstained)" if lab == NONE else lab


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)
    return path.name


def mix_bars(df: pd.DataFrame, by: str, groups: list[str], labels: list[str], path: Path, title: str, ylabel: str) -> str:
    """Horizontal stacked bars: share of each stance within each group, with the group's n."""
    plt = _plt()
    counts = pd.crosstab(df[by], df["label"]).reindex(index=groups, columns=labels, fill_value=0)
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(groups) + 1.8))
    left = np.zeros(len(groups))
    ypos = np.arange(len(groups))[::-1]
    for lab in labels:
        ax.barh(ypos, shares[lab].to_numpy(), left=left, color=colour(lab), label=_legend_name(lab), edgecolor="white")
        left += shares[lab].to_numpy()
    ax.set_yticks(ypos, [f"{g[:38]} (n={int(counts.loc[g].sum())})" for g in groups])
    ax.set(xlim=(0, 1), xlabel="share of the group's statements", ylabel=ylabel, title=title)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(title="predicted stance", fontsize=8, title_fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.1 - 0.6 / max(1, len(groups))), ncol=len(labels), frameon=False)
    return _save(fig, path)


def over_time(df: pd.DataFrame, labels: list[str], path: Path, title: str) -> str:
    """Stacked bars of statement counts per month and stance."""
    plt = _plt()
    d = df[df["month"].notna()]
    months = pd.period_range(d["month"].min(), d["month"].max(), freq="M")
    counts = pd.crosstab(d["month"], d["label"]).reindex(index=months, columns=labels, fill_value=0)
    fig, ax = plt.subplots(figsize=(min(12, max(6, 0.15 * len(months) + 3)), 4))
    x = np.arange(len(months))
    bottom = np.zeros(len(months))
    for lab in labels:
        ax.bar(x, counts[lab].to_numpy(), bottom=bottom, color=colour(lab), label=_legend_name(lab), width=0.8)
        bottom += counts[lab].to_numpy()
    step = max(1, len(months) // 12)
    ax.set_xticks(x[::step], [str(m) for m in months[::step]], rotation=45, ha="right")
    ax.set(xlabel="month (article date)", ylabel="statements", title=title)
    ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(title="predicted stance", fontsize=8, title_fontsize=8)
    return _save(fig, path)


def over_time_speakers(df: pd.DataFrame, speakers: list[str], labels: list[str], path: Path) -> str:
    """One panel per top speaker: statements per month and stance (same months and colours in each)."""
    plt = _plt()
    d = df[df["month"].notna() & df["speaker"].isin(speakers)]
    months = pd.period_range(d["month"].min(), d["month"].max(), freq="M")
    cols = min(2, len(speakers))
    rows = int(np.ceil(len(speakers) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(min(12, max(6, 0.15 * len(months) + 3) * cols / 1.4), 2.8 * rows), squeeze=False,
                             sharex=True)
    x = np.arange(len(months))
    step = max(1, len(months) // 8)
    for ax, spk in zip(axes.flat, speakers):
        s = d[d["speaker"] == spk]
        counts = pd.crosstab(s["month"], s["label"]).reindex(index=months, columns=labels, fill_value=0)
        bottom = np.zeros(len(months))
        for lab in labels:
            ax.bar(x, counts[lab].to_numpy(), bottom=bottom, color=colour(lab), label=_legend_name(lab), width=0.8)
            bottom += counts[lab].to_numpy()
        ax.set_title(f"{spk[:40]} (n={len(s)})", fontsize=9)
        ax.set_ylabel("statements")
        ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xticks(x[::step], [str(m) for m in months[::step]], rotation=45, ha="right", fontsize=7)
    for ax in list(axes.flat)[len(speakers):]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.suptitle("Stance over time, top speakers (by month of the article)")
    fig.legend(handles, names, title="predicted stance", loc="lower center", ncol=len(labels), fontsize=8, title_fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path.name


# -- report ---------------------------------------------------------------------------------------------------------
def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out


def summarize(df: pd.DataFrame, out_dir: str | Path, *, top: int = 10, top_time: int = 4, examples: int = 5,
              source_name: str = "") -> Path:
    """Write ``report.md`` and its figures into ``out_dir``; returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = label_order(df)
    n = len(df)
    lines = [f"# Stance summary{': ' + source_name if source_name else ''}", ""]
    if not n:
        lines += ["No statements in the input."]
        (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out / "report.md"
    dated = df["month"].notna()
    hashes = sorted(h for h in df.get("data_hash", pd.Series(dtype=str)).dropna().astype(str).unique() if h)
    lines += [f"{n} statements from {df['id'].nunique()} article(s)/document(s), {df['speaker'].nunique()} speaker(s), "
              f"{df['source'].nunique()} source(s)"
              + (f", dated {df.loc[dated, 'month'].min()} to {df.loc[dated, 'month'].max()}" if dated.any() else "")
              + (f"; checkpoint data hash {', '.join(hashes)}" if hashes else "") + ".",
              "", "Labels are the model's predictions, not hand labels; `none` means the model found no stance "
              "(its `none` class, or the best stance under the abstention threshold).", ""]
    counts = df["label"].value_counts()
    lines += ["## Stance mix", ""] + _table(["stance", "statements", "share"],
                                            [[lab, int(counts.get(lab, 0)), f"{counts.get(lab, 0) / n:.1%}"] for lab in labels])
    # abstention
    none = df[df["abstained"] | (df["label"] == NONE)]
    lines += ["", "## No stance (none / abstained)", "",
              f"{len(none)} of {n} statements ({len(none) / n:.1%}) were left as `none`."]
    if len(none) and (none["stance"] != "").any():
        best = none["stance"].value_counts()
        lines += ["Their most probable stance, had the model answered: "
                  + ", ".join(f"{k} {v}" for k, v in best.items()) + "."]
    lines += [""]
    # speakers and sources
    spk = df[df["speaker"] != UNKNOWN]["speaker"].value_counts()
    top_speakers = list(spk.index[:top])
    lines += ["## By speaker", ""]
    if top_speakers:
        name = mix_bars(df, "speaker", top_speakers, labels, out / "stance_by_speaker.png",
                        f"Stance mix of the {len(top_speakers)} speakers with most statements", "speaker")
        lines += [f"![Stance mix per speaker]({name})", "",
                  f"Top {len(top_speakers)} speakers by number of statements; "
                  f"{int((df['speaker'] == UNKNOWN).sum())} statement(s) have no speaker.", ""]
        rows = []
        for s in top_speakers:
            c = df[df["speaker"] == s]["label"].value_counts()
            rows.append([s, int(c.sum())] + [int(c.get(lab, 0)) for lab in labels])
        lines += _table(["speaker", "statements"] + labels, rows) + [""]
    else:
        lines += ["No statement has a speaker.", ""]
    sources = list(df["source"].value_counts().index[:top])
    name = mix_bars(df, "source", sources, labels, out / "stance_by_source.png", "Stance mix per source", "source")
    lines += ["## By source", "", f"![Stance mix per source]({name})", ""]
    # time
    lines += ["## Over time", ""]
    if dated.any():
        name = over_time(df, labels, out / "stance_over_time.png", "Statements per month and predicted stance")
        lines += [f"![Stance over time]({name})", ""]
        if (~dated).any():
            lines += [f"{int((~dated).sum())} statement(s) without a usable date (YYYY-MM-DD) are left out of the time figures.", ""]
        timed = [s for s in top_speakers if (df.loc[dated, "speaker"] == s).any()][:top_time]
        if timed:
            name = over_time_speakers(df, timed, labels, out / "stance_over_time_speakers.png")
            lines += [f"![Stance over time for the top speakers]({name})", ""]
    else:
        lines += ["No dates in the input (`date` column, YYYY-MM-DD): no time figures.", ""]
    # examples
    lines += ["## Most confident statements of each stance", ""]
    for lab in [lab for lab in labels if lab != NONE]:
        ex = df[(df["label"] == lab)].sort_values("score", ascending=False).head(examples)
        if not len(ex):
            continue
        lines += [f"### {lab}", ""]
        rows = []
        for _, r in ex.iterrows():
            art = r["title"] or r["id"]
            if r["url"]:
                art = f"[{art}]({r['url']})"
            text = r["text"] if len(r["text"]) <= 200 else r["text"][:197] + "..."
            rows.append([f"{r['score']:.2f}", r["speaker"], f"“{text}”", art, r["date"]])
        lines += _table(["score", "speaker", "statement", "article", "date"], rows) + [""]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def summarize_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("summarize", "summarize", "Corpus-level report (Markdown + PNG figures) from the output of `stance batch` "
                  "(Parquet folder or file) or `stance predict` (.jsonl, .csv).")
    cmd.add("predictions", setting="predictions", nargs="?", metavar="PREDICTIONS",
            help="stance batch's output folder / .parquet, or stance predict's .jsonl / .csv")
    cmd.add("-o", "--output", setting="output_dir", help="report folder (null: PREDICTIONS-summary next to the input)")
    cmd.add("--top", setting="top", type=int, help="speakers and sources shown")
    cmd.add("--top-time", setting="top_time", type=int, help="speakers with their own time panel")
    cmd.add("--examples", setting="examples", type=int, help="most confident statements shown per stance")
    return cmd.run(argv, _summarize)


def _summarize(args, cfg) -> int:
    try:
        df = load_predictions(cfg.predictions)
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    src = Path(cfg.predictions)
    out = Path(cfg.output_dir) if cfg.output_dir else src.with_name(src.stem + "-summary")
    report = summarize(df, out, top=cfg.top, top_time=cfg.top_time, examples=cfg.examples, source_name=src.name)
    print(f"report: {report} ({len(df)} statements)", file=sys.stderr)
    return 0
