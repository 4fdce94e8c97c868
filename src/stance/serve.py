"""``stance serve``: an HTTP API and a web page over one loaded checkpoint.

    stance serve --model outputs/latest [--host 127.0.0.1] [--port 8000]

Routes (all JSON; OpenAPI docs at ``/docs``, served without a CDN when ``fastapi-offline`` is installed):

* ``POST /v1/classify`` ``{"texts": [...], "speakers": [...]?}``: one result per text.
* ``POST /v1/articles`` ``{"text": "...", "title": "..."?}``: the statements found in the article,
  with speaker, kind, offsets into ``text`` and their stance.
* ``POST /predict`` ``{"inputs": ...}``: the classification route of Hugging Face
  text-embeddings-inference (TEI): per input a list of ``{"label", "score"}``, highest first.
* ``GET /health``, ``GET /v1/model``, ``GET /info`` (TEI's), ``GET /`` (the web page).

Requests that arrive together are classified together: every request's texts go into one queue,
and a single worker thread takes what is queued (up to ``max_batch`` texts, waiting at most
``max_wait_ms`` for more after the first) and runs one batched forward pass. Requests never read
or write files; the web page's three files are read from the package once, at start.
"""
from __future__ import annotations

import asyncio
import json
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .config import ServeConfig

log = logging.getLogger("stance.serve")

DEFAULT_MAX_TEXTS = ServeConfig.max_texts  # the limits' defaults are written once, in stance.config
DEFAULT_MAX_BODY = ServeConfig.max_body_bytes
DEFAULT_MAX_BATCH = ServeConfig.max_batch
DEFAULT_MAX_WAIT_MS = ServeConfig.max_wait_ms
DEFAULT_MAX_QUEUE = ServeConfig.max_queue
WEB_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
             "style.css": "text/css; charset=utf-8"}


# -- batching --------------------------------------------------------------------------------------
class Overloaded(Exception):
    """The queue already holds ``max_queue`` texts."""


@dataclass
class _Job:
    texts: list[str]
    speakers: list[str]
    contexts: list[str]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


@dataclass
class BatchStats:
    batches: int = 0
    texts: int = 0
    requests: int = 0
    largest: int = 0
    busy_s: float = 0.0

    def to_dict(self) -> dict:
        return {"batches": self.batches, "texts": self.texts, "requests": self.requests,
                "mean_batch_size": round(self.texts / self.batches, 2) if self.batches else 0.0,
                "largest_batch": self.largest, "busy_seconds": round(self.busy_s, 3)}


@dataclass
class Scored:
    """One text's answer from the batcher: the prediction and its raw logits (for TEI's raw_scores)."""
    prediction: Any
    logits: np.ndarray


class Batcher:
    """Dynamic batching: requests put their texts in one queue; one worker thread runs the model on
    whatever is queued, up to ``max_batch`` texts, waiting at most ``max_wait_ms`` after the first
    for more to arrive. A request larger than ``max_batch`` is split, so a big request cannot hold
    the model while small ones wait. At most ``max_queue`` texts wait; past that, ``Overloaded``."""

    def __init__(self, clf, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait_ms: float = DEFAULT_MAX_WAIT_MS,
                 max_queue: int = DEFAULT_MAX_QUEUE, batch_size: int = 32):
        self.clf = clf
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait_ms / 1000.0, max_queue
        self.batch_size = batch_size
        self._q: queue.Queue[_Job | None] = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stats = BatchStats()

    @property
    def queued(self) -> int:
        return self._queued

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stance-batcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    async def score(self, texts: list[str], speakers: list[str] | None = None,
                    contexts: list[str] | None = None) -> list[Scored]:
        if not texts:
            return []
        n = len(texts)
        speakers = list(speakers) if speakers is not None else [""] * n
        contexts = list(contexts) if contexts is not None else [""] * n
        with self._lock:
            if self._queued + n > self.max_queue:
                raise Overloaded(f"{self._queued} texts already queued (limit {self.max_queue}); retry shortly")
            self._queued += n
            self.stats.requests += 1
        loop = asyncio.get_running_loop()
        futures = []
        for s in range(0, n, self.max_batch):
            fut = loop.create_future()
            self._q.put(_Job(texts[s:s + self.max_batch], speakers[s:s + self.max_batch],
                             contexts[s:s + self.max_batch], fut, loop))
            futures.append(fut)
        out: list[Scored] = []
        for part in await asyncio.gather(*futures):
            out.extend(part)
        return out

    def _run(self) -> None:
        carry: _Job | None = None  # a job that did not fit the previous batch: it opens the next one
        while True:
            job = carry if carry is not None else self._q.get()
            carry = None
            if job is None:
                break
            jobs, n, stop = [job], len(job.texts), False
            deadline = time.monotonic() + self.max_wait
            while n < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                if n + len(nxt.texts) > self.max_batch:
                    carry = nxt
                    break
                jobs.append(nxt)
                n += len(nxt.texts)
            self._process(jobs)
            if stop:
                break

    def _process(self, jobs: list[_Job]) -> None:
        texts = [t for j in jobs for t in j.texts]
        speakers = [s for j in jobs for s in j.speakers]
        contexts = [c for j in jobs for c in j.contexts]
        t0 = time.perf_counter()
        try:
            from .calibration import apply_temperature

            logits, truncated = self.clf.logits(texts, self.batch_size, contexts=contexts, speakers=speakers)
            probs = apply_temperature(logits, self.clf.temperature)
            scored = [Scored(pred, lg) for pred, lg in zip(self.clf.predictions(probs, truncated), logits)]
            error = None
        except Exception as exc:  # reported to the waiting requests; the worker goes on
            log.exception("batch of %d texts failed", len(texts))
            scored, error = [], exc
        finally:
            with self._lock:
                self._queued -= len(texts)
                self.stats.batches += 1
                self.stats.texts += len(texts)
                self.stats.largest = max(self.stats.largest, len(texts))
                self.stats.busy_s += time.perf_counter() - t0
        at = 0
        for j in jobs:
            part = scored[at:at + len(j.texts)]
            at += len(j.texts)
            j.loop.call_soon_threadsafe(_resolve, j.future, part, error)


