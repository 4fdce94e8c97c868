"""Nothing lost: interrupted training resumes to the same scores, outputs are complete or absent,
`stance predict --resume` continues a file, and two writers never share an output."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stance.checkpoint import read_meta

from .helpers import ROOT

PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def stance(*args, env=None, **kw):
    return subprocess.run([PY, "-m", "stance.cli", *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**ENV, **(env or {})}, **kw)


# -- 1. training survives interruption --------------------------------------------------------------
@pytest.mark.slow  # spawns the command line
def test_interrupted_training_resumes_to_the_same_scores(smoke_run, tmp_path):
    """SIGTERM at step 1 (exit 143), resume, SIGINT at step 3 (exit 130), resume=latest: the final
    test scores equal those of the uninterrupted smoke run (same config and seed)."""
    run = tmp_path / "outputs" / "train" / "run-a"
    args = ["train", "experiment=smoke", f"data.files=[{smoke_run['data_file']}]", "trainer.num_threads=2",
            f"hydra.run.dir={run}"]
    env = {"STANCE_ROOT": str(tmp_path)}

    first = stance(*args, env={**env, "STANCE_INTERRUPT_AT_STEP": "1:TERM"})
    assert first.returncode == 143, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted (SIGTERM) at step 1/4") and last.endswith(f"continue with: stance train resume={run}")
    assert (run / "trainer_state" / "checkpoint-1" / ".complete").is_file() and not (run / "model").exists()

    second = stance("train", f"resume={run}", env={**env, "STANCE_INTERRUPT_AT_STEP": "3"})
    assert second.returncode == 130, second.stderr[-3000:]
    assert "Traceback" not in second.stderr and "resuming from" in second.stderr
    assert second.stderr.strip().splitlines()[-1].endswith(f"continue with: stance train resume={run}")

    third = stance("train", "resume=latest", env=env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"checkpoint: {run / 'model'}" in third.stdout
    assert not (run / "trainer_state").exists() and not list(run.glob(".model.tmp-*"))

    resumed = json.loads((run / "model" / "metrics.json").read_text())
    straight = json.loads((Path(smoke_run["model_dir"]) / "metrics.json").read_text())
    for key in ("test", "test_end_to_end", "validation", "best_global_step", "best_validation_macro_f1"):
        assert resumed[key] == straight[key], key  # CPU training is deterministic: the very same numbers
    # the temperature and the threshold (stance_config.json) too, and the rest of the metadata
    assert read_meta(run / "model") == read_meta(smoke_run["model_dir"])

    done = stance("train", f"resume={run}", env=env)  # a finished run is not trained again
    assert done.returncode == 2 and "already finished" in done.stderr and "Traceback" not in done.stderr


def test_resume_refusals_are_one_clear_line(tmp_path):
    from stance.cli import main
    from stance.resume import ResumeError, TrainingSession

    assert main(["train", f"resume={tmp_path / 'nope'}"]) == 2
    assert main(["train", f"resume={tmp_path}", "seed=3"]) == 2  # the run's own config, nothing else
    # a checkpoint folder left half-written by a crash does not count, and is cleaned away
    half = tmp_path / "run" / "trainer_state" / "checkpoint-5"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"\0" * 10)
    with pytest.raises(ResumeError, match="no complete checkpoint"):
        TrainingSession(tmp_path / "run", resume=True).__enter__()
    assert not half.exists()


# -- 2. atomic outputs -------------------------------------------------------------------------------
def test_crash_while_saving_leaves_the_previous_checkpoint_and_link(smoke_run, tmp_path, monkeypatch):
    from stance import StanceClassifier, training
    from stance.config import compose

    link = tmp_path / "latest"
    training._point_latest(link, Path(smoke_run["model_dir"]))
    run = tmp_path / "run"

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(training, "write_model_card", crash)  # the last file of the checkpoint folder
    cfg = compose("train", ["experiment=smoke", f"data.files=[{smoke_run['data_file']}]", "trainer.num_threads=2",
                            "trainer.max_steps=1", f"latest_link={link}"])
    with pytest.raises(OSError, match="disk full"):
        training.train(cfg, run)
    assert not (run / "model").exists()  # never a half checkpoint under the final name
    assert link.resolve() == Path(smoke_run["model_dir"]).resolve()
    StanceClassifier.load(link)  # the previous checkpoint and link still work
    # the next run in that folder clears the half-written staging folder
    from stance.resume import TrainingSession

    assert list(run.glob(".model.tmp-*"))
    with TrainingSession(run):
        pass
    assert not list(run.glob(".model.tmp-*"))


def test_atomic_writes_keep_the_old_file_on_a_crash(smoke_run, tmp_path, monkeypatch):
    from stance.evaluation import plots
    from stance.evaluation.sweep import aggregate

    for run in ("seed=1", "seed=2"):
        shutil.copytree(smoke_run["model_dir"], tmp_path / "sweep" / run / "model")
    reports = tmp_path / "reports"
    aggregate(tmp_path / "sweep", reports)
    def files():
        return {str(p.relative_to(reports)): p.read_bytes() for p in reports.rglob("*") if p.is_file()}

    before = files()
    assert {Path(k).name for k in before} >= {"report.md", "summary.json"}

    def crash(src, dst):
        raise OSError("crash before the rename")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            aggregate(tmp_path / "sweep", reports)
    assert files() == before  # the old files whole, no temporary file left

    png = tmp_path / "cm.png"
    plots.confusion([[1, 0], [0, 1]], ["a", "b"], png, "t")
    old = png.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)
        with pytest.raises(OSError):
            plots.confusion([[2, 0], [0, 1]], ["a", "b"], png, "t2")
    assert png.read_bytes() == old and \
        sorted(p.name for p in tmp_path.iterdir()) == ["cm.png", "reports", "sweep"]


# -- 3. prediction continues ---------------------------------------------------------------------------
def _predict(*argv) -> int:
    from stance.predict import predict_command

    return predict_command([str(a) for a in argv])


def test_predict_refuses_to_overwrite_then_resumes_and_overwrites(smoke_run, tmp_path, capsys):
    quotes = tmp_path / "q.txt"
    quotes.write_text("".join(f"Statement number {i} about the border.\n" for i in range(300)))
    out = tmp_path / "out.jsonl"
    model = smoke_run["model_dir"]

    out.write_text("precious\n")
    assert _predict("--model", model, "--input", quotes, "--output", out) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--resume" in err and "--overwrite" in err
    assert out.read_text() == "precious\n"

    # an interruption after the first chunk (256 rows): FILE untouched, FILE.partial keeps the rows
    from stance.inference import StanceClassifier

    real, calls = StanceClassifier.predict, []

    def flaky(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    StanceClassifier.predict = flaky
    try:
        assert _predict("--model", model, "--input", quotes, "--output", out, "--overwrite") == 130
    finally:
        StanceClassifier.predict = real
    partial = out.with_name(out.name + ".partial")
    assert "--resume" in capsys.readouterr().err and out.read_text() == "precious\n"
    rows = partial.read_text().splitlines()
    assert len(rows) == 256
    rows[0] = json.dumps({**json.loads(rows[0]), "id": "kept"})  # to see that it is not recomputed
    partial.write_text("\n".join(rows) + "\n" + rows[1][:40])  # and a row torn by a crash

    assert _predict("--model", model, "--input", quotes, "--output", out) == 2  # the partial is not discarded
    assert "interrupted run" in capsys.readouterr().err
    assert _predict("--model", model, "--input", quotes, "--output", out, "--resume") == 0
    assert "256 already in" in capsys.readouterr().err
    done = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in done] == list(range(1, 301)) and done[0]["id"] == "kept"
    assert not partial.exists()

    assert _predict("--model", model, "--input", quotes, "--output", out, "--resume") == 0  # nothing left to do
    assert len(out.read_text().splitlines()) == 300
    assert _predict("--model", model, "--text", "We will respond.", "--output", out, "--overwrite") == 0
    assert len(out.read_text().splitlines()) == 1


def test_predict_csv_resume_keeps_one_header(smoke_run, tmp_path):
    quotes = tmp_path / "q.jsonl"
    quotes.write_text("".join(json.dumps({"id": str(i), "text": f"Text {i}, with a comma and\na newline."}) + "\n"
                              for i in range(5)))
    out = tmp_path / "out.csv"
    assert _predict("--model", smoke_run["model_dir"], "--input", quotes, "--output", out) == 0
    full = list(csv.DictReader(out.open(newline="")))
    head = out.read_bytes().decode().split("\r\n")
    partial = out.with_name("out.csv.partial")
    partial.write_text("\r\n".join(head[:3]) + "\r\n" + head[3][:10])  # header, 2 rows, a torn one
    out.unlink()
    assert _predict("--model", smoke_run["model_dir"], "--input", quotes, "--output", out, "--resume") == 0
    again = list(csv.DictReader(out.open(newline="")))
    assert [r["id"] for r in again] == [r["id"] for r in full] and out.read_bytes().decode().count("file,line,") == 1


# -- 5. concurrency --------------------------------------------------------------------------------------
@pytest.mark.slow  # spawns the command line
def test_two_writers_of_one_output_or_run_folder(smoke_run, tmp_path):
    from stance.atomic import FileLock, LockedError
    from stance.config import compose
    from stance.prediction_output import PredictionOutput
    from stance.training import train

    out = tmp_path / "out.jsonl"
    first = PredictionOutput(out, "jsonl")
    with pytest.raises(LockedError, match="another stance predict"):
        PredictionOutput(out, "jsonl", resume=True)
    first.fh.write('{"file": "a", "line": 1}\n')
    first.commit()
    assert out.read_text() == '{"file": "a", "line": 1}\n'

    run = tmp_path / "run"
    holder = subprocess.Popen([PY, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
                               "from stance.atomic import FileLock; lock = FileLock(sys.argv[2]).acquire(); print('held', flush=True);"
                               "time.sleep(60)", str(ROOT / "src"), str(run / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cfg = compose("train", ["experiment=smoke", f"data.files=[{smoke_run['data_file']}]"])
        with pytest.raises(LockedError, match=f"run folder {run} is being written by another stance process \\(pid {holder.pid}\\)"):
            train(cfg, run)
        proc = stance("predict", "--model", smoke_run["model_dir"], "--text", "Hello there.", "--output", out, "--overwrite")
        assert proc.returncode == 0
    finally:
        holder.kill()
        holder.wait()
    with FileLock(run / ".lock"):  # the lock died with its process
        pass
