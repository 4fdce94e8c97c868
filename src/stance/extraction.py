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
"""
from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

__all__ = [
    "MIN_QUOTE_WORDS",
    "STREAM_THRESHOLD",
    "Statement",
    "decode_bytes",
    "extract_file",
    "extract_statements",
    "iter_paragraphs",
    "read_text",
]

MIN_QUOTE_WORDS = 4
"""Quotes shorter than this (in words) are scare quotes, not statements."""
STREAM_THRESHOLD = 32 * 1024 * 1024
"""Files larger than this (bytes) are processed in paragraph blocks by :func:`extract_file`."""
_SNIFF_BYTES = 8192
_NEWLINE = b"\n"
_BLOCK_CHARS = 1_000_000  # block size when streaming a large file


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
        from .inputs import speaker_segment

        return speaker_segment(self.speaker, self.role)


# --------------------------------------------------------------------------- lexicon

_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_CALENDAR = frozenset((_DAYS + "|" + _MONTHS).split("|"))

# verbs whose reported clause may follow without "that"; the others need "that"
_BARE_VERBS = ["said", "says", "say", "told", "tells", "added", "adds", "insisted", "insists",
               "argued", "argues", "claimed"]
_THAT_VERBS = ["wrote", "writes", "tweeted", "warned", "warns", "commented", "stated", "noted", "explained",
               "declared", "stressed", "asserted", "announced", "replied", "responded", "reiterated",
               "emphasised", "emphasized",
               "acknowledged", "admitted", "confirmed", "asked", "continued", "conceded",
               "complained", "suggested", "described", "describes"]
_QUOTED = r"(?:was|were|is|are|has\s+been|have\s+been|had\s+been)\s+quoted\s+as\s+saying"
_VERB = (rf"(?:{_QUOTED}|(?<!to )(?<!not )say|"
         + "|".join(v for v in _BARE_VERBS + _THAT_VERBS if v != "say") + ")")
_VERB_RE = re.compile(rf"(?<![\w’'-]){_VERB}(?![\w’'-])")
_BARE_RE = re.compile(rf"{_QUOTED}|(?:{'|'.join(_BARE_VERBS)})$")

_TIME = (rf"(?:(?:on|last|this|late|early|next)\s+(?:{_DAYS}|{_MONTHS}|week|weekend|month|year|"
         rf"night|morning|afternoon|evening)(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?|"
         r"yesterday|today|tonight|earlier|later|separately|again|previously|also|recently|"
         r"in\s+an?\s+(?:[\w-]+\s+)?(?:statement|speech|interview|post|tweet|letter|video|message|"
         r"address|briefing))")
_ADJUNCT_RE = re.compile(rf"(?:\s+{_TIME}\b)*(?:\s+that\b)?\s*")
_ADJ_START = frozenset("on in at to during after before from via through over while when last this "
                       "earlier later late yesterday today tonight separately also again repeatedly "
                       "previously publicly privately recently".split())
_THAT_RE = re.compile(r"((?:\s+(?!that\b)[^\s,.;:!?“”\"]+){0,10}?)\s+that\s")
_AUDIENCE_RE = re.compile(
    r"\s+(?:reporters|journalists|the\s+press|the\s+media|lawmakers|parliament|legislators|"
    r"state\s+(?:television|media|TV)|(?:an?|the)\s+(?:[\w-]+\s+){0,3}?(?:briefing|conference|"
    r"meeting|interview|session|forum|summit|rally|audience|newspaper|channel|broadcaster|agency)|"
    r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)")
_PART_RE = re.compile(r",\s+(?:arguing|saying|adding|insisting|warning|claiming|noting|stressing|"
                      r"explaining|asserting|declaring)\s+(?:that\s+)?")
_NOT_PARTICIPLE = ("during|including|according|something|nothing|anything|everything|bring|thing|king|"
                   "spring|evening|morning")
_TRIM_RES = (
    re.compile(r",\s*(?:according\s+to|citing|as\s+reported\s+by)\b[^,]*$"),
    re.compile(rf",\s*(?!(?:{_NOT_PARTICIPLE})\b)[a-z]+ing\b.*$", re.S),
    re.compile(rf",\s*[^,]{{1,60}}?\s+(?:{_VERB}|reported|reports)(?:\s+[^,]{{0,40}})?$"),
)

_FEMALE = frozenset("she her spokeswoman ms ms. mrs mrs. miss madam chairwoman congresswoman "
                    "businesswoman woman queen princess lady".split())
_MALE = frozenset("he his spokesman mr mr. chairman congressman businessman man king prince sir lord".split())
_PERSON_TITLES = frozenset(
    "spokesman spokeswoman spokesperson minister president secretary official ambassador attache "
    "envoy chief leader head premier chancellor diplomat general commander senator governor mayor "
    "lawmaker adviser advisor aide director chairman chairwoman representative deputy officer "
    "prosecutor judge negotiator king queen".split())
_BODY_NOUNS = frozenset("ministry government kremlin embassy agency department office council "
                        "administration army military pentagon parliament committee company "
                        "country state union alliance service bank court commission "
                        "organisation organization party coalition cabinet regime".split())
_NP_WORDS = _PERSON_TITLES | frozenset("the a an foreign defence defense acting opposition ministry "
                                       "senior former interim prime vice".split())
# Capitalised words that precede a name without being part of it.
_TITLES = frozenset(
    "Mr Mrs Ms Dr Miss Sir Madam President Vice Premier Minister Secretary Spokesman Spokeswoman "
    "Spokesperson Senator Sen Rep Representative Gov Governor Gen Adm Admiral Col Colonel Lt Capt "
    "Chancellor Ambassador Envoy Deputy Chief Mayor Chairman Chairwoman Director Leader Commander "
    "King Queen Pope State Acting General".split())
_BODY_WORDS = frozenset(
    "States Nations Union House Ministry Department Council Agency Office Party Government Army "
    "Force Forces Committee Bank Organization Organisation Commission Court Parliament Assembly "
    "Kremlin Pentagon Federation Republic Kingdom Emirates Guard Navy Police Service Institute "
    "University Fund Group Company Corporation Inc Ltd Times Post News Press Embassy".split())
_PLACES = frozenset(
    "Russia China Ukraine Venezuela Iran Iraq Syria Israel Turkey Germany France Britain Japan "
    "India Pakistan Cuba Mexico Brazil Colombia Canada Poland Belarus Georgia Armenia Azerbaijan "
    "Moscow Washington Beijing Kyiv Kiev Caracas London Paris Berlin Tehran Damascus Havana Ankara "
    "Tokyo Brussels Europe America Interfax Reuters TASS Tass RIA Xinhua Bloomberg Nato".split())
_STOP = frozenset(
    "The A An In On At As But And Or If When While After Before Since Speaking According Asked He "
    "She It They We I This That These Those His Her Their Our Its Meanwhile However Also Last Next "
    "Earlier Later Dismissing Despite Under With Without By For From To Of".split())
_PREPS = frozenset("in of at for from to on with by about".split())
_ABBREV = frozenset("Mr Mrs Ms Dr St Jr Sr Gen Lt Col Sgt Capt Gov Sen Rep Prof No Adm Maj Jan Feb "
                    "Mar Apr Aug Sept Sep Oct Nov Dec vs etc approx Inc Ltd Co Corp Rev".split())

_UP = "A-ZÀ-ÖØ-ÞА-ЯЁ"
_TOK = (rf"(?:(?:Mr|Mrs|Ms|Dr|Gen|Sen|Rep|Gov|Lt|Col|Capt|Adm|St|Jr|Sr)\.|[{_UP}]\.(?:[{_UP}]\.)+|"
        rf"[{_UP}]\w*(?:[’'-](?!s\b)[^\W\d_]\w*)*)")
_RUN = rf"{_TOK}(?:\s+(?:(?:de|da|del|della|di|van|von|der|den|bin|al|el|la|le|dos|du|ibn)\s+)?{_TOK})*"
_RUN_RE = re.compile(rf"(?<![\w’'-]){_RUN}")
_TRAIL_RUN_RE = re.compile(rf"(?<![\w’'-]){_RUN}$")
_GLUE_RE = re.compile(rf"[{_UP}][a-z]{{3,}}([{_UP}][a-z]{{3,}})")
_ADVERB = r"(?!(?:ally|family|rally|assembly|july|italy|bully)\b)[a-z]{3,}ly"
_TRAIL_RE = re.compile(rf"(?:\s+(?:{_TIME}|has|have|had|was|were|is|are|would|will|did|does|then|once|"
                       rf"further|long|often|always|never|{_ADVERB}))+\s*$")
_CONJ_RE = re.compile(r"\b(?:and\s+then|but|while|whereas|because|although|though|as|when|after|since|"
                      r"that|which|where|what|how|why|whether|if|so)\b", re.I)

_BOUNDARY_RE = re.compile(rf"[.!?…]+[”\"’'»)\]]*(?=\s+[“\"‘'«(\[]?[{_UP}0-9])")
_POST = (rf"\s*[,;]?\s*(?:[—–-]+\s*)?(?:(?P<v1>{_VERB})\s+(?P<s1>[^.!?;:,“”\"«»]{{1,100}})"
         rf"|(?P<s2>[^.!?;:“”\"«»]{{1,120}}?)\s+(?P<v2>{_VERB}))(?![\w’'-])")
_POST_RE = re.compile(_POST)
_SPLIT_RE = re.compile(_POST + r"[^.!?“”\"«»]{0,40}?[,:]\s*$")
_TURN_RE = re.compile(  # "MR. KIRBY:", "THE PRESIDENT:", "Q:", "Q text" (optionally **bold**)
    r"^[ \t]*(?:\*\*)?(?:(?P<label>(?:[A-Z][A-Z'’\-]+\.?)(?:[ \t]+[A-Z][A-Z'’\-]+\.?){0,3}|Q)[ \t]*:"
    r"|(?P<q>Q)(?=[ \t]+\S))(?:\*\*)?[ \t]*", re.M)
_SPEAKER_LABEL_RE = re.compile(r"(?:MR|MS|MRS|DR|THE|SECRETARY|ADMIRAL|GENERAL|GEN|AMBASSADOR|SENATOR|"
                               r"PRESIDENT|MODERATOR|SPOKESPERSON|SPOKESMAN|MINISTER|PRIME|OPERATOR)\b")


# --------------------------------------------------------------------------- reading

def decode_bytes(name: str, raw: bytes, *, strip_bom: bool = True, check_binary: bool = True,
                 line: int | None = None) -> tuple[str, list[str]]:
    """Decode ``raw`` as UTF-8 (a leading BOM dropped when ``strip_bom``) and return ``(text, warnings)``.

    Invalid bytes are replaced with U+FFFD; the warning names ``name``, the line and the byte
    offset of the first bad byte in ``raw`` (the BOM counted). ``line`` is the line ``raw`` starts
    on, for callers that decode a file line by line (the offset is then within that line).
    Raises ``ValueError`` naming ``name`` when ``check_binary`` and ``raw`` looks binary (NUL bytes
    in its first 8 KiB; this includes UTF-16).
    """
    if check_binary and b"\x00" in raw[:_SNIFF_BYTES]:
        raise ValueError(f"{name}: binary file (NUL bytes), not UTF-8 text")
    skip = len(codecs.BOM_UTF8) if strip_bom and raw.startswith(codecs.BOM_UTF8) else 0
    body = raw[skip:]
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        at = skip + exc.start
        where = f"{name}:{(line or 1) + raw[:at].count(_NEWLINE)}"
        of = " of the line" if line else ""
        return body.decode("utf-8", errors="replace"), [
            f"{where}: invalid UTF-8 at byte {at}{of}; undecodable bytes replaced with U+FFFD"]


def read_text(path: str | Path) -> tuple[str, list[str]]:
    """Read ``path`` as UTF-8 (a BOM is dropped) and return ``(text, warnings)``.

    Invalid bytes are replaced with U+FFFD and reported in a warning naming the file, line and
    byte. An empty file gives ``("", [warning])``. Raises ``ValueError`` naming the file when it
    looks binary (see ``decode_bytes``).
    """
    name = str(path)
    data = Path(path).read_bytes()
    if not data:
        return "", [f"{name}: file is empty"]
    text, warnings = decode_bytes(name, data)
    if not text.strip():
        warnings.append(f"{name}: file has no text (whitespace only)")
    return text, warnings


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


def extract_statements(text: str, file: str = "") -> list[Statement]:
    """Return the statements in ``text`` sorted by start offset (see the module docstring), each with
    its speaker's role and affiliation where the text gives them (:func:`speaker_roles`)."""
    statements = _Extractor(file).feed(text)
    roles = speaker_roles(text, {st.speaker for st in statements})
    return [replace(st, role=roles[st.speaker]) if st.speaker in roles else st for st in statements]


