"""Optional loading through tensorflow-datasets (the ``relu_regions[tfds]`` extra)."""

from __future__ import annotations

import importlib

import numpy as np


def load_tfds_arrays(name: str, split: str, looked: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(images, labels)`` from ``tfds.load(name, split=split, batch_size=-1)``, or ``None``
    (with the reason appended to ``looked``) when tfds is not installed or the load fails.
    Images come back as tfds stores them: ``(n, H, W, C)`` uint8."""
    try:
        tfds = importlib.import_module("tensorflow_datasets")
    except ImportError:
        looked.append("tfds: tensorflow_datasets is not installed")
        return None
    try:
        data = tfds.as_numpy(tfds.load(name, split=split, batch_size=-1))
    except Exception as exc:  # tfds surfaces download/preparation failures as many unrelated types
        looked.append(f"tfds: tfds.load({name!r}, split={split!r}) failed: {type(exc).__name__}: {exc}")
        return None
    return np.asarray(data["image"]), np.asarray(data["label"])