def _resolve(fut: asyncio.Future, value, error) -> None:
    if fut.done():  # the client went away
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


# -- request and response models -------------------------------------------------------------------
class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"texts": ["We pose no threat to anyone.", "They will pay a heavy price."],
         "speakers": ["Maria Zakharova", "a defence official"]}]})
    texts: list[str] = Field(description="the statements to classify")
    speakers: Optional[list[Optional[str]]] = Field(
        None, description="who said each text (same length as texts; read by checkpoints trained with the speaker)")


class StanceResult(BaseModel):
    index: int
    label: Optional[str] = Field(None, description="reassure / threaten / dismiss, or none (no stance); null when the item has an error")
    score: Optional[float] = Field(None, description="calibrated probability of label")
    probabilities: Optional[dict[str, float]] = None
    abstained: Optional[bool] = Field(None, description="true when label is none")
    truncated: Optional[bool] = Field(None, description="longer than the model's window; the end was cut")
    stance: Optional[str] = Field(None, description="the most probable stance, kept beside a none")
    stance_score: Optional[float] = None
    error: Optional[str] = Field(None, description="why this item was not classified (e.g. empty text)")


class ClassifyResponse(BaseModel):
    model: str
    results: list[StanceResult]


class ArticleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"title": "Russia rejects Trump call", "text": "“We don’t think that third countries should worry about "
                                                      "our bilateral ties,” Peskov added."}]})
    text: str = Field(description="the article or transcript, plain text")
    title: Optional[str] = Field(None, description="shown back with the result; not searched for statements")


class ArticleStatement(StanceResult):
    text: str
    speaker: str
    role: str = Field("", description="the speaker's role and affiliation where the article gives them")
    kind: str = Field(description="direct (quote), reported (speech) or turn (transcript)")
    start: int = Field(description="character offset of the statement in the submitted text")
    end: int


class ArticleResponse(BaseModel):
    model: str
    title: Optional[str] = None
    statements: list[ArticleStatement]
    counts: dict[str, int] = Field(description="statements per label")
    warnings: list[str] = []


class TEIRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"inputs": ["All options are on the table."]}]})
    inputs: Union[str, list[str], list[list[str]]] = Field(
        description="a text, a list of texts, or [text, speaker] pairs")
    raw_scores: bool = Field(False, description="return logits instead of calibrated probabilities")
    truncate: Optional[bool] = Field(None, description="accepted for compatibility; inputs are always truncated to the model's window")
    truncation_direction: Optional[str] = Field(None, description="accepted for compatibility (the end is cut)")


class TEIScore(BaseModel):
    label: str
    score: float


# -- the app ---------------------------------------------------------------------------------------
@dataclass
class Settings:
    max_texts: int = DEFAULT_MAX_TEXTS
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS
    max_queue: int = DEFAULT_MAX_QUEUE
    batch_size: int = 32
    log_texts: bool = False
    model_name: str = ""
    extra: dict = field(default_factory=dict)


