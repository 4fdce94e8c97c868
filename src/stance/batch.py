"""``stance batch``: classify every statement of a corpus on Ray Data, resumably.

Pipeline: the driver plans *chunks* (up to ``rows_per_chunk`` rows of one input file: a line range
of a JSONL file, row groups of a Parquet file, a whole .txt/.md article) -> Ray tasks read each chunk
and extract statements from articles (:mod:`stance.extraction`, as ``stance predict`` does) -> an
actor pool classifies them (each actor loads the checkpoint once; speakers and contexts are passed
as in ``stance predict``) -> the driver writes one Parquet part per chunk into the output folder.

Resumption: ``OUTPUT/_manifest.json`` records the checkpoint (data hash and a fingerprint of its
files), the settings that change answers, and for every input file its absolute path, size and
mtime (or SHA-256 with ``fingerprint=sha256``) and the chunks whose part is complete. A part is
written to a hidden temporary file and renamed, then the manifest is rewritten atomically (temporary
file + rename), so after an interruption every chunk listed is whole. A rerun skips those chunks;
an input whose size/mtime (or content) changed is redone from scratch; another checkpoint or other
settings are refused unless ``overwrite=true``. Readers ignore ``_``/``.`` files, so
``pandas.read_parquet(OUTPUT)`` reads the parts only.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inputs import speaker_segment

MANIFEST = "_manifest.json"
MANIFEST_VERSION = 1
ARTICLE_SUFFIXES = (".txt", ".md")
TABLE_SUFFIXES = (".jsonl", ".parquet")
STR_COLS = ["input", "id", "title", "date", "source", "url", "text", "speaker", "role", "kind", "context"]
INT_COLS = ["line", "statement_index", "start", "end"]


class BatchError(Exception):
    """A problem that stops the whole run (bad configuration, another checkpoint in the output folder)."""


# -- planning (driver) -------------------------------------------------------------------------------
@dataclass
class Chunk:
    key: str  # unique in the output folder: <input key>-<index>
    path: str
    fmt: str  # jsonl | parquet | text
    kind: str  # articles | statements
    index: int
    first_line: int = 1  # JSONL: the line number of the first line; Parquet: the first row (1-based)
    byte_start: int = 0
    byte_end: int = -1
    row_groups: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def expand_inputs(args: list[str], problems: list[str]) -> list[str]:
    """Folders (recursively: .jsonl, .parquet, .txt, .md), globs and files, as absolute paths, in order."""
    out: list[str] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TABLE_SUFFIXES + ARTICLE_SUFFIXES
                           and not f.name.startswith((".", "_")))
            if not found:
                problems.append(f"{a}: folder has no .jsonl, .parquet, .txt or .md files")
            out.extend(found)
        elif p.is_file():
            out.append(a)
        elif any(c in a for c in "*?["):
            matches = sorted(m for m in glob.glob(a, recursive=True) if Path(m).is_file())
            if not matches:
                problems.append(f"{a}: no file matches this pattern")
            out.extend(matches)
        else:
            problems.append(f"{a}: no such file or folder")
    seen, unique = set(), []
    for f in out:
        f = str(Path(f).resolve())
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique


def file_format(path: str) -> str:
    s = Path(path).suffix.lower()
    return "jsonl" if s == ".jsonl" else "parquet" if s == ".parquet" else "text"


def fingerprint(path: str, how: str) -> dict:
    st = os.stat(path)
    fp: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if how == "sha256":
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        fp = {"size": st.st_size, "sha256": h.hexdigest()}
    return fp


def input_key(path: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(path).stem)[:40]
    return f"{stem}-{hashlib.sha1(path.encode()).hexdigest()[:10]}"


def detect_kind(path: str, fmt: str, text_field: str, requested: str) -> str:
    """``requested`` unless auto: a file whose first row has a ``speaker`` field holds statements."""
    if requested != "auto":
        return requested
    if fmt == "text":
        return "articles"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return "statements" if "speaker" in pq.read_schema(path).names else "articles"
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return "statements" if "speaker" in obj else "articles"
    return "articles"


def plan_chunks(path: str, kind: str, rows_per_chunk: int) -> list[Chunk]:
    """Split one input into chunks of about ``rows_per_chunk`` rows (no chunk splits a line or a row group)."""
    fmt = file_format(path)
    key = input_key(path)
    if fmt == "text":
        return [Chunk(f"{key}-00000", path, fmt, kind, 0)]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        chunks, groups, rows, first = [], [], 0, 1
        for g in range(meta.num_row_groups):
            groups.append(g)
            rows += meta.row_group(g).num_rows
            if rows >= rows_per_chunk:
                chunks.append(Chunk(f"{key}-{len(chunks):05d}", path, fmt, kind, len(chunks), first_line=first, row_groups=groups))
                first += rows
                groups, rows = [], 0
        if groups or not chunks:
            chunks.append(Chunk(f"{key}-{len(chunks):05d}", path, fmt, kind, len(chunks), first_line=first, row_groups=groups))
        return chunks
    chunks, start, line, n, offset = [], 0, 1, 0, 0
    with open(path, "rb") as fh:
        for raw in fh:
            offset += len(raw)
            n += 1
            if n == rows_per_chunk:
                chunks.append(Chunk(f"{key}-{len(chunks):05d}", path, fmt, kind, len(chunks), line, start, offset))
                start, line, n = offset, line + rows_per_chunk, 0
    if n or not chunks:
        chunks.append(Chunk(f"{key}-{len(chunks):05d}", path, fmt, kind, len(chunks), line, start, offset))
    return chunks


# -- reading and extraction (Ray tasks) ------------------------------------------------------------------
def _records(chunk: Chunk, text_field: str, problems: list[str]) -> Iterator[tuple[int, dict]]:
    """(line or row number, record) of a chunk; bad lines and rows are reported, never raised."""
    from .textio import BadLine, read_jsonl_lines, read_text

    if chunk.fmt == "text":
        try:
            text, warnings = read_text(chunk.path)
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
            return
        problems.extend(str(w) for w in warnings)
        if text.strip():
            yield 1, {text_field: text, "id": chunk.path}
        return
    if chunk.fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(chunk.path).read_row_groups(chunk.row_groups) if chunk.row_groups else None
        except Exception as exc:  # noqa: BLE001 - a corrupt file is reported, the rest goes on
            problems.append(f"{chunk.path}: cannot read Parquet ({exc})")
            return
        if table is None:
            return
        if text_field not in table.column_names:
            problems.append(f"{chunk.path}: no {text_field!r} column (columns: {table.column_names})")
            return
        for i, rec in enumerate(table.to_pylist(), start=chunk.first_line):
            yield i, rec
        return
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.byte_start)
        data = fh.read(chunk.byte_end - chunk.byte_start)
    lines = read_jsonl_lines(data.splitlines(keepends=True), chunk.path, first_line=chunk.first_line,
                             warn=lambda p: problems.append(str(p)))
    try:
        for i, obj in lines:
            if isinstance(obj, BadLine):
                if obj.reason == "json":  # a blank line is passed over
                    problems.append(f"{chunk.path}:{i}: invalid JSON ({obj.detail}); line skipped")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{chunk.path}:{i}: not a JSON object; line skipped")
                continue
            yield i, obj
    except ValueError:  # NUL bytes on the file's first line: not a text file
        problems.append(f"{chunk.path}:1: binary data (NUL bytes); file skipped")


def _s(value: Any) -> str:
    """A record field as text ("" when missing); dates and timestamps as ISO strings."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def extract_chunk(chunk: Chunk, text_field: str) -> tuple[list[dict], list[str]]:
    """The statement rows of one chunk (articles: extracted; statements: as given) and its problems."""
    from .extraction import extract_statements

    problems: list[str] = []
    rows: list[dict] = []
    where = (lambda i: chunk.path) if chunk.fmt == "text" else (
        lambda i: f"{chunk.path}:{i}" if chunk.fmt == "jsonl" else f"{chunk.path}: row {i}")
    for i, rec in _records(chunk, text_field, problems):
        text = rec.get(text_field)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where(i)}: no non-empty {text_field!r} string; {'line' if chunk.fmt == 'jsonl' else 'row'} skipped")
            continue
        base = {"input": chunk.path, "line": i, "id": _s(rec.get("id")) or f"{Path(chunk.path).name}:{i}",
                "title": _s(rec.get("title")), "date": _s(rec.get("date")), "source": _s(rec.get("source")),
                "url": _s(rec.get("url"))}
        if chunk.kind == "statements":
            rows.append({**base, "statement_index": 0, "text": text.strip(), "speaker": _s(rec.get("speaker")),
                         "role": _s(rec.get("role") or rec.get("side")), "kind": _s(rec.get("kind")), "start": -1, "end": -1,
                         "context": _s(rec.get("context_before"))})
            continue
        try:
            statements = extract_statements(text, chunk.path if chunk.fmt == "text" else base["id"])
        except Exception as exc:  # noqa: BLE001 - one article never stops the others
            problems.append(f"{where(i)}: statement extraction failed ({type(exc).__name__}: {exc}); article skipped")
            continue
        if not statements:
            problems.append(f"{where(i)}: no statements found")
        previous: dict[str, str] = {}  # speaker -> their previous statement in this article (as stance predict)
        for k, st in enumerate(statements):
            rows.append({**base, "statement_index": k, "text": st.text, "speaker": st.speaker, "role": st.role,
                         "kind": st.kind, "start": st.start, "end": st.end, "context": previous.get(st.speaker, "")})
            previous[st.speaker] = st.text
    return rows, problems


