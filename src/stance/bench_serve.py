"""``stance bench serve`` (``make bench-serve``): load test of ``stance serve`` on this machine, against offline batched prediction
measured in the same run.

    stance bench serve --model outputs/latest [--clients 16] [--duration 60] [--out reports/bench]

Starts the server in a subprocess on a free port, measures offline batched throughput of the same
checkpoint on the same statements (``StanceClassifier.predict(texts, batch_size=32)``, in a separate
process while the server is idle), then runs ``--clients`` concurrent clients for ``--duration``
seconds, each sending one statement per request to ``POST /v1/classify`` (real statements with
their speakers, from data/quotes.jsonl), and reports latency percentiles, throughput as a ratio of
the offline throughput, errors, the server's batch sizes and its memory before and after.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OFFLINE = """
import json, sys, time
from stance.inference import StanceClassifier, set_num_threads
rows = json.load(open(sys.argv[2]))
texts, speakers = [r[0] for r in rows], [r[1] for r in rows]
set_num_threads(int(sys.argv[3]))
clf = StanceClassifier.load(sys.argv[1])
clf.predict(texts[:64], speakers=speakers[:64])
best = 0.0
for _ in range(3):
    t0 = time.perf_counter()
    clf.predict(texts, batch_size=32, speakers=speakers)
    best = max(best, len(texts) / (time.perf_counter() - t0))
print(best)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_mb(pid: int) -> dict:
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def _statements(path: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["text"], obj.get("speaker") or ""))
    random.Random(seed).shuffle(rows)
    return rows[:n]


