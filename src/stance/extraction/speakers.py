"""Who speaks: names in the text, and the document memory that resolves an attribution's subject
("Peskov", "she", "the spokeswoman", "the ministry") to the person or body meant."""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from .attribution import TRAILING_WORDS_RE
from .sentences import UPPER
from .statement import Candidate
from .words import (
    BODY_NAME_WORDS,
    BODY_NOUNS,
    DAYS,
    DOTTED_TITLES,
    FEMALE_WORDS,
    MALE_WORDS,
    MONTHS,
    NAME_PARTICLES,
    NAME_TITLES,
    NOT_NAME_STARTS,
    PERSON_TITLES,
    PLACES_AND_AGENCIES,
    PREPOSITIONS,
)

_CALENDAR = frozenset(DAYS + MONTHS)
_NAME_WORD = (rf"(?:(?:{'|'.join(DOTTED_TITLES)})\.|[{UPPER}]\.(?:[{UPPER}]\.)+|"
              rf"[{UPPER}]\w*(?:[’'-](?!s\b)[^\W\d_]\w*)*)")
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:{'|'.join(NAME_PARTICLES)})\s+)?{_NAME_WORD})*"
NAME_RE = re.compile(rf"(?<![\w’'-]){_NAME}")
"""A run of capitalised words (a name, a title and a name, or a sentence start and a name)."""
_FINAL_NAME_RE = re.compile(rf"(?<![\w’'-]){_NAME}$")
_CONJUNCTION_RE = re.compile(r"\b(?:and\s+then|but|while|whereas|because|although|though|as|when|after|since|"
                             r"that|which|where|what|how|why|whether|if|so)\b", re.I)
_LOOK_BACK_MENTIONS = 300  # how many earlier mentions a pronoun or title may go back to
_RECENT_PEOPLE = 6         # how many distinct recent people a pronoun or title chooses among


def subject_noun_phrase(subject: str) -> str:
    """The subject noun phrase of an attribution from the text before its verb."""
    r = TRAILING_WORDS_RE.sub("", " " + subject.strip()).rstrip()
    if r.endswith(","):  # "X, the acting defence secretary," / "X, who ...,"
        r = r[:-1]
        if (k := r.rfind(",")) >= 0:
            r = r[:k]
    r = r[r.rfind(",") + 1:]
    r = re.split(r"[;:()\[\]—–“”\"«»]|\s-\s", r)[-1]
    r = _CONJUNCTION_RE.split(r)[-1]
    return " ".join(r.split()[-10:])


def gender_hint(words: str) -> str | None:
    """"f" or "m" when ``words`` hold a gendered word (she, spokesman, Mrs), else None."""
    found = set(re.findall(r"[a-z.]+", words.lower()))
    return "f" if found & FEMALE_WORDS else "m" if found & MALE_WORDS else None


def _title_cut(words: list[str]) -> int:
    """Index of the last title word before the final word ("Secretary of State Mike" -> 2), or -1."""
    return max((i for i, t in enumerate(words[:-1]) if t.rstrip(".") in NAME_TITLES), default=-1)


