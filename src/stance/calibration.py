"""Temperature scaling (fitted on validation, never on test) and the abstention threshold."""
from __future__ import annotations

import numpy as np


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of softmax(logits / T)."""
    from scipy.optimize import minimize_scalar  # imported here: inference needs none of scipy
    from scipy.special import log_softmax

    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    if len(labels) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean())

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T), row-wise."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def choose_threshold(probs: np.ndarray, target_coverage: float) -> float:
    """The confidence threshold that keeps ``target_coverage`` of the (validation) items."""
    conf = np.sort(np.asarray(probs).max(axis=1))[::-1]
    if len(conf) == 0:
        return 0.0
    k = int(np.clip(np.ceil(target_coverage * len(conf)), 1, len(conf)))
    return float(conf[k - 1])