# Lower-case words that belong to a role phrase before a name ("Russian foreign ministry spokeswoman").
_ROLE_WORDS = _NP_WORDS | _BODY_NOUNS | frozenset(
    "state national security defense defence press foreign interior finance affairs of general "
    "assistant under acting top senior military armed forces white house".split()) - frozenset("the a an".split())
_WORD_RE = re.compile(r"[\w.’'-]+")
_INITIALS_RE = re.compile(r"^(?:[A-Z]\.){2,}$")  # U.S., U.K.
_STOP_LOWER = frozenset(w.lower() for w in _STOP)


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
                capital = w[:1].isupper() and lw not in _STOP_LOWER and (not w.endswith(".") or _INITIALS_RE.match(w))
                if lw in _ROLE_WORDS or capital or (w[:1].isupper() and w.endswith(("’s", "'s"))):
                    picked.append(w)
                    continue
                break
            while picked and picked[-1].lower() in ("of", "for", "and"):
                picked.pop()  # "a backer of President X": the role starts after the preposition
            role = " ".join(reversed(picked)).strip()
            if not any(_bare(x) in _PERSON_TITLES for x in role.split()):
                role = ""
            after = re.match(r",\s+((?:the\s+)?[^,.;:“”\"]{3,60}?),", text[m.end():m.end() + 80])
            if not role and after and any(_bare(w) in _PERSON_TITLES for w in _WORD_RE.findall(after.group(1))):
                role = re.sub(r"^the\s+", "", after.group(1))
            if len(role) > len(best):
                best = role
        if best:
            roles[name] = best
    return roles


