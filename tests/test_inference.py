"""Inference from Python, the command line (texts, quote files, articles) and plain transformers.pipeline."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import pipeline

from .helpers import ROOT


def stance(*args, input: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "stance.cli", *map(str, args)], capture_output=True, input=input,
                          timeout=300)


def test_transformers_pipeline_loads_checkpoint_with_label_names(smoke_run):
    clf = pipeline("text-classification", model=smoke_run["model_dir"], device="cpu")
    out = clf(["Russia is not threatening anyone.", "All options are on the table."], top_k=None)
    assert len(out) == 2
    assert {d["label"] for d in out[0]} == {"reassure", "threaten", "dismiss", "none"}


@pytest.mark.slow  # spawns the command line
def test_predict_texts_jsonl(smoke_run):
    proc = stance("predict", "--model", smoke_run["model_dir"], "--format", "jsonl",
                  "We pose no threat to anyone.", "They will pay a price.")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["text"] for r in rows] == ["We pose no threat to anyone.", "They will pay a price."]
    assert all(set(r["probabilities"]) == {"reassure", "threaten", "dismiss", "none"} for r in rows)
    assert all(r["stance"] in r["probabilities"] and isinstance(r["abstained"], bool) for r in rows)
    assert all(r["best_stance"] in ("reassure", "threaten", "dismiss") for r in rows)
    assert all((r["stance"] == "none") == r["abstained"] for r in rows)


@pytest.mark.slow  # spawns the command line
def test_positional_jsonl_is_read_as_statements_not_as_an_article(smoke_run, tmp_path):
    quotes = tmp_path / "quotes.jsonl"
    quotes.write_text('{"id": "a", "text": "We seek no conflict.", "speaker": "A spokesman", "side": "Russia"}\n'
                      '{"id": "b", "text": "They will pay a price.", "notes": "a note that is no statement"}\n')
    proc = stance("predict", "--model", smoke_run["model_dir"], "--format", "jsonl", str(quotes))
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(r["id"], r["text"]) for r in rows] == [("a", "We seek no conflict."), ("b", "They will pay a price.")]


@pytest.mark.slow  # spawns the command line
def test_predict_from_files_reports_bad_lines_and_keeps_going(smoke_run, tmp_path):
    quotes = tmp_path / "quotes.jsonl"
    quotes.write_text('{"id": "a", "text": "We seek no conflict."}\n{"id": "b"}\nnot json\n{"id": "c", "text": "Nonsense."}\n')
    txt = tmp_path / "quotes.txt"
    txt.write_text("Our drills are routine.\n\nThey will regret it.\n")
    table = tmp_path / "quotes.csv"
    with table.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "speaker", "text"])
        w.writerow(["x", "A spokesman", "The claims are groundless."])
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "out.csv"
    proc = stance("predict", "--model", smoke_run["model_dir"], "--input", quotes, "--input", txt, "--input", table,
                  "--input", empty, "--output", out)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert f"{quotes}:2: no non-empty 'text' string" in err and f"{quotes}:3: invalid JSON" in err
    assert f"{txt}: 1 blank line(s) ignored" in err  # passed over, but never silently
    assert f"{empty}: empty file" in err
    rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["We seek no conflict.", "Nonsense.", "Our drills are routine.",
                                         "They will regret it.", "The claims are groundless."]
    assert rows[0]["line"] == "1" and rows[1]["line"] == "4" and rows[4]["speaker"] == "A spokesman"
    assert "5 statement(s) classified" in err


@pytest.mark.slow  # spawns the command line
def test_predict_whole_article_with_speakers(smoke_run, tmp_path):
    article = ROOT / "data" / "raw" / "article.txt"
    proc = stance("predict", "--model", smoke_run["model_dir"], article, "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    speakers = {r["speaker"] for r in rows}
    assert any("Zakharova" in s for s in speakers) and any("Peskov" in s for s in speakers)
    text = article.read_text()
    for r in rows:
        assert r["file"] == str(article) and 0 <= r["start"] < r["end"] <= len(text)


@pytest.mark.slow  # spawns the command line
def test_predict_reads_stdin_and_handles_bad_files(smoke_run, tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02 binary \x00")
    latin = tmp_path / "latin.txt"
    latin.write_bytes('The minister said: "We will not attack anyone, caf\xe9 or not."\n'.encode("latin-1"))
    proc = stance("predict", "--model", smoke_run["model_dir"], "--format", "jsonl", binary, latin, "-",
                  input=b'"They will face consequences," the spokesman said.')
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert f"{binary}: binary file" in err and f"{latin}:1: invalid UTF-8 at byte" in err
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert any(r["file"] == "<stdin>" for r in rows)


@pytest.mark.slow  # spawns the command line
def test_eval_writes_report_and_figures(smoke_run, tmp_path):
    report_dir = tmp_path / "report"
    (tmp_path / "sweep").mkdir()  # a sweep of another encoder beside the report: named, not mixed in
    (tmp_path / "sweep" / "summary.json").write_text(
        json.dumps({"base_model": "packaged:other", "data_hash": "x", "n_runs": 5, "metrics": {}}))
    proc = stance("eval", "--model", smoke_run["model_dir"],
                  "baselines.enabled=[majority,tfidf,frozen_lr,setfit]", "baselines.setfit_iterations=1",
                  "baselines.bootstrap_samples=100", f"report_dir={report_dir}", f"paths.output_dir={tmp_path / 'out'}")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert not (ROOT / "checkpoints").exists()  # SetFit's own checkpoints stay out of the user's folder
    report = (report_dir / "report.md").read_text()
    for name in ("fine-tuned", "majority", "tfidf_lr", "frozen_encoder_lr", "setfit", "## Calibration", "## Stance flags",
                 "## By source", "## By genre", "## Targets", "## Behavioural tests", "reproduce: `stance eval --model"):
        assert name in report, name
    for fig in ("models.png", "confusion_matrix.png", "reliability.png", "risk_coverage.png", "stance_flags.png"):
        assert (report_dir / fig).stat().st_size > 1000
    assert "sweep of another encoder or data (packaged:other" in report and "## Across seeds" not in report
    metrics = json.loads((report_dir / "metrics.json").read_text())
    e2e = metrics["models"]["finetuned"]["end_to_end"]
    assert e2e["n"] == metrics["n"] and sum(map(sum, e2e["confusion_matrix"])) == metrics["n"]
    assert metrics["models"]["tfidf_lr"]["macro_f1_ci95"][0] <= metrics["models"]["tfidf_lr"]["macro_f1"]
    assert set(metrics["by"]["finetuned"]["source"]) == {"wh-briefings", "un-general-debate", "seed-article"}
    assert all(b["n"] > 0 and 0 <= b["failure_rate"] <= 1 for b in metrics["behaviour"].values())


@pytest.mark.slow  # spawns the command line
def test_eval_refuses_a_different_data_version(smoke_run, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text(Path(smoke_run["data_file"]).read_text().replace("said official 0-0", "said official zero"))
    proc = stance("eval", "--model", smoke_run["model_dir"], f"data_files=[{other}]", "baselines.enabled=[]",
                  f"report_dir={tmp_path / 'r'}", f"paths.output_dir={tmp_path / 'out'}")
    assert proc.returncode != 0
    assert "allow_data_mismatch" in proc.stderr.decode()


@pytest.mark.slow  # spawns the command line
def test_extract_cli_writes_statements_with_speakers(tmp_path):
    out = tmp_path / "statements.jsonl"
    proc = stance("extract", ROOT / "data" / "raw" / "article.txt", "--output", out)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) >= 10
    assert {"text", "speaker", "kind", "start", "end", "file"} <= set(rows[0])
    shanahan = [r for r in rows if "always believe what they say" in r["text"]]
    assert len(shanahan) == 1 and shanahan[0]["speaker"] == "Patrick Shanahan" and shanahan[0]["kind"] == "direct"
    missing = stance("extract", tmp_path / "nope.txt")
    assert missing.returncode == 1 and "nope.txt" in missing.stderr.decode()


def test_bench_runs_and_reports_every_measure(smoke_run, tmp_path):
    """Only that the benchmark works end to end; its numbers are measured by `make bench`, not here."""
    from stance.bench import markdown
    from stance.cli import main

    assert main(["bench", "--model", str(smoke_run["model_dir"]), "--n", "8", "--repeats", "1", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "bench.json").read_text())
    assert (tmp_path / "bench.md").read_text() == markdown(res, str(smoke_run["model_dir"]))
    assert set(res["throughput"]) == {"transformers.pipeline (batch 32)", "StanceClassifier (batch 32, length-sorted)",
                                      "StanceClassifier int8 dynamic quantized"}
    assert res["cold_start_s"]["total"] > 0 and res["peak_rss_mb"]["pipeline batch"] > 0
    assert "macro_f1_test" in res and "vs pipeline" in markdown(res, "m")


@pytest.mark.slow  # spawns the command line
def test_csv_rows_with_line_breaks_and_blank_lines_keep_text_and_line_numbers(smoke_run, tmp_path):
    table = tmp_path / "quotes.csv"
    table.write_bytes("\ufefftext,id\n\"We seek\nno war.\",a\n\n\"They lie.\",b\n".encode())
    proc = stance("predict", "--model", smoke_run["model_dir"], "--input", table, "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(r["text"], r["line"], r["id"]) for r in rows] == [("We seek\nno war.", 2, "a"), ("They lie.", 5, "b")]
    assert f"{table}: 1 blank line(s) ignored" in proc.stderr.decode()


@pytest.mark.slow  # spawns the command line
def test_missing_paths_are_reported_not_classified(smoke_run, tmp_path):
    proc = stance("predict", "--model", smoke_run["model_dir"], "--format", "jsonl", tmp_path / "missing.txt",
                  "--text", "notes.txt")
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "missing.txt: no such file" in err
    assert [json.loads(line)["text"] for line in proc.stdout.decode().splitlines()] == ["notes.txt"]


@pytest.mark.slow  # spawns the command line
def test_eval_refuses_the_training_split(smoke_run, tmp_path):
    proc = stance("eval", "--model", smoke_run["model_dir"], "split=train", "baselines.enabled=[]",
                  f"report_dir={tmp_path / 'r'}", f"paths.output_dir={tmp_path / 'out'}")
    assert proc.returncode != 0 and "never on the training split" in proc.stderr.decode()
