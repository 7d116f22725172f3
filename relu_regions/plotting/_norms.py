"""Figure of the matrix-norm check: histograms of norm ratios, real vs random labels.

Convention on every axis: ``||M||_inf`` of an ``(in, out)`` matrix acting as ``y -> y @ M`` is its largest
absolute column sum.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from relu_regions.plotting._figure import save_figure  # noqa: E402

_COLORS = {"real": "tab:blue", "random": "tab:orange"}
_SET_TITLES = {"train": "training points", "val": "validation points",
               "pieces": "midpoints of linear pieces\n(same-label segments)", "random": "random inputs U[0,1]^d"}


def _log_bins(arrays, n=50):
    values = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] + [np.zeros(0)])
    lo, hi = (values.min(), values.max()) if values.size else (1.0, 1.0)
    if hi <= lo * 1.01:
        lo, hi = lo / 1.5, hi * 1.5
    return np.geomspace(lo / 1.05, hi * 1.05, n)


def _hist(ax, by_net: dict[str, np.ndarray], bins, log_x: bool, extra=lambda v: ""):
    for net, values in by_net.items():
        v = values[np.isfinite(values)]
        if log_x:
            v = v[v > 0]
        ax.hist(v, bins=bins, weights=np.full(v.size, 1 / max(v.size, 1)), histtype="stepfilled", alpha=0.45,
                color=_COLORS.get(net), label=f"{net} labels (n={v.size}{extra(v)})")
    if log_x:
        ax.set_xscale("log")
    ax.set_ylabel("fraction of points")
    ax.legend(fontsize=7, loc="upper left")


def plot_norm_ratios(path: str | os.PathLike, composed: dict[str, dict[str, np.ndarray]],
                     layers: dict[str, np.ndarray], tightness: dict[str, np.ndarray], factor: float) -> Path:
    """Write the figure to ``path`` (PNG, atomically) and return it.

    composed: ``{net: {set: (n,) ||A(x)||_inf / ||W_1...W_L||_inf}}`` for the sets ``train``, ``val``,
    ``pieces``, ``random``. layers: ``{net: (n, L - 1) ||W~_l(x)||_inf / ||W_l||_inf}`` (hidden layers, at
    the training points). tightness: ``{net: (S,) bound / actual}`` of the segment bound. ``factor``: the
    "same magnitude" band ``[1/factor, factor]`` shaded on the composed panels.
    """
    path = Path(path)
    sets = [s for s in _SET_TITLES if any(s in v for v in composed.values())]
    n_layers = max((v.shape[1] for v in layers.values()), default=0)
    n_cols = max(len(sets), n_layers + 1)
    fig, axes = plt.subplots(2, n_cols, figsize=(4.2 * n_cols, 7.6), squeeze=False)
    bins = _log_bins([a for v in composed.values() for a in v.values()])
    for ax, name in zip(axes[0], sets):
        _hist(ax, {net: v[name] for net, v in composed.items() if name in v}, bins, log_x=True,
              extra=lambda v: f", {np.mean(v > 1):.1%} > 1")
        ax.axvspan(1 / factor, factor, color="0.93", zorder=-1)
        ax.axvline(1.0, color="k", lw=0.8, ls="--")
        ax.set_title(_SET_TITLES[name], fontsize=10)
        ax.set_xlabel(r"$\|A(x)\|_\infty \,/\, \|W_1 W_2 \cdots W_L\|_\infty$")
    for l in range(n_layers):
        ax = axes[1, l]
        by_net = {net: v[:, l] for net, v in layers.items()}
        lo = min(0.9, min((v.min() for v in by_net.values() if v.size), default=0.9))
        bins = np.linspace(lo - 0.02 * (1 - lo), 1.0 + 1e-9, 41)
        _hist(ax, by_net, bins, log_x=False, extra=lambda v: f", {np.mean(v == 1):.0%} = 1")
        ax.set_xlim(bins[0], 1.0 + 0.03 * (1 - lo))
        ax.set_title(f"hidden layer {l + 1}, training points", fontsize=10)
        ax.set_xlabel(rf"$\|\tilde W_{l + 1}(x)\|_\infty \,/\, \|W_{l + 1}\|_\infty$ (always $\leq 1$)")
    ax = axes[1, n_layers]
    _hist(ax, tightness, _log_bins(list(tightness.values())), log_x=True,
          extra=lambda v: f", median {np.median(v):.3g}" if v.size else "")
    ax.set_title("segment bound tightness (same-label segments)", fontsize=10)
    ax.set_xlabel(r"$\sum_i \|A_i\|_\infty |\Delta t_i| \|d\|_\infty \;/\; \max_{t,k} |f_k(x(t)) - f_k(x_0)|$")
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    for ax in list(axes[0, len(sets):]) + list(axes[1, n_layers + 1:]):
        ax.set_visible(False)
    fig.suptitle("Appendix norm argument, checked: ratios of matrix inf-norms (real vs random labels)\n"
                 r"$\|M\|_\infty$ of $y \mapsto y M$ for $(in, out)$ matrices = largest absolute column sum "
                 r"$\max_j \sum_i |M_{ij}|$; shaded: $[1/%g, %g]$ (same magnitude); dashed: 1" % (factor, factor),
                 fontsize=11)
    save_figure(fig, path)
    return path