def extract_file(path: str | Path) -> tuple[list[Statement], list[str]]:
    """Extract the statements of a file; returns ``(statements, warnings)``.

    Raises ``ValueError`` for binary files. Files over :data:`STREAM_THRESHOLD` bytes are read in
    paragraph blocks (quotes continued across a block boundary are then not joined).
    """
    name = str(path)
    if Path(path).stat().st_size <= STREAM_THRESHOLD:
        text, warnings = read_text(path)
        return extract_statements(text, name), warnings
    bad: list[int] = []
    with open(path, "rb") as fh:
        if b"\x00" in fh.read(_SNIFF_BYTES):
            raise ValueError(f"{name}: binary file (NUL bytes), not UTF-8 text")
        fh.seek(0)

        def lines() -> Iterator[str]:
            for number, raw in enumerate(fh, 1):
                if number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                try:
                    yield raw.decode("utf-8")  # a line never splits a UTF-8 sequence
                except UnicodeDecodeError:
                    bad.append(number)
                    yield raw.decode("utf-8", errors="replace")

        extractor = _Extractor(name)
        found, roles = [], {}
        for offset, block in iter_paragraphs(lines(), _BLOCK_CHARS):
            new = extractor.feed(block, offset)
            # every name the block gives a role to (it may speak only in a later block), and its speakers
            names = {st.speaker for st in new}
            for run in _RUN_RE.finditer(block):
                words = run.group(0).split()
                names.update(" ".join(words[i:]) for i in range(len(words) - 1))
            for who, role in speaker_roles(block, names).items():
                if len(role) > len(roles.get(who, "")):
                    roles[who] = role  # a role named in one block carries to the speaker's later blocks
            found += new
        found = [replace(st, role=roles[st.speaker]) if st.speaker in roles else st for st in found]
    warnings = [f"{name}: invalid UTF-8 on {len(bad)} line(s), first line {bad[0]}; "
                "undecodable bytes replaced with U+FFFD"] if bad else []
    return found, warnings


