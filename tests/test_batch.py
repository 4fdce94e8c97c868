"""`stance batch` on Ray Data (same answers as `stance predict`, resumption, bad inputs) and `stance summarize`.

Ray is started once for the module (2 CPUs, small object store) and shut down after it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pd = pytest.importorskip("pandas")

from stance.batch import MANIFEST, BatchError, local_worker_env, run_batch  # noqa: E402
from stance.config import compose  # noqa: E402
from stance.predict import predict_command  # noqa: E402
from stance.summarize import load_predictions, summarize, summarize_command  # noqa: E402

from .helpers import ROOT, make_records, write_jsonl  # noqa: E402

ARTICLES = ROOT / "tests" / "fixtures" / "wikinews_articles.jsonl"


@pytest.fixture(scope="module")
def ray_local():
    local_worker_env()
    ray.init(num_cpus=2, object_store_memory=200 * 1024**2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The Wikinews articles (JSONL, as given to `stance batch`; .txt copies for `stance predict`), a file of
    statements with speakers, and a file with bad lines between good ones."""
    tmp = tmp_path_factory.mktemp("corpus")
    txt = tmp / "txt"
    txt.mkdir()
    articles = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines()]
    for a in articles:
        (txt / f"{a['id']}.txt").write_text(a["text"], encoding="utf-8")
    statements = [{"id": r["id"], "text": r["text"], "speaker": r["speaker"], "date": "2024-02-03", "source": r["source"]}
                  for r in make_records(n_docs=4, per_doc=3, seed=3)]
    st_file = write_jsonl(tmp / "statements.jsonl", statements)
    bad = tmp / "bad.jsonl"
    good = {"id": "good-1", "title": "t", "date": "2020-01-02", "source": "Test",
            "text": '"We will respond with force to any attack on our ships," the minister said on Monday.'}
    bad.write_text(json.dumps(good) + "\n{not json\n" + json.dumps({"id": "x", "title": "no text"}) + "\n", encoding="utf-8")
    return {"dir": tmp, "txt": txt, "articles": articles, "statements": st_file, "bad": bad}


def _cfg(model, out, inputs, *extra):
    return compose("batch", [f"model_path={model}", f"output_dir={out}", "inputs=[" + ",".join(map(str, inputs)) + "]",
                             "workers.concurrency=2", "workers.batch_size=16", "rows_per_chunk=1",
                             "ray.progress_bars=false", *extra])