def _extract_batch(batch):
    """Ray Data UDF: chunks (one JSON per row) -> statement rows plus one marker row per chunk that
    carries the chunk's row count and problems (the driver writes a part once it has all its rows)."""
    import pandas as pd

    out = []
    for task, text_field in zip(batch["task"], batch["text_field"]):
        chunk = Chunk(**json.loads(task))
        try:
            rows, problems = extract_chunk(chunk, text_field)
            n_rows = len(rows)
        except Exception as exc:  # noqa: BLE001 - reported; the chunk stays undone and is retried next run
            rows, n_rows = [], -1
            problems = [f"{chunk.path}: chunk {chunk.index} failed ({type(exc).__name__}: {exc}); rerun to retry"]
        for r in rows:
            out.append({"chunk": chunk.key, "marker": False, "n_rows": 0, "problems": "", **r})
        out.append({"chunk": chunk.key, "marker": True, "n_rows": n_rows, "problems": json.dumps(problems),
                    "input": chunk.path, **{c: "" for c in STR_COLS if c != "input"}, **{c: -1 for c in INT_COLS}})
    df = pd.DataFrame(out, columns=["chunk", "marker", "n_rows", "problems", *STR_COLS, *INT_COLS])
    return df.astype({c: "int64" for c in [*INT_COLS, "n_rows"]} | {"marker": bool})


