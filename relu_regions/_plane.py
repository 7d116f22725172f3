"""Exact 2-D slices: every linear region and the decision boundary of a network on a plane.

The plane is ``x(s, t) = origin + s u + t v`` over the window ``[s0, s1] x [t0, t1]``. Regions are found by
splitting the window layer by layer (:mod:`relu_regions._plane_split`); every sign test is certified in
float64 or decided in exact rational arithmetic (:mod:`relu_regions._plane_exact`), so the partition is
the one exact arithmetic on the given float64 numbers would produce. Vertex coordinates, areas and logit
maps are reported in float64.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from relu_regions._plane_decision import decision_boundary, decision_cells
from relu_regions._plane_exact import ExactPlane
from relu_regions._plane_geom import Polys
from relu_regions._plane_split import PlaneCapacityError, hidden_regions
from relu_regions._validate import check_params, check_points, check_positive_int

__all__ = ["PlaneCapacityError", "PlanePartition", "plane_regions"]


@dataclass(eq=False)
class PlanePartition:
    """The linear regions of a network on the window ``bounds`` of the plane ``origin + s u + t v``.

    Attributes (``n`` regions, ``n_hidden`` hidden units, ``n_out`` logits):
        origin, u, v: ``(n_0,)`` the plane.
        bounds: ``(2, 2)``: ``[[s0, s1], [t0, t1]]``.
        layer_sizes: widths of all layers after the input (hidden layers, then the logits).
        polygons: ``n`` arrays ``(k, 2)``: the vertices ``(s, t)`` of each region, counter-clockwise.
        patterns: ``(n, n_hidden)`` bool: each region's activation pattern (``z > 0``), hidden layers in order.
        classes: ``(n,)`` the predicted class where it is constant on the region, else -1.
        logit_maps: ``(n, 3, n_out)``: on region ``i``, ``f(s, t) = M[0] + s M[1] + t M[2]``.
        boundary: ``(m, 2, 2)`` the decision boundary as segments ``[(s, t), (s, t)]``.
        cells: decision cells (``(k, 2)`` polygons): each region cut where the argmax changes.
        cell_regions, cell_classes: ``(n_cells,)`` the region and the predicted class of every cell.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bounds: np.ndarray
    layer_sizes: tuple
    polygons: list = field(repr=False)
    patterns: np.ndarray = field(repr=False)
    classes: np.ndarray = field(repr=False)
    logit_maps: np.ndarray = field(repr=False)
    boundary: np.ndarray = field(repr=False)
    cells: list = field(repr=False)
    cell_regions: np.ndarray = field(repr=False)
    cell_classes: np.ndarray = field(repr=False)

    @property
    def n_regions(self) -> int:
        return len(self.polygons)

    @property
    def areas(self) -> np.ndarray:
        """``(n,)`` region areas in plane coordinates (shoelace formula, float64)."""
        return np.array([_area(p) for p in self.polygons])

    @property
    def window_area(self) -> float:
        (s0, s1), (t0, t1) = self.bounds
        return float((s1 - s0) * (t1 - t0))

    def points(self, st) -> np.ndarray:
        """Inputs ``(m, n_0)`` at plane coordinates ``st (m, 2)`` (rounded to float64)."""
        st = np.asarray(st, np.float64).reshape(-1, 2)
        return self.origin + st[:, :1] * self.u + st[:, 1:] * self.v

    def save(self, path: str | os.PathLike) -> str:
        """Write the partition to ``path`` (``.npz``, atomically); :meth:`load` reads it back."""
        from relu_regions._plane_io import save_partition
        return save_partition(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PlanePartition":
        from relu_regions._plane_io import load_partition
        return load_partition(path)


def _area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _check_bounds(bounds) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        b = np.asarray(bounds, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"bounds: expected ((s0, s1), (t0, t1)), got {bounds!r}") from None
    if b.shape != (2, 2):
        raise ValueError(f"bounds: expected ((s0, s1), (t0, t1)), got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("bounds: must be finite")
    if not (b[0, 0] < b[0, 1] and b[1, 0] < b[1, 1]):
        raise ValueError(f"bounds: need s0 < s1 and t0 < t1, got {b.tolist()}")
    return (float(b[0, 0]), float(b[0, 1])), (float(b[1, 0]), float(b[1, 1]))


def _split_polys(polys: Polys) -> list[np.ndarray]:
    xy = polys.xy
    return [xy[a:b] for a, b in zip(polys.off[:-1].tolist(), polys.off[1:].tolist())]


def plane_regions(model, origin, u, v, bounds=((-1.0, 2.0), (-1.0, 2.0)), *, max_regions: int = 200_000,
                  progress=None) -> PlanePartition:
    """Every linear region and the decision boundary of ``model`` on the plane ``origin + s u + t v``.

    model: ``[(W (in, out), b (out,)), ...]`` (any network :func:`~relu_regions.check_params` accepts;
    computed in float64). origin, u, v: ``(n_0,)``; for a 2-D input, ``origin = 0`` and the unit vectors
    give the input space itself. bounds: ``((s0, s1), (t0, t1))``. Raises :class:`PlaneCapacityError` as
    soon as the window holds more than ``max_regions`` regions; ``progress(layer, n_regions)`` is called
    after each hidden layer. The work is a Python loop over numpy steps: ``KeyboardInterrupt`` stops it
    cleanly at any time.
    """
    net = [(np.asarray(W, np.float64), np.asarray(b, np.float64)) for W, b in check_params(model)]
    n_in = net[0][0].shape[0]
    origin, u, v = (check_points(a, n_in, name, batched=False).astype(np.float64)
                    for a, name in ((origin, "origin"), (u, "u"), (v, "v")))
    window = _check_bounds(bounds)
    max_regions = check_positive_int(max_regions, "max_regions")
    exact = ExactPlane(net, origin, u, v, window)
    polys, patterns, (F, EF) = hidden_regions(net, origin, u, v, window, exact, max_regions, progress)
    n_hidden = patterns.shape[1]
    cells, cell_rows, cell_cls = decision_cells(polys, patterns, F, EF, exact, n_hidden)
    per_region = np.bincount(cell_rows, minlength=polys.n)
    classes = np.full(polys.n, -1, np.int64)
    single = per_region[cell_rows] == 1
    classes[cell_rows[single]] = cell_cls[single]
    boundary = decision_boundary(cells, cell_rows, cell_cls, patterns, F, EF, exact, n_hidden)
    return PlanePartition(
        origin=origin, u=u, v=v, bounds=np.array(window), layer_sizes=tuple(W.shape[1] for W, _ in net),
        polygons=_split_polys(polys), patterns=patterns, classes=classes, logit_maps=F, boundary=boundary,
        cells=_split_polys(cells), cell_regions=cell_rows, cell_classes=cell_cls)
