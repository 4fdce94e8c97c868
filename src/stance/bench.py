"""``stance bench`` (``make bench``): inference speed and memory of a checkpoint on this machine, in one
run, as ratios against ``transformers.pipeline(..., batch_size=32)`` on the same checkpoint and inputs.

    stance bench --model outputs/latest [--n 512] [--out reports/bench]
    stance bench serve ...   (stance.bench_serve)     stance bench batch ...   (stance.batch_bench)
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PEAK = """
def peak_mb():
    # VmHWM: this process's own peak resident memory (ru_maxrss would include the parent's after fork)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

COLD_START = PEAK + """
import sys, time
t0 = time.perf_counter()
from stance import StanceClassifier
t1 = time.perf_counter()
clf = StanceClassifier.load(sys.argv[1], quantize=sys.argv[2] == "1")
clf.predict(["Russia is not threatening anyone."])
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, t2 - t0, peak_mb())
"""

PIPELINE_RSS = PEAK + """
import sys, json
from transformers import pipeline
texts = json.load(open(sys.argv[2]))
pipe = pipeline("text-classification", model=sys.argv[1], batch_size=32, device="cpu")
pipe(texts, truncation=True, max_length=128)
print(peak_mb())
"""

BATCH_RSS = PEAK + """
import sys, json
from stance import StanceClassifier
texts = json.load(open(sys.argv[2]))
StanceClassifier.load(sys.argv[1], quantize=sys.argv[3] == "1").predict(texts, batch_size=32)
print(peak_mb())
"""


