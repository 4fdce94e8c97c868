"""Fine-tuning with the Hugging Face ``Trainer``, as a short sequence of steps: load the data, build
the model, fit (best epoch by validation macro-F1), calibrate on validation, score on test, save one
checkpoint folder (:mod:`stance.checkpoint`). :func:`train` runs them and holds the side effects:
torch's global state, the run folder's files, the ``latest`` link. Progress is logged to this
module's logger (``stance train`` prints it as plain lines)."""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from . import calibration, checkpoint
from .atomic import atomic_symlink
from .augment import AUGMENTED_SUFFIX, augment_rows
from .checkpoint import CheckpointMeta
from .config import STANCE_TRAINER_KEYS, num_threads, to_container
from .data import SplitData, load_splits
from .distillation import COLUMN as TEACHER_COLUMN
from .distillation import TeacherProbabilities, distillation_loss
from .evaluation.metrics import calibration_before_after, choose_flag_threshold, classification_metrics, score_split
from .modelcard import write_model_card
from .modeling import build_classifier, encode_dataset
from .resume import WORK_DIR, TrainingSession

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclass
class TrainResult:
    """What a finished run produced: its checkpoint folder, the metadata saved there, its scores."""

    model_dir: Path
    meta: CheckpointMeta
    metrics: dict  # as saved in the checkpoint's metrics.json


@dataclass
class Fitted:
    trainer: Trainer
    train_loss: float
    train_seconds: float


@dataclass
class Calibration:
    temperature: float
    threshold: float | None
    validation_logits: np.ndarray


# -- the run -------------------------------------------------------------------------------------------
def train(cfg: DictConfig, run_dir: str | os.PathLike, resume: bool = False) -> TrainResult:
    """Train, calibrate, evaluate and save. ``resume``: continue the interrupted run in ``run_dir``
    from its last complete checkpoint (see :mod:`stance.resume`); a signal during training raises
    ``TrainingInterrupted`` after saving one."""
    run_dir = Path(run_dir)
    with TrainingSession(run_dir, resume) as session:  # locks run_dir against a second process
        set_seed(cfg.seed)
        torch.set_num_threads(num_threads(cfg.trainer.num_threads))
        datasets.disable_progress_bars()

        labels = list(cfg.data.labels)
        data = load_data(cfg)
        teacher = load_teacher(cfg, data)
        model, tokenizer = build_classifier(cfg.model.name_or_path, labels, cfg.model.revision)
        encoded = encode_splits(cfg, tokenizer, training_items(cfg, data, teacher), data)
        fitted = fit(cfg, model, tokenizer, encoded, run_dir / WORK_DIR, session, distil=teacher is not None)
        cal = calibrate(cfg, fitted.trainer, encoded, data)
        metrics = score(cfg, fitted, cal, encoded, data, tokenizer)
        meta = checkpoint_meta(cfg, data, cal, teacher)

        model_dir = checkpoint.save(run_dir / checkpoint.RUN_MODEL_DIR, fitted.trainer.model, tokenizer, meta, metrics, to_container(cfg),
                                    extra=lambda folder: write_model_card(folder, cfg, data, metrics, meta))
        shutil.rmtree(run_dir / WORK_DIR, ignore_errors=True)  # intermediate Trainer checkpoints
        if cfg.latest_link:
            _point_latest(Path(cfg.latest_link), model_dir)
    return TrainResult(model_dir, meta, metrics)


def _point_latest(link: Path, target: Path) -> None:
    atomic_symlink(link, target)  # moves only after the checkpoint folder is complete


# -- the steps -----------------------------------------------------------------------------------------
def load_data(cfg: DictConfig) -> SplitData:
    """The checked, split data (``DataError`` listing every problem); every split must have items."""
    data = load_splits(cfg.data)
    for line in data.summary:
        log.info(line)
    for split in SPLITS:
        if len(data.dataset[split]) == 0:
            raise ValueError(f"the {split} split is empty: add labelled data or change data.test_size/validation_size")
    return data


