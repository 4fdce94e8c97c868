"""Reading, validating and splitting labelled quotes; the project's real dataset meets its numbers."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from stance.config import compose
from stance.data import DataError, load_splits

from .helpers import ROOT, make_records, write_jsonl


def _data_cfg(path, *extra):
    return compose("train", [f"data.files=[{path}]", *extra]).data


def test_grouped_splits_keep_documents_whole_and_pin_seed_and_authored(tiny_jsonl):
    data = load_splits(_data_cfg(tiny_jsonl))
    splits_of_doc = defaultdict(set)
    for rec in data.records:
        splits_of_doc[rec["doc"]].add(data.assignment[rec["id"]])
    assert all(len(s) == 1 for s in splits_of_doc.values())
    assert data.assignment["seed-x"] == "test"
    assert data.assignment["auth-x"] == "train"
    assert {"train", "validation", "test"} == set(data.assignment.values())
    # `none` is a class of the default configuration
    assert data.dataset["train"].features["label"].names == ["reassure", "threaten", "dismiss", "none"]
    # with three labels, `none` is not trained on but is kept, per split, for the end-to-end evaluation
    three = load_splits(_data_cfg(tiny_jsonl, "data=quotes_stance"))
    assert "none" not in set(three.dataset["train"]["label_name"])
    assert sum(len(three.others[s]) for s in three.others) == sum(r["label"] == "none" for r in three.records)


def test_documents_published_twice_share_a_split(tiny_jsonl, tmp_path):
    """A readout of one call published as two documents (same title and date) stays in one split."""
    import json

    rows = [json.loads(line) for line in tiny_jsonl.read_text().splitlines()]
    for r in rows:
        if r["doc"] in ("doc-01", "doc-02", "doc-03", "doc-04", "doc-05"):
            r.update(title="Readout of the President's Call with the Prime Minister", date="2024-03-01")
    data = load_splits(_data_cfg(write_jsonl(tmp_path / "twice.jsonl", rows)))
    assert len({data.assignment[r["id"]] for r in rows if r["doc"] in ("doc-01", "doc-02", "doc-03", "doc-04", "doc-05")}) == 1


def test_splits_are_reproducible_and_seeded(tiny_jsonl):
    a = load_splits(_data_cfg(tiny_jsonl)).assignment
    b = load_splits(_data_cfg(tiny_jsonl)).assignment
    c = load_splits(_data_cfg(tiny_jsonl, "data.split_seed=7")).assignment
    assert a == b
    assert a != c


def test_four_labels_train_on_none(tiny_jsonl):
    data = load_splits(_data_cfg(tiny_jsonl))
    assert "none" in set(data.dataset["train"]["label_name"])
    assert sum(len(d) for d in data.others.values()) == 0
    three = load_splits(_data_cfg(tiny_jsonl, "data=quotes_stance"))
    assert "none" not in set(three.dataset["train"]["label_name"])
    assert sum(len(d) for d in three.others.values()) > 0


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda rows: rows.__setitem__(3, {**rows[3], "label": "threat"}), "label 'threat' is not one of"),
        (lambda rows: rows.__setitem__(3, {**rows[3], "text": "   "}), "empty or whitespace-only text"),
        (lambda rows: rows[3].pop("doc"), "missing required field 'doc'"),
        (lambda rows: rows.__setitem__(3, {**rows[3], "id": rows[0]["id"]}), "duplicate id"),
        (lambda rows: rows.__setitem__(3, {**rows[3], "text": rows[0]["text"].upper()}), "exact duplicate text of"),
        (lambda rows: rows.__setitem__(3, {**rows[3], "origin": "invented"}), "origin 'invented' is not one of"),
        (lambda rows: rows.__setitem__(3, {**rows[3], "genre": "blog"}), "genre 'blog' is not one of"),
    ],
)
def test_bad_records_are_errors_naming_file_and_line(tmp_path, mutate, expected):
    rows = make_records()
    mutate(rows)
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError) as err:
        load_splits(_data_cfg(path))
    assert f"{path}:4:" in str(err.value)
    assert expected in str(err.value)


def test_invalid_json_is_an_error_and_blank_lines_a_warning(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", make_records())
    lines = path.read_text().splitlines()
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path}:3: error: invalid JSON"):
        load_splits(_data_cfg(path))
    lines[2] = ""
    path.write_text("\n".join(lines) + "\n")
    data = load_splits(_data_cfg(path))
    assert f"{path}:3: warning: blank line" in [str(p) for p in data.problems]


def test_bom_unknown_fields_and_empty_files(tmp_path):
    rows = make_records()
    rows[4]["contxt_before"] = "typo"
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    data = load_splits(_data_cfg(path))
    assert len(data.records) == len(rows)
    assert any(f"{path}:5: warning: unknown field(s) ['contxt_before']" in str(p) for p in data.problems)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="no labelled statements"):
        load_splits(_data_cfg(empty))


def test_a_label_without_training_items_is_an_error(tmp_path):
    rows = [r for r in make_records() if r["label"] != "dismiss"]
    with pytest.raises(DataError, match="label 'dismiss' has no statement in the train split"):
        load_splits(_data_cfg(write_jsonl(tmp_path / "d.jsonl", rows)))


def test_near_duplicates_are_reported_and_kept_in_one_split(tmp_path):
    rows = make_records()
    twin = dict(rows[0], id="twin", doc="doc-other", text=rows[0]["text"].replace("said official", "said the official"))
    rows.append(twin)
    data = load_splits(_data_cfg(write_jsonl(tmp_path / "d.jsonl", rows)))
    path = tmp_path / "d.jsonl"
    warnings = [str(p) for p in data.problems if p.severity == "warning"]
    assert any(w.startswith(f"{path}:{len(rows)}: warning: near duplicate") and w.rstrip().find(f"of {path}:1;") > 0
               for w in warnings), warnings
    assert data.assignment["twin"] == data.assignment[rows[0]["id"]]
    assert len(data.records) == len(rows)  # nothing dropped


@pytest.mark.slow  # spawns the command line
def test_validate_cli_exit_codes(tmp_path, tiny_jsonl):
    ok = subprocess.run([sys.executable, "-m", "stance.cli", "data", "validate", f"data.files=[{tiny_jsonl}]",
                         "data=quotes_stance"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "data OK" in ok.stdout and "not trained on" in ok.stdout
    rows = make_records()
    rows[5]["label"] = "angry"
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    proc = subprocess.run([sys.executable, "-m", "stance.cli", "data", "validate", f"data.files=[{bad}]"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"{bad}:6:" in proc.stderr and "'angry'" in proc.stderr


# -- the project's own dataset ---------------------------------------------------------------------
QUOTES = ROOT / "data" / "quotes.jsonl"


@pytest.fixture(scope="module")
def real():
    return load_splits(_data_cfg(QUOTES))


def test_real_dataset_validates_and_meets_its_numbers(real):
    labels = Counter(r["label"] for r in real.records)
    assert len(real.records) >= 1200
    assert all(labels[lab] >= 250 for lab in ("reassure", "threaten", "dismiss")), labels
    assert labels["none"] >= 300
    authored = Counter(r["label"] for r in real.records if r.get("origin") == "authored")
    for lab, n in authored.items():
        assert n <= 0.2 * labels[lab], (lab, n, labels[lab])
    fields = {"id", "text", "label", "speaker", "side", "source", "doc", "date", "url", "title", "origin", "genre",
              "kind", "context_before", "notes", "licence"}
    assert all(fields <= set(r.data) for r in real.records)
    assert all(r["genre"] in ("transcript", "speech", "statement", "reported", "news") for r in real.records)
    assert all(r["licence"] for r in real.records)
    # news and reported speech, all real: what the pools gave (the goal of 200 a class is not reached; see the datasheet)
    news = Counter(r["label"] for r in real.records if r["genre"] in ("reported", "news"))
    assert news["reassure"] >= 150 and news["threaten"] >= 140 and news["dismiss"] >= 90, news


def test_real_dataset_split_rules(real):
    for rec in real.records:
        split = real.assignment[rec["id"]]
        if rec.get("origin") == "authored":
            assert split == "train"
        if rec["source"] == "seed-article":
            assert split == "test"
    docs = defaultdict(set)
    for rec in real.records:
        docs[rec["doc"]].add(real.assignment[rec["id"]])
    assert all(len(s) == 1 for s in docs.values())


def test_every_pool_item_is_labelled_or_excluded_with_a_reason():
    ann = ROOT / "data" / "annotations"
    labelled = {json.loads(line)["id"] for line in QUOTES.read_text().splitlines()}
    excluded = {}
    for name in ("excluded.jsonl", "excluded_by_label.jsonl"):
        excluded.update({json.loads(line)["id"]: json.loads(line)["reason"] for line in (ann / name).read_text().splitlines()})
    pass1 = {json.loads(line)["id"] for f in sorted((ann / "pass1").glob("*.jsonl")) for line in f.read_text().splitlines()}
    drawn = json.loads((ann / "pools" / "draw.json").read_text())["ids"]
    assert all(reason.strip() for reason in excluded.values())
    assert not labelled & set(excluded)
    assert pass1 == {i for i in labelled if not i.startswith("seed-")} | set(excluded)
    assert {i for ids in drawn.values() for i in ids} <= pass1
