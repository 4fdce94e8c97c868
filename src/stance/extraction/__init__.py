"""Find statements by officials, and who made them, in plain-text articles and transcripts.

Three kinds of statement are found:

* ``direct``: quoted speech in any common quote style (“...”, "...", ‘...’, '...', «...»).
  Quotes of fewer than :data:`MIN_QUOTE_WORDS` words are scare quotes (“specialists”), never
  statements on their own. A quote split by its attribution (“A,” she said, “B.”) and a quote
  continued over paragraphs (no closing mark at the end of one paragraph, an opening mark at the
  start of the next) each give ONE statement whose parts are joined with a single space.
* ``reported``: reported speech: the clause after ``X said (on Thursday) (that)``,
  ``X told reporters ... that``, ``X described them as``, ``X was quoted as saying``,
  ``..., X arguing that``, or the clause before ``..., X told a briefing.``; the clause runs to the
  end of the sentence, minus trailing ``, according to ...``, ``, brushing aside ...`` (a participle
  phrase) and ``, Interfax reported`` tails.
* ``turn``: a speaker turn of a transcript (``MR. KIRBY: ...``, ``THE PRESIDENT: ...``) up to the
  next turn. Reporter questions (``Q: ...``, ``Q ...``) are skipped.

Speakers are resolved with a small amount of document memory: titles are dropped
("Kremlin spokesman Dmitry Peskov" -> "Dmitry Peskov"), surnames are expanded to the full name
seen in the document ("Peskov" -> "Dmitry Peskov"), pronouns and definite titles ("she",
"the spokeswoman", "the ministry") go to the last named person or body that fits (gender from
titles such as *spokeswoman* or from earlier pronoun use), countries and bodies speak as
themselves ("Russia", "Kremlin"), and a speaker described without a name ("Venezuela's military
attache") takes the name given in the next statement's attribution when that person is newly
introduced there. Otherwise an unnamed speaker is kept as its description, or ``""``.

An unattributed quote takes the attribution of the quote before it in the same paragraph, or
in the previous paragraph when it opens its paragraph (“A,” Peskov said. “B.”). A long quote
inside a reported clause (said the move was “a grave mistake by Washington”) is part of that
reported statement, not a second one.

Not statements: headlines, captions, bylines and other single lines without sentence
punctuation; a standalone quote line repeating a later quote (a pull quote); narrative sentences
with no speech verb ("Russia and China have backed Maduro"); actions ("Guaido invoked the
constitution").

Known limits: at most one reported statement per sentence ("A said X, while B said Y" gives X
only); paraphrased demands ("a call from Trump to remove troops") are not reported speech;
pronouns go to the last fitting named person, not to a parsed sentence subject; English only.
Everything is regex based, tuned for English news copy and official transcripts, and errs
towards skipping doubtful material.

Modules: :mod:`.words` (the word lists, data only), :mod:`.sentences` (paragraphs, sentences,
headlines), :mod:`.quotes` (quote marks, masking, split and continued quotes), :mod:`.attribution`
(speech verbs, attributions, reported clauses), :mod:`.transcripts` (speaker turns),
:mod:`.speakers` (names and the document memory that resolves them), :mod:`.roles` (speakers'
roles), :mod:`.extractor` (one document, block by block) and :mod:`.files` (whole and streamed files).
Decoding bytes is :mod:`stance.textio`'s (``decode_bytes`` and ``read_text`` are re-exported here).
"""
from __future__ import annotations

from ..textio import decode_bytes, read_text
from .extractor import extract_statements
from .files import STREAM_THRESHOLD, extract_file, iter_paragraphs
from .quotes import MIN_QUOTE_WORDS
from .roles import speaker_roles
from .statement import Statement

__all__ = [
    "MIN_QUOTE_WORDS",
    "STREAM_THRESHOLD",
    "Statement",
    "decode_bytes",
    "extract_file",
    "extract_statements",
    "iter_paragraphs",
    "read_text",
    "speaker_roles",
]
