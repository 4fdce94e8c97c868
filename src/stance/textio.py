"""Reading users' files: UTF-8 decoding, text and JSON Lines read line by line, and :class:`Problem`,
the one type for something wrong with an input (file, line, message).

Used by the data loader (:mod:`stance.data.records`), ``stance predict``, ``stance batch`` and statement
extraction, so that every reader decodes, counts lines and words its problems the same way.
"""
from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SNIFF_BYTES", "BadLine", "Problem", "decode_bytes", "decode_lines", "read_jsonl_lines", "read_text",
           "refuse_binary"]

SNIFF_BYTES = 8192
"""NUL bytes in this many leading bytes mark a binary file (UTF-16 included)."""
_NEWLINE = b"\n"


@dataclass(frozen=True)
class Problem:
    """Something wrong with an input, located by file and line.

    ``line`` 0 means the file as a whole; a problem with no ``file`` is its message alone (an
    exception text that already names its file). ``severity`` is ``"error"`` (the input cannot be
    used; training stops), ``"warning"`` (reported, the input kept) or ``""`` when the reader leaves
    that to its caller (``stance predict`` and ``stance extract`` print every such problem as
    ``warning: <problem>``). ``str()`` gives the form users see: ``file:line: [severity: ]message``.
    """

    file: str
    line: int
    message: str
    severity: str = "error"

    @property
    def where(self) -> str:
        """``file:line``, or ``file`` for a problem with the whole file."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        return ": ".join(part for part in (self.where, self.severity, self.message) if part)


def refuse_binary(name: str, head: bytes) -> None:
    """Raise ``ValueError`` naming ``name`` when ``head`` (the start of a file) holds NUL bytes."""
    if b"\x00" in head:
        raise ValueError(f"{name}: binary file (NUL bytes), not UTF-8 text")


def decode_bytes(name: str, raw: bytes, *, strip_bom: bool = True, check_binary: bool = True,
                 line: int | None = None) -> tuple[str, list[Problem]]:
    """Decode ``raw`` as UTF-8 (a leading BOM dropped when ``strip_bom``) and return ``(text, problems)``.

    Invalid bytes are replaced with U+FFFD; the problem names ``name``, the line and the byte
    offset of the first bad byte in ``raw`` (the BOM counted). ``line`` is the line ``raw`` starts
    on, for callers that decode a file line by line (the offset is then within that line).
    Raises ``ValueError`` naming ``name`` when ``check_binary`` and ``raw`` looks binary (NUL bytes
    in its first :data:`SNIFF_BYTES` bytes).
    """
    if check_binary:
        refuse_binary(name, raw[:SNIFF_BYTES])
    skip = len(codecs.BOM_UTF8) if strip_bom and raw.startswith(codecs.BOM_UTF8) else 0
    body = raw[skip:]
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        at = skip + exc.start
        of = " of the line" if line else ""
        return body.decode("utf-8", errors="replace"), [
            Problem(name, (line or 1) + raw[:at].count(_NEWLINE),
                    f"invalid UTF-8 at byte {at}{of}; undecodable bytes replaced with U+FFFD", "")]


def read_text(path: str | Path) -> tuple[str, list[Problem]]:
    """Read ``path`` as UTF-8 (a BOM is dropped) and return ``(text, problems)``.

    Invalid bytes are replaced with U+FFFD and reported naming the file, line and byte. An empty
    file gives ``("", [problem])``. Raises ``ValueError`` naming the file when it looks binary
    (see :func:`decode_bytes`).
    """
    name = str(path)
    data = Path(path).read_bytes()
    if not data:
        return "", [Problem(name, 0, "file is empty", "")]
    text, problems = decode_bytes(name, data)
    if not text.strip():
        problems.append(Problem(name, 0, "file has no text (whitespace only)", ""))
    return text, problems


@dataclass(frozen=True)
class BadLine:
    """A line that holds no value: ``reason`` is ``"blank"``, ``"utf8"`` (invalid UTF-8, strict
    reading only) or ``"json"`` (not JSON). ``text`` is the decoded line, stripped; ``detail`` the
    decoder's or parser's message; ``column`` where a JSON syntax error is, in the text parsed."""

    reason: str
    text: str = ""
    detail: str = ""
    column: int | None = None


def decode_lines(raw_lines: Iterable[bytes], name: str, *, first_line: int = 1, strict: bool = False,
                 check_binary: bool = True, warn: Callable[[Problem], None] | None = None
                 ) -> Iterator[tuple[int, str | BadLine]]:
    """Yield ``(line number, decoded line)`` for lines of bytes that start on line ``first_line``.

    Line 1 of a file drops a byte-order mark and, with ``check_binary``, raises ``ValueError`` when it
    holds NUL bytes (a binary file). Invalid UTF-8 is replaced with U+FFFD and passed to ``warn`` as
    a problem naming the line and byte or, when ``strict``, gives a :class:`BadLine` instead.
    """
    for number, raw in enumerate(raw_lines, start=first_line):
        if strict:
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, BadLine("utf8", detail=f"{exc.reason} at byte {exc.start}")
            continue
        text, problems = decode_bytes(name, raw, strip_bom=number == 1, check_binary=check_binary and number == 1,
                                      line=number)
        for problem in problems:
            if warn is not None:
                warn(problem)
        yield number, text


def read_jsonl_lines(raw_lines: Iterable[bytes], name: str, *, first_line: int = 1, strict: bool = False,
                     check_binary: bool = True, warn: Callable[[Problem], None] | None = None
                     ) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, parsed JSON value or BadLine)`` for each line of a JSON Lines file.

    Decoding is that of :func:`decode_lines`. A blank line, invalid UTF-8 (``strict``) and invalid
    JSON (also huge integers and deep nesting) give a :class:`BadLine`, never an exception. A line is
    parsed as written when ``strict`` (only JSON's own whitespace may surround the value), otherwise
    without its surrounding whitespace of any kind.
    """
    for number, line in decode_lines(raw_lines, name, first_line=first_line, strict=strict,
                                     check_binary=check_binary, warn=warn):
        if isinstance(line, BadLine):
            yield number, line
            continue
        text = line.strip()
        if not text:
            yield number, BadLine("blank")
            continue
        try:
            yield number, json.loads(line if strict else text)
        except json.JSONDecodeError as exc:
            yield number, BadLine("json", text, exc.msg, exc.colno)
        except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
            yield number, BadLine("json", text, str(exc)[:80])
