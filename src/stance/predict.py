"""``stance predict``: classify texts, files of quotes, or the statements found in whole articles.

Results are written as they are computed (an interrupted run keeps what it finished); problems
with one input are reported with the file and line and never stop the others.
"""
from __future__ import annotations

import csv
import glob
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .textio import BadLine, Problem, decode_bytes, decode_lines, read_jsonl_lines, refuse_binary

QUOTE_SUFFIXES = (".jsonl", ".csv")


@dataclass
class Item:
    text: str
    file: str = ""
    line: int | None = None
    id: str = ""
    speaker: str = ""
    kind: str = ""
    start: int | None = None
    end: int | None = None
    context: str = ""  # the speaker's previous sentence/statement, for checkpoints that read context
    role: str = ""  # the speaker's role or side ("Kremlin spokesman", "Russia"), read with the speaker


@dataclass
class Problems:
    """The input problems of one run, each printed to standard error as ``warning: <problem>`` when
    added. A plain string is a message that already names its input (an exception's text)."""

    messages: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem | str) -> None:
        if isinstance(problem, str):
            problem = Problem("", 0, problem, "")
        self.messages.append(problem)
        print(f"warning: {problem}", file=sys.stderr)


# -- readers ---------------------------------------------------------------------------------------
def read_quotes(path: str, problems: Problems, text_field: str = "text") -> Iterator[Item]:
    """Statements listed one per line (.txt), one per JSON object (.jsonl) or per CSV row (.csv)."""
    p = Path(path)
    suffix = p.suffix.lower()
    with p.open("rb") as fh:
        if suffix == ".csv":
            yield from _read_csv(path, fh.read(), problems, text_field)
            return
        empty = True
        blank = 0
        if suffix == ".jsonl":
            lines = read_jsonl_lines(fh, path, warn=problems.add)
        else:  # one statement a line
            lines = ((i, line.strip() or BadLine("blank")) for i, line in decode_lines(fh, path, warn=problems.add))
        for i, value in lines:
            if isinstance(value, BadLine) and value.reason == "blank":
                blank += 1
                continue
            empty = False
            if "\x00" in (value.text if isinstance(value, BadLine) else value if suffix != ".jsonl" else ""):
                problems.add(Problem(path, i, "NUL byte(s) in the line; line skipped", ""))
            elif isinstance(value, BadLine):
                problems.add(Problem(path, i, f"invalid JSON ({value.detail}); line skipped", ""))
            elif suffix != ".jsonl":
                yield Item(value, path, i)
            elif isinstance(t := value.get(text_field) if isinstance(value, dict) else None, str) and t.strip():
                yield Item(t.strip(), path, i, str(value.get("id") or ""), str(value.get("speaker") or ""),
                           context=str(value.get("context_before") or ""),
                           role=str(value.get("role") or value.get("side") or ""))
            else:
                problems.add(Problem(path, i, f"no non-empty {text_field!r} string; line skipped", ""))
        if empty:
            problems.add(Problem(path, 0, "empty file", ""))
        else:
            _note_blank(path, blank, problems)


def _read_csv(path: str, raw: bytes, problems: Problems, text_field: str) -> Iterator[Item]:
    csv.field_size_limit(2**31 - 1)  # a huge field is a long statement, not a crash
    refuse_binary(path, raw.split(b"\n", 1)[0])  # as for .txt/.jsonl: NULs in the first line mean binary
    text, warnings = decode_bytes(path, raw, check_binary=False)
    for w in warnings:
        problems.add(w)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or text_field not in header:
        problems.add(Problem(path, 1, f"no {text_field!r} column (columns: {header})", ""))
        return
    line = reader.line_num + 1  # the physical line on which the next row starts
    blank = 0
    for row in reader:
        start, line = line, reader.line_num + 1
        if not row:  # a blank line
            blank += 1
            continue
        rec = dict(zip(header, row))
        t = (rec.get(text_field) or "").strip()
        if not t:
            problems.add(Problem(path, start, "empty text; row skipped", ""))
            continue
        if "\x00" in t:
            problems.add(Problem(path, start, "NUL byte(s) in the text; row skipped", ""))
            continue
        yield Item(t, path, start, rec.get("id") or "", rec.get("speaker") or "",
                   context=rec.get("context_before") or "", role=rec.get("role") or rec.get("side") or "")
    _note_blank(path, blank, problems)