def subsample_none(ds: datasets.Dataset, labels: list[str], ratio: float | None, seed: int) -> datasets.Dataset:
    """Keep at most ``ratio`` x (number of stance items) of the ``none`` items of a training split."""
    if ratio is None or "none" not in labels:
        return ds
    none_id = labels.index("none")
    y = np.asarray(ds["label"])
    none_idx, stance_idx = np.flatnonzero(y == none_id), np.flatnonzero(y != none_id)
    n_keep = min(len(none_idx), int(round(ratio * len(stance_idx))))
    keep = np.random.default_rng(seed).choice(none_idx, n_keep, replace=False) if n_keep < len(none_idx) else none_idx
    return ds.select(sorted(np.concatenate([stance_idx, keep]).tolist()))


def load_teacher(cfg: DictConfig, data: SplitData) -> TeacherProbabilities | None:
    """The teacher's probabilities of a distilled run (``distill.teacher``), checked against the data."""
    if not cfg.distill.teacher:
        return None
    teacher = TeacherProbabilities.load(cfg.distill.teacher, list(cfg.data.labels), data.data_hash)
    log.info(f"  distilling from {cfg.distill.teacher} ({len(teacher.meta.get('teachers', []))} teacher(s) averaged; "
             f"alpha {cfg.distill.alpha}, temperature {cfg.distill.temperature})")
    return teacher


def training_items(cfg: DictConfig, data: SplitData, teacher: TeacherProbabilities | None = None) -> datasets.Dataset:
    """The train split's items the model trains on: ``data.train_none_ratio`` (``distill.train_none_ratio``
    when distilling and set), then ``trainer.train_subset``; with a teacher, its probabilities as a column."""
    full = data.dataset["train"]
    key, ratio = "data.train_none_ratio", cfg.data.train_none_ratio
    if teacher is not None and cfg.distill.train_none_ratio is not None:
        key, ratio = "distill.train_none_ratio", cfg.distill.train_none_ratio
    items = subsample_none(full, list(cfg.data.labels), ratio, cfg.seed)
    if cfg.trainer.train_subset:
        items = items.shuffle(seed=cfg.seed).select(range(min(cfg.trainer.train_subset, len(items))))
    if len(items) < len(full):
        log.info(f"  training on {len(items)} of {len(full)} train items "
                 f"({key}={ratio}, trainer.train_subset={cfg.trainer.train_subset})")
    if cfg.data.augment_reported:
        extra = augment_rows(items.to_list())
        if extra:
            items = datasets.concatenate_datasets([items, datasets.Dataset.from_list(extra, features=items.features)])
        log.info(f"  plus {len(extra)} reported-speech copies of first-person train items (data.augment_reported)")
    if teacher is not None:  # a copy learns the teacher's probabilities of the statement it was made from
        items = items.add_column(TEACHER_COLUMN, teacher.for_ids([i.split(AUGMENTED_SUFFIX)[0] for i in items["id"]]))
    return items


def encode_splits(cfg: DictConfig, tokenizer, train_items: datasets.Dataset, data: SplitData) -> dict[str, datasets.Dataset]:
    """Tokenized train items, validation and test (the speaker dropout on train only)."""
    fmt, ml = cfg.model.input_format, cfg.model.max_length
    dropout = cfg.model.speaker_dropout if fmt == "text+speaker" else 0.0
    return {
        "train": encode_dataset(train_items, tokenizer, fmt, ml, dropout, cfg.seed),
        "validation": encode_dataset(data.dataset["validation"], tokenizer, fmt, ml),
        "test": encode_dataset(data.dataset["test"], tokenizer, fmt, ml),
    }


def fit(cfg: DictConfig, model, tokenizer, encoded: dict, work_dir: Path, session: TrainingSession,
        distil: bool = False) -> Fitted:
    """Fine-tune; the Trainer keeps the best evaluation step by validation macro-F1. ``distil``: the train
    items carry the teacher's probabilities, learned beside the gold labels (``distill.alpha``)."""
    labels = list(cfg.data.labels)
    t = cfg.trainer
    callbacks = [EarlyStoppingCallback(t.early_stopping_patience)] if t.early_stopping_patience > 0 else []
    callbacks.append(session.callback)  # SIGINT/SIGTERM: save and stop at the next step
    trainer = StanceTrainer(
        model=model,
        args=training_arguments(t, cfg.seed, work_dir, keep_columns=distil),
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_metrics_fn(labels),
        callbacks=callbacks,
        class_weights=class_weights(encoded["train"]["label"], labels) if t.class_weights else None,
        distill_alpha=cfg.distill.alpha if distil else 1.0,
        distill_temperature=cfg.distill.temperature,
    )
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=session.checkpoint(work_dir))
    session.check_interrupted(trainer)
    return Fitted(trainer, result.training_loss, time.perf_counter() - start)