class APIError(Exception):
    def __init__(self, status: int, message: str, error_type: str = "validation", loc: list | None = None):
        super().__init__(message)
        self.status, self.message, self.error_type, self.loc = status, message, error_type, loc


def _error(status: int, message: str, error_type: str, detail: list | None = None, headers: dict | None = None):
    from fastapi.responses import JSONResponse

    body: dict[str, Any] = {"error": message, "error_type": error_type}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def _loc(loc) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def _check_utf8(name: str, value: str) -> None:
    """JSON escapes can carry lone surrogates (\\ud800), which are not text: refuse them by name."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise APIError(400, f"{name}: not valid UTF-8 text (lone surrogate at character {exc.start})",
                       "invalid_utf8") from None


class BodyGuard:
    """ASGI middleware: bodies over ``limit`` bytes get 413 (checked on Content-Length and while
    reading), bodies that are not UTF-8 get 400, and one log line per request (never the body)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 0}

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            if scope["method"] in ("POST", "PUT", "PATCH"):
                headers = dict(scope.get("headers") or [])
                length = headers.get(b"content-length")
                if length is not None and length.isdigit() and int(length) > self.limit:
                    return await _error(413, f"request body of {int(length)} bytes is over the limit of {self.limit} bytes",
                                        "payload_too_large")(scope, receive, send_logged)
                chunks, size = [], 0
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.limit:
                        return await _error(413, f"request body is over the limit of {self.limit} bytes",
                                            "payload_too_large")(scope, receive, send_logged)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
                body = b"".join(chunks)
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return await _error(400, f"request body is not valid UTF-8 (byte {exc.start})",
                                        "invalid_utf8")(scope, receive, send_logged)
                sent = False

                async def replay():
                    nonlocal sent
                    if not sent:
                        sent = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                return await self.app(scope, replay, send_logged)
            return await self.app(scope, receive, send_logged)
        finally:
            log.info("%s %s %s %.1f ms", scope["method"], scope["path"], status["code"] or "-",
                     (time.perf_counter() - t0) * 1000)


def _web_assets() -> dict[str, bytes]:
    base = resources.files("stance") / "web"
    return {name: (base / name).read_bytes() for name in WEB_FILES}


