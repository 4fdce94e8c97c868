"""``stance bench batch`` (``make bench-batch``): statements/s of `stance batch` with 1 and 2 local Ray workers against plain
`stance predict`, on the same corpus, in one run.

The corpus is a JSONL file of articles (default: the Wikinews fixture) repeated ``--repeat`` times under
new ids; `stance predict` reads the same article texts as .txt files. Every timing is end to end for
its command (reading, extraction, model loading in each worker, classification, writing); starting
the local Ray instance is done once before and reported apart, as a cluster would already be up.
Results go to ``${paths.reports_dir}/bench-batch/`` (``bench_batch.md``, ``bench_batch.json``).

    stance bench batch --model outputs/latest [--corpus FILE] [--repeat 40] [--workers 1 2]
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "wikinews_articles.jsonl"


def build_corpus(src: Path, repeat: int, tmp: Path) -> tuple[Path, Path, int]:
    articles = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    txt = tmp / "txt"
    txt.mkdir()
    rows = []
    for r in range(repeat):
        for a in articles:
            aid = f"{a.get('id') or a.get('doc')}-r{r:03d}"
            rows.append({**a, "id": aid})
            (txt / f"{aid}.txt").write_text(a["text"], encoding="utf-8")
    corpus = tmp / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return corpus, txt, len(rows)


def bench_batch_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("bench batch", "bench_batch", __doc__.split("\n\n")[0])
    cmd.add("--model", setting="model_path", help="checkpoint folder")
    cmd.add("--corpus", setting="corpus", help=f"JSONL of articles (text, id, ...); null: {DEFAULT_CORPUS}")
    cmd.add("--repeat", setting="repeat", type=int, help="copies of the corpus")
    cmd.add("--workers", setting="workers", type=int, nargs="+", help="Ray worker counts to time")
    cmd.add("--rows-per-chunk", setting="rows_per_chunk", type=int, help="articles per chunk")
    cmd.add("--out", setting="output_dir", help="folder for bench_batch.md and bench_batch.json")
    return cmd.run(argv, _bench_batch)


def main(argv: list[str] | None = None) -> int:
    """``python -m stance.batch_bench``: the same as ``stance bench batch``."""
    return bench_batch_command(sys.argv[1:] if argv is None else argv)


def _bench_batch(_args, cfg) -> int:
    corpus_file = cfg.corpus or str(DEFAULT_CORPUS)
    import ray

    from .batch import local_worker_env, run_batch
    from .config import compose
    from .predict import predict_command

    cores = os.cpu_count() or 1
    results: dict = {"model": str(Path(cfg.model_path).resolve()), "corpus": corpus_file, "repeat": cfg.repeat,
                     "machine": f"{platform.machine()}, {cores} cores", "runs": []}
    with tempfile.TemporaryDirectory(prefix="stance-bench-batch-") as t:
        tmp = Path(t)
        corpus, txt, n_articles = build_corpus(Path(corpus_file), cfg.repeat, tmp)
        results["articles"] = n_articles

        # plain stance predict on the same texts (all cores)
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            rc = predict_command(["--model", cfg.model_path, *sorted(str(p) for p in txt.glob("*.txt")),
                                  "--output", str(tmp / "predict.jsonl"), "--threads", str(cores)])
        secs = time.perf_counter() - t0
        pred = [json.loads(line) for line in (tmp / "predict.jsonl").read_text(encoding="utf-8").splitlines()]
        if rc != 0:
            print("stance predict failed", file=sys.stderr)
            return 1
        labels = sorted((Path(r["file"]).stem, r["start"], r["stance"]) for r in pred)
        results["runs"].append({"name": f"stance predict ({cores} threads)", "statements": len(pred), "seconds": secs})

        t0 = time.perf_counter()
        local_worker_env()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        results["ray_start_seconds"] = time.perf_counter() - t0
        try:
            for w in cfg.workers:
                batch_cfg = compose("batch", [f"model_path={cfg.model_path}", f"output_dir={tmp / f'batch-{w}'}", f"inputs=[{corpus}]",
                                        f"workers.concurrency={w}", "workers.num_cpus=1", "workers.num_threads=1",
                                        f"rows_per_chunk={cfg.rows_per_chunk}", "ray.progress_bars=false"])
                with contextlib.redirect_stderr(io.StringIO()):
                    res = run_batch(batch_cfg, echo=lambda m: None)
                import pandas as pd

                df = pd.read_parquet(tmp / f"batch-{w}")
                same = sorted(zip(df["id"], df["start"].astype(int), df["label"])) == labels
                results["runs"].append({"name": f"stance batch, {w} worker(s) x 1 thread", "workers": w,
                                        "statements": res.statements, "seconds": res.seconds, "same_labels_as_predict": same,
                                        "first_part_seconds": res.first_part_seconds})
        finally:
            ray.shutdown()

    for r in results["runs"]:
        r["statements_per_s"] = r["statements"] / r["seconds"] if r["seconds"] else 0.0
    by_w = {r.get("workers"): r["statements_per_s"] for r in results["runs"] if r.get("workers")}
    plain = results["runs"][0]["statements_per_s"]
    lines = [f"# `stance batch` throughput ({time.strftime('%Y-%m-%d')})", "",
             f"Model `{results['model']}`; corpus `{corpus_file}` x {cfg.repeat} = {n_articles} articles, "
             f"{results['runs'][0]['statements']} statements; {results['machine']}. Timings are end to end per command "
             f"(reading, extraction, model loading in each worker, classification, writing); the local Ray instance was "
             f"started once before, in {results['ray_start_seconds']:.1f} s (not counted).", "",
             "| run | statements | seconds | statements/s | vs stance predict | first part after | same labels as predict |",
             "|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        first = "-" if r.get("first_part_seconds") is None else f"{r['first_part_seconds']:.1f} s"
        same = "-" if "same_labels_as_predict" not in r else ("yes" if r["same_labels_as_predict"] else "NO")
        lines.append(f"| {r['name']} | {r['statements']} | {r['seconds']:.1f} | {r['statements_per_s']:.1f} | "
                     f"{r['statements_per_s'] / plain:.2f}x | {first} | {same} |")
    if 1 in by_w and 2 in by_w:
        results["ratio_2_vs_1"] = by_w[2] / by_w[1]
        lines += ["", f"2 workers / 1 worker: **{results['ratio_2_vs_1']:.2f}x** (goal: >= 1.6x)."]
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_batch.json").write_text(json.dumps(results, indent=1))
    (out / "bench_batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out / 'bench_batch.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