def calibrate(cfg: DictConfig, trainer: Trainer, encoded: dict, data: SplitData) -> Calibration:
    """The temperature and the stance-flag threshold, both fitted on validation only."""
    labels = list(cfg.data.labels)
    val_logits = trainer.predict(encoded["validation"]).predictions
    val_y = np.asarray(encoded["validation"]["label"])
    temperature = calibration.fit_temperature(val_logits, val_y) if cfg.calibration.temperature_scaling else 1.0
    val_probs = calibration.apply_temperature(val_logits, temperature)
    threshold = cfg.calibration.abstain_threshold
    if threshold is None:
        if "none" in labels:
            threshold = choose_flag_threshold(data.dataset["validation"]["label_name"], val_probs, labels)
        else:
            threshold = calibration.choose_threshold(val_probs, cfg.calibration.target_coverage)
    return Calibration(temperature, threshold, val_logits)


def score(cfg: DictConfig, fitted: Fitted, cal: Calibration, encoded: dict, data: SplitData, tokenizer) -> dict:
    """Test scores (the stance task, end to end, per genre and source), validation scores and the
    training record: the checkpoint's ``metrics.json``."""
    labels, trainer = list(cfg.data.labels), fitted.trainer
    test_logits = trainer.predict(encoded["test"]).predictions
    test_y = np.asarray(encoded["test"]["label"])
    test_probs = calibration.apply_temperature(test_logits, cal.temperature)
    test = data.dataset["test"]
    scores = score_split(list(test["label_name"]), test_probs, labels, cal.threshold, seed=cfg.seed,
                         groups={"genre": test["genre"], "source": test["source"]},
                         none_probs=_none_probs(trainer, data, tokenizer, cfg, labels, cal.temperature))
    before_after = calibration_before_after(test_logits, test_y, cal.temperature)
    test_metrics = scores["stance"]
    test_metrics["calibration_before"], test_metrics["calibration_after"] = before_after["before"], before_after["after"]
    val_y = np.asarray(encoded["validation"]["label"])
    return {
        "test": test_metrics,
        "test_end_to_end": scores["end_to_end"],
        "test_by_genre": scores["by"]["genre"],
        "test_by_source": scores["by"]["source"],
        "validation": classification_metrics(val_y, cal.validation_logits.argmax(axis=1), labels),
        "best_validation_macro_f1": trainer.state.best_metric,
        "best_global_step": trainer.state.best_global_step,
        "train_runtime_seconds": fitted.train_seconds,
        "train_loss": fitted.train_loss,
        "epochs_run": trainer.state.epoch,
        "n_examples": {s: len(encoded[s]) for s in encoded},
        "log_history": trainer.state.log_history,
    }


def checkpoint_meta(cfg: DictConfig, data: SplitData, cal: Calibration,
                    teacher: TeacherProbabilities | None = None) -> CheckpointMeta:
    """What the checkpoint needs to predict as it was scored (``stance_config.json``), and the teacher
    of a distilled run."""
    distilled = None if teacher is None else {
        "teacher_probabilities": str(cfg.distill.teacher), "alpha": cfg.distill.alpha,
        "temperature": cfg.distill.temperature,
        "teachers": [{k: t.get(k) for k in ("base_model", "seed", "weights_sha256")} for t in teacher.meta.get("teachers", [])]}
    return CheckpointMeta(labels=list(cfg.data.labels), temperature=cal.temperature, abstain_threshold=cal.threshold,
                          abstain_target_coverage=cfg.calibration.target_coverage, max_length=cfg.model.max_length,
                          input_format=cfg.model.input_format, base_model=cfg.model.name_or_path,
                          data_hash=data.data_hash, seed=cfg.seed, distilled_from=distilled)