# --------------------------------------------------------------------------- internals

_Attr = tuple[str, int, tuple[int, int]]  # attribution: (subject text, position, verb span)


@dataclass
class _Quote:
    open: int      # index of the opening mark
    close: int     # index after the closing mark (paragraph end when unclosed)
    raw_end: int   # index of the closing mark (paragraph end when unclosed)
    cs: int        # trimmed content span
    ce: int
    closed: bool


@dataclass
class _Unit:
    parts: list[_Quote]
    para: int
    last_para: int
    attr: _Attr | None = None  # from a split quote: “A,” she said, “B.”


@dataclass
class _Cand:
    kind: str
    parts: list[tuple[int, int]]
    region: str | None  # raw subject text of the attribution; None: none found
    pos: int            # block position used to look back for antecedents
    para: int
    speaker: str | None = None
    resolved: tuple[str, str] = ("", "")


def _make_quote(text: str, o: int, c: int, closed: bool) -> _Quote:
    cs, ce = o + 1, c
    while cs < ce and text[cs].isspace():
        cs += 1
    while ce > cs and (text[ce - 1].isspace() or text[ce - 1] in ",;:"):
        ce -= 1
    return _Quote(o, c + 1 if closed else c, c, cs, ce, closed)


_TERMINAL = (".", "!", "?", ":", ";", "…", "”", '"', "’", "'", "»", ")")


def _paragraphs(text: str, end: int) -> list[tuple[int, int]]:
    """Paragraph spans: blocks between blank lines; without blank lines, single lines, or for
    hard-wrapped text (most lines not ending a sentence) runs of lines up to a sentence end."""
    if re.search(r"\n[ \t]*\r?\n", text[:end]):
        sep = re.compile(r"\n[ \t]*\r?\n\s*")
    else:
        lines = [ln.rstrip() for ln in text[:end].splitlines() if ln.strip()]
        wrapped = len(lines) >= 5 and sum(not ln.endswith(_TERMINAL) for ln in lines) > 0.6 * len(lines)
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


_DOUBLE_RES = (re.compile(r"“[^“”]*(”|$)"), re.compile(r"«[^«»]*(»|$)"))
_PLURAL_POSSESSIVE_RE = re.compile(r"s[’']\s+[a-z]")


def _find_quotes(text: str, ps: int, pe: int) -> list[_Quote]:
    """Quotes of a paragraph; double-type first, single quotes only outside them."""
    found: list[_Quote] = []
    for rx in _DOUBLE_RES:
        for m in rx.finditer(text, ps, pe):
            closed = bool(m.group(1))
            found.append(_make_quote(text, m.start(), m.end() - 1 if closed else m.end(), closed))
    marks = [m.start() for m in re.finditer('"', text[ps:pe])]
    for a, b in zip(marks[::2], marks[1::2]):
        found.append(_make_quote(text, ps + a, ps + b, True))
    if len(marks) % 2:
        found.append(_make_quote(text, ps + marks[-1], pe, False))
    kept: list[_Quote] = []
    for q in sorted(found, key=lambda q: q.open):  # drop quotes nested in an earlier one
        if not kept or q.open >= kept[-1].close:
            kept.append(q)
    starts, ends = [q.open for q in kept], [q.close for q in kept]
    for op, cl in (("‘", "’"), ("'", "'")):
        i = ps
        while (o := text.find(op, i, pe)) >= 0:
            i = o + 1
            k = bisect.bisect_right(starts, o) - 1
            if (k >= 0 and o < ends[k]) or not _opens(text, o, ps):
                continue
            limit = starts[k + 1] if k + 1 < len(starts) else pe  # never around a double quote
            closes: list[int] = []
            c = text.find(cl, o + 2, limit)
            while c >= 0 and len(closes) < 2:
                if _closes(text, c):
                    closes.append(c)
                c = text.find(cl, c + 1, limit)
            if closes:  # skip a plural possessive (the countries’ ties) when another close follows
                possessive = len(closes) > 1 and _PLURAL_POSSESSIVE_RE.match(text, closes[0] - 1)
                c = closes[1] if possessive else closes[0]
                q = _make_quote(text, o, c, True)
            elif limit == pe and (o == ps or text[max(ps, o - 2):o] in (": ", ", ")):
                q = _make_quote(text, o, pe, False)  # may continue in the next paragraph
            else:
                continue
            k = bisect.bisect(starts, o)
            starts.insert(k, q.open)
            ends.insert(k, q.close)
            kept.append(q)
            i = q.close
    return sorted(kept, key=lambda q: q.open)


