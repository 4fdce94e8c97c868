"""Reported-speech augmentation (training only): a first-person statement rewritten as news reports it.

"We will respond to any attack," said by Mr. Kirby, becomes "Mr. Kirby said that they would respond
to any attack." The stance stays the same: the words are the speaker's own, only attributed, put in the
third person and shifted back in tense. The codebook (rule 19) reads such reported speech as the
speaker's own words. Only statements whose first person is plural ("we", "our", "us") and that have a
known speaker are rewritten. Singular "I" would need the speaker's gender, so those statements are
left as they are. The rewritten rows are marked ``origin="augmented"``. They are made from the train
split after splitting, so they never reach validation or test. ``data.augment_reported`` switches the
augmentation on; it is kept only if validation shows it helps (see the README).
"""
from __future__ import annotations

import re

AUGMENTED_SUFFIX = "#reported"  # appended to the id of the statement a copy was made from
_PRONOUNS = {"we": "they", "us": "them", "our": "their", "ours": "theirs", "ourselves": "themselves"}
_BACKSHIFT = {
    "is": "was", "are": "were", "am": "was", "will": "would", "can": "could", "shall": "should", "may": "might",
    "have": "had", "has": "had", "do": "did", "does": "did",
    "isn't": "wasn't", "aren't": "weren't", "won't": "wouldn't", "can't": "couldn't", "don't": "didn't",
    "doesn't": "didn't", "haven't": "hadn't", "hasn't": "hadn't", "cannot": "could not",
}
_CONTRACTIONS = {"we're": "they were", "we'll": "they would", "we've": "they had", "we'd": "they would"}
_SINGULAR = re.compile(r"\b(I|me|my|mine|myself)\b|\bI[’']")
_PLURAL = re.compile(r"\b(we|us|our|ours|ourselves)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+(?:[’'][A-Za-z]+)?")
_QUOTES = "\"“”‘’'«»"
# sentence-initial words that are not names, lowered after "said that"
_NO_SHIFT_AFTER = {"would", "could", "should", "might", "must", "to", "will", "can", "shall", "may", "did", "had",
                   "was", "were", "not", "n't"}
_COMMON_START = {"where", "however", "whether", "because", "although", "after", "before", "since", "until",
                 "unless", "once", "here", "then", "also", "both", "every", "each", "many", "most", "some", "only",
                 "even", "just", "first", "finally", "over", "from", "by", "to", "of", "indeed", "why", "how",
                 "who", "which", "they", "their", "them", "yet", "instead", "rather", "right", "well", "look",
                 "again", "more", "meanwhile", "moreover", "furthermore", "therefore", "thus", "still", "one",
                 "we", "our", "the", "this", "that", "these", "those", "there", "it", "and", "but", "so", "as",
                 "if", "no", "nobody", "nothing", "any", "all", "now", "today", "together", "let", "in",
                 "on", "at", "for", "with", "without", "when", "while", "what", "whatever", "such", "not", "yes"}


def to_reported_speech(text: str, speaker: str) -> str | None:
    """``text`` as reported speech attributed to ``speaker``, or None where the rule does not apply
    (no speaker, no plural first person, any singular first person)."""
    speaker = (speaker or "").strip().rstrip(",")
    body = text.strip().strip(_QUOTES).strip()
    if not speaker or not body or _SINGULAR.search(body) or not _PLURAL.search(body):
        return None

    parts, prev, last = [], "", 0
    for match in _WORD.finditer(body):
        word = match.group(0)
        key = word.lower().replace("’", "'")
        new = _CONTRACTIONS.get(key) or _PRONOUNS.get(key)
        if new is None and prev not in _NO_SHIFT_AFTER:  # "would do", "to have": no second backshift
            new = _BACKSHIFT.get(key)
        if new is not None:
            new = new.replace("'", "’") if "’" in word else new
            new = new[0].upper() + new[1:] if word[0].isupper() else new
        parts += [body[last:match.start()], new or word]
        last, prev = match.end(), (new or word).lower().split()[-1]
    shifted = "".join(parts) + body[last:]
    first = shifted.split(" ", 1)[0]
    if first.lower().strip(",") in _COMMON_START:
        shifted = shifted[0].lower() + shifted[1:]
    if shifted[-1] not in ".!?":
        shifted += "."
    if shifted[-1] in "!?":
        shifted = shifted[:-1] + "."
    return f"{speaker} said that {shifted}"


def augment_rows(rows: list[dict]) -> list[dict]:
    """One reported-speech copy of each row the rule applies to (``origin`` set to ``augmented``, ``kind``
    to ``reported``, the ``id`` suffixed ``#reported``); rows already reported are left out."""
    out = []
    for row in rows:
        if row.get("kind") == "reported" or row.get("origin") == "augmented":
            continue
        text = to_reported_speech(row["text"], row.get("speaker") or "")
        if text is not None:
            out.append({**row, "text": text, "kind": "reported", "origin": "augmented", "id": row["id"] + AUGMENTED_SUFFIX})
    return out
