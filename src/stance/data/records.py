"""Reading labelled quotes from JSONL, with errors that name the file, the line and the problem."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..textio import BadLine, Problem, read_jsonl_lines

REQUIRED_FIELDS = ("id", "text", "label", "speaker", "source", "doc")
OPTIONAL_FIELDS = ("date", "url", "origin", "context_before", "notes", "genre", "kind", "side", "title", "licence")
ORIGINS = ("seed", "corpus", "authored", "augmented")
# How the statement reached us: a briefing or press answer, a speech, a first-person written statement,
# a third-person readout or reported speech, or a news article's quote or report (data/CODEBOOK.md).
GENRES = ("transcript", "speech", "statement", "reported", "news")


@dataclass
class Record:
    """A labelled statement plus where it came from in the user's files."""

    data: dict
    file: str
    line: int

    def __getitem__(self, key: str):
        return self.data[key]

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class LoadResult:
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class DataError(ValueError):
    """Raised when the data has errors; the message lists every problem with file and line."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"... and {len(self.problems) - 50} more")
        super().__init__(f"{len(self.problems)} problem(s) in the data:\n" + "\n".join(lines))


def _check_fields(obj: object, file: str, line: int, codebook_labels: list[str]) -> list[Problem]:
    if not isinstance(obj, dict):
        return [Problem(file, line, f"expected a JSON object, got {type(obj).__name__}")]
    problems = []
    for key in REQUIRED_FIELDS:
        if key not in obj:
            problems.append(Problem(file, line, f"missing required field {key!r}"))
        elif not isinstance(obj[key], str):
            problems.append(Problem(file, line, f"field {key!r} must be a string, got {type(obj[key]).__name__}"))
    for key in OPTIONAL_FIELDS:
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            problems.append(Problem(file, line, f"field {key!r} must be a string or null, got {type(obj[key]).__name__}"))
    if problems:
        return problems
    unknown = sorted(set(obj) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        problems.append(Problem(file, line, f"unknown field(s) {unknown} ignored (known: "
                                f"{list(REQUIRED_FIELDS + OPTIONAL_FIELDS)})", "warning"))
    if not obj["text"].strip():
        problems.append(Problem(file, line, f"empty or whitespace-only text (id {obj['id']!r})"))
    if not obj["id"].strip():
        problems.append(Problem(file, line, "empty id"))
    if obj["label"] not in codebook_labels:
        problems.append(
            Problem(file, line, f"label {obj['label']!r} is not one of {codebook_labels} (id {obj['id']!r})")
        )
    genre = obj.get("genre")
    if genre is not None and genre not in GENRES:
        problems.append(Problem(file, line, f"genre {genre!r} is not one of {list(GENRES)} (id {obj['id']!r})"))
    origin = obj.get("origin")
    if origin is not None and origin not in ORIGINS:
        problems.append(Problem(file, line, f"origin {origin!r} is not one of {list(ORIGINS)} (id {obj['id']!r})"))
    return problems


def read_jsonl(paths: Iterable[str | Path], codebook_labels: list[str]) -> LoadResult:
    """Read every line of every file; a line with any problem is reported (never skipped silently)."""
    result = LoadResult()
    for path in paths:
        path = Path(path)
        name = str(path)
        if not path.is_file():
            result.problems.append(Problem(name, 0, "file not found"))
            continue
        with path.open("rb") as fh:
            for lineno, value in read_jsonl_lines(fh, name, strict=True, check_binary=False):
                if isinstance(value, BadLine):
                    result.problems.append(_bad_line_problem(name, lineno, value))
                    continue
                problems = _check_fields(value, name, lineno, codebook_labels)
                result.problems.extend(problems)
                if not any(p.severity == "error" for p in problems):
                    result.records.append(Record(value, name, lineno))
    return result


def _bad_line_problem(file: str, line: int, bad: BadLine) -> Problem:
    if bad.reason == "blank":
        return Problem(file, line, "blank line", "warning")
    if bad.reason == "utf8":
        return Problem(file, line, f"not valid UTF-8 ({bad.detail})")
    column = f" (column {bad.column})" if bad.column is not None else ""
    return Problem(file, line, f"invalid JSON: {bad.detail}{column}")