def _offline(model: str, texts_file: Path, threads: int) -> float:
    """Offline batched statements/s, best of three passes, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", OFFLINE, model, str(texts_file), str(threads)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def start_server(model: str, port: int, extra: list[str], timeout: float = 120.0) -> subprocess.Popen:
    """``stance serve`` in a subprocess; returns once it prints that it is ready."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "stance.cli", "serve", "--model", model, "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError("server exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if "ready on" in line:
            break
    else:
        proc.kill()
        raise RuntimeError("server not ready in time:\n" + "".join(lines))
    # keep draining its output so it never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc


async def _load(url: str, rows: list[tuple[str, str]], clients: int, duration: float, warmup: float,
                per_request: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    texts_done = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration
    counter = iter(range(10**12))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal texts_done
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            k = next(counter)
            batch = [rows[(k * per_request + j) % len(rows)] for j in range(per_request)]
            body = {"texts": [t for t, _ in batch], "speakers": [s for _, s in batch]}
            t0 = time.perf_counter()
            try:
                r = await http.post(url + "/v1/classify", json=body)
                ok = r.status_code == 200 and len(r.json()["results"]) == per_request
                err = None if ok else f"HTTP {r.status_code}: {r.text[:200]}"
            except Exception as exc:  # noqa: BLE001  (every failure is counted)
                err = f"{type(exc).__name__}: {exc}"
            t1 = time.perf_counter()
            if t0 >= measure_from and t1 <= stop_at:
                if err:
                    errors.append(err)
                else:
                    latencies.append(t1 - t0)
                    texts_done += per_request

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    lat = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {"requests": len(latencies), "texts": texts_done, "errors": len(errors), "error_examples": errors[:5],
            "throughput": texts_done / duration, "requests_per_s": len(latencies) / duration,
            "latency_ms": {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                           "p99": float(np.percentile(lat, 99)), "mean": float(np.mean(lat))}}


def run(model: str, data: Path, out: Path, clients: int = 16, duration: float = 60.0, warmup: float = 3.0,
        per_request: int = 1, n_offline: int = 512, threads: int = 0, server_args: list[str] | None = None,
        command: str | None = None) -> dict:
    import httpx

    rows = _statements(data, max(n_offline, 2048))
    tmp = out / ".bench_serve_texts.json"
    out.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(rows[:n_offline]))
    port = _free_port()
    extra = list(server_args or []) + (["--threads", str(threads)] if threads else [])
    server = start_server(model, port, extra)
    url = f"http://127.0.0.1:{port}"
    try:
        mem_before = _mem_mb(server.pid)
        # offline throughput while the server is idle, in its own process (same threads as the server)
        load_avg = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        offline_runs = [_offline(model, tmp, threads)]
        stats_before = httpx.get(url + "/health").json()["batching"]
        load = asyncio.run(_load(url, rows, clients, duration, warmup, per_request))
        stats_after = httpx.get(url + "/health").json()["batching"]
        mem_after = _mem_mb(server.pid)
        # once more after the load: the ratio uses the mean of the two, so a machine busier at one
        # moment than the other (other jobs) moves it less
        offline_runs.append(_offline(model, tmp, threads))
        offline = float(np.mean(offline_runs))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        tmp.unlink(missing_ok=True)
    batches = stats_after["batches"] - stats_before["batches"]
    served = stats_after["texts"] - stats_before["texts"]
    from .checkpoint import read_meta

    meta = read_meta(model)
    result = {
        "model": str(Path(model).resolve()), "base_model": meta.base_model, "data_hash": meta.data_hash,
        "clients": clients, "duration_s": duration, "warmup_s": warmup, "texts_per_request": per_request,
        "statements_from": str(data), "offline_throughput": offline,
        "offline_runs": offline_runs, "load_average_at_start": load_avg,
        "ratio_to_offline": load["throughput"] / offline if offline else None, **load,
        "server_batches": {"batches": batches, "mean_batch_size": served / batches if batches else 0.0,
                           "largest_batch": stats_after["largest_batch"]},
        "server_memory_mb": {"before": mem_before, "after": mem_after},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "command": command or "python -m stance.bench_serve " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "serve.md").write_text(render(result))
    return result


def render(r: dict) -> str:
    lat = r["latency_ms"]
    goal = "met" if (r["ratio_to_offline"] or 0) >= 0.8 else "**missed**"
    mb, ma = r["server_memory_mb"]["before"], r["server_memory_mb"]["after"]
    batches = r["server_batches"]
    offline_runs = " and ".join(f"{x:.1f}" for x in r["offline_runs"])
    offline = f"{r['offline_throughput']:.1f} statements/s ({offline_runs})"
    return f"""# `stance serve` under load

{r['clients']} concurrent clients for {r['duration_s']:.0f} s (after {r['warmup_s']:.0f} s of warm-up), each sending
{r['texts_per_request']} statement(s) per request to `POST /v1/classify`; statements and speakers from
`{r['statements_from']}`. Server and clients on the same machine ({r['machine']['cpus']} CPUs), {r['date']}.

Model: `{r['model']}` ({r['base_model']}, data {r['data_hash']}).

| measure | value |
|---|---|
| requests completed | {r['requests']} ({r['requests_per_s']:.1f}/s) |
| errors | {r['errors']} |
| latency p50 / p95 / p99 | {lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f} ms |
| throughput through the server | {r['throughput']:.1f} statements/s |
| offline batched throughput (same run, batch 32; mean of before and after the load) | {offline} |
| **ratio to offline** (goal >= 0.8: {goal}) | **{r['ratio_to_offline']:.2f}** |
| server batches | {batches['batches']} (mean {batches['mean_batch_size']:.1f} statements, largest {batches['largest_batch']}) |
| server memory before load | {mb.get('rss_mb', '-')} MB resident |
| server memory after load | {ma.get('rss_mb', '-')} MB resident (peak {ma.get('peak_rss_mb', '-')} MB) |

Load average when the run started: {r['load_average_at_start']} (other jobs on the machine change every number above).

Command: `{r['command']}`
""" + (f"\nErrors (first {len(r['error_examples'])}):\n" + "\n".join(f"- {e}" for e in r["error_examples"]) + "\n"
       if r["error_examples"] else "")


def bench_serve_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("bench serve", "bench_serve", __doc__.split("\n\n")[0])
    cmd.add("--model", setting="model_path", help="checkpoint folder")
    cmd.add("--data", setting="data", help="JSONL of statements (text, speaker)")
    cmd.add("--out", setting="output_dir", help="folder for serve.md and serve.json")
    cmd.add("--clients", setting="clients", type=int, help="concurrent clients")
    cmd.add("--duration", setting="duration", type=float, help="seconds measured (after --warmup)")
    cmd.add("--warmup", setting="warmup", type=float, help="seconds of load before measuring")
    cmd.add("--texts-per-request", setting="texts_per_request", type=int, help="statements per request")
    cmd.add("--n-offline", setting="n_offline", type=int, help="statements for the offline measurement")
    cmd.add("--threads", setting="num_threads", type=int, help="model threads, server and offline alike (0: all cores)")
    cmd.add("--server-arg", setting="server_args", action="append",
            help="extra `stance serve` flag (repeatable), e.g. --server-arg=--max-wait-ms=2")
    return cmd.run(argv, _bench_serve)


def _bench_serve(args, cfg) -> int:
    r = run(cfg.model_path, Path(cfg.data), Path(cfg.output_dir), cfg.clients, cfg.duration, cfg.warmup,
            cfg.texts_per_request, cfg.n_offline, cfg.num_threads, list(cfg.server_args),
            command=shlex.join(["stance", "bench", "serve", *args.argv]))
    print(render(r))
    print(f"written: {Path(cfg.output_dir) / 'serve.md'}, {Path(cfg.output_dir) / 'serve.json'}")
    return 0 if r["errors"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m stance.bench_serve``: the same as ``stance bench serve``."""
    return bench_serve_command(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
