"""Behavioural tests of a stance model, in the manner of CheckList (Ribeiro et al., 2020).

Templated statements built from real actors, with the label ``data/CODEBOOK.md`` gives them:

- minimum-functionality tests (MFT): a statement whose label the codebook fixes; the failure rate
  is the share the model labels otherwise (``none`` included);
- invariance tests (INV): a statement and a perturbation that must not change the label (direct
  quote vs reported speech, curly vs straight quotes, actor names swapped within a role, casing,
  a trailing attribution); the failure rate is the share of pairs whose labels differ;
- directional tests (DIR): adding "or face consequences" must not lower P(threaten).

The templates live here, in the code, and nowhere in the training data (a test in the suite checks
that none of them appears in ``data/quotes.jsonl``).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Real actors: a speaker (name, role) on each side, and the side's state name.
SIDES = {
    "Russia": {"state": "Russia", "speakers": ["Dmitry Peskov, Kremlin spokesman",
                                               "Maria Zakharova, Russian Foreign Ministry spokeswoman",
                                               "Sergei Lavrov, Russian foreign minister"]},
    "United States": {"state": "the United States", "speakers": ["John Kirby, White House national security spokesman",
                                                                 "Antony Blinken, US secretary of state",
                                                                 "Matthew Miller, State Department spokesman"]},
    "China": {"state": "China", "speakers": ["Wang Wenbin, Chinese Foreign Ministry spokesman",
                                             "Mao Ning, Chinese Foreign Ministry spokeswoman"]},
    "Iran": {"state": "Iran", "speakers": ["Nasser Kanaani, Iranian Foreign Ministry spokesman",
                                           "Hossein Amir-Abdollahian, Iranian foreign minister"]},
}
# Who stands against whom in these templates.
RIVALS = [("Russia", "United States"), ("United States", "Russia"), ("China", "United States"),
          ("United States", "China"), ("Iran", "United States"), ("United States", "Iran")]
PLACES = {"Russia": "near the Ukrainian border", "United States": "in the Baltic states",
          "China": "around Taiwan", "Iran": "in the Strait of Hormuz"}

MFT = {
    "own denial of hostility -> reassure": ("reassure", [
        "{own} poses no threat to {other} or to anyone else.",
        "{own} has no intention of attacking {other}.",
        "Our forces {place} are there for defensive purposes only and threaten no one.",
        "{own} is not seeking a confrontation with {other}.",
        "The exercises {place} are routine and are not directed against any country.",
        "We have never planned any aggression against {other}, and we do not plan any now.",
    ]),
    "rejection of the other side's claim -> dismiss": ("dismiss", [
        "The claims by {other} that {own} is preparing an attack are absurd and groundless.",
        "What {other} is saying about us is pure propaganda, and nobody should take it seriously.",
        "We reject the accusations made by {other} as a fabrication from start to finish.",
        "The allegations from {other} are nonsense, invented to justify its own policy.",
        "Frankly, I do not believe a word of what {other} says on this subject.",
    ]),
    "explicit threat -> threaten": ("threaten", [
        "If {other} crosses this line, {own} will respond with force.",
        "{other} will pay a very heavy price for any attack on us.",
        "We will impose severe sanctions on {other} if it does not stop immediately.",
        "All options are on the table to make {other} back down.",
        "Any aggression by {other} will be met with a swift and crushing response.",
    ]),
    "conditional threat -> threaten": ("threaten", [
        "Should {other} deploy those missiles, we will have no choice but to retaliate.",
        "Unless {other} withdraws within days, it will face serious consequences.",
        "If {other} continues down this path, the response will be painful for it.",
    ]),
}

# The same denial is reassure from the side it clears (own hostility, rule 3) and, as a rejection of
# that side's story, dismiss from its rival (rules 3 and 19): a minimal pair that differs in the speaker's
# side and the attribution the speaker gives.
FLIP = [
    ("{own} is not threatening anyone and has no plans to attack {other}.",
     "The claim by {own} that it is not threatening anyone and has no plans to attack {other} is a lie."),
    ("Our troops {place} are only carrying out routine training.",
     "{own}'s story that its troops {place} are only carrying out routine training is not credible."),
]

DIRECTIONAL = [
    "{other} must stop its military build-up {oplace}.",
    "We call on {other} to withdraw its ships from the area.",
    "{other} has to end its support for the attacks.",
    "{other} should release the detained sailors.",
]

INVARIANCE_BASE = [
    ("{own} poses no threat to {other}.", "reassure"),
    ("If {other} attacks, we will respond with force.", "threaten"),
    ("These accusations by {other} are absurd.", "dismiss"),
    ("We have no intention of escalating the situation.", "reassure"),
    ("{other} will face consequences for this provocation.", "threaten"),
]


@dataclass
class Case:
    test: str  # the capability
    kind: str  # MFT / INV / DIR
    text: str
    speaker: str
    expected: str | None = None  # MFT
    pair: tuple[str, str] | None = None  # INV / DIR: the perturbed text and speaker
    template: str = ""  # the template the case was filled from


@dataclass
class Suite:
    cases: list[Case] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [c.text for c in self.cases]


def _fill(template: str, own: str, other: str) -> str:
    s = template.format(own=SIDES[own]["state"], other=SIDES[other]["state"], place=PLACES[own],
                        oplace=PLACES[other])
    return s[0].upper() + s[1:]


_PAST = {"poses": "posed", "attacks": "attacked", "has": "had", "have": "had", "is": "was", "are": "were",
         "will": "would", "can": "could", "we": "they", "We": "they", "us": "them", "our": "their", "Our": "their"}


def _third_person(sentence: str, speaker: str) -> str:
    """Reported speech: 'Peskov said that Russia posed ...' (third person, tense shifted back)."""
    import re

    name = speaker.split(",")[0]
    body = sentence.rstrip(".")
    if not body.startswith(("Russia", "China", "Iran")):
        body = body[0].lower() + body[1:]
    body = re.sub(r"\b(" + "|".join(_PAST) + r")\b", lambda m: _PAST[m.group(1)], body)
    return f"{name} said that {body}."


def build_suite() -> Suite:
    suite = Suite()
    for test, (label, templates) in MFT.items():
        for t, (own, other) in itertools.product(templates, RIVALS):
            for spk in SIDES[own]["speakers"][:2]:
                suite.cases.append(Case(test, "MFT", _fill(t, own, other), spk, expected=label))
    for (a, b), (own, other) in itertools.product(FLIP, RIVALS):
        suite.cases.append(Case("speaker on the other side flips reassure/dismiss", "MFT", _fill(a, own, other),
                                SIDES[own]["speakers"][0], expected="reassure"))
        suite.cases.append(Case("speaker on the other side flips reassure/dismiss", "MFT", _fill(b, own, other),
                                SIDES[other]["speakers"][0], expected="dismiss"))
    for (t, _), (own, other) in itertools.product(INVARIANCE_BASE, RIVALS):
        text, spk = _fill(t, own, other), SIDES[own]["speakers"][0]
        name = spk.split(",")[0]
        quoted = f"“{text}”"
        swap_own = [o for o in SIDES if o not in (own, other)][0]
        perturbations = {
            "direct quote vs reported speech": (_third_person(text, spk), spk),
            "curly vs straight quotes": (quoted.replace("“", '"').replace("”", '"'), spk),
            "actor names swapped within the same role": (
                _fill(t, own, swap_own), SIDES[own]["speakers"][1]),
            "casing": (text.lower(), spk),
            "trailing attribution": (f"{text[:-1]}, {name} said.", spk),
        }
        for test, (ptext, pspk) in perturbations.items():
            base = quoted if test == "curly vs straight quotes" else text
            suite.cases.append(Case(test, "INV", base, spk, pair=(ptext, pspk), template=t))
    for t, (own, other) in itertools.product(DIRECTIONAL, RIVALS):
        text, spk = _fill(t, own, other), SIDES[own]["speakers"][0]
        suite.cases.append(Case('adding "or face consequences" does not lower P(threaten)', "DIR", text, spk,
                                pair=(text[:-1] + ", or face consequences.", spk)))
    return suite


def run_suite(clf, suite: Suite | None = None, batch_size: int = 64) -> dict:
    """Run every case through ``clf`` (a ``StanceClassifier``, or anything with ``predict(texts,
    speakers=...)`` and ``labels``) and return failure rates per capability, with failing examples."""
    suite = suite or build_suite()
    cases = suite.cases
    first = clf.predict([c.text for c in cases], batch_size=batch_size, speakers=[c.speaker for c in cases])
    paired = [c for c in cases if c.pair]
    second = clf.predict([c.pair[0] for c in paired], batch_size=batch_size, speakers=[c.pair[1] for c in paired])
    second_of = {id(c): p for c, p in zip(paired, second)}
    results: dict[str, dict] = {}
    for c, p in zip(cases, first):
        r = results.setdefault(c.test, {"kind": c.kind, "n": 0, "failures": 0, "examples": []})
        r["n"] += 1
        if c.kind == "MFT":
            failed, shown = p.label != c.expected, f"expected {c.expected}, got {p.label}"
        elif c.kind == "INV":
            q = second_of[id(c)]
            failed, shown = p.label != q.label, f"{p.label} -> {q.label}: {c.pair[0]!r}"
        else:
            q = second_of[id(c)]
            drop = p.probabilities.get("threaten", 0.0) - q.probabilities.get("threaten", 0.0)
            failed, shown = drop > 0.01, f"P(threaten) {p.probabilities.get('threaten', 0):.3f} -> {q.probabilities.get('threaten', 0):.3f}"
        if failed:
            r["failures"] += 1
            if len(r["examples"]) < 3:
                r["examples"].append({"text": c.text, "speaker": c.speaker, "result": shown})
    for r in results.values():
        r["failure_rate"] = r["failures"] / r["n"] if r["n"] else float("nan")
        r["target"] = 0.10 if r["kind"] == "MFT" else 0.05
        r["met"] = r["failure_rate"] <= r["target"]
    return results


def markdown(results: dict, title: str = "Behavioural tests") -> str:
    lines = [f"## {title}", "",
             "Templated statements from real actors (CheckList-style; templates in `stance.evaluation.behaviour`, never "
             "in the training data). Target: failure rate <= 10% for minimum-functionality (MFT) tests, <= 5% label "
             "flips for invariance (INV) tests; directional (DIR) tests count a drop of P(threaten) over 0.01 as a failure.", "",
             "| test | type | cases | failure rate | target |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['kind']} | {r['n']} | {r['failure_rate']:.1%} | "
                     f"{'met' if r['met'] else '**missed**'} (<= {r['target']:.0%}) |")
    lines += [""]
    for name, r in results.items():
        if r["examples"]:
            lines.append(f"- {name}: " + "; ".join(f"{e['text']!r} ({e['speaker']}): {e['result']}" for e in r["examples"][:2]))
    return "\n".join(lines) + "\n"


def check_command(argv: list[str]) -> int:
    """``stance check --model MODEL [--output DIR]``: run the behavioural suite and write a report."""
    from ..command_line import Command

    cmd = Command("check", "check", "Behavioural tests (CheckList-style) of a checkpoint.")
    cmd.add("model", setting="model_path", nargs="?", metavar="MODEL", help="checkpoint folder (e.g. outputs/latest)")
    cmd.add("--model", setting="model_path", dest="model_flag", metavar="MODEL", help="the same, as a flag")
    cmd.add("--output", setting="output_dir", help="folder for behaviour.md and behaviour.json (null: print only)")
    return cmd.run(argv, _check)


def _check(args, cfg) -> int:
    from ..inference import StanceClassifier

    try:
        clf = StanceClassifier.load(cfg.model_path)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    results = run_suite(clf)
    text = markdown(results, f"Behavioural tests of {cfg.model_path}")
    print(text)
    if cfg.output_dir:
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        from ..atomic import atomic_write_text

        atomic_write_text(out / "behaviour.md", text)
        atomic_write_text(out / "behaviour.json", json.dumps(results, indent=2) + "\n")
        print(f"written: {out / 'behaviour.md'}")
    return 0 if all(np.isfinite(r["failure_rate"]) for r in results.values()) else 1
