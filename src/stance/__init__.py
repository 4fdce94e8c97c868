"""stance: tell whether an official's statement means to reassure, threaten or dismiss."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["StanceClassifier", "Prediction", "__version__"]


def __getattr__(name: str):
    # Lazy: `import stance` stays fast; torch/transformers load on first use of the classifier.
    if name in ("StanceClassifier", "Prediction"):
        from . import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
