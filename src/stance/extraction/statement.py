"""What extraction finds: :class:`Statement` (public) and :class:`Candidate`, a statement whose speaker
is not resolved yet."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Statement:
    """One statement found in a text.

    ``start``/``end`` are character offsets into the decoded text. For a statement made of one
    contiguous span, ``text == source[start:end]``. For a quote split by an attribution or
    continued over paragraphs, ``text`` is the parts joined with a single space while
    ``start`` is the start of the first part and ``end`` the end of the last part, so
    ``source[start:end]`` then also contains the attribution / paragraph break in between.
    """

    text: str
    speaker: str
    kind: str  # "direct" | "reported" | "turn"
    start: int
    end: int
    file: str = ""
    role: str = ""  # the speaker's role and affiliation where the text gives them ("Kremlin spokesman")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def speaker_segment(self) -> str:
        """What the model reads as the speaker: ``"Dmitry Peskov, Kremlin spokesman"`` (stance.inputs)."""
        from ..inputs import speaker_segment

        return speaker_segment(self.speaker, self.role)


class Attribution(NamedTuple):
    """Who a statement is attributed to, as written: ``subject`` is the text before the speech verb
    (or after it: "said Kremlin spokesman Dmitry Peskov"), ``anchor`` the verb's offset."""

    subject: str
    anchor: int
    verb_span: tuple[int, int]


@dataclass
class Candidate:
    """A statement found in one block of text, before its speaker is resolved."""

    kind: str                     # "direct" | "reported" | "turn"
    spans: list[tuple[int, int]]  # the statement's text, in one or more parts (block offsets)
    subject: str | None           # the attribution's subject as written; None: no attribution found
    anchor: int                   # block offset from which to look back for the person meant
    paragraph: int                # paragraph index (-1 for a transcript turn)
    turn_speaker: str | None = None   # a transcript turn's speaker label
    speaker: tuple[str, str] = ("", "")  # resolved (name, kind): kind "person", "body", "turn" or "desc:<head noun>"
