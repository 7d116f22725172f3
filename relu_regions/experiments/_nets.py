"""Batched float64 forward passes for accuracies, labels and decision maps (numpy; exact enough for
argmax decisions, independent of the JAX walker)."""

from __future__ import annotations

import numpy as np


def logits(params, X: np.ndarray) -> np.ndarray:
    """``f(X)`` ``(n, n_out)`` of the network ``[(W, b), ...]`` on inputs ``X`` ``(n, n_0)`` in float64."""
    h = np.asarray(X, dtype=np.float64)
    for k, (W, b) in enumerate(params):
        h = h @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        if k < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


def accuracy(params, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``X`` whose ``argmax`` logit is ``y``."""
    return float(np.mean(np.argmax(logits(params, X), axis=1) == np.asarray(y)))
