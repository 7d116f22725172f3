"""The two-moons toy problem from scikit-learn."""

from __future__ import annotations

import numpy as np

from ._dataset import Dataset


def load_two_moons(
    n_train: int = 300, n_val: int = 100, noise: float = 0.1, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Train and validation splits of ``sklearn.datasets.make_moons``.

    ``n_train + n_val`` points are drawn (shuffled, ``random_state=seed``); the first ``n_train``
    form the training set. Each feature is min-max scaled with the *training* minimum and maximum,
    so training ``X`` lies in ``[0, 1]`` and validation points may fall slightly outside.
    ``X`` is ``(n, 2)`` float32, ``y`` ``(n,)`` int64 in ``{0, 1}``; ``image_shape`` is ``None``.
    """
    if n_train < 2 or n_val < 1:
        raise ValueError(f"need n_train >= 2 and n_val >= 1, got n_train={n_train}, n_val={n_val}")
    from sklearn.datasets import make_moons  # deferred: importing sklearn takes about a second

    X, y = make_moons(n_samples=n_train + n_val, shuffle=True, noise=noise, random_state=seed)
    lo, hi = X[:n_train].min(axis=0), X[:n_train].max(axis=0)
    X = ((X - lo) / (hi - lo)).astype(np.float32)
    y = y.astype(np.int64)
    origin = f"sklearn.datasets.make_moons(n_samples={n_train + n_val}, noise={noise}, random_state={seed})"
    return (
        Dataset(X=X[:n_train], y=y[:n_train], source="sklearn", name="moons", image_shape=None, origin=origin),
        Dataset(X=X[n_train:], y=y[n_train:], source="sklearn", name="moons", image_shape=None, origin=origin),
    )
