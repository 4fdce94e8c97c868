"""Attribution: the speech verbs and the words around them that say who made a statement, before or
after a quote (``X said: “...”``, ``“...,” said X``) or as reported speech (``X said (that) ...``)."""
from __future__ import annotations

import re

from .statement import Attribution, Candidate
from .words import (
    ADJUNCT_STARTS,
    BARE_SPEECH_VERBS,
    DAYS,
    DESCRIPTION_WORDS,
    MONTHS,
    NOT_ADVERBS,
    NOT_PARTICIPLES,
    PREPOSITIONS,
    SPEECH_PARTICIPLES,
    THAT_SPEECH_VERBS,
)

_DAYS, _MONTHS = "|".join(DAYS), "|".join(MONTHS)
_QUOTED = r"(?:was|were|is|are|has\s+been|have\s+been|had\s+been)\s+quoted\s+as\s+saying"
_VERB = (rf"(?:{_QUOTED}|(?<!to )(?<!not )say|"
         + "|".join(v for v in BARE_SPEECH_VERBS + THAT_SPEECH_VERBS if v != "say") + ")")
VERB_RE = re.compile(rf"(?<![\w’'-]){_VERB}(?![\w’'-])")
"""A speech verb ("said", "told", "was quoted as saying"), not "to say" or "not say"."""
_BARE_RE = re.compile(rf"{_QUOTED}|(?:{'|'.join(BARE_SPEECH_VERBS)})$")

_TIME = (rf"(?:(?:on|last|this|late|early|next)\s+(?:{_DAYS}|{_MONTHS}|week|weekend|month|year|"
         rf"night|morning|afternoon|evening)(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?|"
         r"yesterday|today|tonight|earlier|later|separately|again|previously|also|recently|"
         r"in\s+an?\s+(?:[\w-]+\s+)?(?:statement|speech|interview|post|tweet|letter|video|message|"
         r"address|briefing))")
_ADJUNCT_RE = re.compile(rf"(?:\s+{_TIME}\b)*(?:\s+that\b)?\s*")
_THAT_RE = re.compile(r"((?:\s+(?!that\b)[^\s,.;:!?“”\"]+){0,10}?)\s+that\s")
_AUDIENCE_RE = re.compile(
    r"\s+(?:reporters|journalists|the\s+press|the\s+media|lawmakers|parliament|legislators|"
    r"state\s+(?:television|media|TV)|(?:an?|the)\s+(?:[\w-]+\s+){0,3}?(?:briefing|conference|"
    r"meeting|interview|session|forum|summit|rally|audience|newspaper|channel|broadcaster|agency)|"
    r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)")
_PARTICIPLE_RE = re.compile(rf",\s+(?:{'|'.join(SPEECH_PARTICIPLES)})\s+(?:that\s+)?")
_TAIL_RES = (  # tails trimmed off a reported clause: ", according to ...", ", brushing aside ...", ", X reported"
    re.compile(r",\s*(?:according\s+to|citing|as\s+reported\s+by)\b[^,]*$"),
    re.compile(rf",\s*(?!(?:{'|'.join(NOT_PARTICIPLES)})\b)[a-z]+ing\b.*$", re.S),
    re.compile(rf",\s*[^,]{{1,60}}?\s+(?:{_VERB}|reported|reports)(?:\s+[^,]{{0,40}})?$"),
)
_ADVERB = rf"(?!(?:{'|'.join(NOT_ADVERBS)})\b)[a-z]{{3,}}ly"
TRAILING_WORDS_RE = re.compile(rf"(?:\s+(?:{_TIME}|has|have|had|was|were|is|are|would|will|did|does|then|once|"
                               rf"further|long|often|always|never|{_ADVERB}))+\s*$")
"""Words between a subject and its speech verb ("X on Monday again", "X has repeatedly")."""

_AFTER_QUOTE = (rf"\s*[,;]?\s*(?:[—–-]+\s*)?(?:(?P<v1>{_VERB})\s+(?P<s1>[^.!?;:,“”\"«»]{{1,100}})"
                rf"|(?P<s2>[^.!?;:“”\"«»]{{1,120}}?)\s+(?P<v2>{_VERB}))(?![\w’'-])")
_AFTER_QUOTE_RE = re.compile(_AFTER_QUOTE)
SPLIT_QUOTE_RE = re.compile(_AFTER_QUOTE + r"[^.!?“”\"«»]{0,40}?[,:]\s*$")
"""The attribution between the two parts of a split quote: “A,” she said, “B.”"""


def attribution_from_match(text: str, m: re.Match, max_words: int = 8) -> Attribution | None:
    """The attribution of an :data:`SPLIT_QUOTE_RE` (or after-quote) match; None when its subject is
    too long or starts with a conjunction."""
    s, v = ("s1", "v1") if m.group("v1") else ("s2", "v2")
    region = text[m.start(s):m.end(s)]
    if len(region.split()) > max_words or re.match(r"\s*(?:and|but|or|which|that|as|while)\b", region):
        return None
    return Attribution(region, m.start(v), m.span(v))


