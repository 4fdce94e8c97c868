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
from .config import num_threads, to_container
from .data import SplitData, validate
from .evaluation.metrics import calibration_before_after, classification_metrics, held_out_scores
from .inference import STANCE_CONFIG
from .modelcard import write_model_card
from .modeling import load_encoder_for_classification

log = logging.getLogger(__name__)


class WeightedTrainer(Trainer):
    """``Trainer`` whose cross-entropy can weight classes (inverse frequency) for imbalanced data."""

    def __init__(self, *args, class_weights: torch.Tensor | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

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


def train(cfg: DictConfig, run_dir: str | os.PathLike) -> dict:
    """Train, calibrate, evaluate and save. Returns a summary with the checkpoint path and test scores."""
    run_dir = Path(run_dir)
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

    def tokenize(batch):
        if cfg.model.use_context:
            return tokenizer(batch["text"], batch["context_before"], truncation="longest_first", max_length=cfg.model.max_length)
        return tokenizer(batch["text"], truncation=True, max_length=cfg.model.max_length)

    train_ds = data.dataset["train"]
    if cfg.trainer.train_subset:
        train_ds = train_ds.shuffle(seed=cfg.seed).select(range(min(cfg.trainer.train_subset, len(train_ds))))
    keep = ["input_ids", "attention_mask", "token_type_ids", "label"]
    encoded = {
        name: ds.map(tokenize, batched=True).remove_columns([c for c in ds.column_names if c not in keep])
        for name, ds in (("train", train_ds), ("validation", data.dataset["validation"]), ("test", data.dataset["test"]))
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
        save_only_model=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        use_cpu=t.use_cpu,
        disable_tqdm=t.disable_tqdm,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    callbacks = [EarlyStoppingCallback(t.early_stopping_patience)] if t.early_stopping_patience > 0 else []
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
    train_result = trainer.train()
    train_seconds = time.perf_counter() - start
    best_step = trainer.state.best_global_step
    best_val = trainer.state.best_metric

    # Calibration on validation only; then scores on test.
    val_logits = trainer.predict(encoded["validation"]).predictions
    val_y = np.asarray(encoded["validation"]["label"])
    temperature = calibration.fit_temperature(val_logits, val_y) if cfg.calibration.temperature_scaling else 1.0
    val_probs = calibration.apply_temperature(val_logits, temperature)
    threshold = cfg.calibration.abstain_threshold
    if threshold is None:
        threshold = calibration.choose_threshold(val_probs, cfg.calibration.target_coverage)

    test_logits = trainer.predict(encoded["test"]).predictions
    test_y = np.asarray(encoded["test"]["label"])
    test_metrics = held_out_scores(test_y, test_logits, labels, seed=cfg.seed)
    cal = calibration_before_after(test_logits, test_y, temperature)
    test_metrics["calibration_before"], test_metrics["calibration_after"] = cal["before"], cal["after"]
    val_metrics = classification_metrics(val_y, val_logits.argmax(axis=1), labels)

    # Save one self-contained folder.
    model_dir = run_dir / "model"
    trainer.save_model(str(model_dir))  # model.safetensors + config.json (id2label) + tokenizer
    (model_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle; the resolved config.yaml replaces it
    stance_meta = {
        "labels": labels,
        "temperature": temperature,
        "abstain_threshold": threshold,
        "abstain_target_coverage": cfg.calibration.target_coverage,
        "max_length": cfg.model.max_length,
        "use_context": cfg.model.use_context,
        "base_model": cfg.model.name_or_path,
        "data_hash": data.data_hash,
        "seed": cfg.seed,
    }
    (model_dir / STANCE_CONFIG).write_text(json.dumps(stance_meta, indent=2) + "\n")
    metrics = {
        "test": test_metrics,
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
    shutil.rmtree(work_dir, ignore_errors=True)  # intermediate Trainer checkpoints

    if cfg.latest_link:
        _point_latest(Path(cfg.latest_link), model_dir)
    return {"model_dir": str(model_dir), "metrics": metrics, "test_texts": list(data.dataset["test"]["text"]),
            "test_probs": calibration.apply_temperature(test_logits, temperature)}


def _point_latest(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(link.name + ".tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target.resolve(), link.parent.resolve()))
    os.replace(tmp, link)
