"""Train-or-load cache keyed by a stable hash of configuration and data."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from relu_regions._digest import array_digest

from ._config import TrainConfig
from ._train import FINAL_NAME, EpochCallback, TrainResult, load_result, train_mlp

__all__ = ["cache_key", "train_or_load"]

CACHE_FORMAT = 2  # bump when training semantics change, to invalidate old caches
# 2: the last, smaller mini-batch of an epoch is padded to the batch size with weight-0 rows (same
#    mathematics, one compiled step; results may differ from format 1 in the last bits)


def cache_key(
    key_dict: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    snapshot_epochs: Iterable[int] = (),
) -> str:
    """Stable hex key of (JSON ``key_dict``, config, data hashes, snapshot epochs)."""
    payload = {
        "format": CACHE_FORMAT,
        "key": key_dict,
        "config": config.to_dict(),
        "train": array_digest(X, y),
        "val": array_digest(X_val, y_val),
        "snapshot_epochs": sorted({int(e) for e in snapshot_epochs}),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def train_or_load(
    cache_dir: str | os.PathLike,
    key_dict: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
    snapshot_epochs: Iterable[int] = (),
) -> TrainResult:
    """Load a finished run from ``cache_dir/<cache_key>/`` or train and save it.

    ``key_dict`` (JSON-serialisable, e.g. ``{"dataset": "mnist", "labels":
    "random"}``) is hashed together with the config, the data arrays and the
    snapshot epochs. On a hit nothing is trained, ``on_epoch`` is not called
    and the result has ``from_cache=True``; otherwise this is
    ``train_mlp(..., checkpoint_dir=cache_dir/<key>)``. An interrupted run
    leaves no ``final.npz``, so the next call trains again.
    """
    snapshot_epochs = sorted({int(e) for e in snapshot_epochs})
    run_dir = Path(cache_dir) / cache_key(
        key_dict, X, y, config, X_val, y_val, snapshot_epochs
    )
    if (run_dir / FINAL_NAME).is_file():
        return load_result(run_dir)
    return train_mlp(
        X, y, config, X_val, y_val,
        progress=progress,
        checkpoint_dir=run_dir,
        on_epoch=on_epoch,
        snapshot_epochs=snapshot_epochs,
    )
