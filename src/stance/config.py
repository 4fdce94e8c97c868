"""Typed Hydra configs: every setting of a run is a field here, so a mistyped key fails loudly.

Each default is written once. A field's default lives here when it holds whichever option of its
group is chosen; the YAML files under ``configs/`` hold only what an option chooses (the data set's
files and labels, the encoder, the smoke schedule, ...), and ``MISSING`` (``???``) marks what an
option (or the command line) must supply. Hydra merges the option's YAML over these defaults, so
``stance train --cfg job`` shows every value of a run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

CODEBOOK_LABELS = ["reassure", "threaten", "dismiss", "none"]


@dataclass
class PathsConfig:
    root_dir: str = "${oc.env:STANCE_ROOT,.}"
    data_dir: str = "${paths.root_dir}/data"
    output_dir: str = "${paths.root_dir}/outputs"
    reports_dir: str = "${paths.root_dir}/reports"


@dataclass
class DataConfig:
    """The labelled data and its split (configs/data/: which files and labels)."""

    name: str = MISSING
    files: list[str] = MISSING
    labels: list[str] = MISSING  # the labels the model is trained on, a subset of codebook_labels
    codebook_labels: list[str] = field(default_factory=lambda: list(CODEBOOK_LABELS))
    test_size: float = 0.2
    validation_size: float = 0.15
    split_seed: int = 42
    test_only_sources: list[str] = field(default_factory=lambda: ["seed-article"])
    train_only_origins: list[str] = field(default_factory=lambda: ["authored", "augmented"])
    near_duplicate_threshold: float = 0.9
    # Training only: at most this many `none` items per stance item (a seeded draw; validation and test
    # keep every item). None: every item.
    train_none_ratio: Optional[float] = None
    augment_reported: bool = False  # add reported-speech copies of first-person train items (stance.augment)


@dataclass
class ModelConfig:
    """The encoder to fine-tune (configs/model/: which one) and what it reads."""

    name_or_path: str = MISSING  # packaged:NAME (stance.encoders), a local folder or a hub name
    max_length: int = 128
    revision: Optional[str] = None
    # What the model reads (stance.inputs): the statement alone ("text"), with the speaker as a second
    # segment ("text+speaker"), or with the previous sentence ("text+context").
    input_format: str = "text+speaker"
    speaker_dropout: float = 0.3  # share of training items read without their speaker segment


@dataclass
class TrainerConfig:
    """The training schedule. Every key that is a ``transformers.TrainingArguments`` field reaches it as
    it is (``training.training_arguments``); ``STANCE_TRAINER_KEYS`` are this project's own.
    Four labels, speaker segment: 4 epochs at lr 1e-4 (validation four-way macro-F1 0.447, 0.485, 0.484
    after epochs 2-4: flat by then), chosen on validation only; the three-label recipe used 10 epochs
    (see the README). configs/trainer/smoke.yaml: a few steps, for tests."""

    num_train_epochs: float = 4.0
    max_steps: int = -1
    learning_rate: float = 1e-4
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    label_smoothing_factor: float = 0.0
    class_weights: bool = False
    early_stopping_patience: int = 2
    eval_strategy: str = "epoch"
    eval_steps: Optional[int] = None
    logging_steps: int = 10
    num_threads: int = 0  # torch threads; 0 = all cores
    use_cpu: bool = False
    disable_tqdm: bool = False
    train_subset: Optional[int] = None  # train on at most this many items (after data.train_none_ratio)
    train_sampling_strategy: str = "group_by_length"  # batches of similar length: less padding on CPU


# Trainer settings of this project, not TrainingArguments fields. (``warmup_ratio``, not a field in
# transformers 5, reaches it as ``warmup_steps``: see ``training._warmup_as_ratio``.)
STANCE_TRAINER_KEYS = ("class_weights", "early_stopping_patience", "num_threads", "train_subset")


@dataclass
class CalibrationConfig:
    temperature_scaling: bool = True
    abstain_threshold: Optional[float] = None
    target_coverage: float = 0.9


@dataclass
class DistillConfig:
    """Knowledge distillation (stance.distillation): off unless ``teacher`` names a folder of teacher probabilities."""

    teacher: Optional[str] = None  # e.g. ${paths.data_dir}/teacher/mpnet (written by `make teacher`)
    alpha: float = 0.5  # weight of the gold labels' loss; 1 - alpha on the teacher's probabilities
    temperature: float = 1.0  # softening of teacher and student distributions in the soft loss
    train_none_ratio: Optional[float] = None  # none items per stance item when distilling (None: data.train_none_ratio)


@dataclass
class TrainConfig:
    task_name: str = "train"
    seed: int = 42
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    latest_link: Optional[str] = "${paths.output_dir}/latest"
    tags: list[str] = field(default_factory=list)


@dataclass
class BaselinesConfig:
    enabled: list[str] = field(default_factory=lambda: ["majority", "tfidf", "frozen_lr", "setfit"])
    setfit_iterations: int = 2
    setfit_epochs: int = 1
    bootstrap_samples: int = 1000


@dataclass
class EvalConfig:
    """Evaluation always rebuilds the checkpoint's own splits from its saved config; only the data
    files' location may be given (``data_files``), and their content must hash as at training."""

    task_name: str = "eval"
    seed: int = 42
    model_path: str = MISSING
    split: str = "test"  # test, or validation (the data that chose the epoch, temperature, threshold)
    data_files: Optional[list[str]] = None
    allow_data_mismatch: bool = False
    report_dir: Optional[str] = None
    paths: PathsConfig = field(default_factory=PathsConfig)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    ece_bins: int = 5
    batch_size: int = 64
    compare: list[str] = field(default_factory=list)  # other checkpoints on the same data, e.g. the plain fine-tune
    behaviour: bool = True  # run the behavioural suite (stance.evaluation.behaviour) into the report


