"""Shared fixtures: a tiny labelled dataset made in the test, and one smoke-trained checkpoint."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]

_WORDS = {
    "reassure": ["our patrols are routine and pose no danger to anyone", "we seek no confrontation and remain open to talks",
                 "the exercise is defensive and was announced in advance", "our advisers are there only to service contracts",
                 "we will keep every channel of communication open", "nobody in the region needs to fear these drills"],
    "threaten": ["they will face severe consequences if they cross the line", "all options remain on the table against them",
                 "we will respond with force to any attack", "further sanctions will follow unless they withdraw",
                 "any aggression will be met with a crushing answer", "they will pay a heavy price for this provocation"],
    "dismiss": ["their accusations are groundless nonsense", "that claim is pure fiction and we reject it",
                "nobody takes their so-called referendum seriously", "their complaints do not deserve an answer",
                "the regime is an illegitimate puppet", "we do not believe a word of their statement"],
    "none": ["the minister met her counterpart on tuesday", "the meeting lasted two hours and covered trade",
             "the delegation will travel to geneva next week", "officials discussed the budget for the coming year",
             "the report was published in three languages", "the summit agenda includes climate and health"],
}
_PLACES = ["the strait", "the northern border", "the capital", "the islands", "the gulf", "the river delta", "the mountains",
           "the coast", "the border towns", "the eastern provinces", "the airbase", "the harbour"]
_TIMES = ["this week", "on monday", "yesterday", "last month", "since january", "this spring", "at dawn", "this year",
          "on friday", "in march", "overnight", "for now"]


def make_records(n_docs: int = 16, per_doc: int = 5, seed: int = 0) -> list[dict]:
    """Distinct statements over several documents, every label in every few documents."""
    rng = random.Random(seed)
    labels = list(_WORDS)
    rows = []
    for d in range(n_docs):
        source = ["wh-briefings", "un-general-debate"][d % 2]
        for k in range(per_doc):
            label = labels[(d + k) % len(labels)]
            core = _WORDS[label][(d * per_doc + k) % len(_WORDS[label])]
            text = f"{core.capitalize()} near {rng.choice(_PLACES)} {rng.choice(_TIMES)}, said official {d}-{k}."
            rows.append({"id": f"t-{d:02d}-{k}", "text": text, "label": label, "speaker": f"Official {d}",
                         "source": source, "doc": f"doc-{d:02d}", "date": "2024-01-01", "url": None,
                         "origin": "corpus", "context_before": "", "notes": "",
                         "genre": "transcript" if source == "wh-briefings" else "speech",
                         "side": ["Russia", "United States", "China"][d % 3]})
    rows.append({"id": "seed-x", "text": "We are not threatening anyone, unlike some in the other capital.", "label": "reassure",
                 "speaker": "A spokeswoman", "source": "seed-article", "doc": "seed/article.txt", "date": None,
                 "url": None, "origin": "seed", "context_before": "", "notes": "", "genre": "news", "side": "Russia"})
    rows.append({"id": "auth-x", "text": "Our fleet's visit is a courtesy call and nothing more than that.", "label": "reassure",
                 "speaker": "a navy spokesperson", "source": "authored", "doc": "authored/x", "date": None,
                 "url": None, "origin": "authored", "context_before": "", "notes": ""})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny_jsonl(tmp_path) -> Path:
    return write_jsonl(tmp_path / "tiny.jsonl", make_records())


from stance.config import compose  # noqa: E402  (re-exported for the tests)


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
