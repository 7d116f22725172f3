"""Decision regions of a 2-D classifier."""

from __future__ import annotations

import numpy as np


def plot_decision_regions(ax, predict, X: np.ndarray, y: np.ndarray, title: str, grid: int = 300,
                          margin: float = 0.1) -> None:
    """Shade ``predict(points (m, 2)) -> classes (m,)`` on a ``grid x grid`` raster around ``X`` ``(n, 2)``
    and scatter the points coloured by ``y``."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    classes = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    ax.contourf(gx, gy, classes, levels=np.arange(classes.max() + 2) - 0.5, cmap="coolwarm", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=8, edgecolors="k", linewidths=0.3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, fontsize=9)
