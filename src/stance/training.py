"""Fine-tuning with the Hugging Face ``Trainer``: best epoch by validation macro-F1, calibration on
validation, scores on test, and one ``save_pretrained`` folder per run."""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
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

from . import calibration
from .atomic import atomic_symlink, commit_dir, staging_dir
from .config import num_threads, to_container
from .data import SplitData, validate
from .evaluation.metrics import calibration_before_after, choose_flag_threshold, classification_metrics, score_split
from .inference import STANCE_CONFIG
from .inputs import speaker_segment
from .modelcard import write_model_card
from .modeling import load_encoder_for_classification
from .resume import TrainingSession

log = logging.getLogger(__name__)


class WeightedTrainer(Trainer):
    """``Trainer`` whose cross-entropy can weight classes (inverse frequency) for imbalanced data."""

    def __init__(self, *args, class_weights: torch.Tensor | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def _get_eval_sampler(self, eval_dataset):
        """Evaluation and prediction in dataset order. (transformers 5 also length-groups *evaluation*
        batches when training is length-grouped, which returns predictions in another order than the
        dataset's rows: predictions must line up with the rows they are matched to.)"""
        return torch.utils.data.SequentialSampler(eval_dataset) if eval_dataset is not None else None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = torch.nn.functional.cross_entropy(
            outputs.logits, labels, weight=self.class_weights.to(outputs.logits.device),
            label_smoothing=self.args.label_smoothing_factor,
        )
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


def _second_segment(row: dict, fmt: str) -> str:
    if fmt == "text+speaker":
        return speaker_segment(row.get("speaker"), row.get("side"))
    if fmt == "text+context":
        return row.get("context_before") or ""
    return ""


def encode_dataset(ds: datasets.Dataset, tokenizer, fmt: str, max_length: int, dropout: float = 0.0,
                   seed: int = 0) -> datasets.Dataset:
    """Tokenize statements with their second segment (see :mod:`stance.inputs`). ``dropout``: the share
    of items whose segment is left out, so the model also reads statements without one (training only)."""
    rng = np.random.default_rng(seed)

    def tokenize(batch):
        out = {"input_ids": [], "attention_mask": [], "token_type_ids": []}
        rows = [dict(zip(batch, vals)) for vals in zip(*batch.values())]
        for row in rows:
            seg = _second_segment(row, fmt)
            if seg and dropout and rng.random() < dropout:
                seg = ""
            enc = (tokenizer(row["text"], seg, truncation="longest_first", max_length=max_length,
                             return_token_type_ids=True) if seg
                   else tokenizer(row["text"], truncation=True, max_length=max_length, return_token_type_ids=True))
            for k in out:
                out[k].append(enc.get(k, [0] * len(enc["input_ids"])))
        return out

    keep = {"input_ids", "attention_mask", "token_type_ids", "label"}
    enc = ds.map(tokenize, batched=True)
    enc = enc.remove_columns([c for c in enc.column_names if c not in keep])
    if "token_type_ids" not in tokenizer.model_input_names:
        enc = enc.remove_columns(["token_type_ids"])
    return enc


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


def train(cfg: DictConfig, run_dir: str | os.PathLike, resume: bool = False) -> dict:
    """Train, calibrate, evaluate and save. Returns a summary with the checkpoint path and test scores.
    ``resume``: continue the interrupted run in ``run_dir`` from its last complete checkpoint (see
    :mod:`stance.resume`); a signal during training raises ``TrainingInterrupted`` after saving one."""
    with TrainingSession(run_dir, resume) as session:  # locks run_dir against a second process
        return _train(cfg, Path(run_dir), session)


def _train(cfg: DictConfig, run_dir: Path, session: TrainingSession) -> dict:
    set_seed(cfg.seed)
    torch.set_num_threads(num_threads(cfg.trainer.num_threads))
    datasets.disable_progress_bars()
    data: SplitData = validate(cfg.data)  # raises DataError listing every problem
    for line in data.summary:
        print(line)
    labels = list(cfg.data.labels)
    for split in ("train", "validation", "test"):
        if len(data.dataset[split]) == 0:
            raise ValueError(f"the {split} split is empty: add labelled data or change data.test_size/validation_size")

    model, tokenizer = load_encoder_for_classification(cfg.model.name_or_path, labels, cfg.model.revision)
    fmt = cfg.model.input_format

    train_ds = subsample_none(data.dataset["train"], labels, cfg.data.train_none_ratio, cfg.seed)
    if cfg.trainer.train_subset:
        train_ds = train_ds.shuffle(seed=cfg.seed).select(range(min(cfg.trainer.train_subset, len(train_ds))))
    if len(train_ds) < len(data.dataset["train"]):
        print(f"  training on {len(train_ds)} of {len(data.dataset['train'])} train items "
              f"(data.train_none_ratio={cfg.data.train_none_ratio}, trainer.train_subset={cfg.trainer.train_subset})")
    ml = cfg.model.max_length
    encoded = {
        "train": encode_dataset(train_ds, tokenizer, fmt, ml, cfg.model.speaker_dropout if fmt == "text+speaker" else 0.0, cfg.seed),
        "validation": encode_dataset(data.dataset["validation"], tokenizer, fmt, ml),
        "test": encode_dataset(data.dataset["test"], tokenizer, fmt, ml),
    }

    class_weights = None
    if cfg.trainer.class_weights:
        counts = np.bincount(np.asarray(train_ds["label"]), minlength=len(labels)).astype(float)
        class_weights = torch.tensor(len(train_ds) / (len(labels) * np.maximum(counts, 1.0)), dtype=torch.float)
        print("class weights:", dict(zip(labels, np.round(class_weights.numpy(), 3).tolist())))
    t = cfg.trainer
    work_dir = run_dir / "trainer_state"
    args = TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=t.num_train_epochs,
        max_steps=t.max_steps,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.per_device_train_batch_size,
        per_device_eval_batch_size=t.per_device_eval_batch_size,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio of total steps
        label_smoothing_factor=t.label_smoothing_factor,
        eval_strategy=t.eval_strategy,
        save_strategy=t.eval_strategy,
        eval_steps=t.eval_steps,
        save_steps=t.eval_steps,
        logging_steps=t.logging_steps,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        save_total_limit=2,
        save_only_model=False,  # optimizer, scheduler and RNG states too: an interrupted run resumes exactly
        restore_callback_states_from_checkpoint=True,  # early stopping's patience counter too
        seed=cfg.seed,
        data_seed=cfg.seed,
        use_cpu=t.use_cpu,
        disable_tqdm=t.disable_tqdm,
        report_to="none",
        dataloader_num_workers=0,
        train_sampling_strategy=t.train_sampling_strategy,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    callbacks = [EarlyStoppingCallback(t.early_stopping_patience)] if t.early_stopping_patience > 0 else []
    callbacks.append(session.callback)  # SIGINT/SIGTERM: save and stop at the next step
    trainer = WeightedTrainer(
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_metrics_fn(labels),
        callbacks=callbacks,
        class_weights=class_weights,
    )
    start = time.perf_counter()
    train_result = trainer.train(resume_from_checkpoint=session.checkpoint(work_dir))
    session.check_interrupted(trainer)
    train_seconds = time.perf_counter() - start
    best_step = trainer.state.best_global_step
    best_val = trainer.state.best_metric

    # Calibration and the stance-flag threshold on validation only; then scores on test.
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

    test_logits = trainer.predict(encoded["test"]).predictions
    test_y = np.asarray(encoded["test"]["label"])
    test_probs = calibration.apply_temperature(test_logits, temperature)
    test_names = list(data.dataset["test"]["label_name"])
    scores = score_split(test_names, test_probs, labels, threshold, seed=cfg.seed,
                         groups={"genre": data.dataset["test"]["genre"], "source": data.dataset["test"]["source"]},
                         none_probs=_none_probs(trainer, data, tokenizer, cfg, labels, temperature))
    cal = calibration_before_after(test_logits, test_y, temperature)
    test_metrics = scores["stance"]
    test_metrics["calibration_before"], test_metrics["calibration_after"] = cal["before"], cal["after"]
    val_metrics = classification_metrics(val_y, val_logits.argmax(axis=1), labels)

    # Save one self-contained folder: written in a hidden sibling, renamed to model/ once complete.
    final_dir, model_dir = run_dir / "model", staging_dir(run_dir / "model")
    trainer.save_model(str(model_dir))  # model.safetensors + config.json (id2label) + tokenizer
    (model_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle; the resolved config.yaml replaces it
    stance_meta = {
        "labels": labels,
        "temperature": temperature,
        "abstain_threshold": threshold,
        "abstain_rule": "flag the top stance when its probability >= abstain_threshold, else none"
                        if "none" in labels else "none when the top stance's probability < abstain_threshold",
        "abstain_target_coverage": cfg.calibration.target_coverage,
        "max_length": cfg.model.max_length,
        "input_format": fmt,
        "use_context": fmt == "text+context",
        "base_model": cfg.model.name_or_path,
        "data_hash": data.data_hash,
        "seed": cfg.seed,
    }
    (model_dir / STANCE_CONFIG).write_text(json.dumps(stance_meta, indent=2) + "\n")
    metrics = {
        "test": test_metrics,
        "test_end_to_end": scores["end_to_end"],
        "test_by_genre": scores["by"]["genre"],
        "test_by_source": scores["by"]["source"],
        "validation": val_metrics,
        "best_validation_macro_f1": best_val,
        "best_global_step": best_step,
        "train_runtime_seconds": train_seconds,
        "train_loss": train_result.training_loss,
        "epochs_run": trainer.state.epoch,
        "temperature": temperature,
        "abstain_threshold": threshold,
        "data_hash": data.data_hash,
        "n_examples": {s: len(encoded[s]) for s in encoded},
        "log_history": trainer.state.log_history,
    }
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (model_dir / "config.yaml").write_text(OmegaConf.to_yaml(to_container(cfg)))
    write_model_card(model_dir, cfg, data, metrics)
    model_dir = commit_dir(model_dir, final_dir)
    shutil.rmtree(work_dir, ignore_errors=True)  # intermediate Trainer checkpoints

    if cfg.latest_link:
        _point_latest(Path(cfg.latest_link), model_dir)
    return {"model_dir": str(model_dir), "metrics": metrics, "test_texts": list(data.dataset["test"]["text"]),
            "test_probs": test_probs}


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


def _point_latest(link: Path, target: Path) -> None:
    atomic_symlink(link, target)  # moves only after the checkpoint folder is complete
