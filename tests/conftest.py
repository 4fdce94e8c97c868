"""Shared fixtures (a tiny labelled dataset file, one smoke-trained checkpoint) and the ``slow`` marker
for every test that uses that checkpoint. Plain helpers live in ``helpers.py``."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from stance.config import compose  # noqa: E402

from .helpers import make_records, write_jsonl  # noqa: E402


def pytest_collection_modifyitems(items):
    """Every test that uses the smoke-trained checkpoint (directly or through another fixture) trains a
    model on its first use: mark it ``slow`` (``pytest -m "not slow"`` leaves it out)."""
    for item in items:
        if "smoke_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def tiny_jsonl(tmp_path):
    return write_jsonl(tmp_path / "tiny.jsonl", make_records())


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """Train once for a few steps on the tiny dataset; many tests share the checkpoint."""
    from stance.training import train

    tmp = tmp_path_factory.mktemp("smoke")
    data = write_jsonl(tmp / "tiny.jsonl", make_records())
    cfg = compose("train", ["experiment=smoke", f"data.files=[{data}]", f"paths.output_dir={tmp / 'outputs'}",
                            "trainer.num_threads=2"])
    result = train(cfg, tmp / "run")
    return {"model_dir": str(result.model_dir), "result": result, "data_file": data, "cfg": cfg}
