"""The extraction of one document: quotes, reported speech and transcript turns found block by
block, their speakers resolved with what the document said before."""
from __future__ import annotations

import bisect
import re
from dataclasses import replace

from .attribution import attribution_after, attribution_before, reported_statement
from .quotes import MIN_QUOTE_WORDS, QuoteGroup, find_and_mask_quotes, group_quotes
from .roles import speaker_roles
from .sentences import is_headline, paragraphs, sentences
from .speakers import SpeakerMemory
from .statement import Attribution, Candidate, Statement
from .transcripts import TurnReader

_PULL_QUOTE_LOOKAHEAD = 20000  # characters after a standalone quote searched for the quote it repeats


def extract_statements(text: str, file: str = "") -> list[Statement]:
    """Return the statements in ``text`` sorted by start offset (see :mod:`stance.extraction`), each
    with its speaker's role and affiliation where the text gives them (:func:`speaker_roles`)."""
    statements = DocumentExtractor(file).feed(text)
    roles = speaker_roles(text, {st.speaker for st in statements})
    return [replace(st, role=roles[st.speaker]) if st.speaker in roles else st for st in statements]


class DocumentExtractor:
    """Extraction state for one document (kept across the blocks of a streamed file)."""

    def __init__(self, file: str = "") -> None:
        self.file = file
        self.speakers = SpeakerMemory()
        self.turns = TurnReader()

    def feed(self, text: str, offset: int = 0) -> list[Statement]:
        """The statements of the next block ``text``, which starts at ``offset`` in the document."""
        candidates, article_end = self.turns.read(text)
        candidates += self._article_candidates(text, article_end, offset)
        candidates = [c for c in candidates if c.spans]
        self.speakers.resolve_speakers(candidates, offset)
        self.speakers.forget_old_mentions()
        return [Statement(" ".join(text[s:e] for s, e in c.spans), c.speaker[0], c.kind,
                          offset + c.spans[0][0], offset + c.spans[-1][1], self.file)
                for c in candidates]

    def _article_candidates(self, text: str, end: int, offset: int) -> list[Candidate]:
        """Quotes and reported speech in ``text[:end]`` (article text, not transcript turns)."""
        paras = paragraphs(text, end)
        quotes, masked = find_and_mask_quotes(text, paras)
        sents = [sentences(masked, ps, pe) for ps, pe in paras]
        headline = [is_headline(text, ps, pe) and not (found and not found[-1].closed)
                    for (ps, pe), found in zip(paras, quotes)]
        for pi, spans in enumerate(sents):
            if not headline[pi]:
                for sent_start, sent_end in spans:
                    self.speakers.note_mentions(masked, sent_start, sent_end, offset)
        used_verbs: set[int] = set()  # offsets of speech verbs that introduce a quote
        candidates = self._quote_candidates(text, masked, paras, sents, headline,
                                            group_quotes(text, masked, paras, quotes), used_verbs)
        for pi, spans in enumerate(sents):
            if not headline[pi]:
                candidates += filter(None, (reported_statement(text, masked, s, e, used_verbs, pi) for s, e in spans))
        # a long quote inside a reported clause ("said the move was “a grave ... mistake”") is
        # part of that reported statement; reported clauses never overlap (one per sentence)
        reported = sorted((c.spans[0][0], c.spans[-1][1]) for c in candidates if c.kind == "reported")

        def inside_reported(c: Candidate) -> bool:
            i = bisect.bisect_right(reported, (c.spans[0][0], len(text) + 1)) - 1
            return i >= 0 and c.spans[-1][1] <= reported[i][1]

        return [c for c in candidates if c.kind != "direct" or not inside_reported(c)]

    @staticmethod
    def _quote_candidates(text: str, masked: str, paras: list[tuple[int, int]], sents: list[list[tuple[int, int]]],
                          headline: list[bool], groups: list[QuoteGroup], used_verbs: set[int]) -> list[Candidate]:
        """Direct statements: each group of quotes long enough, with its attribution (split, after,
        before, or that of the quote before it). Adds the speech verbs used to ``used_verbs``."""
        sent_starts = [[s for s, _ in spans] for spans in sents]
        candidates: list[Candidate] = []
        last: tuple[Attribution, int] | None = None  # last attribution of a quote, its paragraph
        for g in groups:
            if headline[g.paragraph]:
                continue
            first, final = g.quotes[0], g.quotes[-1]
            after = None
            if final.closed:
                # after a quote ending in a full stop only a short subject can follow ("... .” he said)
                after = attribution_after(text, masked, final.end, paras[g.last_paragraph][1],
                                          4 if text[final.closing - 1] == "." else 8)
            k = bisect.bisect_right(sent_starts[g.paragraph], first.opening) - 1
            sent_start = max(sent_starts[g.paragraph][k] if k >= 0 else paras[g.paragraph][0], first.opening - 400)
            before = attribution_before(text, masked, sent_start, first.opening, final.end)
            for a in (g.attribution, after, before):  # their verbs introduce this quote, even a scare quote
                if a:
                    used_verbs.add(a.verb_span[0])
            attribution = g.attribution or after or before
            long_enough = g.words(text) >= MIN_QUOTE_WORDS
            if attribution is None and long_enough and (first.opening, final.end) == paras[g.paragraph]:
                words = " ".join(re.findall(r"\w+", text[first.text_start:first.text_end].lower()))
                later = " ".join(re.findall(r"\w+", text[final.end:final.end + _PULL_QUOTE_LOOKAHEAD].lower()))
                if words in later:  # a pull quote repeating a later quote
                    continue
            if attribution is None and last and (g.paragraph == last[1] or (
                    g.paragraph == last[1] + 1 and first.opening == paras[g.paragraph][0])):
                attribution = last[0]  # “A,” Peskov said. “B.”: B is Peskov's too
            if attribution:
                last = (attribution, g.last_paragraph)
            if not long_enough:
                continue
            candidates.append(Candidate("direct", [(q.text_start, q.text_end) for q in g.quotes if q.text_end > q.text_start],
                                        attribution.subject if attribution else None,
                                        attribution.anchor if attribution else first.opening, g.paragraph))
        return candidates
