"""Atomic ``.npz`` checkpoints of ``[(W, b), ...]`` parameters plus JSON metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from relu_regions._atomic import atomic_open

__all__ = ["save_checkpoint", "load_checkpoint"]

Params = list[tuple[np.ndarray, np.ndarray]]

_META_KEY = "__metadata__"


def save_checkpoint(
    path: str | os.PathLike, params: Params, metadata: dict[str, Any] | None = None
) -> Path:
    """Write ``params`` and JSON ``metadata`` to one ``.npz`` file, atomically.

    The file holds arrays ``W_0, b_0, W_1, b_1, ...`` (dtypes kept) and the
    metadata as a JSON string under ``"__metadata__"``. It is first written to
    a hidden temporary file in the same directory, flushed and fsynced, then
    moved over ``path`` with ``os.replace``; on any error or interrupt the
    temporary file is removed, so ``path`` is either absent, the old file, or
    the complete new one. Parent directories are created. Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for i, (W, b) in enumerate(params):
        arrays[f"W_{i}"] = np.asarray(W)
        arrays[f"b_{i}"] = np.asarray(b)
    arrays[_META_KEY] = np.array(json.dumps(metadata or {}, sort_keys=True))

    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[Params, dict[str, Any]]:
    """Read a file written by :func:`save_checkpoint`: ``(params, metadata)``."""
    with np.load(Path(path), allow_pickle=False) as data:
        metadata = json.loads(str(data[_META_KEY]))
        n_layers = sum(1 for key in data.files if key.startswith("W_"))
        params = [(data[f"W_{i}"], data[f"b_{i}"]) for i in range(n_layers)]
    return params, metadata