# -- classification (Ray actors) -------------------------------------------------------------------------
class Classifier:
    """An actor of the pool: loads the checkpoint once, classifies batches of statement rows."""

    def __init__(self, model_path: str, device: str | None, num_threads: int, abstain_threshold: float | None,
                 predict_batch_size: int):
        from .inference import StanceClassifier, set_num_threads

        set_num_threads(num_threads)  # this actor's process
        self.clf = StanceClassifier.load(model_path, device=device, abstain_threshold=abstain_threshold)
        self.batch_size = predict_batch_size
        self.data_hash = str(self.clf.meta.data_hash or "")

    def __call__(self, df):
        import numpy as np

        df = df.copy()
        todo = ~df["marker"].to_numpy()
        sub = df[todo]
        speakers = [speaker_segment(a, b) for a, b in zip(sub["speaker"], sub["role"])]
        preds = self.clf.predict(list(sub["text"]), batch_size=self.batch_size, contexts=list(sub["context"]),
                                 speakers=speakers) if len(sub) else []
        n = len(df)

        def col(values, fill, dtype):
            arr = np.full(n, fill, dtype=dtype)
            arr[todo] = values
            return arr

        df["label"] = col([p.label for p in preds], "", object)
        df["score"] = col([p.score for p in preds], np.nan, float)
        df["abstained"] = col([p.abstained for p in preds], False, bool)
        df["truncated"] = col([p.truncated for p in preds], False, bool)
        df["stance"] = col([p.stance for p in preds], "", object)
        df["stance_score"] = col([p.stance_score for p in preds], np.nan, float)
        for lab in self.clf.labels:
            df[f"p_{lab}"] = col([p.probabilities[lab] for p in preds], np.nan, float)
        df["data_hash"] = self.data_hash
        return df


