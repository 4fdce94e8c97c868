"""What the model reads: the statement, and optionally a second segment (the speaker, or the
speaker's previous sentence). One definition, used the same way in training and in every entry point.

The speaker segment is the speaker as extracted or given ("Dmitry Peskov, Kremlin spokesman") and,
where the data records it, the side the speaker speaks for ("Mr. Kirby, United States"): the side
decides between reassure (denying one's own hostility) and dismiss (rejecting the other side's claim).
An empty segment means a single-segment input, which the model also learns (speaker dropout), so a
statement without a known speaker is read as well as it can be.
"""
from __future__ import annotations

from collections.abc import Sequence

INPUT_FORMATS = ("text", "text+speaker", "text+context")


def speaker_segment(speaker: str | None, side: str | None = None) -> str:
    """``"speaker, side"``, or just the one that is known; the side is left out when the speaker names it."""
    speaker, side = (speaker or "").strip(), (side or "").strip()
    if side and side.lower() not in speaker.lower():
        return f"{speaker}, {side}" if speaker else side
    return speaker


def dataset_speakers(rows) -> list[str]:
    """The speaker segment of every row of a labelled split (a ``datasets.Dataset`` or a DataFrame with
    ``speaker`` and ``side`` columns), as training built it."""
    return [speaker_segment(speaker, side) for speaker, side in zip(rows["speaker"], rows["side"])]


def input_format(meta: dict) -> str:
    """A checkpoint's input format (older checkpoints recorded only ``use_context``)."""
    fmt = meta.get("input_format") or ("text+context" if meta.get("use_context") else "text")
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"input format {fmt!r} is not one of {INPUT_FORMATS}")
    return fmt


def second_segments(fmt: str, n: int, *, speakers: Sequence[str] | None = None,
                    contexts: Sequence[str] | None = None) -> list[str] | None:
    """The second segment of each of ``n`` inputs for a model of format ``fmt`` (None: single segments).
    Inputs the format does not read are ignored; a missing speaker or context is an empty segment."""
    for name, given in (("speakers", speakers), ("contexts", contexts)):
        if given is not None and len(given) != n:
            raise ValueError(f"{len(given)} {name} for {n} texts")
    if fmt == "text+speaker":
        return [(s or "").strip() for s in speakers] if speakers is not None else [""] * n
    if fmt == "text+context":
        return [(c or "").strip() for c in contexts] if contexts is not None else [""] * n
    return None
