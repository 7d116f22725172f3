"""Exact 2-D slices of the reproduction's networks (real vs random labels): the whole two-moons input
space with the training points, and a plane through three same-class MNIST training images.

Networks come from the experiment context (the training cache), so nothing is retrained. For MNIST the
three images are the first three training images whose *training* label (real, or the permuted one of
the random-label network) is ``digit``: for each network a plane through points it learnt to be one
class, as in the pairwise GIs.
"""

from __future__ import annotations

import time

import numpy as np
from matplotlib.patches import Patch

import relu_regions as rr
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.plotting import new_figure, plot_plane
from relu_regions.plotting._plane import class_colors, save_figure_formats

__all__ = ["mnist_planes", "moons_planes", "plane_figures"]

MNIST_BOUNDS = ((-1.0, 2.0), (-1.0, 2.0))
MOONS_MARGIN = 0.25
MAX_REGIONS = 500_000


def _partition(ctx: ExperimentContext, params, origin, u, v, bounds, name: str, max_regions: int):
    start = time.perf_counter()
    part = rr.plane_regions(params, origin, u, v, bounds, max_regions=max_regions)
    seconds = time.perf_counter() - start
    part.save(ctx.out_dir / f"{name}.npz")
    area = np.bincount(part.cell_classes, [abs(_area(c)) for c in part.cells],
                       minlength=part.logit_maps.shape[2]) / part.window_area
    ctx.say(f"{name}: {part.n_regions} regions, {len(part.boundary)} boundary segments, {seconds:.2f} s")
    return part, {"regions": part.n_regions, "seconds": seconds, "boundary_segments": int(len(part.boundary)),
                  "regions_with_a_class_change": int((part.classes < 0).sum()),
                  "area_fraction_per_class": area.tolist(), "bounds": np.asarray(bounds).tolist(),
                  "file": f"{name}.npz"}


def _area(p: np.ndarray) -> float:
    return 0.5 * float(np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]))


def moons_planes(ctx: ExperimentContext, max_regions: int = MAX_REGIONS) -> dict:
    """The two-moons input space (the training points' box plus a margin), real vs random labels:
    ``{"figures", "numbers"}`` with the figure ``plane_moons.png`` / ``.svg``."""
    fig, axes = new_figure(2, panel_size=(5.2, 4.4))
    numbers = {}
    for ax, labels in zip(axes[0], LABELS):
        net = ctx.network("moons", MAIN_WIDTHS, labels)
        lo, hi = net.X.min(axis=0) - MOONS_MARGIN, net.X.max(axis=0) + MOONS_MARGIN
        bounds = ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))
        part, num = _partition(ctx, net.params, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                               bounds, f"plane_moons_{labels}", max_regions)
        plot_plane(part, ax, points=net.X, point_classes=net.y, marks=(),
                   title=f"{labels} labels: {part.n_regions} regions, exact boundary "
                         f"({len(part.boundary)} segments)")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        numbers[labels] = num
    fig.suptitle("Two moons, 3x128: every linear region and the exact decision boundary", fontsize=10)
    return {"figures": save_figure_formats(fig, ctx.figure_path("plane_moons")), "numbers": numbers}


def _same_class_triple(y: np.ndarray, digit: int) -> np.ndarray:
    idx = np.flatnonzero(np.asarray(y) == digit)[:3]
    if len(idx) < 3:
        raise ValueError(f"fewer than three training images with label {digit}")
    return idx


def mnist_planes(ctx: ExperimentContext, digit: int = 3, max_regions: int = MAX_REGIONS) -> dict:
    """Planes ``x_a + s (x_b - x_a) + t (x_c - x_a)`` over ``[-1, 2]^2`` through three training images of
    label ``digit``, real vs random labels: ``{"figures", "numbers"}`` (``plane_mnist.png`` / ``.svg``)."""
    fig, axes = new_figure(2, panel_size=(5.2, 4.8))
    numbers = {}
    for ax, labels in zip(axes[0], LABELS):
        net = ctx.network("mnist", MAIN_WIDTHS, labels)
        i = _same_class_triple(net.y, digit)
        X = np.asarray(net.X, np.float64)
        origin, u, v = X[i[0]], X[i[1]] - X[i[0]], X[i[2]] - X[i[0]]
        part, num = _partition(ctx, net.params, origin, u, v, MNIST_BOUNDS, f"plane_mnist_{labels}", max_regions)
        plot_plane(part, ax, mark_labels=[f"#{k}" for k in i],
                   title=f"{labels} labels, class {digit}: {part.n_regions} regions")
        numbers[labels] = num | {"images": i.tolist(), "digit": int(digit)}
    handles = [Patch(facecolor=c, alpha=0.5, label=str(k)) for k, c in enumerate(class_colors(10))]
    fig.legend(handles=handles, loc="lower center", ncol=10, fontsize=7, frameon=False, title="predicted class",
               title_fontsize=7)
    fig.suptitle(f"MNIST 3x128: exact slice through three training images labelled {digit} "
                 "(stars), s, t in [-1, 2]", fontsize=10)
    files = save_figure_formats(fig, ctx.figure_path("plane_mnist"), rect=(0, 0.08, 1, 1))
    return {"figures": files, "numbers": numbers}


def plane_figures(ctx: ExperimentContext, datasets=("moons", "mnist"), digit: int = 3,
                  max_regions: int = MAX_REGIONS) -> dict:
    """Both figures (or those of ``datasets``): ``{"figures": [...], "numbers": {dataset: ...}}``."""
    out = {"figures": [], "numbers": {}}
    for name in datasets:
        if name == "moons":
            res = moons_planes(ctx, max_regions)
        elif name == "mnist":
            res = mnist_planes(ctx, digit, max_regions)
        else:
            raise ValueError(f"unknown dataset {name!r} for plane figures; choose moons or mnist")
        out["figures"] += res["figures"]
        out["numbers"][name] = res["numbers"]
    return out
