"""The notebooks run top to bottom (dataset on the real data; error analysis on a smoke checkpoint)
and are committed without outputs."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from .helpers import ROOT

NOTEBOOKS = ROOT / "notebooks"


def _run(name: str, env: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


@pytest.mark.parametrize("name", ["01_dataset.ipynb", "02_error_analysis.ipynb"])
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_dataset_notebook_runs_on_the_real_data():
    nb = _run("01_dataset.ipynb", {})
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "labelled statements" in text and "== reassure" in text


def test_error_analysis_notebook_runs_on_a_checkpoint(smoke_run):
    nb = _run("02_error_analysis.ipynb", {"STANCE_MODEL": smoke_run["model_dir"]})
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "test statements, accuracy" in text
