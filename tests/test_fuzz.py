"""Property tests (Hypothesis): no input crashes the extractor, the predict readers, data validation
or checkpoint loading; every bad unit is reported with its file and line and the rest is processed.

`make test` runs the "ci" profile (a few examples per target, well under a minute); `make fuzz` runs
the "fuzz" profile (HYPOTHESIS_PROFILE=fuzz, over 20,000 examples in all) and prints the count."""
from __future__ import annotations

import codecs
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import make_records

settings.register_profile("ci", max_examples=20, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("fuzz", max_examples=1000, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

COUNTS: Counter = Counter()  # examples run per target (printed by `make fuzz`)
CRASHES: Counter = Counter()  # examples that raised (each failure, shrinking steps included)
FIRST: dict = {}  # the first exception per target


def counted(target: str):
    """Count the examples run on ``target`` and those that failed."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            COUNTS[target] += 1
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                if type(exc).__module__.startswith("hypothesis"):  # its own control flow, not a crash
                    raise
                CRASHES[target] += 1
                FIRST.setdefault(target, f"{type(exc).__name__}: {str(exc)[:300]}")
                raise
        return run
    return wrap


def budget(ci: int, fuzz: int):
    """Examples for one target under the active profile."""
    return settings(max_examples=fuzz if PROFILE == "fuzz" else ci)


# -- inputs ----------------------------------------------------------------------------------------
_WORDS = ["Russia", "said", "that", "“", "”", '"', "'", "«", "»", "‘", "’", "Peskov", "she", "told", "reporters",
          "MR. KIRBY:", "Q:", "the Kremlin", "spokeswoman", ",", ".", "\n", "\n\n", "\r\n", "\t", " ", "all options",
          "are on the table", "warned", "according to", "described them as", "\ufeff", "\x00", "é", "😀"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_WORDS), max_size=80).map(" ".join),
    st.lists(st.sampled_from(_WORDS), max_size=80).map("".join),
)


line_endings = st.sampled_from(["\n", "\r\n", "\n", "\r\n"])


@st.composite
def bad_bytes(draw) -> bytes:
    return draw(st.sampled_from([b"\xff\xfe", b"\xe2\x80", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\x80abc"]))


# -- 1. the extractor ---------------------------------------------------------------------------------
def _check_statements(source: str, statements) -> None:
    for s in statements:
        assert isinstance(s.speaker, str) and isinstance(s.text, str) and s.text
        assert s.kind in ("direct", "reported", "turn")
        assert 0 <= s.start < s.end <= len(source)
        span = source[s.start:s.end]
        if s.text != span:  # parts joined with one space: each word is found, in order, in the span
            pos = 0
            for word in s.text.split():
                found = span.find(word, pos)
                assert found >= 0, (s, word, span)
                pos = found + len(word)


@budget(60, 8000)
@given(texts)
@counted("extractor (text)")
def test_extractor_any_text(text):
    from stance.extraction import extract_statements

    _check_statements(text, extract_statements(text, "f.txt"))


@budget(15, 1500)
@given(st.binary(max_size=400) | st.lists(texts, max_size=4).map(lambda xs: "\n".join(xs).encode("utf-8", "surrogatepass")))
@counted("extractor (file bytes)")
def test_extract_file_any_bytes(raw):
    from stance.extraction import extract_file, read_text

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.txt"
        path.write_bytes(raw)
        try:
            statements, warnings = extract_file(path)
        except ValueError as exc:
            assert str(path) in str(exc) and "binary" in str(exc)
            return
        assert all(str(path) in str(w) for w in warnings)
        text, _ = read_text(path)
        _check_statements(text, statements)


# -- 2. the predict readers -------------------------------------------------------------------------------
@st.composite
def quote_files(draw):
    """A .txt/.jsonl/.csv file of good and bad units (each on its own line), mixed line endings, a BOM,
    huge lines, NULs, invalid or truncated UTF-8; with the line numbers of the good and bad units."""
    suffix = draw(st.sampled_from([".txt", ".jsonl", ".csv"]))
    n = draw(st.integers(1, 12))
    units = []
    for i in range(n):
        kind = draw(st.sampled_from(["good", "good", "good", "blank", "nul", "badutf8", "huge", "badjson", "notext"]))
        if suffix == ".txt" and kind in ("badjson", "notext"):
            kind = "good"
        if suffix == ".csv" and kind in ("badjson", "badutf8"):
            kind = "good"
        words = draw(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30))
        text = f"statement {i} {words}".strip()
        if kind == "huge":
            text = "x" * draw(st.sampled_from([70_000, 140_000]))
        if suffix == ".jsonl":
            body = {"good": json.dumps({"id": str(i), "text": text}, ensure_ascii=draw(st.booleans())),
                    "huge": json.dumps({"text": text}), "badjson": draw(st.sampled_from(
                        ['{"text": "unterminated', "[" * 5000 + "]" * 5000, "1" * 5000, "{,}", '"just a string"'])),
                    "notext": json.dumps({"id": str(i), "text": draw(st.sampled_from(["", "   ", None, 3, []]))})}.get(kind)
        elif suffix == ".csv":
            body = {"good": '"' + text.replace('"', '""') + '"', "huge": text, "notext": '""'}.get(kind)
        else:
            body = {"good": text, "huge": text}.get(kind)
        raw = (body or "").encode("utf-8")
        if kind == "blank":
            raw = b"   "
        elif kind == "nul":
            raw = b"statement with a \x00 NUL"
        elif kind == "badutf8":
            bad = draw(bad_bytes().filter(lambda b: b"\x00" not in b))
            raw = (json.dumps({"text": text})[:-2].encode() + bad + b'"}') if suffix == ".jsonl" else text.encode() + bad
        units.append((kind, raw, text))
    if units[0][0] == "nul":  # a NUL on the first line means a binary file: tested separately
        text = units[0][2]
        body = {".jsonl": json.dumps({"text": text}), ".csv": '"' + text.replace('"', '""') + '"'}.get(suffix, text)
        units[0] = ("good", body.encode(), text)
    ends = [draw(line_endings) for _ in units]
    header = b"text\r\n" if suffix == ".csv" else b""
    data = header + b"".join(raw + e.encode() for (_, raw, _), e in zip(units, ends))
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    if draw(st.booleans()) and data.endswith(b"\n"):
        data = data.rstrip(b"\r\n")  # no newline at the end
    return suffix, data, units, bool(header)


@budget(40, 4000)
@given(quote_files())
@counted("predict readers (structured)")
def test_quote_readers_report_each_bad_line_and_keep_the_rest(case):
    from stance.predict import Problems, read_quotes

    suffix, data, units, has_header = case
    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / f"q{suffix}")
        Path(path).write_bytes(data)
        problems = Problems()
        problems.add = problems.messages.append  # quiet
        items = list(read_quotes(path, problems))
    messages = [str(m) for m in problems.messages]  # Problem objects, in the file:line: message form
    offset = 1 + has_header
    good = {i + offset for i, (k, _, _) in enumerate(units) if k in ("good", "huge", "badutf8")}
    bad = {i + offset for i, (k, _, _) in enumerate(units) if k in ("nul", "badjson", "notext")}
    assert {it.line for it in items} == good, (messages, [it.line for it in items])
    assert all(it.file == path and it.text.strip() == it.text and it.text for it in items)
    for line in bad:
        assert any(m.startswith(f"{path}:{line}:") for m in messages), (line, messages)
    for i, (k, _, text) in enumerate(units):
        if k == "badutf8":
            assert any(m.startswith(f"{path}:{i + offset}:") and "UTF-8" in m for m in messages)
        if k in ("good", "huge"):
            assert any(it.text == text for it in items)
    assert all(m.startswith(path) for m in messages)


@budget(30, 3000)
@given(st.binary(max_size=600), st.sampled_from([".txt", ".jsonl", ".csv"]))
@counted("predict readers (random bytes)")
def test_quote_readers_any_bytes(raw, suffix):
    from stance.predict import Problems, read_quotes

    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / f"q{suffix}")
        Path(path).write_bytes(raw)
        problems = Problems()
        problems.add = problems.messages.append
        try:
            items = list(read_quotes(path, problems))
        except ValueError as exc:  # only a binary file stops a whole file, and it says which
            assert str(exc).startswith(f"{path}: binary file")
            return
    n_lines = raw.count(b"\n") + 1
    assert all(it.file == path and 1 <= it.line <= n_lines + raw.count(b"\r") and it.text for it in items)
    assert all(str(m).startswith(path) for m in problems.messages)


@budget(15, 1500)
@given(st.binary(max_size=400) | texts.map(lambda t: t.encode("utf-8", "surrogatepass")))
@counted("predict readers (stdin)")
def test_stdin_reader_any_bytes(raw):
    import io

    from stance.predict import Problems, read_articles

    problems = Problems()
    problems.add = problems.messages.append
    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(raw))
    try:
        items = list(read_articles(["-"], problems))
    finally:
        sys.stdin = old
    messages = [str(m) for m in problems.messages]
    assert all(m.startswith("<stdin>") for m in messages), messages
    assert all(it.file == "<stdin>" and isinstance(it.speaker, str) and it.text for it in items)
    if b"\x00" in raw[:8192]:
        assert not items and any("binary" in m for m in messages)


# -- 3. data validation ---------------------------------------------------------------------------------
REAL = [json.loads(line) for line in (Path(__file__).resolve().parents[1] / "data" / "quotes.jsonl")
        .read_text(encoding="utf-8").splitlines()[:400] if line.strip()]
FIELDS = ["id", "text", "label", "speaker", "source", "doc", "genre", "origin", "date", "context_before"]


@st.composite
def corruptions(draw):
    """One real row broken in one way; which line, and the field when the breakage is in one."""
    row = dict(draw(st.sampled_from(REAL)))
    how = draw(st.sampled_from(["drop", "type", "label", "empty", "genre", "origin", "truncate", "bytes",
                                "notobject", "hugeint", "deep"]))
    field = None
    if how == "drop":
        field = draw(st.sampled_from(["id", "text", "label", "speaker", "source", "doc"]))
        row.pop(field)
    elif how == "type":
        field = draw(st.sampled_from(FIELDS))
        row[field] = draw(st.sampled_from([1, 2.5, True, [], {"a": 1}]))
    elif how == "label":
        field = "label"
        row["label"] = draw(st.text(max_size=12).filter(lambda s: s not in ("reassure", "threaten", "dismiss", "none")))
    elif how == "empty":
        field = draw(st.sampled_from(["text", "id"]))
        row[field] = draw(st.sampled_from(["", "  ", "\t\n"]))
    elif how in ("genre", "origin"):
        field = how
        row[how] = draw(st.text(max_size=10).filter(lambda s: s not in ("transcript", "speech", "statement", "reported",
                                                                         "news", "seed", "corpus", "authored", "augmented")))
    line = json.dumps(row, ensure_ascii=draw(st.booleans()))
    raw = line.encode()
    if how == "truncate":
        raw = raw[: draw(st.integers(1, len(raw) - 1))]
    elif how == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(bad_bytes()) + raw[at:]
    elif how == "notobject":
        raw = json.dumps(draw(st.sampled_from([[1, 2], "text", 3, None]))).encode()
    elif how == "hugeint":
        raw = b'{"id": ' + b"9" * 5000 + b"}"
    elif how == "deep":
        raw = b"[" * 3000 + b"]" * 3000
    return raw, field, how


def _validate_rows(tmp: Path, lines: list[bytes]):
    from stance.config import compose
    from stance.data import DataError, load_splits

    path = tmp / "quotes.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    cfg = compose("train", [f"data.files=[{path}]"])
    try:
        load_splits(cfg.data)
    except DataError as exc:
        return path, exc
    return path, None


@budget(6, 600)
@given(st.lists(corruptions(), min_size=1, max_size=3), st.integers(0, 2**32 - 1))
@counted("data validate (corrupted real rows)")
def test_validate_names_file_line_and_field(broken, seed):
    import random

    rnd = random.Random(seed)
    base = [json.dumps(r).encode() for r in make_records()]
    where = sorted(rnd.sample(range(len(base) + len(broken)), len(broken)))
    lines = list(base)
    for at, (raw, _, _) in zip(where, broken):
        lines.insert(at, raw)
    with tempfile.TemporaryDirectory() as d:
        path, exc = _validate_rows(Path(d), lines)
    assert exc is not None, broken  # every corruption made here is an error
    for at, (_, field, how) in zip(where, broken):
        mine = [p for p in exc.problems if p.file == str(path) and p.line == at + 1]
        if not mine:  # a duplicate of another row is reported on the later one's line
            assert any(p.file == str(path) for p in exc.problems), exc
            continue
        if field and how not in ("truncate", "bytes"):
            assert any(repr(field) in p.message or field in p.message for p in mine), (field, mine)


@budget(40, 2500)
@given(st.lists(corruptions(), min_size=1, max_size=4))
@counted("data reader (corrupted real rows)")
def test_read_jsonl_never_raises(broken):
    from stance.data.records import read_jsonl

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "q.jsonl"
        path.write_bytes(b"\n".join(raw for raw, _, _ in broken) + b"\n")
        result = read_jsonl([path], ["reassure", "threaten", "dismiss", "none"])
    for i, (raw, field, how) in enumerate(broken, start=1):
        mine = [p for p in result.errors if p.file == str(path) and p.line == i]
        assert mine, (i, raw[:200], result.problems)
        if field and how not in ("truncate", "bytes"):
            assert any(field in p.message for p in mine), (field, mine)


def test_data_validate_command_prints_no_traceback(tmp_path, capsys):
    from stance.cli import main

    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"\n' + b"[" * 3000 + b"\n")
    assert main(["data", "validate", f"data.files=[{path}]"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: error: invalid JSON" in err and f"{path}:2: error: invalid JSON" in err


# -- 4. checkpoint loading ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A small untrained BERT classification checkpoint with the project's files (no training)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from stance.encoders import resolve

    enc = Path(resolve("packaged:all-MiniLM-L6-v2"))
    out = tmp_path_factory.mktemp("ckpt") / "model"
    labels = ["reassure", "threaten", "dismiss", "none"]
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                     num_labels=4, id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    BertForSequenceClassification(cfg).save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (enc / name).is_file():
            shutil.copy(enc / name, out / name)
    (out / "stance_config.json").write_text(json.dumps({"labels": labels, "temperature": 1.5, "abstain_threshold": 0.5,
                                                        "max_length": 64, "input_format": "text"}))
    from stance import StanceClassifier

    StanceClassifier.load(out, device="cpu").predict(["A sound checkpoint loads."])
    return out


ESSENTIAL = ["config.json", "model.safetensors", "stance_config.json", "tokenizer.json"]


@st.composite
def damage(draw):
    name = draw(st.sampled_from(ESSENTIAL))
    how = draw(st.sampled_from(["delete", "truncate", "garbage", "labels"]))
    if name == "stance_config.json" and how == "delete":
        how = "truncate"  # optional file: a plain HF checkpoint has none
    return name, how, draw(st.floats(0, 0.999)), draw(st.binary(min_size=1, max_size=64)), draw(st.integers(0, 5))


@budget(8, 400)
@given(damage())
@counted("checkpoint loading (damaged files)")
def test_damaged_checkpoint_gives_one_clear_error(tiny_checkpoint, tmp_path_factory, dmg):
    from stance import StanceClassifier
    from stance.checkpoint import CheckpointError

    name, how, frac, junk, k = dmg
    d = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp())) / "model"
    shutil.copytree(tiny_checkpoint, d)
    target = d / name
    data = target.read_bytes()
    if how == "delete":
        target.unlink()
    elif how == "truncate":
        target.write_bytes(data[: int(len(data) * frac)])
    elif how == "garbage":
        target.write_bytes(junk + data[len(junk):] if name != "model.safetensors" else data[:8] + junk + data[8 + len(junk):])
    else:  # wrong labels
        cfg = json.loads((d / "config.json").read_text())
        variants = [{"0": "reassure"}, {"0": "a", "1": "a", "2": "b", "3": "c"}, {"1": "x", "2": "y", "3": "z", "4": "w"},
                    {"0": "none"}, {"0": "threaten", "1": "reassure", "2": "dismiss", "3": "none"}, "oops"]
        cfg["id2label"] = variants[k]
        cfg.pop("label2id", None)
        (d / "config.json").write_text(json.dumps(cfg))
        name = "config.json" if k < 4 or k == 5 else "stance_config.json"
    harmless = target.is_file() and target.read_bytes() == data  # the "damage" changed nothing
    if not harmless and target.suffix == ".json" and target.is_file() and how != "labels":
        try:
            harmless = json.loads(target.read_bytes()) == json.loads(data)
        except ValueError:
            pass
    try:
        clf = StanceClassifier.load(d, device="cpu")
    except FileNotFoundError as exc:
        assert how == "delete" and str(d) in str(exc)
        return
    except CheckpointError as exc:
        assert str(d) in str(exc), exc
        if how in ("delete", "labels") or name in ("config.json", "model.safetensors"):
            assert name in str(exc) or "cannot load" in str(exc), (name, how, exc)
        return
    finally:
        shutil.rmtree(d.parent, ignore_errors=True)
    # no change, damage that leaves the same JSON, or tokenizer.json deleted (the tokenizer is rebuilt from vocab.txt)
    assert harmless or (name, how) == ("tokenizer.json", "delete"), (name, how)
    clf.predict(["Still works."])


def test_fuzz_summary():
    """Last in the file: the count `make fuzz` reports."""
    total = sum(COUNTS.values())
    lines = [f"  {k}: {v}" + (f" ({CRASHES[k]} failed)" if CRASHES[k] else "") for k, v in sorted(COUNTS.items())]
    crashes = sum(CRASHES.values())
    msg = (f"fuzz ({PROFILE} profile): {total} examples across {len(COUNTS)} targets, {crashes} crash(es)\n"
           + "\n".join(lines))
    out = os.environ.get("STANCE_FUZZ_REPORT")
    if out:
        Path(out).write_text(msg + "\n" + "".join(f"  first failure of {k}: {v}\n" for k, v in FIRST.items()))
    print(msg)
