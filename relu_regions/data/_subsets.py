"""Seeded class-balanced subsets and label permutations (the paper's "random labels")."""

from __future__ import annotations

import numpy as np


def class_subset(
    X: np.ndarray, y: np.ndarray, n_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n_per_class`` samples of every class present in ``y``, uniformly without replacement.

    Deterministic in ``seed``. The chosen rows keep their original relative order (sorted by
    index in ``X``), so the result is grouped however the input was; shuffle before training if
    needed. Raises ``ValueError`` naming a class with fewer than ``n_per_class`` samples.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        if len(members) < n_per_class:
            raise ValueError(
                f"class {cls} has only {len(members)} samples, fewer than n_per_class={n_per_class}"
            )
        chosen.append(rng.choice(members, size=n_per_class, replace=False))
    index = np.sort(np.concatenate(chosen))
    return X[index], y[index]


def permute_labels(y: np.ndarray, seed: int) -> np.ndarray:
    """A random permutation of ``y`` (same multiset of labels, new order); deterministic in ``seed``."""
    return np.random.default_rng(seed).permutation(np.asarray(y))
