"""Transcripts: speaker turns (``MR. KIRBY: ...``, ``THE PRESIDENT: ...``) up to the next turn;
reporters' questions (``Q: ...``, ``Q ...``) are skipped."""
from __future__ import annotations

import re

from .statement import Candidate
from .words import SPEAKER_LABEL_STARTS

_TURN_RE = re.compile(  # "MR. KIRBY:", "THE PRESIDENT:", "Q:", "Q text" (optionally **bold**)
    r"^[ \t]*(?:\*\*)?(?:(?P<label>(?:[A-Z][A-Z'’\-]+\.?)(?:[ \t]+[A-Z][A-Z'’\-]+\.?){0,3}|Q)[ \t]*:"
    r"|(?P<q>Q)(?=[ \t]+\S))(?:\*\*)?[ \t]*", re.M)
_SPEAKER_LABEL_RE = re.compile(rf"(?:{'|'.join(SPEAKER_LABEL_STARTS)})\b")


def _turn(text: str, s: int, e: int, speaker: str) -> Candidate:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Candidate("turn", [(s, e)] if s < e else [], None, s, -1, turn_speaker=speaker)


class TurnReader:
    """Finds speaker turns, block after block of one document: a document is a transcript once a
    block has questions or a typical speaker label, and a turn may continue into the next block."""

    def __init__(self) -> None:
        self.transcript = False
        self.in_turns = False               # a turn has been seen
        self.last_speaker: str | None = None  # speaker of the current turn; None for a question

    def read(self, text: str) -> tuple[list[Candidate], int]:
        """The turns of a block, and where the article text before the first turn ends."""
        turns = list(_TURN_RE.finditer(text))
        labels = [m.group("label") for m in turns if m.group("label") and m.group("label") != "Q"]
        if labels and (len(turns) > len(labels)  # there are questions
                       or any(_SPEAKER_LABEL_RE.match(x) for x in labels)):
            self.transcript = True
        if not self.transcript:
            return [], len(text)
        found: list[Candidate] = []
        article_end = turns[0].start() if turns else len(text)
        if self.in_turns:  # the text before the first turn continues the previous block's last turn
            if self.last_speaker is not None:
                found.append(_turn(text, 0, article_end, self.last_speaker))
            article_end = 0
        self.in_turns = self.in_turns or bool(turns)
        for m, nxt in zip(turns, [*turns[1:], None]):
            label = m.group("label")
            self.last_speaker = None if not label or label == "Q" else re.sub(
                r"[^\W\d_]+", lambda w: w.group().capitalize(), label)
            if self.last_speaker:
                found.append(_turn(text, m.end(), nxt.start() if nxt else len(text), self.last_speaker))
        return found, article_end