def _note_blank(path: str, blank: int, problems: Problems) -> None:
    """Blank lines hold no statement, but the user hears how many were passed over."""
    if blank:
        problems.add(Problem(path, 0, f"{blank} blank line(s) ignored (no statement on them)", ""))


def read_articles(paths: list[str], problems: Problems) -> Iterator[Item]:
    """Statements extracted from articles/transcripts (files, directories, globs, or - for stdin)."""
    from .extraction import extract_file, extract_statements

    for path in paths:
        if path == "-":
            try:
                text, warnings = decode_bytes("<stdin>", sys.stdin.buffer.read())
            except ValueError as exc:
                problems.add(str(exc))
                continue
            statements = extract_statements(text, "<stdin>")
        else:
            try:
                statements, warnings = extract_file(path)
            except (OSError, ValueError) as exc:
                problems.add(str(exc))
                continue
        for w in warnings:
            problems.add(w)
        if not statements and path != "-":
            problems.add(Problem(path, 0, "no statements found", ""))
        previous: dict[str, str] = {}  # speaker -> their previous statement in this file
        for st in statements:
            yield Item(st.text, st.file, None, "", st.speaker, st.kind, st.start, st.end, previous.get(st.speaker, ""),
                       st.role)
            previous[st.speaker] = st.text


PATH_SUFFIXES = (".txt", ".md", ".jsonl", ".csv", ".json", ".text")