# -- output (driver) -----------------------------------------------------------------------------------------
OUTPUT_COLUMNS = ["id", "title", "date", "source", "url", "input", "line", "statement_index", "text", "speaker", "role", "kind",
                  "start", "end", "label", "score", "abstained", "stance", "stance_score", "truncated", "probabilities",
                  "data_hash"]


def output_schema(labels: list[str]):
    import pyarrow as pa

    s, i = pa.string(), pa.int64()
    types = {"id": s, "title": s, "date": s, "source": s, "url": s, "input": s, "line": i, "statement_index": i,
             "text": s, "speaker": s, "role": s, "kind": s, "start": i, "end": i, "label": s, "score": pa.float64(),
             "abstained": pa.bool_(), "stance": s, "stance_score": pa.float64(), "truncated": pa.bool_(),
             "probabilities": pa.struct([(lab, pa.float64()) for lab in labels]), "data_hash": s}
    return pa.schema([(c, types[c]) for c in OUTPUT_COLUMNS])


def to_table(df, labels: list[str]):
    """Statement rows as an Arrow table of the output schema ("" and -1 placeholders become nulls)."""
    import pyarrow as pa

    df = df.sort_values(["line", "statement_index"], kind="stable")
    cols: dict[str, list] = {}
    for c in OUTPUT_COLUMNS:
        if c == "probabilities":
            cols[c] = [dict(zip(labels, vals)) for vals in zip(*(df[f"p_{lab}"].tolist() for lab in labels))] if len(df) else []
        elif c in ("title", "date", "source", "url", "speaker", "role", "kind"):
            cols[c] = [v or None for v in df[c].tolist()]
        elif c in ("start", "end"):
            cols[c] = [None if v < 0 else int(v) for v in df[c].tolist()]
        else:
            cols[c] = df[c].tolist()
    return pa.Table.from_pydict(cols, schema=output_schema(labels))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def checkpoint_identity(model_path: str) -> dict:
    """The checkpoint as the manifest records it: data hash, and a hash of its config files and weights' size/mtime."""
    from .checkpoint import MODEL_CONFIG, STANCE_CONFIG, WEIGHTS, read_meta

    p = Path(model_path)
    meta = read_meta(p)
    h = hashlib.sha256()
    for name in (MODEL_CONFIG, STANCE_CONFIG):
        if (p / name).is_file():
            h.update((p / name).read_bytes())
    for name in (WEIGHTS, "pytorch_model.bin"):
        if (p / name).is_file():
            st = (p / name).stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return {"path": str(p.resolve()), "data_hash": str(meta.data_hash or ""), "fingerprint": h.hexdigest()[:16],
            "labels": list(meta.labels)}


