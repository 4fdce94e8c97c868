"""Extraction from files: a whole file at once, or a large file in blocks of whole paragraphs."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from ..textio import SNIFF_BYTES, Problem, decode_lines, read_text, refuse_binary
from .extractor import DocumentExtractor, extract_statements
from .roles import speaker_roles
from .speakers import NAME_RE
from .statement import Statement

STREAM_THRESHOLD = 32 * 1024 * 1024
"""Files larger than this (bytes) are processed in paragraph blocks by :func:`extract_file`."""
BLOCK_CHARS = 1_000_000
"""Block size (characters) when streaming a large file."""


def iter_paragraphs(fh: Iterable[str], max_chars: int = 1_000_000) -> Iterator[tuple[int, str]]:
    """Group the lines of ``fh`` into blocks of whole paragraphs of about ``max_chars`` characters.

    Yields ``(offset, block)`` where ``offset`` is the character offset of the block in the whole
    stream, so offsets found in a block stay file-global after adding ``offset``. Blocks end after
    a blank line once ``max_chars`` is reached (or at any line once twice that is reached). Open
    text files with ``newline=""`` so that offsets match the decoded file exactly.
    """
    buf: list[str] = []
    size = offset = 0
    for line in fh:
        buf.append(line)
        size += len(line)
        if size >= max_chars and (not line.strip() or size >= 2 * max_chars):
            block = "".join(buf)
            yield offset, block
            offset += len(block)
            buf, size = [], 0
    if buf:
        yield offset, "".join(buf)


def extract_file(path: str | Path) -> tuple[list[Statement], list[Problem]]:
    """Extract the statements of a file; returns ``(statements, problems)``.

    Raises ``ValueError`` for binary files. Files over :data:`STREAM_THRESHOLD` bytes are read in
    paragraph blocks (quotes continued across a block boundary are then not joined).
    """
    name = str(path)
    if Path(path).stat().st_size <= STREAM_THRESHOLD:
        text, problems = read_text(path)
        return extract_statements(text, name), problems
    bad: list[Problem] = []
    with open(path, "rb") as fh:
        refuse_binary(name, fh.read(SNIFF_BYTES))
        fh.seek(0)
        lines = (line for _, line in decode_lines(fh, name, check_binary=False, warn=bad.append))
        extractor = DocumentExtractor(name)
        found, roles = [], {}
        for offset, block in iter_paragraphs(lines, BLOCK_CHARS):
            new = extractor.feed(block, offset)
            # every name the block gives a role to (it may speak only in a later block), and its speakers
            names = {st.speaker for st in new}
            for run in NAME_RE.finditer(block):
                words = run.group(0).split()
                names.update(" ".join(words[i:]) for i in range(len(words) - 1))
            for who, role in speaker_roles(block, names).items():
                if len(role) > len(roles.get(who, "")):
                    roles[who] = role  # a role named in one block carries to the speaker's later blocks
            found += new
        found = [replace(st, role=roles[st.speaker]) if st.speaker in roles else st for st in found]
    problems = [Problem(name, 0, f"invalid UTF-8 on {len(bad)} line(s), first line {bad[0].line}; "
                        "undecodable bytes replaced with U+FFFD", "")] if bad else []
    return found, problems