def _docs_assets() -> dict[str, tuple[bytes, str]] | None:
    """Swagger UI and ReDoc from the ``fastapi-offline`` package, so /docs works with no internet."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    static = Path(fastapi_offline.__file__).parent / "static"
    types = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
             "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}
    try:
        return {name: ((static / name).read_bytes(), t) for name, t in types.items()}
    except OSError:
        return None


def _test_scores(metrics: dict) -> dict:
    out = {}
    for key in ("test", "test_end_to_end"):
        m = metrics.get(key)
        if isinstance(m, dict):
            out[key] = {k: m[k] for k in ("n", "macro_f1", "macro_f1_ci95", "accuracy") if k in m}
            if isinstance(m.get("per_class"), dict):
                out[key]["f1"] = {lab: v.get("f1") for lab, v in m["per_class"].items() if isinstance(v, dict)}
    return out


def create_app(clf, settings: Settings | None = None, *, model_path: str | Path | None = None):
    """The FastAPI app over a loaded ``StanceClassifier``. The batcher's worker thread runs while
    the app runs (FastAPI lifespan; TestClient as a context manager does the same)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.responses import HTMLResponse, Response
    from starlette.concurrency import run_in_threadpool

    from . import __version__
    from .extraction import extract_statements

    settings = settings or Settings()
    model_name = settings.model_name or (Path(model_path).name if model_path else "stance")
    batcher = Batcher(clf, max_batch=settings.max_batch, max_wait_ms=settings.max_wait_ms,
                      max_queue=settings.max_queue, batch_size=settings.batch_size)
    metrics = {}
    if model_path and (Path(model_path) / "metrics.json").is_file():
        try:
            metrics = json.loads((Path(model_path) / "metrics.json").read_text())
        except (OSError, ValueError):
            metrics = {}
    model_info = {
        "name": model_name,
        "labels": list(clf.labels),
        "stances": [lab for lab in clf.labels if lab != "none"],
        "base_model": clf.meta.base_model,
        "data_hash": clf.meta.data_hash,
        "input_format": clf.input_format,
        "abstain_threshold": clf.abstain_threshold,
        "temperature": clf.temperature,
        "max_length": clf.max_length,
        "test_scores": _test_scores(metrics),
        "limits": {"max_texts": settings.max_texts, "max_body_bytes": settings.max_body_bytes},
        "batching": {"max_batch": settings.max_batch, "max_wait_ms": settings.max_wait_ms,
                     "max_queue": settings.max_queue},
        "version": __version__,
    }
    web = _web_assets()
    docs = _docs_assets()

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        try:
            yield
        finally:
            batcher.stop()

    description = (
        "Stance of officials' statements: reassure / threaten / dismiss, or none.\n\n"
        "`/v1/classify` classifies statements, `/v1/articles` finds the statements in an article and classifies them, "
        "`/predict` answers in the shape of Hugging Face text-embeddings-inference's classification route. "
        "The web page is at `/`.")
    app = FastAPI(title="stance", version=__version__, description=description, lifespan=lifespan,
                  docs_url=None if docs else "/docs", redoc_url=None if docs else "/redoc")
    app.state.batcher = batcher
    app.state.settings = settings
    app.add_middleware(BodyGuard, limit=settings.max_body_bytes)

    # -- errors: one shape everywhere, {"error", "error_type"} (TEI's), plus FastAPI's "detail" for 422s
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError):
        detail = []
        for e in exc.errors():
            d = {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            detail.append(d)
        msgs = []
        for d in detail:
            if d["type"] == "json_invalid":
                msgs.append(f"body: invalid JSON ({d['msg']})")
            else:
                msgs.append(f"{_loc(d['loc'])}: {d['msg']}")
        return _error(422, "; ".join(msgs[:5]) + (f" (and {len(msgs) - 5} more)" if len(msgs) > 5 else ""),
                      "validation", detail)

    @app.exception_handler(APIError)
    async def on_api_error(request: Request, exc: APIError):
        detail = [{"loc": ["body", *exc.loc], "msg": exc.message, "type": exc.error_type}] if exc.loc else None
        return _error(exc.status, exc.message, exc.error_type, detail)

    @app.exception_handler(Overloaded)
    async def on_overloaded(request: Request, exc: Overloaded):
        return _error(429, f"model is overloaded: {exc}", "overloaded", headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception):
        log.exception("request %s %s failed", request.method, request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}", "backend")

    def _too_many(field_name: str, n: int) -> None:
        if n > settings.max_texts:
            raise APIError(422, f"{field_name}: {n} items, over the limit of {settings.max_texts} per request",
                           "validation", [field_name])

    def _log_texts(route: str, texts: list[str]) -> None:
        if settings.log_texts:
            log.info("%s texts: %s", route, json.dumps(texts, ensure_ascii=False)[:4000])

    def _result(i: int, s: Scored) -> dict:
        p = s.prediction
        return {"index": i, "label": p.label, "score": p.score, "probabilities": p.probabilities,
                "abstained": p.abstained, "truncated": p.truncated, "stance": p.stance,
                "stance_score": p.stance_score, "error": None}

    # -- routes --------------------------------------------------------------------------------
    @app.post("/v1/classify", response_model=ClassifyResponse, tags=["stance"],
              responses={413: {"description": "body over the size limit"}, 400: {"description": "not UTF-8"},
                         429: {"description": "queue full; retry"}})
    async def classify(req: ClassifyRequest):
        """Classify statements: one result per text, in order. Empty texts get an `error` in their
        result and the others are classified."""
        _too_many("texts", len(req.texts))
        if req.speakers is not None and len(req.speakers) != len(req.texts):
            raise APIError(422, f"speakers: {len(req.speakers)} speakers for {len(req.texts)} texts (give one per text, or none)",
                           "validation", ["speakers"])
        for i, t in enumerate(req.texts):
            _check_utf8(f"texts[{i}]", t)
        for i, s in enumerate(req.speakers or []):
            _check_utf8(f"speakers[{i}]", s or "")
        _log_texts("/v1/classify", req.texts)
        keep = [i for i, t in enumerate(req.texts) if t.strip()]
        speakers = [(req.speakers[i] or "") for i in keep] if req.speakers is not None else None
        scored = await batcher.score([req.texts[i].strip() for i in keep], speakers)
        results: list[dict] = [{"index": i, "error": "empty text"} for i in range(len(req.texts))]
        for i, s in zip(keep, scored):
            results[i] = _result(i, s)
        return {"model": model_name, "results": results}

    @app.post("/v1/articles", response_model=ArticleResponse, tags=["stance"],
              responses={413: {"description": "body over the size limit"}, 400: {"description": "not UTF-8"}})
    async def articles(req: ArticleRequest):
        """Find the statements in an article (quotes, reported speech, transcript turns), with who made
        them and where (`start`/`end`: character offsets into `text`), and classify each, passing its
        speaker to the model."""
        _check_utf8("text", req.text)
        _check_utf8("title", req.title or "")
        if not req.text.strip():
            raise APIError(422, "text: the article is empty", "validation", ["text"])
        statements = await run_in_threadpool(extract_statements, req.text)
        _log_texts("/v1/articles", [req.text])
        previous: dict[str, str] = {}
        contexts = []
        for st in statements:
            contexts.append(previous.get(st.speaker, ""))
            previous[st.speaker] = st.text
        scored = await batcher.score([st.text for st in statements], [st.speaker_segment for st in statements], contexts)
        out, counts = [], {}
        for i, (st, s) in enumerate(zip(statements, scored)):
            row = _result(i, s)
            row.update({"text": st.text, "speaker": st.speaker, "role": st.role, "kind": st.kind, "start": st.start,
                        "end": st.end})
            counts[row["label"]] = counts.get(row["label"], 0) + 1
            out.append(row)
        warnings = [] if statements else ["no statements found (quotes, reported speech or transcript turns)"]
        return {"model": model_name, "title": req.title, "statements": out, "counts": counts, "warnings": warnings}

    @app.post("/predict", tags=["text-embeddings-inference"],
              response_model=Union[list[TEIScore], list[list[TEIScore]]])
    async def predict(req: TEIRequest):
        """Hugging Face text-embeddings-inference's classification route: `{"inputs": "text"}` gives a list
        of `{"label", "score"}` (every label, highest score first); `{"inputs": ["a", "b"]}` one such list
        per input; `[text, speaker]` pairs pass the speaker. Scores are the calibrated probabilities
        (`raw_scores: true`: logits); the abstention decision is not applied (use /v1/classify for it)."""
        single = isinstance(req.inputs, str)
        items = [req.inputs] if single else list(req.inputs)
        if not items:
            raise APIError(422, "inputs: cannot be empty", "validation", ["inputs"])
        _too_many("inputs", len(items))
        texts, speakers = [], []
        for i, item in enumerate(items):
            if isinstance(item, list):
                if len(item) != 2:
                    raise APIError(422, f"inputs[{i}]: a pair must be [text, speaker], got {len(item)} items",
                                   "validation", ["inputs", i])
                text, spk = item
            else:
                text, spk = item, ""
            _check_utf8(f"inputs[{i}]", text)
            _check_utf8(f"inputs[{i}]", spk)
            if not text.strip():
                raise APIError(422, f"inputs[{i}]: empty text", "validation", ["inputs", i])
            texts.append(text.strip())
            speakers.append(spk)
        _log_texts("/predict", texts)
        scored = await batcher.score(texts, speakers)
        out = []
        for s in scored:
            values = s.logits if req.raw_scores else list(s.prediction.probabilities.values())
            pairs = [{"label": lab, "score": float(v)} for lab, v in zip(clf.labels, values)]
            out.append(sorted(pairs, key=lambda d: -d["score"]))
        return out[0] if single else out

    @app.get("/health", tags=["service"])
    async def health():
        """200 while the model is loaded and the batcher runs; queue length and batching counters."""
        return {"status": "ok", "model": model_name, "queued": batcher.queued, "batching": batcher.stats.to_dict()}

    @app.get("/v1/model", tags=["service"])
    async def model():
        """The loaded checkpoint: labels, base encoder, data hash, test scores, abstention threshold, limits."""
        return model_info

    @app.get("/info", tags=["text-embeddings-inference"])
    async def info():
        """Text-embeddings-inference's `/info`, for clients that read it first."""
        return {"model_id": model_name, "model_sha": None, "model_dtype": "float32",
                "model_type": {"classifier": {"id2label": {str(i): lab for i, lab in enumerate(clf.labels)},
                                              "label2id": {lab: i for i, lab in enumerate(clf.labels)}}},
                "max_concurrent_requests": settings.max_queue, "max_input_length": clf.max_length,
                "max_batch_tokens": settings.max_batch * clf.max_length, "max_client_batch_size": settings.max_texts,
                "version": __version__, "backend": "stance"}

    @app.get("/", include_in_schema=False)
    async def index():
        return HTMLResponse(web["index.html"])

    @app.get("/app.js", include_in_schema=False)
    async def app_js():
        return Response(web["app.js"], media_type=WEB_FILES["app.js"])

    @app.get("/style.css", include_in_schema=False)
    async def style_css():
        return Response(web["style.css"], media_type=WEB_FILES["style.css"])

    if docs:
        @app.get("/docs", include_in_schema=False)
        async def swagger():
            return get_swagger_ui_html(openapi_url=app.openapi_url, title="stance API",
                                       swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                       swagger_css_url="/docs-assets/swagger-ui.css",
                                       swagger_favicon_url="/docs-assets/favicon.png")

        @app.get("/redoc", include_in_schema=False)
        async def redoc():
            return get_redoc_html(openapi_url=app.openapi_url, title="stance API",
                                  redoc_js_url="/docs-assets/redoc.standalone.js",
                                  redoc_favicon_url="/docs-assets/favicon.png", with_google_fonts=False)

        @app.get("/docs-assets/{name}", include_in_schema=False)
        async def docs_asset(name: str):
            if name not in docs:  # only the four names read at start; never a path
                return _error(404, "not found", "not_found")
            data, media = docs[name]
            return Response(data, media_type=media, headers={"Cache-Control": "max-age=86400"})

    return app


# -- the command -----------------------------------------------------------------------------------
def serve_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("serve", "serve", "HTTP API and web page for a checkpoint.")
    cmd.add("--model", setting="model_path", help="checkpoint folder written by `stance train` (e.g. outputs/latest)")
    cmd.add("--host", setting="host", help="address to bind (127.0.0.1: this machine only)")
    cmd.add("--port", setting="port", type=int, help="port (0 picks a free one)")
    cmd.add("--max-texts", setting="max_texts", type=int, help="texts per request")
    cmd.add("--max-body-bytes", setting="max_body_bytes", type=int, help="request body limit")
    cmd.add("--max-batch", setting="max_batch", type=int, help="texts per model batch")
    cmd.add("--max-wait-ms", setting="max_wait_ms", type=float, help="longest wait for more requests to join a batch")
    cmd.add("--max-queue", setting="max_queue", type=int, help="texts waiting before 429")
    cmd.add("--log-texts", setting="log_texts", action="store_true", help="include the submitted texts in the request log")
    cmd.add("--device", setting="device", help="cpu, cuda, cuda:1 ... (null: cuda if available)")
    cmd.add("--threads", setting="num_threads", type=int, help="CPU threads for the model (0: all cores)")
    cmd.add("--quantize", setting="quantize", action="store_true", help="int8 dynamic quantization on CPU")
    return cmd.run(argv, _serve)


def _serve(args, cfg) -> int:
    """Load the checkpoint once and serve it; ``cfg`` is the composed ServeConfig."""
    try:
        import uvicorn
    except ImportError:
        print("error: stance serve needs fastapi and uvicorn: pip install 'stance[serve]'", file=sys.stderr)
        return 2
    from .inference import StanceClassifier, set_num_threads

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    try:
        set_num_threads(cfg.num_threads)
        clf = StanceClassifier.load(cfg.model_path, device=cfg.device, quantize=cfg.quantize)
        clf.predict(["Warm-up statement."])
    except (OSError, ValueError) as exc:
        print(f"error: cannot load model {cfg.model_path}: {exc}", file=sys.stderr)
        return 2
    path = Path(cfg.model_path)
    name = path.resolve().name if path.name in ("latest", "") else path.name
    if name == "model":
        name = path.resolve().parent.name + "/model"
    settings = Settings(max_texts=cfg.max_texts, max_body_bytes=cfg.max_body_bytes, max_batch=cfg.max_batch,
                        max_wait_ms=cfg.max_wait_ms, max_queue=cfg.max_queue, log_texts=cfg.log_texts,
                        model_name=name)
    app = create_app(clf, settings, model_path=path)
    loaded = time.perf_counter() - t0
    print(f"stance serve: model {cfg.model_path} loaded in {loaded:.1f} s (labels: {', '.join(clf.labels)})", flush=True)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:
                port = cfg.port
                for srv in self.servers:
                    for sock in srv.sockets:
                        port = sock.getsockname()[1]
                url = f"http://{cfg.host if ':' not in cfg.host else '[' + cfg.host + ']'}:{port}"
                print(f"stance serve: ready on {url}  (web page {url}/, API docs {url}/docs)", flush=True)

    config = uvicorn.Config(app, host=cfg.host, port=cfg.port, access_log=False, log_level="warning",
                            timeout_graceful_shutdown=5)
    Server(config).run()
    return 0
