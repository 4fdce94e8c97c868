"""Speakers' roles and affiliations as the text gives them ("Kremlin spokesman", "NATO secretary general")."""
from __future__ import annotations

import re

from .words import NOT_NAME_STARTS, PERSON_TITLES, ROLE_WORDS

_WORD_RE = re.compile(r"[\w.’'-]+")
_INITIALS_RE = re.compile(r"^(?:[A-Z]\.){2,}$")  # U.S., U.K.
_NOT_NAME_STARTS_LOWER = frozenset(w.lower() for w in NOT_NAME_STARTS)


def _bare(word: str) -> str:
    """Lower case, without a possessive or a trailing full stop."""
    w = word.lower()
    for suffix in ("’s", "'s"):
        w = w.removesuffix(suffix)
    return w.rstrip(".")


def speaker_roles(text: str, names: set[str]) -> dict[str, str]:
    """The role and affiliation the text gives each named speaker, from the words right before a mention
    ("US President Donald Trump", "Russian foreign ministry spokeswoman Maria Zakharova") or an
    apposition after it ("Dmitry Peskov, the Kremlin's spokesman,"); the longest found over all
    mentions, so a later "Zakharova" or "she" carries the role of the first full mention."""
    roles: dict[str, str] = {}
    for name in names:
        if not name or " " not in name.strip():
            continue  # a bare body ("the Kremlin") or an unresolved pronoun is its own description
        best = ""
        for m in re.finditer(re.escape(name), text):
            before = text[max(0, m.start() - 120):m.start()]
            words = _WORD_RE.findall(before.rsplit("\n", 1)[-1].split(",")[-1].split("“")[-1].split('"')[-1])
            picked: list[str] = []
            for w in reversed(words):
                lw = _bare(w)
                capital = (w[:1].isupper() and lw not in _NOT_NAME_STARTS_LOWER
                           and (not w.endswith(".") or _INITIALS_RE.match(w)))
                if lw in ROLE_WORDS or capital or (w[:1].isupper() and w.endswith(("’s", "'s"))):
                    picked.append(w)
                    continue
                break
            while picked and picked[-1].lower() in ("of", "for", "and"):
                picked.pop()  # "a backer of President X": the role starts after the preposition
            role = " ".join(reversed(picked)).strip()
            if not any(_bare(x) in PERSON_TITLES for x in role.split()):
                role = ""
            after = re.match(r",\s+((?:the\s+)?[^,.;:“”\"]{3,60}?),", text[m.end():m.end() + 80])
            if not role and after and any(_bare(w) in PERSON_TITLES for w in _WORD_RE.findall(after.group(1))):
                role = re.sub(r"^the\s+", "", after.group(1))
            if len(role) > len(best):
                best = role
        if best:
            roles[name] = best
    return roles