def _best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _subprocess(code: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def run(model: str, n: int, repeats: int, out_dir: Path) -> dict:
    import torch
    from transformers import pipeline

    from .data import checkpoint_splits
    from .evaluation.metrics import macro_f1
    from .inference import StanceClassifier

    clf = StanceClassifier.load(model, device="cpu")
    qclf = StanceClassifier.load(model, device="cpu", quantize=True)
    test_texts, test_y, test_ctx = [], [], None
    try:
        test = checkpoint_splits(model).dataset["test"]
        test_texts, test_y, test_ctx = list(test["text"]), np.asarray(test["label"]), list(test["context_before"])
    except (FileNotFoundError, ValueError) as exc:
        print(f"warning: macro-F1 not measured: {exc}", file=sys.stderr)
    pool = test_texts or ["Russia is not threatening anyone."]
    texts = [pool[i % len(pool)] for i in range(n)]
    tmp = out_dir / "bench_texts.json"
    tmp.write_text(json.dumps(texts))

    pipe = pipeline("text-classification", model=model, batch_size=32, device="cpu")
    pipe(texts[:64], truncation=True, max_length=clf.max_length)  # warm-up
    clf.predict(texts[:64])
    qclf.predict(texts[:64])
    res: dict = {"n_statements": n, "repeats": repeats, "threads": torch.get_num_threads(),
                 "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                 "torch": torch.__version__}
    t_pipe = _best_of(lambda: pipe(texts, truncation=True, max_length=clf.max_length), repeats)
    t_ours = _best_of(lambda: clf.predict(texts, batch_size=32), repeats)
    t_q = _best_of(lambda: qclf.predict(texts, batch_size=32), repeats)
    res["throughput"] = {"transformers.pipeline (batch 32)": n / t_pipe, "StanceClassifier (batch 32, length-sorted)": n / t_ours,
                         "StanceClassifier int8 dynamic quantized": n / t_q}
    res["speedup_vs_pipeline"] = {"StanceClassifier": t_pipe / t_ours, "int8": t_pipe / t_q}

    lat = []
    for t in texts[:100]:
        s = time.perf_counter()
        clf.predict([t])
        lat.append(time.perf_counter() - s)
    plat = []
    for t in texts[:100]:
        s = time.perf_counter()
        pipe(t, truncation=True, max_length=clf.max_length)
        plat.append(time.perf_counter() - s)
    res["latency_ms"] = {"StanceClassifier p50": 1000 * float(np.percentile(lat, 50)),
                         "StanceClassifier p95": 1000 * float(np.percentile(lat, 95)),
                         "pipeline p50": 1000 * float(np.percentile(plat, 50)), "pipeline p95": 1000 * float(np.percentile(plat, 95))}

    cold = [_subprocess(COLD_START, model, "0") for _ in range(3)]
    best = min(cold, key=lambda c: c[2])
    res["cold_start_s"] = {"import": best[0], "load + first prediction": best[1], "total": best[2]}
    res["peak_rss_mb"] = {"cold start": best[3],
                          "StanceClassifier batch": _subprocess(BATCH_RSS, model, str(tmp), "0")[-1],
                          "int8 batch": _subprocess(BATCH_RSS, model, str(tmp), "1")[-1],
                          "pipeline batch": _subprocess(PIPELINE_RSS, model, str(tmp))[-1]}
    if len(test_texts):
        labels = clf.labels
        f_full = macro_f1(test_y, clf.predict_proba(test_texts, contexts=test_ctx).argmax(1), len(labels))
        f_q = macro_f1(test_y, qclf.predict_proba(test_texts, contexts=test_ctx).argmax(1), len(labels))
        res["macro_f1_test"] = {"full precision": f_full, "int8": f_q, "change": f_q - f_full}
        res["int8_recommended"] = bool(f_q >= f_full - 0.01 and t_q < t_ours)
    tmp.unlink()
    return res


def markdown(res: dict, model: str) -> str:
    lines = [f"# Inference benchmark: `{model}`", "",
             f"{res['n_statements']} test statements (repeated to size), best of {res['repeats']} runs, "
             f"{res['machine']}, torch {res['torch']}.",
             "All numbers from one run of `make bench` on this machine; compare the ratios, not the absolute speeds.", "",
             "| batched, 32 a batch | statements/s | vs pipeline |", "|---|---|---|"]
    base = res["throughput"]["transformers.pipeline (batch 32)"]
    for k, v in res["throughput"].items():
        lines.append(f"| {k} | {v:.0f} | {v / base:.2f}x |")
    lines += ["", "| single statement | ms |", "|---|---|"] + [f"| {k} | {v:.1f} |" for k, v in res["latency_ms"].items()]
    lines += ["", "| cold start (fresh process) | s |", "|---|---|"] + [f"| {k} | {v:.2f} |" for k, v in res["cold_start_s"].items()]
    lines += ["", "| peak memory (fresh process) | MB RSS |", "|---|---|"] + [f"| {k} | {v:.0f} |" for k, v in res["peak_rss_mb"].items()]
    if "macro_f1_test" in res:
        m = res["macro_f1_test"]
        lines += ["", f"int8 dynamic quantization: test macro-F1 {m['full precision']:.3f} → {m['int8']:.3f} ({m['change']:+.3f}); "
                  + ("within one point and faster: offered as `stance predict --quantize` / `StanceClassifier.load(path, quantize=True)`."
                     if res["int8_recommended"] else "not recommended on this checkpoint (slower or loses more than one point).")]
    return "\n".join(lines) + "\n"


def bench_command(argv: list[str]) -> int:
    """``stance bench [serve|batch] ...``: this inference benchmark, or the load test of ``stance serve``,
    or ``stance batch`` against ``stance predict``."""
    if argv and argv[0] == "serve":
        from .bench_serve import bench_serve_command

        return bench_serve_command(argv[1:])
    if argv and argv[0] == "batch":
        from .batch_bench import bench_batch_command

        return bench_batch_command(argv[1:])
    from .command_line import Command

    cmd = Command("bench", "bench", __doc__.split("\n\n")[0] + "\n\n`stance bench serve --help`: the load test of "
                  "`stance serve`; `stance bench batch --help`: `stance batch` against `stance predict`.")
    cmd.add("--model", setting="model_path", help="checkpoint folder")
    cmd.add("--n", setting="n", type=int, help="statements per throughput run")
    cmd.add("--repeats", setting="repeats", type=int, help="throughput runs (the best counts)")
    cmd.add("--out", setting="output_dir", help="folder for bench.md and bench.json")
    return cmd.run(argv, _bench)


def _bench(args, cfg) -> int:
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = run(cfg.model_path, cfg.n, cfg.repeats, out)
    from .atomic import atomic_write_text

    atomic_write_text(out / "bench.json", json.dumps(res, indent=2) + "\n")
    md = markdown(res, cfg.model_path)
    atomic_write_text(out / "bench.md", md)
    print(md)
    print(f"written: {out / 'bench.md'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m stance.bench``: the same as ``stance bench``."""
    return bench_command(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