def _predict_jsonl(tmp: Path, args: list[str]) -> list[dict]:
    out = tmp / f"predict-{len(list(tmp.glob('predict-*')))}.jsonl"
    assert predict_command([*args, "--output", str(out), "--threads", "1"]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_batch_config_is_typed():
    cfg = compose("batch", ["model_path=m", "output_dir=o"])
    assert (cfg.workers.concurrency, cfg.workers.num_gpus, cfg.ray.address) == (2, 0, None)
    gpu = compose("batch", ["model_path=m", "output_dir=o", "workers=gpu"])
    assert gpu.workers.num_gpus == 1 and gpu.workers.device == "cuda"
    with pytest.raises(Exception, match="workers.concurency"):
        compose("batch", ["model_path=m", "output_dir=o", "workers.concurency=3"])


def test_batch_same_answers_as_predict_and_resumes(smoke_run, corpus, ray_local, tmp_path, capsys):
    model = smoke_run["model_dir"]
    out = tmp_path / "preds"
    inputs = [ARTICLES, corpus["statements"], corpus["bad"], tmp_path / "missing.jsonl"]
    res = run_batch(_cfg(model, out, inputs))
    err = capsys.readouterr().err

    # bad inputs are named with their line, the rest goes on
    assert f"{corpus['bad']}:2: invalid JSON" in err
    assert f"{corpus['bad']}:3: no non-empty 'text' string" in err
    assert "missing.jsonl: no such file or folder" in err
    assert res.chunks_failed == 0 and res.statements > 0

    df = pd.read_parquet(out).sort_values(["input", "line", "statement_index"]).reset_index(drop=True)
    df["speaker"] = df["speaker"].fillna("")  # null in Parquet where no speaker was found; "" in stance predict
    assert len(df) == res.statements
    assert set(df["data_hash"]) == {json.loads((Path(model) / "stance_config.json").read_text())["data_hash"]}
    for col in ("id", "date", "source", "text", "speaker", "kind", "start", "end", "label", "score", "probabilities",
                "abstained", "stance"):
        assert col in df.columns

    # articles: every statement and label as `stance predict` gives on the same texts
    arts = df[df["input"] == str(ARTICLES)]
    pred = _predict_jsonl(tmp_path, ["--model", str(model), *sorted(str(p) for p in corpus["txt"].glob("*.txt"))])
    want = [(Path(r["file"]).stem, r["start"], r["end"], r["speaker"], r["text"], r["stance"]) for r in pred]
    got = [(r.id, int(r.start), int(r.end), r.speaker or "", r.text, r.label) for r in arts.itertuples()]
    assert sorted(got) == sorted(want) and len(got) >= 15
    scores = {(Path(r["file"]).stem, r["start"]): r["score"] for r in pred}
    assert all(abs(r.score - scores[(r.id, int(r.start))]) < 1e-3 for r in arts.itertuples())
    meta = {a["id"]: a for a in corpus["articles"]}
    assert all(r.date == meta[r.id]["date"] and r.source == "Wikinews" for r in arts.itertuples())

    # statements: speakers passed to the model as in `stance predict --input`
    sts = df[df["input"] == str(corpus["statements"])]
    pred = _predict_jsonl(tmp_path, ["--model", str(model), "--input", str(corpus["statements"])])
    assert [(r["id"], r["speaker"], r["text"], r["stance"]) for r in pred] == \
           [(r.id, r.speaker, r.text, r.label) for r in sts.itertuples()]
    assert df[df["input"] == str(corpus["bad"])]["id"].unique().tolist() == ["good-1"]

    # a rerun skips what is done: nothing to do, no Ray work
    again = run_batch(_cfg(model, out, inputs))
    assert (again.chunks_done, again.chunks_skipped, again.statements) == (0, res.chunks_done, 0)

    # an interrupted run (a chunk missing from the manifest, its part half-written) and a changed input
    manifest = json.loads((out / MANIFEST).read_text())
    entry = manifest["inputs"][str(ARTICLES)]
    lost = sorted(entry["done"])[1]
    del entry["done"][lost]
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / f"part-{lost}.parquet").write_bytes(b"half a file")
    with corpus["statements"].open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "Their accusations are groundless nonsense.", "speaker": "Official 9"}) + "\n")
    n_statement_chunks = len(corpus["statements"].read_text().splitlines())
    third = run_batch(_cfg(model, out, inputs))
    assert third.chunks_done == 1 + n_statement_chunks
    assert third.chunks_skipped == res.chunks_done - 1 - (n_statement_chunks - 1)
    final = pd.read_parquet(out)
    assert len(final) == len(df) + 1 and final["text"].str.contains("groundless nonsense.").sum() >= 1
    assert json.loads((out / MANIFEST).read_text())["complete"] is True

    # another threshold (other answers) into the same folder is refused
    with pytest.raises(BatchError, match="other settings"):
        run_batch(_cfg(model, out, inputs, "abstain_threshold=0.9"))

    # the report, from the Parquet output and from `stance predict`'s JSONL
    report = summarize(load_predictions(out), tmp_path / "summary")
    text = report.read_text()
    for fig in ("stance_by_speaker.png", "stance_by_source.png", "stance_over_time.png", "stance_over_time_speakers.png"):
        assert (tmp_path / "summary" / fig).stat().st_size > 5000 and f"({fig})" in text
    titles = [json.loads(line)["title"] for line in ARTICLES.read_text().splitlines()]
    assert any(t in text for t in titles) and "left as `none`" in text  # the most confident statements, with their articles
    assert summarize_command([str(tmp_path / "predict-0.jsonl"), "-o", str(tmp_path / "s2")]) == 0
    assert "No dates in the input" in (tmp_path / "s2" / "report.md").read_text()


def test_batch_cli_prints_config(capsys):
    from stance.cli import main

    assert main(["batch", "--model", "m", "-o", "o", "in.jsonl", "--concurrency", "3", "workers.batch_size=8", "--cfg"]) == 0
    out = capsys.readouterr().out
    assert "concurrency: 3" in out and "batch_size: 8" in out and "- in.jsonl" in out


def test_summarize_reads_predict_csv(tmp_path):
    rows = [{"file": "a.txt", "speaker": "A", "text": "x", "stance": "threaten", "score": 0.9, "abstained": False,
             "p_reassure": 0.05, "p_threaten": 0.9, "p_dismiss": 0.05},
            {"file": "a.txt", "speaker": "", "text": "y", "stance": "none", "score": 0.6, "abstained": True,
             "p_reassure": 0.4, "p_threaten": 0.3, "p_dismiss": 0.3}]
    pd.DataFrame(rows).to_csv(tmp_path / "p.csv", index=False)
    df = load_predictions(tmp_path / "p.csv")
    assert df["label"].tolist() == ["threaten", "none"] and df["stance"].tolist() == ["threaten", "reassure"]
    assert df["abstained"].tolist() == [False, True] and df["speaker"].tolist() == ["A", "(no speaker)"]
    assert os.path.isfile(summarize(df, tmp_path / "s"))
