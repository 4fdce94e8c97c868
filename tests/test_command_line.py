"""One command-line convention for every `stance` command: flags whose defaults come from the command's
config, `key=value` overrides anywhere, `--cfg`, and `--help` listing every setting."""
from __future__ import annotations

import pytest
import yaml

from stance.cli import main

# every command, as typed after `stance`, and a setting its --help must show with its default
COMMANDS = {
    ("train",): "learning_rate: 0.0001", ("eval",): "bootstrap_samples: 1000", ("predict",): "--batch-size",
    ("serve",): "max_wait_ms: 5.0", ("batch",): "rows_per_chunk: 1000", ("summarize",): "top_time: 4",
    ("extract",): "output: null", ("data", "validate"): "train_none_ratio", ("check",): "output_dir: null",
    ("aggregate",): "ensemble: true", ("encoders",): "force: false", ("teacher",): "batch_size: 64", ("bench",): "repeats: 3",
    ("bench", "serve"): "clients: 16", ("bench", "batch"): "rows_per_chunk: 20",
}


def _config(capsys, *argv) -> dict:
    assert main([*argv, "--cfg"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


@pytest.mark.parametrize("command", list(COMMANDS), ids=" ".join)
def test_every_command_has_help_with_its_settings(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: stance {' '.join(command)}") and "settings (configs/" in out
    assert COMMANDS[command] in out


def test_flag_defaults_come_from_the_config_and_overrides_reach_any_setting(capsys):
    assert _config(capsys, "predict", "--model", "m")["batch_size"] == 32  # PredictConfig's default
    cfg = _config(capsys, "predict", "--model", "m", "article.txt", "batch_size=64", "quantize=true")
    assert cfg["batch_size"] == 64 and cfg["quantize"] is True
    cfg = _config(capsys, "predict", "batch_size=64", "--batch-size", "8", "model_path=m", "--threads", "3")
    assert cfg["batch_size"] == 8 and cfg["num_threads"] == 3 and cfg["model_path"] == "m"  # a given flag wins
    with pytest.raises(SystemExit):
        main(["predict", "batch_size=64", "--help"])  # --help shows the composed values
    assert "statements per forward pass (default 64; setting batch_size)" in " ".join(capsys.readouterr().out.split())


def test_a_flags_value_is_never_an_override_and_a_mistyped_key_is_named(capsys):
    from stance.predict import _command

    args, cfg = _command().parse(["--model", "m", "--text", "x=1", "--input", "a=b.txt", "a statement = a text"])
    assert args.text == ["x=1"] and args.input == ["a=b.txt"] and args.inputs == ["a statement = a text"]
    with pytest.raises(SystemExit) as done:
        main(["predict", "--model", "m", "batch_sise=3", "hello"])
    assert done.value.code == 2 and "batch_sise" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["predict", "hello"])
    assert done.value.code == 2 and "--model (or model_path=...)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--model", "m", "format=xml", "hello"])  # an override is checked like the flag
    assert "format: invalid choice 'xml'" in capsys.readouterr().err


def test_paths_come_from_the_paths_config(capsys):
    cfg = _config(capsys, "bench", "paths.root_dir=/r")
    assert cfg["model_path"] == "/r/outputs/latest" and cfg["output_dir"] == "/r/reports/bench"
    assert _config(capsys, "bench", "serve", "paths.reports_dir=/x")["output_dir"] == "/x/bench"
    assert _config(capsys, "bench", "batch", "paths.reports_dir=/x")["output_dir"] == "/x/bench-batch"
    cfg = _config(capsys, "aggregate", "--reports", "R", "paths.output_dir=O", "--no-ensemble")
    assert cfg["paths"]["reports_dir"] == "R" and cfg["paths"]["output_dir"] == "O" and cfg["ensemble"] is False
    cfg = _config(capsys, "check", "m", "output_dir=${paths.reports_dir}/behaviour", "paths.reports_dir=/x")
    assert cfg["model_path"] == "m" and cfg["output_dir"] == "/x/behaviour"  # as `make check` writes it
    assert _config(capsys, "check", "--model", "m2")["model_path"] == "m2"


def test_old_spellings_still_work(capsys):
    cfg = _config(capsys, "serve", "--model", "m", "--threads", "2", "--max-wait-ms", "30", "--log-texts", "port=9000")
    assert (cfg["num_threads"], cfg["max_wait_ms"], cfg["log_texts"], cfg["port"]) == (2, 30.0, True, 9000)
    cfg = _config(capsys, "summarize", "preds/", "-o", "out", "--top", "3")
    assert (cfg["predictions"], cfg["output_dir"], cfg["top"], cfg["top_time"]) == ("preds/", "out", 3, 4)
    cfg = _config(capsys, "bench", "batch", "--workers", "1", "2", "4", "--repeat", "2")
    assert cfg["workers"] == [1, 2, 4] and cfg["repeat"] == 2
    cfg = _config(capsys, "bench", "serve", "--server-arg=--max-wait-ms=2", "--server-arg=--max-batch=8")
    assert cfg["server_args"] == ["--max-wait-ms=2", "--max-batch=8"]
    assert main(["predict", "--cfg", "job", "--model", "m"]) == 0  # `--cfg job`, as Hydra apps spell it
    assert yaml.safe_load(capsys.readouterr().out)["model_path"] == "m"


def test_eval_flags_become_hydra_overrides():
    from stance.command_line import Command

    cmd = Command("eval", "eval", "", hydra_app=True)
    cmd.add("--model", setting="model_path")
    assert cmd.hydra_overrides(["--model", "a b/c", "split=validation", "--cfg", "job"]) == \
        ["model_path='a b/c'", "split=validation", "--cfg", "job"]
