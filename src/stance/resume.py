"""Training that survives an interruption, and ``stance train resume=RUN_DIR|latest``.

Design:

* While ``Trainer.train`` runs, SIGINT (Ctrl-C) and SIGTERM only set a flag; :class:`InterruptCallback`
  sees it at the next step boundary, asks the Trainer to save a checkpoint (optimizer, scheduler,
  RNG states and ``trainer_state.json`` with it) and to stop. ``train`` then raises
  :class:`TrainingInterrupted`, which ``stance train`` turns into one line naming the command that
  continues the run, and exit status 130 (SIGINT) or 143 (SIGTERM). A second Ctrl-C stops at once.
* A Trainer checkpoint counts only once it is complete: ``on_save`` (called after the Trainer wrote
  every file) leaves a ``.complete`` marker in it, and resuming ignores and removes folders without
  one (a crash while saving).
* ``stance train resume=RUN_DIR`` reloads the run's own resolved config (``RUN_DIR/.hydra/config.yaml``),
  and trains in the same folder from the newest complete checkpoint: the same data order (the
  Trainer skips the batches already seen and restores the RNG states), the same early-stopping state,
  hence the same final scores as an uninterrupted run. ``resume=latest`` picks the newest
  unfinished run under ``${paths.output_dir}``.
* The run folder is locked (:class:`stance.atomic.FileLock` on ``RUN_DIR/.lock``) for the whole
  run, so two processes never train into the same folder.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from transformers import TrainerCallback

from .atomic import FileLock
from .checkpoint import MODEL_CONFIG, RUN_MODEL_DIR

__all__ = ["InterruptCallback", "TrainingInterrupted", "TrainingSession", "ResumeError", "complete_checkpoints",
           "find_latest_run", "resume_config", "EXIT_CODES"]

COMPLETE = ".complete"
WORK_DIR = "trainer_state"  # the Trainer's output_dir inside a run folder (training.py)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
TEST_INTERRUPT_ENV = "STANCE_INTERRUPT_AT_STEP"  # tests: send SIGINT (or SIGTERM: "3:TERM") to self at step N


class ResumeError(ValueError):
    """A run cannot be continued (nothing saved, already finished, not a run folder)."""


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving a checkpoint that ``resume=RUN_DIR`` continues."""

    def __init__(self, run_dir: Path, step: int, max_steps: int, signum: int, checkpoint: Path | None):
        self.run_dir, self.step, self.max_steps, self.signum, self.checkpoint = run_dir, step, max_steps, signum, checkpoint
        self.exit_code = EXIT_CODES.get(signum, 130)
        super().__init__(self.message())

    def message(self) -> str:
        name = signal.Signals(self.signum).name if self.signum in EXIT_CODES else "interrupt"
        if self.checkpoint is None:
            return (f"interrupted ({name}) at step {self.step}/{self.max_steps} before any checkpoint was saved; "
                    f"start again with: stance train ...")
        return (f"interrupted ({name}) at step {self.step}/{self.max_steps}, saved {self.checkpoint}; "
                f"continue with: stance train resume={self.run_dir}")