def expand_paths(args: list[str], problems: Problems) -> tuple[list[str], list[str]]:
    """Split positional arguments into article paths (existing files, directories, globs, -) and
    statements. An argument that looks like a path but names nothing is reported, not classified."""
    paths, texts = [], []
    for a in args:
        if not a.strip():
            problems.add("an empty argument was given; skipped")
        elif a == "-":
            paths.append(a)
        elif Path(a).is_dir():
            found = sorted(str(p) for p in Path(a).rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md", ""))
            if not found:
                problems.add(f"{a}: folder has no .txt or .md files")
            paths.extend(found)
        elif Path(a).is_file():
            paths.append(a)
        elif any(c in a for c in "*?["):
            matches = sorted(glob.glob(a, recursive=True))
            if not matches:
                problems.add(f"{a}: no file matches this pattern")
            paths.extend(m for m in matches if Path(m).is_file())
        elif " " not in a.strip() and ("/" in a or a.lower().endswith(PATH_SUFFIXES)):
            problems.add(f"{a}: no such file (to classify it as a statement, pass it with --text)")
        else:
            texts.append(a)
    return paths, texts


# -- writers ---------------------------------------------------------------------------------------
def csv_columns(labels: list[str]) -> list[str]:
    return ["file", "line", "start", "end", "id", "speaker", "kind", "text", "stance", "score", "abstained",
            "best_stance", "best_stance_score", "truncated"] + [f"p_{lab}" for lab in labels]


class Writer:
    def __init__(self, fh: IO[str], fmt: str, labels: list[str], header: bool = True):
        self.fh, self.fmt, self.labels = fh, fmt, labels
        self.csv = None
        if fmt == "csv":
            self.csv = csv.DictWriter(fh, fieldnames=csv_columns(labels))
            if header:  # not when appending to an earlier run's rows (--resume)
                self.csv.writeheader()
        elif fmt == "table":
            fh.write(f"{'speaker':<22} {'stance':<20} {'conf':>5}  statement\n{'-' * 104}\n")  # none: best stance kept

    def write(self, item: Item, pred) -> None:
        row = {"file": item.file, "line": item.line, "start": item.start, "end": item.end, "id": item.id,
               "speaker": item.speaker, "kind": item.kind, "text": item.text, "stance": pred.label,
               "score": round(pred.score, 4), "abstained": pred.abstained, "best_stance": pred.stance,
               "best_stance_score": round(pred.stance_score, 4), "truncated": pred.truncated}
        if self.fmt == "jsonl":
            row["probabilities"] = {k: round(v, 4) for k, v in pred.probabilities.items()}
            self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            row.update({f"p_{k}": round(v, 4) for k, v in pred.probabilities.items()})
            self.csv.writerow(row)
        else:
            stance = f"none ({pred.stance} {pred.stance_score:.2f})" if pred.label == "none" else pred.label
            text = item.text if len(item.text) <= 90 else item.text[:87] + "..."
            self.fh.write(f"{(item.speaker or '-')[:22]:<22} {stance:<20} {pred.score:5.2f}  {text}\n")

    def flush(self) -> None:
        self.fh.flush()


def _command():
    from .command_line import Command

    cmd = Command("predict", "predict", "Classify statements. Positional arguments that are files, directories, globs or - "
                  "are read as articles (statements extracted with speakers), except .jsonl and .csv files, which are "
                  "read as statement files like --input; key=value arguments are settings; other positional arguments "
                  "are texts.")
    cmd.add("inputs", nargs="*", help="texts, or article files/directories/globs, or - for stdin")
    cmd.add("--model", setting="model_path", help="checkpoint folder written by `stance train` (e.g. outputs/latest)")
    cmd.add("--text", action="append", default=[], help="a statement to classify (repeatable; for text that looks like a "
            "path or a key=value setting)")
    cmd.add("--input", action="append", default=[], help="file of statements: .jsonl (text field), .csv (text column) or "
            ".txt (one per line); repeatable")
    cmd.add("--text-field", setting="text_field", help="JSONL field / CSV column holding the statement")
    cmd.add("--format", setting="format", choices=["table", "jsonl", "csv"],
            help="output format (null: table on a terminal, else from --output's suffix, else jsonl)")
    cmd.add("-o", "--output", help="write results here (default: standard output); written as FILE.partial "
            "and renamed when complete")
    cmd.add("--resume", action="store_true", help="continue an interrupted run: skip the inputs already in "
            "--output (or its .partial) and append the rest")
    cmd.add("--overwrite", action="store_true", help="replace an existing --output file")
    cmd.add("--batch-size", setting="batch_size", type=int, help="statements per forward pass")
    cmd.add("--abstain-threshold", setting="abstain_threshold", type=float,
            help="override the checkpoint's abstention threshold (0 disables; null: the checkpoint's own)")
    cmd.add("--device", setting="device", help="cpu, cuda, cuda:1 ... (null: cuda if available)")
    cmd.add("--threads", setting="num_threads", type=int, help="CPU threads (0: all cores)")
    cmd.add("--quantize", setting="quantize", action="store_true",
            help="int8 dynamic quantization on CPU (faster; see `stance bench` for its macro-F1 change)")
    return cmd


def predict_command(argv: list[str]) -> int:
    return _command().run(argv, _predict)


def _predict(args, cfg) -> int:
    from tqdm import tqdm

    from .command_line import UsageError
    from .inference import StanceClassifier, set_num_threads
    from .inputs import speaker_segment
    from .prediction_output import Terminated, stop_on_sigterm

    stop_on_sigterm()

    problems = Problems()
    paths, texts = expand_paths(args.inputs, problems)
    for path in [p for p in paths if p.lower().endswith(QUOTE_SUFFIXES)]:
        # a .jsonl/.csv file given as a positional argument holds statements, not an article
        paths.remove(path)
        args.input.append(path)
    texts += args.text
    if not (paths or texts or args.input):
        raise UsageError("give statements, article paths, --text or --input FILE"
                         + (f" ({problems.messages[-1]})" if problems.messages else ""))
    fmt = cfg.format or (Path(args.output).suffix.lstrip(".") if args.output and Path(args.output).suffix.lstrip(".") in ("jsonl", "csv")
                          else ("table" if sys.stdout.isatty() and not args.output else "jsonl"))
    sink = None
    if args.output:
        from .atomic import LockedError
        from .prediction_output import OutputError, PredictionOutput

        try:
            sink = PredictionOutput(args.output, fmt, resume=args.resume, overwrite=args.overwrite)
        except (OutputError, LockedError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    elif args.resume:
        raise UsageError("--resume needs --output FILE")
    try:
        set_num_threads(cfg.num_threads)
        clf = StanceClassifier.load(cfg.model_path, device=cfg.device,
                                    abstain_threshold=cfg.abstain_threshold, quantize=cfg.quantize)
    except (OSError, ValueError) as exc:
        print(f"error: cannot load model {cfg.model_path}: {exc}", file=sys.stderr)
        if sink:
            sink.abandon()
        return 2
    if sink and fmt == "csv" and sink.resumed and sink.header != csv_columns(clf.labels):
        sink.abandon()
        print(f"error: {sink.partial} has other columns than this model writes; pass --overwrite to replace it",
              file=sys.stderr)
        return 2

    def items() -> Iterator[Item]:
        for i, t in enumerate(texts, start=1):
            yield Item(t, "<argv>", i)
        for f in args.input:
            try:
                yield from read_quotes(f, problems, cfg.text_field)
            except OSError as exc:
                problems.add(f"{f}: {exc.strerror or exc}")
            except ValueError as exc:
                problems.add(f"{exc}; skipped")
        yield from read_articles(paths, problems)

    out = sink.fh if sink else sys.stdout
    n = abstained = truncated = skipped = 0
    try:
        writer = Writer(out, fmt, clf.labels, header=not (sink and sink.resumed))
        bar = tqdm(desc="statements", unit=" st", disable=None, file=sys.stderr)
        chunk: list[Item] = []

        def flush_chunk() -> None:
            nonlocal n, abstained, truncated
            for item, pred in zip(chunk, clf.predict([c.text for c in chunk], batch_size=cfg.batch_size,
                                                          contexts=[c.context for c in chunk],
                                                          speakers=[speaker_segment(c.speaker, c.role) for c in chunk])):
                writer.write(item, pred)
                n += 1
                abstained += pred.abstained
                truncated += pred.truncated
            writer.flush()
            if sink:
                sink.sync()
            bar.update(len(chunk))
            chunk.clear()

        for item in items():
            if sink and sink.is_done(item.file, item.line, item.start, item.end, item.text):
                skipped += 1  # --resume: already in the output
                continue
            chunk.append(item)
            if len(chunk) >= 256:
                flush_chunk()
        if chunk:
            flush_chunk()
        bar.close()
    except BaseException as exc:
        if sink:
            sink.abandon()  # FILE.partial keeps every finished row; FILE is untouched
        if isinstance(exc, KeyboardInterrupt):
            kept = (f" kept in {sink.partial}; continue with the same command plus --resume" if sink else "")
            print(f"\ninterrupted after {n} result(s){kept}", file=sys.stderr)
            return 143 if isinstance(exc, Terminated) else 130
        raise
    if sink:
        sink.commit()
    summary = f"{n} statement(s) classified, {abstained} with no stance (none)"
    if skipped:
        summary += f"; {skipped} already in {args.output} (skipped, --resume)"
    if truncated:
        summary += f", {truncated} longer than the model's {clf.max_length}-token window (truncated)"
    if problems.messages:
        summary += f"; {len(problems.messages)} input problem(s) reported above"
    print(summary, file=sys.stderr)
    return 1 if problems.messages and n == 0 else 0