class SpeakerMemory:
    """What a document has said so far about people and bodies, kept across the blocks of a streamed file."""

    def __init__(self) -> None:
        self.full_names: dict[str, str] = {}  # surname / full name -> full name
        self.gender: dict[str, str] = {}      # person -> "f" | "m"
        self.titles: dict[str, str] = {}      # person -> title words seen before the name
        self.first_seen: dict[str, int] = {}  # name -> offset of its first mention
        self.mentions: list[tuple[int, str, str]] = []  # (offset, name, "person" | "body"), sorted

    def forget_old_mentions(self) -> None:
        """Bound the memory on long streams (only recent mentions are ever looked back to)."""
        if len(self.mentions) > 2000:
            del self.mentions[:-500]

    def note_mentions(self, masked: str, sent_start: int, sent_end: int, base: int) -> None:
        """Record the people named in a sentence (full names, gender and titles)."""
        for m in NAME_RE.finditer(masked, sent_start, sent_end):
            words = m.group().split()
            while words and (words[0].rstrip(".") in NOT_NAME_STARTS or words[0] in _CALENDAR):
                words.pop(0)
            if not words or any(t in _CALENDAR or t in BODY_NAME_WORDS for t in words):
                continue
            cut = _title_cut(words)
            before = masked[max(sent_start, m.start() - 40):m.start()].split()[-3:] + words[:cut + 1]
            words = words[cut + 1:]
            if len(words) >= 2:
                full = " ".join(words)
                for t in words[1:]:
                    self.full_names[t] = full
                self.full_names[full] = full
                hint = gender_hint(" ".join(before))
                if hint:
                    self.gender.setdefault(full, hint)
                if before:
                    self.titles[full] = " ".join(before).lower()
            elif words[0] in self.full_names:
                full = self.full_names[words[0]]
            else:
                continue
            pos = base + m.start()
            self.first_seen.setdefault(full, pos)
            bisect.insort(self.mentions, (pos, full, "person"))

    def _canonical(self, run: str) -> tuple[str, str]:
        """Name and kind ("person" / "body") of a capitalised run, titles dropped."""
        words = [t for t in run.split() if t not in _CALENDAR]
        while len(words) > 1 and words[0].rstrip(".") in NOT_NAME_STARTS:
            words.pop(0)
        if not words or words[0] in NOT_NAME_STARTS:
            return "", ""
        if any(t in BODY_NAME_WORDS for t in words):
            return " ".join(words), "body"
        words = words[_title_cut(words) + 1:]
        name = " ".join(words)
        if name in self.full_names:
            return self.full_names[name], "person"
        if len(words) == 1:
            if name in PLACES_AND_AGENCIES or name.isupper() or name.endswith(("land", "stan")):
                return name, "body"
            return name, "person"
        full = self.full_names.get(words[-1], "")
        return (full if full.endswith(name) else name), "person"

    def resolve(self, subject: str, pos: int) -> tuple[str, str]:
        """``(name, kind)`` of an attribution's subject at offset ``pos``: kind "person", "body", or
        "desc:<head noun>" for a description without a name (``("", "")`` when nothing is found)."""
        noun_phrase = subject_noun_phrase(subject)
        low = noun_phrase.lower()
        if not noun_phrase or low in ("i", "we", "you"):
            return "", ""
        if low in ("he", "she"):
            return self.last_person(pos, "m" if low == "he" else "f")
        if low in ("it", "they"):
            found = self.last_body(pos)
            return found if found[0] or low == "it" else self.last_person(pos, None)
        definite = low.startswith("the ")
        bare = re.sub(r"^(?:the|a|an)\s+", "", noun_phrase, flags=re.I)
        m = _FINAL_NAME_RE.search(bare)
        before = bare[:m.start()].split() if m else []
        # "attache in Moscow" is not Moscow, but "Secretary of State Mike Pompeo" is Mike Pompeo
        if m and not (before and before[-1].lower() in PREPOSITIONS
                      and not (before[-1] == "of" and len(before) > 1 and before[-2][:1].isupper())):
            name, kind = self._canonical(m.group())
            if name:
                hint = gender_hint(subject)
                if kind == "person" and hint:
                    self.gender.setdefault(name, hint)
                return name, kind
        head = re.split(r"\s(?:in|of|at|for|from|to|on|with)\s", bare)[0].split()[-1].lower()
        if definite and head in PERSON_TITLES:
            found = self.last_person(pos, "f" if head in FEMALE_WORDS else "m" if head in MALE_WORDS else None, head)
            if found[0]:
                return found
        if definite and head in BODY_NOUNS and bare == bare.lower():
            found = self.last_body(pos, head)
            if found[0]:
                return found
        return bare, "desc:" + head

    def _mentions_before(self, pos: int) -> Iterator[tuple[int, str, str]]:
        i = bisect.bisect_left(self.mentions, (pos,))
        for j in range(i - 1, max(-1, i - _LOOK_BACK_MENTIONS - 1), -1):
            yield self.mentions[j]

    def last_person(self, pos: int, gender: str | None, title: str | None = None) -> tuple[str, str]:
        """The last named person before ``pos`` that fits ``gender`` (and ``title``)."""
        seen: list[str] = []
        for _, name, kind in self._mentions_before(pos):
            if kind == "person" and name not in seen:
                seen.append(name)
                if len(seen) == _RECENT_PEOPLE:
                    break
        fits = [n for n in seen if gender is None or self.gender.get(n, gender) == gender]
        ranked = ([n for n in fits if title and title in self.titles.get(n, "")]
                  + [n for n in fits if gender and self.gender.get(n) == gender] + fits)
        if not ranked:
            return "", ""
        if gender:
            self.gender.setdefault(ranked[0], gender)
        return ranked[0], "person"

    def last_body(self, pos: int, head: str | None = None) -> tuple[str, str]:
        """The last body named before ``pos`` (whose name holds ``head``)."""
        for _, name, kind in self._mentions_before(pos):
            if kind == "body" and (head is None or head in name.lower()):
                return name, "body"
        return "", ""

    def resolve_speakers(self, candidates: list[Candidate], base: int) -> None:
        """Set each candidate's ``speaker`` (in text order), remembering each as a mention; a speaker
        described without a name ("Venezuela's military attache said ...") takes the name of the next
        statement's speaker when that person is newly introduced there."""
        candidates.sort(key=lambda c: c.spans[0])
        for c in candidates:
            pos = base + c.anchor
            if c.turn_speaker is not None:
                c.speaker = (c.turn_speaker, "turn")
            elif c.subject is not None:
                c.speaker = self.resolve(c.subject, pos)
            name, kind = c.speaker
            head = kind.removeprefix("desc:")
            kind = "body" if head in BODY_NOUNS else "person" if head in PERSON_TITLES else kind
            if name and kind in ("person", "body"):  # also "the ministry" -> later "it"
                self.first_seen.setdefault(name, pos)
                bisect.insort(self.mentions, (pos, name, kind))
        for c, nxt in zip(candidates, candidates[1:]):
            head = c.speaker[1].removeprefix("desc:")
            if (c.speaker[1].startswith("desc:") and head in PERSON_TITLES and nxt.speaker[1] == "person"
                    and 0 <= nxt.paragraph - c.paragraph <= 1
                    and self.first_seen.get(nxt.speaker[0], 0) > base + c.anchor):
                c.speaker = nxt.speaker