def _opens(text: str, o: int, ps: int) -> bool:
    prev = text[o - 1] if o > ps else " "
    nxt = text[o + 1: o + 2]
    if not (prev.isspace() or prev in "([{—–-“\"") or not (nxt.isalnum() or nxt in "“\"…."):
        return False
    return not re.match(r".(?:\d\d?s?\b|em\b|n[’']|tis\b|cause\b|til\b)", text[o:o + 8])


def _closes(text: str, c: int) -> bool:
    return not text[c - 1].isspace() and not text[c + 1: c + 2].isalnum()


def _sentences(masked: str, ps: int, pe: int) -> list[tuple[int, int]]:
    out, s = [], ps
    for m in _BOUNDARY_RE.finditer(masked, ps, pe):
        if masked[m.start()] == ".":
            tok = re.search(r"(\S+)$", masked[s:m.start()])
            word = tok.group(1).lstrip("(“\"‘'") if tok else ""
            if word in _ABBREV or re.fullmatch(rf"(?:[{_UP}]\.)*[{_UP}]", word):
                continue
        out.append((s, m.end()))
        s = m.end()
        while s < pe and masked[s].isspace():
            s += 1
    if s < pe:
        out.append((s, pe))
    return out


def _is_headline(text: str, ps: int, pe: int) -> bool:
    """A single line without closing sentence punctuation (headline, caption, byline)."""
    para = text[ps:pe]
    core = para.rstrip("”’\"'»)] \t")
    return "\n" not in para and len(core.split()) <= 30 and not core.endswith(_TERMINAL[:6])


def _subject_np(region: str) -> str:
    """The subject noun phrase of an attribution from the text before its verb."""
    r = _TRAIL_RE.sub("", " " + region.strip()).rstrip()
    if r.endswith(","):  # "X, the acting defence secretary," / "X, who ...,"
        r = r[:-1]
        if (k := r.rfind(",")) >= 0:
            r = r[:k]
    r = r[r.rfind(",") + 1:]
    r = re.split(r"[;:()\[\]—–“”\"«»]|\s-\s", r)[-1]
    r = _CONJ_RE.split(r)[-1]
    return " ".join(r.split()[-10:])


def _gender_hint(region: str) -> str | None:
    words = set(re.findall(r"[a-z.]+", region.lower()))
    return "f" if words & _FEMALE else "m" if words & _MALE else None