# -- the Trainer ---------------------------------------------------------------------------------------
def training_arguments(trainer_cfg: DictConfig, seed: int, output_dir: Path, keep_columns: bool = False) -> TrainingArguments:
    """``TrainingArguments`` from the ``trainer`` config: every key that is a ``TrainingArguments`` field
    passes as it is, the stance-only keys (``config.STANCE_TRAINER_KEYS``) stay out, and the settings
    this pipeline relies on (best model by validation macro-F1, resumable checkpoints) are fixed here."""
    settings = OmegaConf.to_container(trainer_cfg, resolve=True)
    for key in STANCE_TRAINER_KEYS:
        settings.pop(key)
    _warmup_as_ratio(settings)
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"trainer.{unknown[0]}: neither a TrainingArguments field nor a stance trainer setting "
                         f"({', '.join(STANCE_TRAINER_KEYS)}); unknown keys: {unknown}")
    return TrainingArguments(
        output_dir=str(output_dir),
        **settings,
        save_strategy=settings["eval_strategy"],  # a checkpoint at every evaluation: the best one is kept
        save_steps=settings["eval_steps"],
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        save_total_limit=2,
        save_only_model=False,  # optimizer, scheduler and RNG states too: an interrupted run resumes exactly
        restore_callback_states_from_checkpoint=True,  # early stopping's patience counter too
        seed=seed,
        data_seed=seed,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        remove_unused_columns=not keep_columns,  # a distilled run's teacher probabilities reach compute_loss
    )


def _warmup_as_ratio(settings: dict) -> None:
    """``trainer.warmup_ratio``, a share of the total steps. transformers 5 has no ``warmup_ratio``
    argument: a float in [0, 1) given as ``warmup_steps`` is read as that ratio."""
    ratio = settings.pop("warmup_ratio")
    if ratio is not None:
        settings["warmup_steps"] = ratio


def class_weights(train_labels, labels: list[str]) -> torch.Tensor:
    """Inverse-frequency class weights over the training items (``trainer.class_weights``)."""
    counts = np.bincount(np.asarray(train_labels), minlength=len(labels)).astype(float)
    weights = torch.tensor(len(train_labels) / (len(labels) * np.maximum(counts, 1.0)), dtype=torch.float)
    log.info(f"class weights: {dict(zip(labels, np.round(weights.numpy(), 3).tolist()))}")
    return weights


class StanceTrainer(Trainer):
    """``Trainer`` with the project's training loss (cross-entropy, optionally class-weighted: the place
    for another loss term) and evaluation in dataset order."""

    def __init__(self, *args, class_weights: torch.Tensor | None = None, distill_alpha: float = 1.0,
                 distill_temperature: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.distill_alpha, self.distill_temperature = distill_alpha, distill_temperature

    def _get_eval_sampler(self, eval_dataset):
        """Evaluation and prediction in dataset order. (transformers 5 also length-groups *evaluation*
        batches when training is length-grouped, which returns predictions in another order than the
        dataset's rows: predictions must line up with the rows they are matched to.)"""
        return torch.utils.data.SequentialSampler(eval_dataset) if eval_dataset is not None else None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_probs = inputs.pop(TEACHER_COLUMN, None)  # the training items of a distilled run
        if self.class_weights is None and teacher_probs is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        if teacher_probs is None:
            loss = torch.nn.functional.cross_entropy(
                outputs.logits, labels, weight=self.class_weights.to(outputs.logits.device),
                label_smoothing=self.args.label_smoothing_factor,
            )
        else:
            loss = distillation_loss(outputs.logits, labels, teacher_probs, self.distill_alpha, self.distill_temperature,
                                     self.class_weights, self.args.label_smoothing_factor)
        return (loss, outputs) if return_outputs else loss


def _metrics_fn(labels: list[str]):
    def compute(eval_pred):
        logits, y = eval_pred
        m = classification_metrics(y, np.argmax(logits, axis=1), labels)
        flat = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
        for lab, v in m["per_class"].items():
            flat.update({f"{lab}_precision": v["precision"], f"{lab}_recall": v["recall"], f"{lab}_f1": v["f1"]})
        return flat

    return compute


def _none_probs(trainer, data, tokenizer, cfg, labels, temperature):
    """For a model without a none class: its probabilities on the test statements labelled none, so
    that it too is scored end to end."""
    if "none" in labels:
        return None
    none_ds = data.others["test"].filter(lambda r: r["label_name"] == "none")
    if not len(none_ds):
        return None
    enc = encode_dataset(none_ds.remove_columns(["label"]).add_column("label", [0] * len(none_ds)), tokenizer,
                         cfg.model.input_format, cfg.model.max_length)
    return none_ds, calibration.apply_temperature(trainer.predict(enc).predictions, temperature)