def complete_checkpoints(work_dir: str | os.PathLike) -> list[Path]:
    """The Trainer checkpoints in ``work_dir`` that were saved completely, oldest step first."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    found = []
    for p in work_dir.glob("checkpoint-*"):
        step = p.name.rsplit("-", 1)[-1]
        if step.isdigit() and (p / COMPLETE).is_file() and (p / "trainer_state.json").is_file():
            found.append((int(step), p))
    return [p for _, p in sorted(found)]


class InterruptCallback(TrainerCallback):
    """Turns SIGINT/SIGTERM during ``Trainer.train`` into save-and-stop at the next step boundary,
    and marks each saved checkpoint complete."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict[int, object] = {}
        at = os.environ.get(TEST_INTERRUPT_ENV, "")
        step, _, sig = at.partition(":")
        self._test_step = int(step) if step.strip().isdigit() else None
        self._test_signal = signal.SIGTERM if sig.strip().upper() in ("TERM", "SIGTERM", "15") else signal.SIGINT

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # a second signal: stop now
            self._restore()
            raise KeyboardInterrupt
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: stopping after this step and saving a checkpoint "
              "(press Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.signum = None
        try:
            for s in EXIT_CODES:
                self._previous[s] = signal.signal(s, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._restore()

    def on_step_end(self, args, state, control, **kwargs):
        if self._test_step is not None and state.global_step == self._test_step and self.signum is None:
            os.kill(os.getpid(), self._test_signal)
        if self.signum is not None:
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            with open(folder / COMPLETE, "w") as fh:
                fh.write(f"{state.global_step}\n")
                fh.flush()
                os.fsync(fh.fileno())

    def on_train_end(self, args, state, control, **kwargs):
        self._restore()


class TrainingSession:
    """One ``train`` call's hold on its run folder: the lock, the checkpoint to resume from, the
    interrupt callback, and the staged (then renamed) final checkpoint folder."""

    def __init__(self, run_dir: str | os.PathLike, resume: bool = False):
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.callback = InterruptCallback()
        self.lock = FileLock(self.run_dir / ".lock", f"run folder {self.run_dir}")
        self._resume_from: str | None = None

    def __enter__(self) -> TrainingSession:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            for stale in self.run_dir.glob(".model.tmp-*"):  # a crash while writing the final folder
                shutil.rmtree(stale, ignore_errors=True)
            self._resume_from = self._find_resume_point(self.run_dir / WORK_DIR) if self.resume else None
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()

    def checkpoint(self, work_dir: str | os.PathLike) -> str | None:
        """The checkpoint ``Trainer.train(resume_from_checkpoint=...)`` starts from (None: a fresh run)."""
        if self._resume_from and Path(self._resume_from).parent != Path(work_dir):
            raise ResumeError(f"{work_dir}: expected the Trainer's checkpoints in {Path(self._resume_from).parent}")
        return self._resume_from

    def _find_resume_point(self, work_dir: Path) -> str:
        """The newest complete checkpoint; incomplete checkpoint folders (a crash while saving) are removed."""
        if (self.run_dir / RUN_MODEL_DIR / MODEL_CONFIG).is_file():
            raise ResumeError(f"{self.run_dir} already finished: its checkpoint is {self.run_dir / 'model'}")
        done = complete_checkpoints(work_dir)
        for p in work_dir.glob("checkpoint-*") if work_dir.is_dir() else []:
            if p not in done:
                print(f"removing incomplete checkpoint {p} (the run stopped while saving it)", file=sys.stderr)
                shutil.rmtree(p, ignore_errors=True)
        if not done:
            raise ResumeError(f"{self.run_dir}: no complete checkpoint to continue from (in {work_dir}); "
                              "start a new run with `stance train`")
        print(f"resuming from {done[-1]}", file=sys.stderr)
        return str(done[-1])

    def check_interrupted(self, trainer) -> None:
        """Raise :class:`TrainingInterrupted` when training stopped on a signal."""
        if self.callback.signum is None:
            return
        done = complete_checkpoints(trainer.args.output_dir)
        raise TrainingInterrupted(self.run_dir, trainer.state.global_step, trainer.state.max_steps,
                                  self.callback.signum, done[-1] if done else None)


# -- stance train resume=... ---------------------------------------------------------------------------
def find_latest_run(output_dir: str | os.PathLike) -> Path:
    """The unfinished run (a complete Trainer checkpoint, no ``model/``) saved most recently."""
    output_dir = Path(output_dir)
    best: tuple[float, Path] | None = None
    for work in output_dir.glob(f"**/{WORK_DIR}"):
        run = work.parent
        if (run / RUN_MODEL_DIR / MODEL_CONFIG).is_file() or not (run / ".hydra" / "config.yaml").is_file():
            continue
        done = complete_checkpoints(work)
        if done:
            t = (done[-1] / COMPLETE).stat().st_mtime
            if best is None or t > best[0]:
                best = (t, run)
    if best is None:
        raise ResumeError(f"no interrupted run to continue under {output_dir} (looked for */trainer_state/checkpoint-*)")
    return best[1]


def resume_config(run_dir: str | os.PathLike):
    """The run's own resolved config, typed by the training schema."""
    from omegaconf import OmegaConf

    from .config import TrainConfig

    path = Path(run_dir) / ".hydra" / "config.yaml"
    if not path.is_file():
        raise ResumeError(f"{run_dir}: not a training run folder (no {path.relative_to(run_dir)})")
    return OmegaConf.merge(OmegaConf.structured(TrainConfig), OmegaConf.load(path))


def resume_target(argv: list[str]) -> str | None:
    """The value of ``resume=...`` among ``stance train`` arguments (None when absent)."""
    for a in argv:
        if a.startswith(("resume=", "+resume=")):
            return a.split("=", 1)[1].strip("'\"")
    return None


def resume_run_dir(target: str) -> Path:
    """RUN_DIR for ``resume=RUN_DIR`` / ``resume=latest``."""
    if target == "latest":
        from .config import compose

        return find_latest_run(compose("train").paths.output_dir)
    run = Path(target)
    if not run.is_dir():
        raise ResumeError(f"{run}: no such run folder")
    return run
