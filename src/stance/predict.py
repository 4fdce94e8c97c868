"""``stance predict``: classify texts, files of quotes, or the statements found in whole articles.

Results are written as they are computed (an interrupted run keeps what it finished); problems
with one input are reported with the file and line and never stop the others.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

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


@dataclass
class Problems:
    messages: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        self.messages.append(msg)
        print(f"warning: {msg}", file=sys.stderr)


# -- readers ---------------------------------------------------------------------------------------
def _decode(path: str, raw: bytes, problems: Problems) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(f"{path}: not valid UTF-8; decoded with replacement characters")
        return raw.decode("utf-8", errors="replace")


def read_quotes(path: str, problems: Problems, text_field: str = "text") -> Iterator[Item]:
    """Statements listed one per line (.txt), one per JSON object (.jsonl) or per CSV row (.csv)."""
    p = Path(path)
    suffix = p.suffix.lower()
    with p.open("rb") as fh:
        if suffix == ".csv":
            text = _decode(path, fh.read(), problems)
            reader = csv.DictReader(text.splitlines())
            if not reader.fieldnames or text_field not in reader.fieldnames:
                problems.add(f"{path}:1: no {text_field!r} column (columns: {reader.fieldnames})")
                return
            for i, row in enumerate(reader, start=2):
                t = (row.get(text_field) or "").strip()
                if not t:
                    problems.add(f"{path}:{i}: empty text; row skipped")
                    continue
                yield Item(t, path, i, row.get("id", "") or "", row.get("speaker", "") or "")
            return
        empty = True
        for i, raw in enumerate(fh, start=1):
            line = _decode(f"{path}:{i}", raw, problems).strip()
            if not line:
                continue
            empty = False
            if suffix == ".jsonl":
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.add(f"{path}:{i}: invalid JSON ({exc.msg}); line skipped")
                    continue
                t = obj.get(text_field) if isinstance(obj, dict) else None
                if not isinstance(t, str) or not t.strip():
                    problems.add(f"{path}:{i}: no non-empty {text_field!r} string; line skipped")
                    continue
                yield Item(t.strip(), path, i, str(obj.get("id", "")), str(obj.get("speaker", "") or ""),
                           context=str(obj.get("context_before") or ""))
            else:
                yield Item(line, path, i)
        if empty:
            problems.add(f"{path}: empty file")


def read_articles(paths: list[str], problems: Problems) -> Iterator[Item]:
    """Statements extracted from articles/transcripts (files, directories, globs, or - for stdin)."""
    from .extraction import extract_file, extract_statements

    for path in paths:
        if path == "-":
            raw = sys.stdin.buffer.read()
            statements = extract_statements(_decode("<stdin>", raw, problems), "<stdin>")
            warnings: list[str] = []
        else:
            try:
                statements, warnings = extract_file(path)
            except (OSError, ValueError) as exc:
                problems.add(str(exc))
                continue
        for w in warnings:
            problems.add(w)
        if not statements and path != "-":
            problems.add(f"{path}: no statements found")
        previous: dict[str, str] = {}  # speaker -> their previous statement in this file
        for st in statements:
            yield Item(st.text, st.file, None, "", st.speaker, st.kind, st.start, st.end, previous.get(st.speaker, ""))
            previous[st.speaker] = st.text


def expand_paths(args: list[str]) -> tuple[list[str], list[str]]:
    """Split positional arguments into article paths (existing files, directories, globs, -) and texts."""
    paths, texts = [], []
    for a in args:
        if a == "-":
            paths.append(a)
        elif Path(a).is_dir():
            paths.extend(sorted(str(p) for p in Path(a).rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md", "")))
        elif Path(a).is_file():
            paths.append(a)
        elif any(c in a for c in "*?[") and glob.glob(a, recursive=True):
            paths.extend(sorted(glob.glob(a, recursive=True)))
        else:
            texts.append(a)
    return paths, texts


# -- writers ---------------------------------------------------------------------------------------
class Writer:
    def __init__(self, fh: IO[str], fmt: str, labels: list[str]):
        self.fh, self.fmt, self.labels = fh, fmt, labels
        self.csv = None
        if fmt == "csv":
            cols = ["file", "line", "start", "end", "id", "speaker", "kind", "text", "stance", "score", "abstained",
                    "truncated"] + [f"p_{lab}" for lab in labels]
            self.csv = csv.DictWriter(fh, fieldnames=cols)
            self.csv.writeheader()
        elif fmt == "table":
            fh.write(f"{'speaker':<22} {'stance':<18} {'conf':>5}  statement\n{'-' * 100}\n")

    def write(self, item: Item, pred) -> None:
        row = {"file": item.file, "line": item.line, "start": item.start, "end": item.end, "id": item.id,
               "speaker": item.speaker, "kind": item.kind, "text": item.text, "stance": pred.label,
               "score": round(pred.score, 4), "abstained": pred.abstained, "truncated": pred.truncated}
        if self.fmt == "jsonl":
            row["probabilities"] = {k: round(v, 4) for k, v in pred.probabilities.items()}
            self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            row.update({f"p_{k}": round(v, 4) for k, v in pred.probabilities.items()})
            self.csv.writerow(row)
        else:
            stance = f"abstain ({pred.label}?)" if pred.abstained else pred.label
            text = item.text if len(item.text) <= 90 else item.text[:87] + "..."
            self.fh.write(f"{(item.speaker or '-')[:22]:<22} {stance:<18} {pred.score:5.2f}  {text}\n")

    def flush(self) -> None:
        self.fh.flush()


def predict_command(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="stance predict",
        description="Classify statements. Positional arguments that are files, directories, globs or - are read "
                    "as articles (statements extracted with speakers); other positional arguments are texts.",
    )
    ap.add_argument("inputs", nargs="*", help="texts, or article files/directories/globs, or - for stdin")
    ap.add_argument("--model", required=True, help="checkpoint folder written by `stance train` (e.g. outputs/latest)")
    ap.add_argument("--input", action="append", default=[], help="file of statements: .jsonl (text field), .csv (text column) or .txt (one per line); repeatable")
    ap.add_argument("--text-field", default="text", help="JSONL field / CSV column holding the statement (default: text)")
    ap.add_argument("--format", choices=["table", "jsonl", "csv"], help="output format (default: table on a terminal, else from --output's suffix, else jsonl)")
    ap.add_argument("-o", "--output", help="write results here (default: standard output)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--abstain-threshold", type=float, help="override the checkpoint's abstention threshold (0 disables)")
    ap.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    ap.add_argument("--quantize", action="store_true", help="int8 dynamic quantization on CPU (faster; see `make bench` for its macro-F1 change)")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from .inference import StanceClassifier

    paths, texts = expand_paths(args.inputs)
    if not (paths or texts or args.input):
        ap.error("give texts, article paths, or --input FILE")
    fmt = args.format or (Path(args.output).suffix.lstrip(".") if args.output and Path(args.output).suffix.lstrip(".") in ("jsonl", "csv")
                          else ("table" if sys.stdout.isatty() and not args.output else "jsonl"))
    problems = Problems()
    try:
        clf = StanceClassifier.load(args.model, device=args.device, num_threads=args.threads or None,
                                    abstain_threshold=args.abstain_threshold, quantize=args.quantize)
    except (OSError, ValueError) as exc:
        print(f"error: cannot load model {args.model}: {exc}", file=sys.stderr)
        return 2

    def items() -> Iterator[Item]:
        for i, t in enumerate(texts, start=1):
            yield Item(t, "<argv>", i)
        for f in args.input:
            try:
                yield from read_quotes(f, problems, args.text_field)
            except OSError as exc:
                problems.add(f"{f}: {exc.strerror or exc}")
        yield from read_articles(paths, problems)

    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    n = abstained = truncated = 0
    try:
        writer = Writer(out, fmt, clf.labels)
        bar = tqdm(desc="statements", unit=" st", disable=None, file=sys.stderr)
        chunk: list[Item] = []

        def flush_chunk() -> None:
            nonlocal n, abstained, truncated
            for item, pred in zip(chunk, clf.predict([c.text for c in chunk], batch_size=args.batch_size,
                                                          contexts=[c.context for c in chunk])):
                writer.write(item, pred)
                n += 1
                abstained += pred.abstained
                truncated += pred.truncated
            writer.flush()
            bar.update(len(chunk))
            chunk.clear()

        for item in items():
            chunk.append(item)
            if len(chunk) >= 256:
                flush_chunk()
        if chunk:
            flush_chunk()
        bar.close()
    finally:
        if out is not sys.stdout:
            out.close()
    summary = f"{n} statement(s) classified, {abstained} abstained"
    if truncated:
        summary += f", {truncated} longer than the model's {clf.max_length}-token window (truncated)"
    if problems.messages:
        summary += f"; {len(problems.messages)} input problem(s) reported above"
    print(summary, file=sys.stderr)
    return 1 if problems.messages and n == 0 else 0