def attribution_after(text: str, masked: str, quote_end: int, para_end: int, max_words: int) -> Attribution | None:
    """Attribution after a quote: ``“...,” she said``, ``“...,” said X``."""
    m = _AFTER_QUOTE_RE.match(masked, quote_end, para_end)
    return attribution_from_match(text, m, max_words) if m else None


def attribution_before(text: str, masked: str, sent_start: int, opening: int, quote_end: int) -> Attribution | None:
    """Attribution before a quote: ``X said: “...”``, ``X told reporters, “...”``."""
    verbs = list(VERB_RE.finditer(masked, sent_start, opening))
    if not verbs:
        return None
    v = verbs[-1]
    tail = masked[v.end():opening].strip()
    ends_sentence = (masked[quote_end - 2:quote_end - 1] in (".", "!", "?")
                     or re.match(r"\s*(?:[.!?…]|$)", masked[quote_end:quote_end + 2]))
    if (re.search(r"\bthat\b|[.!?“”\"«»]", tail) or len(tail.split()) > 8
            or (tail[-1:] not in (":", ",") and not (tail == "" and ends_sentence))
            or not text[sent_start:v.start()].strip()):
        return None
    return Attribution(text[sent_start:v.start()], v.start(), v.span())


def reported_statement(text: str, masked: str, sent_start: int, sent_end: int, used_verbs: set[int],
                       paragraph: int) -> Candidate | None:
    """The reported speech of a sentence, if any: the clause after ``X said (that)``, before
    ``..., X told a briefing.`` or after ``..., X arguing that``. Verbs in ``used_verbs`` (offsets)
    already introduce a quote."""
    for v in VERB_RE.finditer(masked, sent_start, sent_end):
        if v.start() in used_verbs:
            continue
        region = text[sent_start:v.start()]
        subject = TRAILING_WORDS_RE.sub("", " " + region).rstrip()
        # "X, the minister, said ..." is an appositive; "..., said X." is an inverted attribution
        start = _clause_start(masked, v, sent_end)
        if (start is not None and subject.strip() and re.search(r"\w", masked[sent_start:v.start()])
                and (not subject.endswith(",") or subject.count(",") >= 2)):
            span = _clause(masked, start, sent_end)
            if span:
                return Candidate("reported", [span], region, v.start(), paragraph)
        tail = masked[v.end():sent_end]
        k = masked.rfind(",", sent_start, v.start())
        if k > sent_start and len(tail.split()) <= 8 and not re.search(r"\bthat\b", tail):
            subject = text[k + 1:v.start()] if text[k + 1:v.start()].strip() else tail
            span = _clause(masked, sent_start, k)
            if span and len(subject.split()) <= 8 and len(text[span[0]:span[1]].split()) >= 4:
                return Candidate("reported", [span], subject.strip(" .\t\n"), v.start(), paragraph)
    p = _PARTICIPLE_RE.search(masked, sent_start, sent_end)
    if p:
        span = _clause(masked, p.end(), sent_end)
        if span:
            lead = re.sub(r"^(?:(?:In|On|At|After|Before|During|Since|Last|Earlier|Later|Meanwhile|"
                          r"However|Speaking|Asked|Also)\b[^,]{0,80},\s*)", "", text[sent_start:p.start()])
            words: list[str] = []
            for w in lead.split():
                if w[:1].islower() and w.lower() not in DESCRIPTION_WORDS:
                    break
                words.append(w)
                if w.endswith(","):
                    break
            return Candidate("reported", [span], " ".join(words), p.start(), paragraph)
    return None


def _clause_start(masked: str, v: re.Match, sent_end: int) -> int | None:
    """Where the reported clause after the speech verb ``v`` starts, if it introduces one."""
    verb, rest = v.group(), masked[v.end():sent_end]
    if verb.startswith("describe"):
        return v.end() if re.match(r"\s+[^.;:!?]{1,80}?\s+as\s", rest) else None
    m = _THAT_RE.match(rest)
    if m and (not m.group(1) or verb in ("told", "tells") or m.group(1).split()[0] in ADJUNCT_STARTS):
        return v.end() + m.end()
    if not _BARE_RE.search(verb):
        return None
    offset = 0
    if verb in ("told", "tells"):
        m = _AUDIENCE_RE.match(rest)
        if not m:
            return None
        offset = m.end()
    return v.end() + offset + _ADJUNCT_RE.match(rest, offset).end()


def _clause(masked: str, s: int, e: int) -> tuple[int, int] | None:
    """The reported clause in masked[s:e], minus attribution tails and final punctuation."""
    while s < e and (masked[s].isspace() or masked[s] in ",:;—–-"):
        s += 1
    while True:
        while e > s and (masked[e - 1].isspace() or masked[e - 1] in ".,;:"):
            e -= 1
        for rx in _TAIL_RES:
            m = rx.search(masked, s, e)
            if m and m.start() > s:
                e = m.start()
                break
        else:
            break
    words = masked[s:e].split()
    return (s, e) if len(words) >= 3 and words[0].lower() not in PREPOSITIONS else None