class Manifest:
    """``OUTPUT/_manifest.json``: what is done, rewritten atomically after each completed part."""

    def __init__(self, out_dir: Path, checkpoint: dict, settings: dict, overwrite: bool):
        self.path = out_dir / MANIFEST
        self.out_dir = out_dir
        fresh = {"version": MANIFEST_VERSION, "checkpoint": checkpoint, "settings": settings, "inputs": {}}
        old = json.loads(self.path.read_text()) if self.path.is_file() else None
        if old is not None and not overwrite:
            was, now = old.get("checkpoint", {}), checkpoint
            if (was.get("data_hash"), was.get("fingerprint")) != (now["data_hash"], now["fingerprint"]):
                raise BatchError(f"{out_dir} holds predictions of another checkpoint ({was.get('path')}, data hash "
                                 f"{was.get('data_hash')}); this run's is {now['path']} (data hash {now['data_hash']}). "
                                 "Use another output folder, or overwrite=true to start this one over.")
            if old.get("settings") != settings:
                raise BatchError(f"{out_dir} was written with other settings ({old.get('settings')}, now {settings}). "
                                 "Use another output folder, or overwrite=true to start this one over.")
            old["checkpoint"] = checkpoint  # same weights; the path may have moved
            self.data = old
        else:
            if old is not None:
                for part in out_dir.glob("part-*.parquet"):
                    part.unlink()
            self.data = fresh

    def entry(self, path: str, fp: dict, n_chunks: int) -> dict:
        """The input's record; reset (its parts removed) when the file changed since it was recorded."""
        e = self.data["inputs"].get(path)
        if e is None or e.get("fingerprint") != fp or e.get("chunks") != n_chunks:
            if e is not None:
                for key in e.get("done", {}):
                    (self.out_dir / f"part-{key}.parquet").unlink(missing_ok=True)
            e = {"fingerprint": fp, "chunks": n_chunks, "done": {}, "problems": []}
            self.data["inputs"][path] = e
        return e

    def done(self, path: str, chunk_key: str, rows: int, problems: list[str]) -> None:
        e = self.data["inputs"][path]
        e["done"][chunk_key] = rows
        e["problems"].extend(problems)
        self.save()

    def is_done(self, path: str, chunk_key: str) -> bool:
        e = self.data["inputs"].get(path, {})
        return chunk_key in e.get("done", {}) and (
            e["done"][chunk_key] == 0 or (self.out_dir / f"part-{chunk_key}.parquet").is_file())

    def save(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.data["complete"] = all(len(e["done"]) == e["chunks"] for e in self.data["inputs"].values())
        _atomic_write_text(self.path, json.dumps(self.data, indent=1, ensure_ascii=False))


# -- Ray -----------------------------------------------------------------------------------------------------
def local_worker_env() -> None:
    """Local Ray workers inherit this process's environment: make them import this very package
    (PYTHONPATH made absolute, with this package's parent first), whatever their working directory."""
    src = str(Path(__file__).resolve().parents[1])
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([src] + [str(Path(p).resolve()) for p in parts if str(Path(p).resolve()) != src])


def init_ray(cfg) -> bool:
    """Connect to ``ray.address`` / $RAY_ADDRESS, else start Ray on this machine. Returns whether this
    call started (and so should shut down) Ray; an already initialised Ray (tests, notebooks) is reused."""
    import ray

    if ray.is_initialized():
        return False
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS") or None
    runtime_env: dict = {}
    if cfg.ray.ship_code:
        runtime_env["py_modules"] = [str(Path(__file__).resolve().parent)]
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    if runtime_env:
        kwargs["runtime_env"] = runtime_env
    if address:
        ray.init(address=address, **kwargs)
    else:
        local_worker_env()
        ray.init(num_cpus=cfg.ray.num_cpus or os.cpu_count(), object_store_memory=cfg.ray.object_store_memory, **kwargs)
    return True


@dataclass
class BatchResult:
    output_dir: str
    statements: int = 0
    abstained: int = 0
    chunks_done: int = 0
    chunks_skipped: int = 0
    chunks_failed: int = 0
    inputs: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    first_part_seconds: float | None = None  # when the first part was written (startup: workers, model loading)


def run_batch(cfg, *, echo=print) -> BatchResult:
    """Run ``cfg`` (a composed ``batch`` config); Ray is started unless already initialised."""
    import pandas as pd
    from tqdm import tqdm

    t0 = time.perf_counter()
    if cfg.input_kind not in ("auto", "articles", "statements"):
        raise BatchError(f"input_kind={cfg.input_kind!r}: use auto, articles or statements")
    if cfg.fingerprint not in ("stat", "sha256"):
        raise BatchError(f"fingerprint={cfg.fingerprint!r}: use stat or sha256")
    if not (Path(cfg.model_path) / "config.json").is_file():
        raise BatchError(f"{cfg.model_path}: not a checkpoint folder (no config.json)")
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BatchResult(str(out_dir))

    def problem(msg: str) -> None:
        result.problems.append(msg)
        print(f"warning: {msg}", file=sys.stderr)

    planning: list[str] = []
    paths = expand_inputs(list(cfg.inputs), planning)
    for m in planning:
        problem(m)
    checkpoint = checkpoint_identity(cfg.model_path)
    labels = checkpoint["labels"]
    settings = {"input_kind": cfg.input_kind, "text_field": cfg.text_field, "abstain_threshold": cfg.abstain_threshold,
                "rows_per_chunk": cfg.rows_per_chunk}
    manifest = Manifest(out_dir, checkpoint, settings, cfg.overwrite)

    todo: list[Chunk] = []
    for path in paths:
        fmt = file_format(path)
        try:
            fp = fingerprint(path, cfg.fingerprint)
            kind = detect_kind(path, fmt, cfg.text_field, cfg.input_kind)
            chunks = plan_chunks(path, kind, cfg.rows_per_chunk)
        except Exception as exc:  # noqa: BLE001 - an unreadable input is reported; the others go on
            problem(f"{path}: cannot read ({type(exc).__name__}: {exc}); skipped")
            continue
        result.inputs += 1
        manifest.entry(path, fp, len(chunks))
        for c in chunks:
            if manifest.is_done(path, c.key):
                result.chunks_skipped += 1
            else:
                todo.append(c)
    manifest.save()
    echo(f"{result.inputs} input file(s), {len(todo) + result.chunks_skipped} chunk(s): {len(todo)} to do, "
         f"{result.chunks_skipped} already done (manifest {manifest.path})")
    if not todo:
        result.seconds = time.perf_counter() - t0
        return result

    import ray

    started = init_ray(cfg)
    try:
        from ray.data import ActorPoolStrategy, DataContext, TaskPoolStrategy

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = bool(cfg.ray.progress_bars)
        ctx.execution_options.preserve_order = False
        w = cfg.workers
        num_threads = w.num_threads or max(1, int(w.num_cpus))
        ds = ray.data.from_items([{"task": c.to_json(), "text_field": cfg.text_field} for c in todo],
                                 override_num_blocks=len(todo))
        ds = ds.map_batches(_extract_batch, batch_size=1, batch_format="pandas", num_cpus=w.extract_num_cpus,
                            compute=TaskPoolStrategy(size=max(1, min(w.extract_concurrency or 2 * w.concurrency, len(todo)))))
        ds = ds.map_batches(Classifier, batch_size=w.batch_size, batch_format="pandas",
                            compute=ActorPoolStrategy(size=max(1, min(w.concurrency, len(todo)))),
                            num_cpus=w.num_cpus, num_gpus=w.num_gpus or None,
                            fn_constructor_kwargs={"model_path": str(Path(cfg.model_path).resolve()), "device": w.device,
                                                   "num_threads": num_threads, "abstain_threshold": cfg.abstain_threshold,
                                                   "predict_batch_size": w.predict_batch_size})
        by_key = {c.key: c for c in todo}
        pending: dict[str, dict] = {}
        bar = tqdm(total=len(todo), desc="chunks", unit=" chunk", disable=None, file=sys.stderr)
        for batch in ds.iter_batches(batch_size=None, batch_format="pandas"):
            for key, g in batch.groupby("chunk", sort=False):
                acc = pending.setdefault(key, {"frames": [], "got": 0, "expected": None, "problems": []})
                rows = g[~g["marker"]]
                if len(rows):
                    acc["frames"].append(rows)
                    acc["got"] += len(rows)
                for _, m in g[g["marker"]].iterrows():
                    acc["expected"] = int(m["n_rows"])
                    acc["problems"] = json.loads(m["problems"])
                if acc["expected"] is None or acc["got"] < acc["expected"]:
                    continue
                chunk = by_key[key]
                for msg in acc["problems"]:
                    problem(msg)
                if acc["expected"] < 0:  # the chunk could not be read: not recorded as done
                    del pending[key]
                    result.chunks_failed += 1
                    bar.update(1)
                    continue
                n = acc["got"]
                if n:
                    df = pd.concat(acc["frames"], ignore_index=True)
                    table = to_table(df, labels)
                    import pyarrow.parquet as pq

                    final = out_dir / f"part-{key}.parquet"
                    tmp = out_dir / f".part-{key}.parquet.tmp-{os.getpid()}"
                    pq.write_table(table, tmp)
                    os.replace(tmp, final)
                    result.abstained += int(df["abstained"].sum())
                manifest.done(chunk.path, key, n, acc["problems"])
                result.statements += n
                result.chunks_done += 1
                if result.first_part_seconds is None:
                    result.first_part_seconds = time.perf_counter() - t0
                del pending[key]
                bar.update(1)
                bar.set_postfix(statements=result.statements, refresh=False)
        bar.close()
        result.chunks_failed += len(pending)
    finally:
        if started:
            ray.shutdown()
    result.seconds = time.perf_counter() - t0
    return result


# -- command line ----------------------------------------------------------------------------------------------
def batch_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("batch", "batch", groups=("workers",), description=
                  "Classify every statement of a corpus on Ray Data: article or statement files (.jsonl, .parquet; "
                  ".txt/.md one article each), folders or globs -> one Parquet row per statement in --output. "
                  "A rerun with the same --output continues where it stopped.")
    cmd.add("inputs", setting="inputs", nargs="*", help="files, folders or globs")
    cmd.add("--model", setting="model_path", help="checkpoint folder (e.g. outputs/latest); every Ray node must see it")
    cmd.add("-o", "--output", setting="output_dir", help="output folder: part-*.parquet and _manifest.json")
    cmd.add("--address", setting="ray.address", help="Ray cluster address (null: $RAY_ADDRESS, else Ray on this machine)")
    cmd.add("--concurrency", setting="workers.concurrency", type=int, help="classifier actors")
    kind = cmd.parser.add_mutually_exclusive_group()
    for flag in ("articles", "statements"):
        cmd.add(f"--{flag}", setting="input_kind", group=kind, action="store_const", const=flag, help=f"inputs are {flag}")
    cmd.add("--overwrite", setting="overwrite", action="store_true", help="start the output folder over")
    return cmd.run(argv, _batch)


def _batch(args, cfg) -> int:
    from .command_line import UsageError

    if not cfg.inputs:
        raise UsageError("give input files, folders or globs")
    echo = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    try:
        res = run_batch(cfg, echo=echo)
    except BatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rate = res.statements / res.seconds if res.seconds else 0.0
    msg = (f"{res.statements} statement(s) classified ({res.abstained} none/abstained) in {res.chunks_done} chunk(s), "
           f"{res.chunks_skipped} chunk(s) already done; {res.seconds:.1f} s ({rate:.1f} statements/s) -> {res.output_dir}")
    if res.chunks_failed:
        msg += f"; {res.chunks_failed} chunk(s) unfinished (rerun to retry)"
    if res.problems:
        msg += f"; {len(res.problems)} input problem(s) reported above"
    echo(msg)
    return 1 if (res.chunks_failed or (res.problems and not res.statements and not res.chunks_skipped)) else 0
