"""Pictures of exact plane partitions: region edges thin, decision cells shaded by class, the decision
boundary bold, the plane's defining points marked; saved as PNG and SVG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after selecting the backend)
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from relu_regions._atomic import atomic_path  # noqa: E402
from relu_regions.plotting._figure import DPI  # noqa: E402

__all__ = ["class_colors", "plot_plane", "save_figure_formats"]

DEFINING_POINTS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))


def class_colors(n_classes: int) -> np.ndarray:
    """``(n_classes, 4)`` RGBA colours: blue/red for two classes (as the decision-region plots), else tab10."""
    if n_classes <= 2:
        return matplotlib.colors.to_rgba_array(["#3b4cc0", "#b40426"][:n_classes])
    cmap = plt.get_cmap("tab10" if n_classes <= 10 else "tab20")
    return cmap(np.arange(n_classes) % cmap.N)


def plot_plane(partition, ax=None, *, points=None, point_classes=None, marks=DEFINING_POINTS,
               mark_labels=None, title: str | None = None, edge_width: float = 0.15,
               boundary_width: float = 1.6, alpha: float = 0.35):
    """Draw a :class:`~relu_regions.PlanePartition` on ``ax`` (a new figure if ``None``); returns ``ax``.

    Decision cells are shaded by their class, every region edge is drawn thinly, the decision boundary
    in bold black. ``marks`` (plane coordinates, default the defining points ``(0, 0), (1, 0), (0, 1)``,
    i.e. ``origin``, ``origin + u``, ``origin + v``) get stars and ``mark_labels``; ``points (m, 2)`` in
    plane coordinates (e.g. training points) are scattered on top, coloured by ``point_classes``.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.6))
    n_classes = partition.logit_maps.shape[2]
    colors = class_colors(n_classes)
    face = colors[np.asarray(partition.cell_classes, int)].copy()
    face[:, 3] = alpha
    ax.add_collection(PolyCollection(partition.cells, facecolors=face, edgecolors="none", linewidths=0))
    ax.add_collection(PolyCollection(partition.polygons, facecolors="none", edgecolors="0.25",
                                     linewidths=edge_width))
    if len(partition.boundary):
        ax.add_collection(LineCollection(partition.boundary, colors="k", linewidths=boundary_width,
                                         capstyle="round"))
    if points is not None:
        pts = np.asarray(points, np.float64)
        c = colors[np.asarray(point_classes, int)] if point_classes is not None else "k"
        ax.scatter(pts[:, 0], pts[:, 1], c=c, s=9, edgecolors="k", linewidths=0.3, zorder=3)
    if marks is not None and len(marks):
        m = np.asarray(marks, np.float64)
        ax.scatter(m[:, 0], m[:, 1], marker="*", s=160, c="gold", edgecolors="k", linewidths=0.8, zorder=4)
        for (x, y), label in zip(m, mark_labels or ()):
            ax.annotate(label, (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8, zorder=5)
    (s0, s1), (t0, t1) = partition.bounds
    ax.set_xlim(s0, s1)
    ax.set_ylim(t0, t1)
    ax.set_aspect("equal")
    ax.set_xlabel("s")
    ax.set_ylabel("t")
    ax.set_title(title if title is not None else f"{partition.n_regions} linear regions", fontsize=9)
    return ax


def save_figure_formats(fig, path: str | os.PathLike, formats=("png", "svg"), rect=(0, 0, 1, 1)) -> list[str]:
    """Save ``fig`` as ``path`` with each suffix of ``formats`` atomically (temporary file, then
    ``os.replace``), close it and return the file names. ``rect``: the area ``tight_layout`` fills."""
    path = Path(path)
    fig.tight_layout(rect=rect)
    names = []
    try:
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            with atomic_path(target, suffix=f".{fmt}") as tmp:
                fig.savefig(tmp, dpi=DPI * 2 if fmt == "png" else DPI, format=fmt)
            names.append(target.name)
    finally:
        plt.close(fig)
    return names