class _Extractor:
    """Extraction state for one document (kept across the blocks of a streamed file)."""

    def __init__(self, file: str = "") -> None:
        self.file = file
        self.registry: dict[str, str] = {}   # surname / full name -> full name
        self.gender: dict[str, str] = {}
        self.titles: dict[str, str] = {}     # person -> title words seen before the name
        self.first_seen: dict[str, int] = {}
        self.events: list[tuple[int, str, str]] = []  # (position, name, "person" | "body")
        self.transcript = False
        self.in_turns = False               # a turn has been seen (streaming)
        self.last_turn: str | None = None   # speaker of the current turn; None for questions
        self.base = 0

    # ----------------------------------------------------------------- driver
    def feed(self, text: str, offset: int = 0) -> list[Statement]:
        self.base = offset
        turns = list(_TURN_RE.finditer(text))
        labels = [m.group("label") for m in turns if m.group("label") and m.group("label") != "Q"]
        if labels and (len(turns) > len(labels)  # there are questions
                       or any(_SPEAKER_LABEL_RE.match(x) for x in labels)):
            self.transcript = True
        article_end = len(text)
        cands: list[_Cand] = []
        if self.transcript:
            article_end = turns[0].start() if turns else len(text)
            if self.in_turns:  # the text before the first turn continues the previous block's last turn
                if self.last_turn is not None:
                    cands.append(self._turn(text, 0, article_end, self.last_turn))
                article_end = 0
            self.in_turns = self.in_turns or bool(turns)
            for m, nxt in zip(turns, [*turns[1:], None]):
                label = m.group("label")
                self.last_turn = None if not label or label == "Q" else re.sub(
                    r"[^\W\d_]+", lambda w: w.group().capitalize(), label)
                if self.last_turn:
                    cands.append(self._turn(text, m.end(), nxt.start() if nxt else len(text), self.last_turn))
        cands += self._article(text, article_end)
        out = self._resolve_all(text, [c for c in cands if c.parts])
        if len(self.events) > 2000:
            del self.events[:-500]
        return out

    def _turn(self, text: str, s: int, e: int, speaker: str) -> _Cand:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        return _Cand("turn", [(s, e)] if s < e else [], None, s, -1, speaker=speaker)

    def _article(self, text: str, end: int) -> list[_Cand]:
        paras = _paragraphs(text, end)
        chars = list(text)
        quotes = []
        for ps, pe in paras:
            qs = _find_quotes(text, ps, pe)
            for q in qs:  # hide quote contents from verb/name scanning, keep what sentences need
                keep = q.raw_end - 1 if text[q.raw_end - 1] in ".!?" else -1
                for i in range(q.open + 1, q.raw_end):
                    if i != keep and not chars[i].isspace():
                        chars[i] = "x"
                if q.cs < q.raw_end and text[q.cs].isupper():
                    chars[q.cs] = "X"
            quotes.append(qs)
        masked = "".join(chars)
        sents = [_sentences(masked, ps, pe) for ps, pe in paras]
        sent_starts = [[s for s, _ in ss_list] for ss_list in sents]
        headline = [_is_headline(text, ps, pe) and not (qs and not qs[-1].closed)
                    for (ps, pe), qs in zip(paras, quotes)]
        for pi, ss_list in enumerate(sents):
            if not headline[pi]:
                for ss, se in ss_list:
                    self._mentions(masked, ss, se)

        units = self._units(text, masked, paras, quotes)
        cands: list[_Cand] = []
        used: set[int] = set()  # start offsets of speech verbs already used by a quote
        last: tuple[_Attr, int] | None = None  # last attribution of a quote, its paragraph
        for u in units:
            if headline[u.para]:
                continue
            post = pre = None
            if u.parts[-1].closed:
                # after a quote ending in a full stop only a short subject can follow ("... .” he said)
                post = self._post_attr(text, masked, u.parts[-1].close, paras[u.last_para][1],
                                       4 if text[u.parts[-1].raw_end - 1] == "." else 8)
            o = u.parts[0].open
            k = bisect.bisect_right(sent_starts[u.para], o) - 1
            ss = max(sent_starts[u.para][k] if k >= 0 else paras[u.para][0], o - 400)
            pre = self._pre_attr(text, masked, ss, o, u.parts[-1].close)
            for a in (u.attr, post, pre):  # their verbs introduce this quote, even a scare quote
                if a:
                    used.add(a[2][0])
            attr = u.attr or post or pre
            long_enough = sum(len(text[q.cs:q.ce].split()) for q in u.parts) >= MIN_QUOTE_WORDS
            if attr is None and long_enough and (u.parts[0].open, u.parts[-1].close) == paras[u.para]:
                words = " ".join(re.findall(r"\w+", text[u.parts[0].cs:u.parts[0].ce].lower()))
                close = u.parts[-1].close
                later = " ".join(re.findall(r"\w+", text[close:close + 20000].lower()))
                if words in later:  # a pull quote repeating a later quote
                    continue
            if attr is None and last and (u.para == last[1] or (
                    u.para == last[1] + 1 and u.parts[0].open == paras[u.para][0])):
                attr = last[0]  # “A,” Peskov said. “B.”: B is Peskov's too
            if attr:
                last = (attr, u.last_para)
            if not long_enough:
                continue
            cands.append(_Cand("direct", [(q.cs, q.ce) for q in u.parts if q.ce > q.cs],
                               attr[0] if attr else None, attr[1] if attr else u.parts[0].open, u.para))
        for pi, ss_list in enumerate(sents):
            if not headline[pi]:
                cands += filter(None, (self._reported(text, masked, ss, se, used, pi) for ss, se in ss_list))
        # a long quote inside a reported clause ("said the move was “a grave ... mistake”") is
        # part of that reported statement; reported clauses never overlap (one per sentence)
        reported = sorted((c.parts[0][0], c.parts[-1][1]) for c in cands if c.kind == "reported")

        def inside(c: _Cand) -> bool:
            i = bisect.bisect_right(reported, (c.parts[0][0], len(text) + 1)) - 1
            return i >= 0 and c.parts[-1][1] <= reported[i][1]

        return [c for c in cands if c.kind != "direct" or not inside(c)]

    def _units(self, text: str, masked: str, paras: list[tuple[int, int]],
               quotes: list[list[_Quote]]) -> list[_Unit]:
        """Group quotes: a quote split by its attribution, and quotes continued over paragraphs."""
        units: list[_Unit] = []
        for pi, qs in enumerate(quotes):
            j = 0
            while j < len(qs):
                first = qs[j]
                unit = _Unit([first], pi, pi)
                while j + 1 < len(qs) and unit.parts[-1].closed:
                    q1, q2 = unit.parts[-1], qs[j + 1]
                    gap = masked[q1.close:q2.open]
                    m = _SPLIT_RE.match(masked, q1.close, q2.open)
                    comma = text[q1.cs:q1.raw_end].rstrip().endswith(",") or gap.lstrip().startswith(",")
                    if not m or not comma:
                        break
                    unit.attr = self._attr_from(text, m)
                    unit.parts.append(q2)
                    j += 1
                if (units and not units[-1].parts[-1].closed and units[-1].last_para == pi - 1
                        and first.open == paras[pi][0]):
                    prev = units[-1]
                    prev.parts += unit.parts
                    prev.attr = prev.attr or unit.attr
                    prev.last_para = pi
                else:
                    units.append(unit)
                j += 1
        return units

    @staticmethod
    def _attr_from(text: str, m: re.Match, max_words: int = 8) -> _Attr | None:
        """(subject text, position, verb span) of a _POST_RE / _SPLIT_RE match."""
        s, v = ("s1", "v1") if m.group("v1") else ("s2", "v2")
        region = text[m.start(s):m.end(s)]
        if len(region.split()) > max_words or re.match(r"\s*(?:and|but|or|which|that|as|while)\b", region):
            return None
        return region, m.start(v), m.span(v)

    def _post_attr(self, text: str, masked: str, close: int, pe: int, max_words: int) -> _Attr | None:
        """Attribution after a quote: ``“...,” she said``, ``“...,” said X``."""
        m = _POST_RE.match(masked, close, pe)
        return self._attr_from(text, m, max_words) if m else None

    @staticmethod
    def _pre_attr(text: str, masked: str, ss: int, o: int, close: int) -> _Attr | None:
        """Attribution before a quote: ``X said: “...”``, ``X told reporters, “...”``."""
        verbs = list(_VERB_RE.finditer(masked, ss, o))
        if not verbs:
            return None
        v = verbs[-1]
        tail = masked[v.end():o].strip()
        ends_sentence = (masked[close - 2:close - 1] in (".", "!", "?")
                         or re.match(r"\s*(?:[.!?…]|$)", masked[close:close + 2]))
        if (re.search(r"\bthat\b|[.!?“”\"«»]", tail) or len(tail.split()) > 8
                or (tail[-1:] not in (":", ",") and not (tail == "" and ends_sentence))
                or not text[ss:v.start()].strip()):
            return None
        return text[ss:v.start()], v.start(), v.span()

    def _reported(self, text: str, masked: str, ss: int, se: int,
                  used: set[int], pi: int) -> _Cand | None:
        for v in _VERB_RE.finditer(masked, ss, se):
            if v.start() in used:
                continue
            region = text[ss:v.start()]
            subject = _TRAIL_RE.sub("", " " + region).rstrip()
            # "X, the minister, said ..." is an appositive; "..., said X." is an inverted attribution
            start = self._clause_start(masked, v, se)
            if (start is not None and subject.strip() and re.search(r"\w", masked[ss:v.start()])
                    and (not subject.endswith(",") or subject.count(",") >= 2)):
                span = self._clause(masked, start, se)
                if span:
                    return _Cand("reported", [span], region, v.start(), pi)
            tail = masked[v.end():se]
            k = masked.rfind(",", ss, v.start())
            if k > ss and len(tail.split()) <= 8 and not re.search(r"\bthat\b", tail):
                subject = text[k + 1:v.start()] if text[k + 1:v.start()].strip() else tail
                span = self._clause(masked, ss, k)
                if span and len(subject.split()) <= 8 and len(text[span[0]:span[1]].split()) >= 4:
                    return _Cand("reported", [span], subject.strip(" .\t\n"), v.start(), pi)
        p = _PART_RE.search(masked, ss, se)
        if p:
            span = self._clause(masked, p.end(), se)
            if span:
                lead = re.sub(r"^(?:(?:In|On|At|After|Before|During|Since|Last|Earlier|Later|Meanwhile|"
                              r"However|Speaking|Asked|Also)\b[^,]{0,80},\s*)", "", text[ss:p.start()])
                words: list[str] = []
                for w in lead.split():
                    if w[:1].islower() and w.lower() not in _NP_WORDS:
                        break
                    words.append(w)
                    if w.endswith(","):
                        break
                return _Cand("reported", [span], " ".join(words), p.start(), pi)
        return None

    @staticmethod
    def _clause_start(masked: str, v: re.Match, se: int) -> int | None:
        verb, rest = v.group(), masked[v.end():se]
        if verb.startswith("describe"):
            return v.end() if re.match(r"\s+[^.;:!?]{1,80}?\s+as\s", rest) else None
        m = _THAT_RE.match(rest)
        if m and (not m.group(1) or verb in ("told", "tells") or m.group(1).split()[0] in _ADJ_START):
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

    @staticmethod
    def _clause(masked: str, s: int, e: int) -> tuple[int, int] | None:
        """The reported clause in masked[s:e], minus attribution tails and final punctuation."""
        while s < e and (masked[s].isspace() or masked[s] in ",:;—–-"):
            s += 1
        while True:
            while e > s and (masked[e - 1].isspace() or masked[e - 1] in ".,;:"):
                e -= 1
            for rx in _TRIM_RES:
                m = rx.search(masked, s, e)
                if m and m.start() > s:
                    e = m.start()
                    break
            else:
                break
        words = masked[s:e].split()
        return (s, e) if len(words) >= 3 and words[0].lower() not in _PREPS else None

    # ----------------------------------------------------------------- names and speakers
    def _mentions(self, masked: str, ss: int, se: int) -> None:
        """Record the people named in a sentence (full names, gender and titles)."""
        for m in _RUN_RE.finditer(masked, ss, se):
            toks = m.group().split()
            while toks and (toks[0].rstrip(".") in _STOP or toks[0] in _CALENDAR):
                toks.pop(0)
            if not toks or any(t in _CALENDAR or t in _BODY_WORDS for t in toks):
                continue
            cut = max((i for i, t in enumerate(toks[:-1]) if t.rstrip(".") in _TITLES), default=-1)
            before = masked[max(ss, m.start() - 40):m.start()].split()[-3:] + toks[:cut + 1]
            toks = toks[cut + 1:]
            if len(toks) >= 2:
                full = " ".join(toks)
                for t in toks[1:]:
                    self.registry[t] = full
                self.registry[full] = full
                hint = _gender_hint(" ".join(before))
                if hint:
                    self.gender.setdefault(full, hint)
                if before:
                    self.titles[full] = " ".join(before).lower()
            elif toks[0] in self.registry:
                full = self.registry[toks[0]]
            else:
                continue
            pos = self.base + m.start()
            self.first_seen.setdefault(full, pos)
            bisect.insort(self.events, (pos, full, "person"))

    def _canon(self, run: str) -> tuple[str, str]:
        """Name and kind ("person" / "body") of a capitalised run, titles dropped."""
        toks = [t for t in run.split() if t not in _CALENDAR]
        while len(toks) > 1 and toks[0].rstrip(".") in _STOP:
            toks.pop(0)
        if not toks or toks[0] in _STOP:
            return "", ""
        if any(t in _BODY_WORDS for t in toks):
            return " ".join(toks), "body"
        cut = max((i for i, t in enumerate(toks[:-1]) if t.rstrip(".") in _TITLES), default=-1)
        toks = toks[cut + 1:]
        name = " ".join(toks)
        if name in self.registry:
            return self.registry[name], "person"
        if len(toks) == 1:
            if name in _PLACES or name.isupper() or name.endswith(("land", "stan")):
                return name, "body"
            return name, "person"
        full = self.registry.get(toks[-1], "")
        return (full if full.endswith(name) else name), "person"

    def _resolve(self, region: str, pos: int) -> tuple[str, str]:
        np = _subject_np(region)
        if np and (g := _GLUE_RE.fullmatch(np.split()[-1])):
            np = g.group(1)  # "troops in VenezuelaRussia said": a caption glued to the sentence
        low = np.lower()
        if not np or low in ("i", "we", "you"):
            return "", ""
        if low in ("he", "she"):
            return self._person(pos, "m" if low == "he" else "f")
        if low in ("it", "they"):
            found = self._body(pos)
            return found if found[0] or low == "it" else self._person(pos, None)
        definite = low.startswith("the ")
        bare = re.sub(r"^(?:the|a|an)\s+", "", np, flags=re.I)
        m = _TRAIL_RUN_RE.search(bare)
        before = bare[:m.start()].split() if m else []
        # "attache in Moscow" is not Moscow, but "Secretary of State Mike Pompeo" is Mike Pompeo
        if m and not (before and before[-1].lower() in _PREPS
                      and not (before[-1] == "of" and len(before) > 1 and before[-2][:1].isupper())):
            name, kind = self._canon(m.group())
            if name:
                hint = _gender_hint(region)
                if kind == "person" and hint:
                    self.gender.setdefault(name, hint)
                return name, kind
        head = re.split(r"\s(?:in|of|at|for|from|to|on|with)\s", bare)[0].split()[-1].lower()
        if definite and head in _PERSON_TITLES:
            found = self._person(pos, "f" if head in _FEMALE else "m" if head in _MALE else None, head)
            if found[0]:
                return found
        if definite and head in _BODY_NOUNS and bare == bare.lower():
            found = self._body(pos, head)
            if found[0]:
                return found
        return bare, "desc:" + head

    def _before(self, pos: int) -> Iterator[tuple[int, str, str]]:
        i = bisect.bisect_left(self.events, (pos,))
        for j in range(i - 1, max(-1, i - 301), -1):  # look back a few hundred mentions at most
            yield self.events[j]

    def _person(self, pos: int, gender: str | None, title: str | None = None) -> tuple[str, str]:
        """The last named person before ``pos`` that fits ``gender`` (and ``title``)."""
        seen: list[str] = []
        for _, name, kind in self._before(pos):
            if kind == "person" and name not in seen:
                seen.append(name)
                if len(seen) == 6:
                    break
        fits = [n for n in seen if gender is None or self.gender.get(n, gender) == gender]
        ranked = ([n for n in fits if title and title in self.titles.get(n, "")]
                  + [n for n in fits if gender and self.gender.get(n) == gender] + fits)
        if not ranked:
            return "", ""
        if gender:
            self.gender.setdefault(ranked[0], gender)
        return ranked[0], "person"

    def _body(self, pos: int, head: str | None = None) -> tuple[str, str]:
        for _, name, kind in self._before(pos):
            if kind == "body" and (head is None or head in name.lower()):
                return name, "body"
        return "", ""

    def _resolve_all(self, text: str, cands: list[_Cand]) -> list[Statement]:
        cands.sort(key=lambda c: c.parts[0])
        for c in cands:
            pos = self.base + c.pos
            if c.speaker is not None:
                c.resolved = (c.speaker, "turn")
            elif c.region is not None:
                c.resolved = self._resolve(c.region, pos)
            name, kind = c.resolved
            head = kind.removeprefix("desc:")
            kind = "body" if head in _BODY_NOUNS else "person" if head in _PERSON_TITLES else kind
            if name and kind in ("person", "body"):  # also "the ministry" -> later "it"
                self.first_seen.setdefault(name, pos)
                bisect.insort(self.events, (pos, name, kind))
        # "Venezuela's military attache said ... ", then "..., Jose Perez was quoted as saying."
        for c, nxt in zip(cands, cands[1:]):
            head = c.resolved[1].removeprefix("desc:")
            if (c.resolved[1].startswith("desc:") and head in _PERSON_TITLES and nxt.resolved[1] == "person"
                    and 0 <= nxt.para - c.para <= 1
                    and self.first_seen.get(nxt.resolved[0], 0) > self.base + c.pos):
                c.resolved = nxt.resolved
        return [Statement(" ".join(text[s:e] for s, e in c.parts), c.resolved[0], c.kind,
                          self.base + c.parts[0][0], self.base + c.parts[-1][1], self.file)
                for c in cands]
