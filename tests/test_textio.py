"""Tests for stance.textio: the one decoder, line and JSONL reader, and Problem type."""
from __future__ import annotations

import io

import pytest

from stance.textio import BadLine, Problem, decode_bytes, decode_lines, read_jsonl_lines


def test_decode_bytes_names_line_and_byte_counting_the_bom():
    raw = b"\xef\xbb\xbffirst line\nsecond caf\xe9\n"
    text, warnings = decode_bytes("f.txt", raw)
    assert text == "first line\nsecond caf\ufffd\n"
    assert [str(w) for w in warnings] == ["f.txt:2: invalid UTF-8 at byte 24; undecodable bytes replaced with U+FFFD"]
    assert (warnings[0].file, warnings[0].line) == ("f.txt", 2)
    assert raw[24:25] == b"\xe9"
    # decoded line by line: the caller says which line the bytes start on
    _, warnings = decode_bytes("f.txt", b"caf\xe9\n", strip_bom=False, line=7)
    assert [str(w) for w in warnings] == [
        "f.txt:7: invalid UTF-8 at byte 3 of the line; undecodable bytes replaced with U+FFFD"]
    with pytest.raises(ValueError, match="f.txt: binary file"):
        decode_bytes("f.txt", b"a\x00b")
    assert decode_bytes("f.txt", b"a\x00b", check_binary=False) == ("a\x00b", [])


def test_problem_str_is_file_line_severity_message():
    assert str(Problem("a.jsonl", 3, "invalid JSON: Expecting value (column 1)")) == \
        "a.jsonl:3: error: invalid JSON: Expecting value (column 1)"
    assert str(Problem("a.jsonl", 3, "blank line", "warning")) == "a.jsonl:3: warning: blank line"
    assert str(Problem("a.txt", 0, "empty file", "")) == "a.txt: empty file"
    assert str(Problem("", 0, "an empty argument was given; skipped", "")) == "an empty argument was given; skipped"
    assert Problem("a.txt", 2, "x").where == "a.txt:2" and Problem("a.txt", 0, "x").where == "a.txt"


def test_decode_lines_lenient_and_strict():
    raw = io.BytesIO(b"\xef\xbb\xbfone\ncaf\xe9\nthree")
    warned: list[Problem] = []
    assert list(decode_lines(raw, "q.txt", warn=warned.append)) == [(1, "one\n"), (2, "caf\ufffd\n"), (3, "three")]
    assert [str(w) for w in warned] == [
        "q.txt:2: invalid UTF-8 at byte 3 of the line; undecodable bytes replaced with U+FFFD"]
    strict = list(decode_lines(io.BytesIO(b"\xef\xbb\xbfone\ncaf\xe9\n"), "q.txt", strict=True))
    assert strict[0] == (1, "one\n")
    assert strict[1][0] == 2 and strict[1][1] == BadLine("utf8", detail="invalid continuation byte at byte 3")
    # NUL bytes in the first line mean a binary file; later they are the caller's to judge
    with pytest.raises(ValueError, match="q.txt: binary file"):
        list(decode_lines(io.BytesIO(b"a\x00b\nc\n"), "q.txt"))
    assert list(decode_lines(io.BytesIO(b"a\nb\x00\n"), "q.txt")) == [(1, "a\n"), (2, "b\x00\n")]
    assert list(decode_lines(io.BytesIO(b"a\x00b\n"), "q.txt", check_binary=False)) == [(1, "a\x00b\n")]


def test_read_jsonl_lines_gives_values_and_bad_lines_with_numbers():
    raw = b'{"a": 1}\n\n   \n  {"a": 2}  \r\n  {"a": \n' + b"[" * 5000 + b"\n" + b"1" * 5000 + b'\n"s"\n'
    got = list(read_jsonl_lines(io.BytesIO(raw), "q.jsonl", first_line=10))
    assert [n for n, _ in got] == list(range(10, 18))
    assert got[0][1] == {"a": 1} and got[3][1] == {"a": 2} and got[7][1] == "s"
    assert got[1][1] == BadLine("blank") and got[2][1] == BadLine("blank")
    bad = got[4][1]
    assert isinstance(bad, BadLine) and bad.reason == "json" and bad.detail == "Expecting value"
    assert bad.column == 6  # in the stripped line
    strict = dict(read_jsonl_lines(io.BytesIO(raw), "q.jsonl", strict=True))
    assert strict[5].column == 1 and strict[5].detail == "Expecting value"  # as written: at the start of line 2
    # strict reading parses the line as written: Unicode spaces around the value are not JSON
    assert dict(read_jsonl_lines(io.BytesIO(b'\xc2\xa0{"a": 1}\n'), "q.jsonl"))[1] == {"a": 1}
    assert dict(read_jsonl_lines(io.BytesIO(b'\xc2\xa0{"a": 1}\n'), "q.jsonl", strict=True))[1].reason == "json"
    assert all(isinstance(v, BadLine) and v.reason == "json" and v.detail for _, v in got[5:7])  # deep, huge


def test_data_and_predict_readers_word_the_same_line_problems_their_own_way(tmp_path):
    """Both readers go through read_jsonl_lines; each keeps the messages its users know."""
    from stance.data.records import read_jsonl
    from stance.predict import Problems, read_quotes

    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"text": "We will respond to any attack."}\n\n{"text": \n{"text": "caf\xe9"}\n')
    loaded = read_jsonl([path], ["none"])
    assert [str(p) for p in loaded.problems if p.line != 1] == [
        f"{path}:2: warning: blank line",
        f"{path}:3: error: invalid JSON: Expecting value (column 1)",  # the parser is past the newline
        f"{path}:4: error: not valid UTF-8 (invalid continuation byte at byte 13)",
    ]
    problems = Problems()
    items = list(read_quotes(str(path), problems))
    assert [it.line for it in items] == [1, 4] and items[1].text == "caf\ufffd"
    assert [str(p) for p in problems.messages] == [
        f"{path}:3: invalid JSON (Expecting value); line skipped",
        f"{path}:4: invalid UTF-8 at byte 13 of the line; undecodable bytes replaced with U+FFFD",
        f"{path}: 1 blank line(s) ignored (no statement on them)",
    ]
    assert all(isinstance(p, Problem) for p in problems.messages)
