"""`stance serve`: the HTTP API through FastAPI's TestClient, on the smoke checkpoint."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from stance.extraction import extract_statements  # noqa: E402
from stance.serve import Batcher, Overloaded, Settings, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (ROOT / "data" / "raw" / "article.txt").read_text(encoding="utf-8")
LIMITS = Settings(max_texts=8, max_body_bytes=20_000, max_wait_ms=2.0)


@pytest.fixture(scope="module")
def clf(smoke_run):
    from stance.inference import StanceClassifier

    return StanceClassifier.load(smoke_run["model_dir"])


@pytest.fixture(scope="module")
def client(clf, smoke_run):
    with TestClient(create_app(clf, LIMITS, model_path=smoke_run["model_dir"])) as c:
        yield c


def test_classify_matches_offline_predictions(client, clf):
    texts = ["We pose no threat to anyone.", "They will pay a heavy price.", "Their claims are nonsense."]
    speakers = ["Maria Zakharova", "a defence official", None]
    r = client.post("/v1/classify", json={"texts": texts, "speakers": speakers})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    offline = clf.predict(texts, speakers=[s or "" for s in speakers])
    assert [x["index"] for x in results] == [0, 1, 2]
    for got, want in zip(results, offline):
        assert got["label"] == want.label and got["abstained"] == want.abstained and got["stance"] == want.stance
        assert got["score"] == pytest.approx(want.score, abs=1e-5)
        assert set(got["probabilities"]) == set(clf.labels)
        assert sum(got["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert got["error"] is None


def test_classify_reports_empty_items_and_classifies_the_rest(client):
    r = client.post("/v1/classify", json={"texts": ["We seek no confrontation.", "", "   "]})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 3
    assert results[0]["label"] and results[0]["error"] is None
    assert results[1] == {**results[1], "index": 1, "label": None, "error": "empty text"}
    assert results[2]["error"] == "empty text"


def test_articles_return_statements_with_offsets_speakers_and_stances(client, clf):
    r = client.post("/v1/articles", json={"text": ARTICLE, "title": "Russia rejects Trump call"})
    assert r.status_code == 200, r.text
    body = r.json()
    found = extract_statements(ARTICLE)
    assert body["title"] == "Russia rejects Trump call"
    assert len(body["statements"]) == len(found) >= 10
    assert sum(body["counts"].values()) == len(found)
    offline = clf.predict([s.text for s in found], speakers=[s.speaker_segment for s in found])
    for got, st, want in zip(body["statements"], found, offline):
        assert (got["text"], got["speaker"], got["kind"], got["start"], got["end"]) == (st.text, st.speaker, st.kind, st.start, st.end)
        assert ARTICLE[got["start"]:got["end"]].startswith(got["text"][:20])
        assert got["label"] == want.label and got["score"] == pytest.approx(want.score, abs=1e-5)
    assert {"Dmitry Peskov", "Maria Zakharova", "Patrick Shanahan"} <= {s["speaker"] for s in body["statements"]}
    roles = {s["speaker"]: s["role"] for s in body["statements"]}
    assert roles["Maria Zakharova"] == "Russian foreign ministry spokeswoman" and roles["Dmitry Peskov"] == "Kremlin spokesman"


def test_articles_without_statements_and_empty_articles(client):
    r = client.post("/v1/articles", json={"text": "The weather was mild on Tuesday."})
    assert r.status_code == 200 and r.json()["statements"] == [] and r.json()["warnings"]
    r = client.post("/v1/articles", json={"text": "  \n "})
    assert r.status_code == 422 and r.json()["error"].startswith("text:")


def test_tei_predict_route_has_text_embeddings_inference_shape(client, clf):
    one = client.post("/predict", json={"inputs": "All options are on the table."})
    assert one.status_code == 200
    scores = one.json()
    assert [set(d) for d in scores] == [{"label", "score"}] * len(clf.labels)
    assert [d["score"] for d in scores] == sorted((d["score"] for d in scores), reverse=True)
    assert sum(d["score"] for d in scores) == pytest.approx(1.0, abs=1e-4)
    many = client.post("/predict", json={"inputs": ["All options are on the table.", "We seek no confrontation."]}).json()
    assert len(many) == 2 and [d["label"] for d in many[0]] == [d["label"] for d in scores]
    assert [d["score"] for d in many[0]] == pytest.approx([d["score"] for d in scores], abs=1e-5)
    pairs = client.post("/predict", json={"inputs": [["We pose no threat.", "Maria Zakharova"]]}).json()
    want = clf.predict(["We pose no threat."], speakers=["Maria Zakharova"])[0].probabilities
    assert {d["label"]: d["score"] for d in pairs[0]} == pytest.approx(want, abs=1e-5)
    raw = client.post("/predict", json={"inputs": ["We pose no threat."], "raw_scores": True}).json()
    assert sum(d["score"] for d in raw[0]) != pytest.approx(1.0, abs=1e-3)  # logits, not probabilities
    assert client.post("/predict", json={"inputs": ["ok text", ""]}).json()["error"] == "inputs[1]: empty text"
    assert client.post("/predict", json={"inputs": []}).status_code == 422
    info = client.get("/info").json()
    assert info["model_type"]["classifier"]["id2label"]["0"] == clf.labels[0]


@pytest.mark.parametrize("body, status, field", [
    ('{"texts": ["a", ', 422, "invalid JSON"),
    ('{"texts": "one string"}', 422, "texts"),
    ('{"texts": ["fine", 3]}', 422, "texts[1]"),
    ('{"text": ["typo in the field name"]}', 422, "texts: Field required"),
    ('{"texts": ["a", "b"], "speakers": ["only one"]}', 422, "speakers"),
    ('{"texts": ["a", "b", "c", "d", "e", "f", "g", "h", "i"]}', 422, "limit of 8"),
    ('{"texts": ["\\ud800 lone surrogate"]}', 400, "texts[0]"),
    ('[1, 2]', 422, "body"),
])
def test_bad_requests_get_a_clear_answer(client, body, status, field):
    r = client.post("/v1/classify", content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert field in r.json()["error"]
    assert r.json()["error_type"]


def test_body_limit_utf8_and_the_server_stays_up(client):
    big = json.dumps({"texts": ["x" * 30_000]}).encode()
    r = client.post("/v1/classify", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "20000" in r.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(30):
            yield b" " * 1000
        yield b'{"texts": ["a"]}'

    r = client.post("/v1/classify", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/v1/classify", content=b'{"texts": ["caf\xe9 au lait"]}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]
    r = client.post("/v1/articles", content=b'{"text": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.get("/health").json()["status"] == "ok"
    assert client.post("/v1/classify", json={"texts": ["Still here."]}).status_code == 200


def test_health_model_info_docs_and_page(client, clf, smoke_run):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["batching"]["batches"] >= 1
    m = client.get("/v1/model").json()
    meta = clf.meta
    assert m["labels"] == clf.labels and m["base_model"] == meta.base_model and m["data_hash"] == meta.data_hash
    assert m["abstain_threshold"] == clf.abstain_threshold
    metrics = json.loads((Path(smoke_run["model_dir"]) / "metrics.json").read_text())
    assert m["test_scores"]["test"]["macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])
    assert m["limits"] == {"max_texts": 8, "max_body_bytes": 20_000}
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    assert not re.search(r"https?://(?!127\.0\.0\.1)", docs.text.split("<script>")[0]), "docs load assets from outside"
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/articles", "/predict", "/health", "/v1/model"} <= set(spec["paths"])
    page = client.get("/")
    assert page.status_code == 200 and 'src="app.js"' in page.text
    for name in ("app.js", "style.css"):
        assert client.get(f"/{name}").status_code == 200
    for name in ("index.html", "app.js", "style.css"):  # nothing from a CDN
        text = (ROOT / "src" / "stance" / "web" / name).read_text()
        assert not re.findall(r"(?:src|href)=[\"']https?:|url\(https?:|import .*https?:|fetch\(['\"]https?:", text), name


def test_no_request_reaches_the_file_system(client):
    for path in ["/docs-assets/../../../../etc/passwd", "/docs-assets/%2e%2e%2fpyproject.toml", "/../pyproject.toml",
                 "/static/app.js", "/app.js/../../pyproject.toml", "/docs-assets/core.py"]:
        r = client.get(path)
        assert r.status_code == 404 or "[project]" not in r.text, path
    spec = client.get("/openapi.json").json()
    for route in spec["paths"].values():  # no parameter anywhere names a file
        for op in route.values():
            assert not op.get("parameters"), op


def test_request_log_leaves_out_texts_unless_asked(clf, smoke_run, caplog):
    secret = "Confidential statement 7431."
    for log_texts in (False, True):
        caplog.clear()
        app = create_app(clf, Settings(log_texts=log_texts), model_path=smoke_run["model_dir"])
        with caplog.at_level(logging.INFO, logger="stance.serve"), TestClient(app) as c:
            assert c.post("/v1/classify", json={"texts": [secret]}).status_code == 200
        assert any("/v1/classify 200" in r.getMessage() for r in caplog.records)
        assert (secret in caplog.text) is log_texts


def test_concurrent_requests_are_batched_and_answers_do_not_change(clf):
    texts = [f"We will respond to provocation number {i} with force." if i % 2 else f"Talks {i} remain open to all."
             for i in range(24)]
    offline = clf.predict(texts, speakers=["Official"] * len(texts))

    async def go():
        b = Batcher(clf, max_batch=16, max_wait_ms=50)
        b.start()
        try:
            got = await asyncio.gather(*(b.score([t], ["Official"]) for t in texts))
            big = await b.score(texts, ["Official"] * len(texts))  # one request over max_batch is split
        finally:
            b.stop()
        return got, big, b.stats

    got, big, stats = asyncio.run(go())
    assert [g[0].prediction.label for g in got] == [p.label for p in offline]
    assert np.allclose([g[0].prediction.score for g in got], [p.score for p in offline], atol=1e-5)
    assert [s.prediction.label for s in big] == [p.label for p in offline]
    assert stats.texts == 48 and stats.largest <= 16
    assert stats.batches <= 6, f"24 concurrent requests ran in {stats.batches} batches"


def test_full_queue_answers_429(clf, smoke_run):
    app = create_app(clf, Settings(max_queue=2), model_path=smoke_run["model_dir"])
    with TestClient(app) as c:
        r = c.post("/v1/classify", json={"texts": ["one", "two", "three"]})
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and r.json()["error_type"] == "overloaded"

    async def go():
        b = Batcher(clf, max_queue=1)
        with pytest.raises(Overloaded):
            await b.score(["a", "b"])

    asyncio.run(go())


@pytest.mark.slow  # spawns the command line
def test_serve_command_help_binds_localhost_by_default():
    out = subprocess.run([sys.executable, "-m", "stance.cli", "serve", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--model" in out and "default 127.0.0.1" in out