@dataclass
class PredictConfig:
    """`stance predict` (configs/predict.yaml): the one place its defaults are written; its flags set them."""

    model_path: str = MISSING
    format: Optional[str] = None  # table on a terminal, else from --output's suffix, else jsonl
    batch_size: int = 32
    abstain_threshold: Optional[float] = None  # None: the checkpoint's own
    device: Optional[str] = None  # None: cuda if available, else cpu
    num_threads: int = 0  # 0: all cores
    text_field: str = "text"  # JSONL field / CSV column holding the statement
    quantize: bool = False  # int8 dynamic quantization on CPU


@dataclass
class WorkersConfig:
    """The classifier actors of `stance batch` (configs/workers/: cpu, gpu). Each actor loads the
    checkpoint once and classifies ``batch_size`` statements per call."""

    concurrency: int = 2  # number of classifier actors (one model copy each)
    num_cpus: float = 1.0  # Ray CPUs reserved per actor
    num_gpus: float = 0.0  # Ray GPUs per actor (1 on a GPU cluster)
    batch_size: int = 256  # statements handed to an actor per call
    predict_batch_size: int = 32  # statements per forward pass inside an actor
    num_threads: int = 0  # torch threads per actor; 0: the actor's num_cpus (at least 1)
    device: Optional[str] = None  # None: cuda when the actor has a GPU, else cpu
    extract_num_cpus: float = 0.0  # Ray CPUs per extraction task (0: light regex work beside the actors)
    extract_concurrency: Optional[int] = None  # extraction tasks in flight; None: 2 per actor


@dataclass
class RayConfig:
    address: Optional[str] = None  # None: $RAY_ADDRESS when set, else a local Ray on this machine
    num_cpus: Optional[int] = None  # local Ray only: None = every core of this machine
    object_store_memory: Optional[int] = None  # local Ray only, bytes (None: Ray's default)
    ship_code: bool = False  # send this package to the cluster's workers (runtime_env py_modules)
    progress_bars: bool = True  # Ray Data's per-operator progress bars (ours is always shown on a terminal)


@dataclass
class BatchConfig:
    """`stance batch`: classify every statement of a corpus on Ray Data (configs/batch.yaml)."""

    task_name: str = "batch"
    model_path: str = MISSING
    output_dir: str = MISSING
    inputs: list[str] = field(default_factory=list)  # folders, globs or files: .jsonl, .parquet, .txt/.md
    input_kind: str = "auto"  # auto (a `speaker` field means statements) | articles | statements
    text_field: str = "text"
    rows_per_chunk: int = 1000  # input rows per extraction task and per resumable output part
    abstain_threshold: Optional[float] = None  # None: the checkpoint's own
    fingerprint: str = "stat"  # how an input is recognised as done: stat (size + mtime) | sha256 (content)
    overwrite: bool = False  # start the output folder over (its parts and manifest are removed)
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    ray: RayConfig = field(default_factory=RayConfig)


