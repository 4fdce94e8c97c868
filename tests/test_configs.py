"""Every config composes; mistakes in configs fail with messages that name the key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

from stance.config import compose

from .helpers import ROOT

CONFIGS = ROOT / "configs"


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


@pytest.mark.parametrize("data", _options("data"))
@pytest.mark.parametrize("trainer", _options("trainer"))
def test_train_composes_with_every_data_and_trainer(data, trainer):
    cfg = compose("train", [f"data={data}", f"trainer={trainer}"])
    c = OmegaConf.to_container(cfg, resolve=True)
    assert c["data"]["labels"] and c["trainer"]["learning_rate"] > 0


@pytest.mark.parametrize("experiment", _options("experiment"))
def test_every_experiment_composes(experiment):
    cfg = compose("train", [f"experiment={experiment}"])
    OmegaConf.to_container(cfg, resolve=True)
    assert experiment in cfg.tags


def test_model_configs():
    assert compose("train", []).model.name_or_path == "packaged:all-MiniLM-L6-v2"
    cfg = compose("train", ["model=local", "model.name_or_path=/some/folder"])
    assert cfg.model.name_or_path == "/some/folder"
    with pytest.raises(MissingMandatoryValue):
        OmegaConf.to_container(compose("train", ["model=local"]), resolve=True, throw_on_missing=True)


def test_default_is_four_labels_with_speaker_and_finetune_is_the_old_recipe():
    default = compose("train")
    assert list(default.data.labels) == ["reassure", "threaten", "dismiss", "none"]
    assert default.model.input_format == "text+speaker"
    assert default.distill.teacher.endswith("data/teacher/mpnet") and default.data.augment_reported
    plain = compose("train", ["experiment=plain"])
    assert plain.distill.teacher is None and not plain.data.augment_reported
    old = compose("train", ["experiment=finetune"])
    assert list(old.data.labels) == ["reassure", "threaten", "dismiss"]
    assert old.model.input_format == "text" and old.data.train_none_ratio is None


@pytest.mark.parametrize("name", ["eval", "predict"])
def test_eval_and_predict_need_a_model(name):
    with pytest.raises(MissingMandatoryValue):
        OmegaConf.to_container(compose(name, []), resolve=True, throw_on_missing=True)
    cfg = compose(name, ["model_path=/tmp/x"])
    assert OmegaConf.to_container(cfg, resolve=True)["model_path"] == "/tmp/x"


def test_mistyped_key_is_named():
    with pytest.raises(ConfigCompositionException) as err:
        compose("train", ["trainer.lerning_rate=1e-4"])
    assert "lerning_rate" in str(err.value) + str(err.value.__cause__)


def test_wrong_type_is_named():
    with pytest.raises(Exception) as err:
        compose("train", ["trainer.per_device_train_batch_size=many"])
    assert "per_device_train_batch_size" in str(err.value) + str(err.value.__cause__)


@pytest.mark.slow  # spawns the command line
def test_cli_reports_mistyped_key(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stance.cli", "train", "trainer.lerning_rate=1e-4",
                           f"paths.output_dir={tmp_path}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "lerning_rate" in proc.stderr


def test_packaged_encoder_resolves_to_a_folder():
    from stance.config import resolve_model_name

    path = Path(resolve_model_name("packaged:all-MiniLM-L6-v2"))
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    assert resolve_model_name("/my/encoder") == "/my/encoder"
    with pytest.raises(ValueError, match="unknown packaged encoder"):
        resolve_model_name("packaged:nope")


def test_trainer_settings_reach_training_arguments_without_a_hand_copy(tmp_path):
    import dataclasses

    from transformers import TrainingArguments

    from stance.config import STANCE_TRAINER_KEYS
    from stance.training import training_arguments

    cfg = compose("train", ["trainer.learning_rate=3e-5", "trainer.logging_steps=7", "trainer.warmup_ratio=0.2"])
    args = training_arguments(cfg.trainer, cfg.seed, tmp_path)
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    passed = [k for k in cfg.trainer if k not in STANCE_TRAINER_KEYS and k != "warmup_ratio"]
    assert passed and set(passed) <= fields and not set(STANCE_TRAINER_KEYS) & fields
    for key in passed:
        assert getattr(args, key) == cfg.trainer[key], key
    assert args.learning_rate == 3e-5 and args.logging_steps == 7
    assert args.warmup_steps == 0.2  # transformers 5: a float below 1 in warmup_steps is a ratio
    assert args.save_strategy == args.eval_strategy and args.load_best_model_at_end and args.seed == cfg.seed
