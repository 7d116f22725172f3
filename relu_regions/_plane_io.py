"""Saving and loading a :class:`~relu_regions.PlanePartition` (one ``.npz``, written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from relu_regions._atomic import atomic_open

__all__ = ["load_partition", "save_partition"]

FORMAT = 1


def _flatten(polygons: list) -> tuple[np.ndarray, np.ndarray]:
    off = np.concatenate([[0], np.cumsum([len(p) for p in polygons])]).astype(np.int64)
    xy = np.concatenate(polygons, axis=0) if polygons else np.zeros((0, 2))
    return off, xy


def save_partition(part, path: str | os.PathLike) -> str:
    """Write ``part`` to ``path`` (a ``.npz``; the suffix is added if missing) and return the path."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    off, xy = _flatten(part.polygons)
    coff, cxy = _flatten(part.cells)
    arrays = dict(format=np.int64(FORMAT), origin=part.origin, u=part.u, v=part.v, bounds=part.bounds,
                  layer_sizes=np.asarray(part.layer_sizes, np.int64), poly_off=off, poly_xy=xy,
                  patterns=np.packbits(part.patterns, axis=1), n_hidden=np.int64(part.patterns.shape[1]),
                  classes=part.classes, logit_maps=part.logit_maps, boundary=part.boundary,
                  cell_off=coff, cell_xy=cxy, cell_regions=part.cell_regions, cell_classes=part.cell_classes)
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return str(path)


def load_partition(path: str | os.PathLike):
    """Read a partition written by :func:`save_partition`."""
    from relu_regions._plane import PlanePartition

    with np.load(path, allow_pickle=False) as z:
        if "format" not in z or int(z["format"]) != FORMAT:
            raise ValueError(f"{path}: not a plane partition file of format {FORMAT}")
        n_hidden = int(z["n_hidden"])
        off, coff = z["poly_off"], z["cell_off"]
        return PlanePartition(
            origin=z["origin"], u=z["u"], v=z["v"], bounds=z["bounds"],
            layer_sizes=tuple(int(w) for w in z["layer_sizes"]),
            polygons=np.split(z["poly_xy"], off[1:-1]) if len(off) > 1 else [],
            patterns=np.unpackbits(z["patterns"], axis=1, count=n_hidden).astype(bool),
            classes=z["classes"], logit_maps=z["logit_maps"], boundary=z["boundary"],
            cells=np.split(z["cell_xy"], coff[1:-1]) if len(coff) > 1 else [],
            cell_regions=z["cell_regions"], cell_classes=z["cell_classes"])
