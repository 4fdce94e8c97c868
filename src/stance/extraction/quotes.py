"""Quotes in a text: finding them in any common quote style, hiding their words from the rules that
look for speech verbs and names, and grouping a quote split by its attribution or continued over
paragraphs."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .attribution import SPLIT_QUOTE_RE, attribution_from_match
from .statement import Attribution

MIN_QUOTE_WORDS = 4
"""Quotes shorter than this (in words) are scare quotes, not statements."""

_DOUBLE_RES = (re.compile(r"“[^“”]*(”|$)"), re.compile(r"«[^«»]*(»|$)"))
_PLURAL_POSSESSIVE_RE = re.compile(r"s[’']\s+[a-z]")


@dataclass
class Quote:
    """A quote in a paragraph (offsets into the text)."""

    opening: int     # index of the opening mark
    end: int         # index after the closing mark (the paragraph end when unclosed)
    closing: int     # index of the closing mark (the paragraph end when unclosed)
    text_start: int  # the quoted words, without surrounding spaces and trailing ",;:"
    text_end: int
    closed: bool


@dataclass
class QuoteGroup:
    """Quotes that make one statement: “A,” she said, “B.” or a quote continued over paragraphs."""

    quotes: list[Quote]
    paragraph: int
    last_paragraph: int
    attribution: Attribution | None = None  # the attribution between the parts of a split quote

    def words(self, text: str) -> int:
        return sum(len(text[q.text_start:q.text_end].split()) for q in self.quotes)


def _make_quote(text: str, opening: int, closing: int, closed: bool) -> Quote:
    start, end = opening + 1, closing
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return Quote(opening, closing + 1 if closed else closing, closing, start, end, closed)


def _opens(text: str, o: int, para_start: int) -> bool:
    """Whether the single quote mark at ``o`` opens a quote (not an apostrophe: ’90s, ’em, rock ’n’ roll)."""
    prev = text[o - 1] if o > para_start else " "
    nxt = text[o + 1: o + 2]
    if not (prev.isspace() or prev in "([{—–-“\"") or not (nxt.isalnum() or nxt in "“\"…."):
        return False
    return not re.match(r".(?:\d\d?s?\b|em\b|n[’']|tis\b|cause\b|til\b)", text[o:o + 8])


def _closes(text: str, c: int) -> bool:
    """Whether the single quote mark at ``c`` can close a quote (not inside a word: don’t)."""
    return not text[c - 1].isspace() and not text[c + 1: c + 2].isalnum()


def find_quotes(text: str, para_start: int, para_end: int) -> list[Quote]:
    """Quotes of a paragraph; double-type first, single quotes only outside them."""
    found: list[Quote] = []
    for rx in _DOUBLE_RES:
        for m in rx.finditer(text, para_start, para_end):
            closed = bool(m.group(1))
            found.append(_make_quote(text, m.start(), m.end() - 1 if closed else m.end(), closed))
    marks = [m.start() for m in re.finditer('"', text[para_start:para_end])]
    for a, b in zip(marks[::2], marks[1::2]):
        found.append(_make_quote(text, para_start + a, para_start + b, True))
    if len(marks) % 2:
        found.append(_make_quote(text, para_start + marks[-1], para_end, False))
    kept: list[Quote] = []
    for q in sorted(found, key=lambda q: q.opening):  # drop quotes nested in an earlier one
        if not kept or q.opening >= kept[-1].end:
            kept.append(q)
    starts, ends = [q.opening for q in kept], [q.end for q in kept]
    for opening_mark, closing_mark in (("‘", "’"), ("'", "'")):
        i = para_start
        while (o := text.find(opening_mark, i, para_end)) >= 0:
            i = o + 1
            k = bisect.bisect_right(starts, o) - 1
            if (k >= 0 and o < ends[k]) or not _opens(text, o, para_start):
                continue
            limit = starts[k + 1] if k + 1 < len(starts) else para_end  # never around a double quote
            closes: list[int] = []
            c = text.find(closing_mark, o + 2, limit)
            while c >= 0 and len(closes) < 2:
                if _closes(text, c):
                    closes.append(c)
                c = text.find(closing_mark, c + 1, limit)
            if closes:  # skip a plural possessive (the countries’ ties) when another close follows
                possessive = len(closes) > 1 and _PLURAL_POSSESSIVE_RE.match(text, closes[0] - 1)
                c = closes[1] if possessive else closes[0]
                q = _make_quote(text, o, c, True)
            elif limit == para_end and (o == para_start or text[max(para_start, o - 2):o] in (": ", ", ")):
                q = _make_quote(text, o, para_end, False)  # may continue in the next paragraph
            else:
                continue
            k = bisect.bisect(starts, o)
            starts.insert(k, q.opening)
            ends.insert(k, q.end)
            kept.append(q)
            i = q.end
    return sorted(kept, key=lambda q: q.opening)


def find_and_mask_quotes(text: str, paras: list[tuple[int, int]]) -> tuple[list[list[Quote]], str]:
    """The quotes of each paragraph, and the text with their words hidden (letters replaced by ``x``,
    a capital first letter by ``X``, a final ``.!?`` kept) so that speech verbs and names inside a
    quote are never taken for the attribution, while sentences still end where they did."""
    chars = list(text)
    quotes = []
    for para_start, para_end in paras:
        found = find_quotes(text, para_start, para_end)
        for q in found:
            keep = q.closing - 1 if text[q.closing - 1] in ".!?" else -1
            for i in range(q.opening + 1, q.closing):
                if i != keep and not chars[i].isspace():
                    chars[i] = "x"
            if q.text_start < q.closing and text[q.text_start].isupper():
                chars[q.text_start] = "X"
        quotes.append(found)
    return quotes, "".join(chars)


def group_quotes(text: str, masked: str, paras: list[tuple[int, int]], quotes: list[list[Quote]]) -> list[QuoteGroup]:
    """Group quotes: a quote split by its attribution, and quotes continued over paragraphs."""
    groups: list[QuoteGroup] = []
    for pi, found in enumerate(quotes):
        j = 0
        while j < len(found):
            first = found[j]
            group = QuoteGroup([first], pi, pi)
            while j + 1 < len(found) and group.quotes[-1].closed:
                q1, q2 = group.quotes[-1], found[j + 1]
                gap = masked[q1.end:q2.opening]
                m = SPLIT_QUOTE_RE.match(masked, q1.end, q2.opening)
                comma = text[q1.text_start:q1.closing].rstrip().endswith(",") or gap.lstrip().startswith(",")
                if not m or not comma:
                    break
                group.attribution = attribution_from_match(text, m)
                group.quotes.append(q2)
                j += 1
            if (groups and not groups[-1].quotes[-1].closed and groups[-1].last_paragraph == pi - 1
                    and first.opening == paras[pi][0]):
                previous = groups[-1]
                previous.quotes += group.quotes
                previous.attribution = previous.attribution or group.attribution
                previous.last_paragraph = pi
            else:
                groups.append(group)
            j += 1
    return groups

