"""Paragraphs, sentences and headlines of a text (offsets into the text)."""
from __future__ import annotations

import re

from .words import ABBREVIATIONS

UPPER = "A-ZÀ-ÖØ-ÞА-ЯЁ"
"""Upper-case letters (Latin and Cyrillic) for character classes."""
TERMINAL = (".", "!", "?", ":", ";", "…", "”", '"', "’", "'", "»", ")")
"""Characters a line that ends a sentence (or a quote) ends with."""
_BOUNDARY_RE = re.compile(rf"[.!?…]+[”\"’'»)\]]*(?=\s+[“\"‘'«(\[]?[{UPPER}0-9])")


def paragraphs(text: str, end: int) -> list[tuple[int, int]]:
    """Paragraph spans: blocks between blank lines; without blank lines, single lines, or for
    hard-wrapped text (most lines not ending a sentence) runs of lines up to a sentence end."""
    if re.search(r"\n[ \t]*\r?\n", text[:end]):
        sep = re.compile(r"\n[ \t]*\r?\n\s*")
    else:
        lines = [ln.rstrip() for ln in text[:end].splitlines() if ln.strip()]
        wrapped = len(lines) >= 5 and sum(not ln.endswith(TERMINAL) for ln in lines) > 0.6 * len(lines)
        sep = re.compile(r"(?<=[.!?…:;”\"’'»)])[ \t]*\r?\n\s*" if wrapped else r"\n\s*")
    spans, pos = [], 0
    for m in [*sep.finditer(text, 0, end), None]:
        s, e = pos, (m.start() if m else end)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
        if m:
            pos = m.end()
    return spans


def sentences(masked: str, para_start: int, para_end: int) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph (of the quote-masked text, so quotes never split a sentence)."""
    out, s = [], para_start
    for m in _BOUNDARY_RE.finditer(masked, para_start, para_end):
        if masked[m.start()] == ".":
            tok = re.search(r"(\S+)$", masked[s:m.start()])
            word = tok.group(1).lstrip("(“\"‘'") if tok else ""
            if word in ABBREVIATIONS or re.fullmatch(rf"(?:[{UPPER}]\.)*[{UPPER}]", word):
                continue
        out.append((s, m.end()))
        s = m.end()
        while s < para_end and masked[s].isspace():
            s += 1
    if s < para_end:
        out.append((s, para_end))
    return out


def is_headline(text: str, para_start: int, para_end: int) -> bool:
    """A single line without closing sentence punctuation (headline, caption, byline)."""
    para = text[para_start:para_end]
    core = para.rstrip("”’\"'»)] \t")
    return "\n" not in para and len(core.split()) <= 30 and not core.endswith(TERMINAL[:6])