# -- the other commands: one dataclass each, the only place their defaults are written (configs/NAME.yaml composes
# it with the paths group; `stance NAME --help` shows the values, `key=value` changes any) ----------------------
@dataclass
class ServeConfig:
    model_path: str = MISSING
    host: str = "127.0.0.1"  # this machine only
    port: int = 8000  # 0 picks a free one
    max_texts: int = 256  # texts per request
    max_body_bytes: int = 2 * 1024 * 1024
    max_batch: int = 64  # texts per model batch
    max_wait_ms: float = 5.0  # longest wait for more requests to join a batch
    max_queue: int = 4096  # texts waiting before 429
    log_texts: bool = False
    device: Optional[str] = None
    num_threads: int = 0
    quantize: bool = False


@dataclass
class SummarizeConfig:
    predictions: str = MISSING  # stance batch's folder / .parquet, or stance predict's .jsonl / .csv
    output_dir: Optional[str] = None  # None: PREDICTIONS-summary next to the input
    top: int = 10
    top_time: int = 4
    examples: int = 5


@dataclass
class CheckConfig:
    model_path: str = MISSING
    output_dir: Optional[str] = None  # None: print only
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class ExtractConfig:
    output: Optional[str] = None  # None: standard output


@dataclass
class AggregateConfig:
    sweep_dir: Optional[str] = None  # None: the newest under ${paths.output_dir}/train_multirun
    ensemble: bool = True  # score the seed ensemble (loads every checkpoint)
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class EncodersConfig:
    force: bool = False  # fetch again even if it is there


@dataclass
class TeacherConfig:
    """`stance teacher`: average teacher checkpoints' probabilities for distillation (stance.distillation)."""

    output_dir: str = "${paths.data_dir}/teacher/mpnet"
    batch_size: int = 64
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class BenchConfig:
    model_path: str = "${paths.output_dir}/latest"
    n: int = 512  # statements per throughput run
    repeats: int = 3
    output_dir: str = "${paths.reports_dir}/bench"
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class BenchServeConfig:
    model_path: str = "${paths.output_dir}/latest"
    data: str = "${paths.data_dir}/quotes.jsonl"  # statements (text, speaker) sent to the server
    output_dir: str = "${paths.reports_dir}/bench"
    clients: int = 16
    duration: float = 60.0  # seconds measured, after the warm-up
    warmup: float = 3.0
    texts_per_request: int = 1
    n_offline: int = 512  # statements for the offline measurement
    num_threads: int = 0  # model threads, server and offline alike
    server_args: list[str] = field(default_factory=list)  # extra `stance serve` flags
    paths: PathsConfig = field(default_factory=PathsConfig)


@dataclass
class BenchBatchConfig:
    model_path: str = "${paths.output_dir}/latest"
    corpus: Optional[str] = None  # JSONL of articles; None: tests/fixtures/wikinews_articles.jsonl
    repeat: int = 40  # copies of the corpus
    workers: list[int] = field(default_factory=lambda: [1, 2])  # Ray worker counts to time
    rows_per_chunk: int = 20
    output_dir: str = "${paths.reports_dir}/bench-batch"
    paths: PathsConfig = field(default_factory=PathsConfig)


COMMAND_SCHEMAS = {"serve": ServeConfig, "summarize": SummarizeConfig, "check": CheckConfig, "extract": ExtractConfig,
                   "aggregate": AggregateConfig, "encoders": EncodersConfig, "teacher": TeacherConfig, "bench": BenchConfig,
                   "bench_serve": BenchServeConfig, "bench_batch": BenchBatchConfig}


def register_configs() -> None:
    cs = ConfigStore.instance()
    for name, node in COMMAND_SCHEMAS.items():
        cs.store(name=f"{name}_schema", node=node)
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="eval_schema", node=EvalConfig)
    cs.store(name="predict_schema", node=PredictConfig)
    cs.store(name="batch_schema", node=BatchConfig)


def compose(config_name: str, overrides: list[str] | None = None):
    """The composed config ``config_name`` (train, eval, predict, batch) with Hydra overrides, outside a Hydra app."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides or []))


def config_dir() -> str:
    """The Hydra config folder: the packaged copy in a wheel, else the repository's ``configs/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parents[1] / "configs"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"no Hydra configs found next to {here}")


def resolve_model_name(name_or_path: str) -> str:
    """Turn ``packaged:all-MiniLM-L6-v2`` (shipped with the project) or ``packaged:all-mpnet-base-v2``
    (``stance encoders fetch``) into its folder; anything else (a local folder or a hub name) is
    returned as given. See :mod:`stance.encoders`."""
    from .encoders import resolve

    return resolve(name_or_path)


def to_container(cfg: Any) -> dict:
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # type: ignore[return-value]


def num_threads(requested: int) -> int:
    return requested if requested > 0 else (os.cpu_count() or 1)
