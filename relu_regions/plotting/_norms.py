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
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)


def plot_norm_ratios(path: str | os.PathLike, composed: dict[str, dict[str, np.ndarray]],
                     layers: dict[str, np.ndarray], tightness: dict[str, np.ndarray],
                     margins: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write the figure to ``path`` (PNG, atomically) and return it.

    composed: ``{net: {set: (n,) ||A(x)||_inf / ||W_1...W_L||_inf}}`` for the sets ``train``, ``val``,
    ``pieces``, ``random`` (top row; shaded: ratio <= 1, the band the paper's argument implies).
    layers: per-layer ratios (unused in the figure: ``||W~_l||_inf <= ||W_l||_inf`` is a theorem, checked
    by the tests). tightness: ``{net: (S,) bound / actual}`` of the segment bound. margins: ``{net:
    (bound (S,), margin (S,))}``: the segment bound against the logit margin at the segment's start (the
    appendix's argument certifies the class only below the diagonal ``bound = margin``).
    """
    del layers
    path = Path(path)
    sets = [s for s in _SET_TITLES if any(s in v for v in composed.values())]
    n_cols = max(len(sets), 2)
    fig, axes = plt.subplots(2, n_cols, figsize=(4.2 * n_cols, 8.0), squeeze=False)
    bins = _log_bins([a for v in composed.values() for a in v.values()])
    for ax, name in zip(axes[0], sets):
        _hist(ax, {net: v[name] for net, v in composed.items() if name in v}, bins, log_x=True,
              extra=lambda v: f", {np.mean(v <= 1):.1%} <= 1")
        ax.axvspan(bins[0], 1.0, color="0.93", zorder=-1)
        ax.axvline(1.0, color="k", lw=0.8, ls="--")
        ax.set_title(_SET_TITLES[name], fontsize=10)
        ax.set_xlabel(r"$\|A(x)\|_\infty \,/\, \|W_1 W_2 \cdots W_L\|_\infty$")
    ax = axes[1, 0]
    _hist(ax, tightness, _log_bins(list(tightness.values())), log_x=True,
          extra=lambda v: f", median {np.median(v):.3g}" if v.size else "")
    ax.set_title("segment bound tightness (same-label segments)", fontsize=10)
    ax.set_xlabel(r"$\sum_i \|A_i\|_\infty |\Delta t_i| \|d\|_\infty \;/\; \max_{t,k} |f_k(x(t)) - f_k(x_0)|$")
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax = axes[1, 1]
    lo, hi = np.inf, 0.0
    for net, (bound, margin) in margins.items():
        ok = (bound > 0) & (margin > 0)
        ax.scatter(margin[ok], bound[ok], s=5, alpha=0.5, color=_COLORS.get(net),
                   label=f"{net} labels: bound < margin on {np.mean(bound < margin):.1%}")
        if ok.any():
            lo, hi = min(lo, margin[ok].min(), bound[ok].min()), max(hi, margin[ok].max(), bound[ok].max())
    if hi > 0:
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.fill_between([lo, hi], [lo, lo], [lo, hi], color="0.93", zorder=-1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("logit margin at the segment's start")
    ax.set_ylabel("segment bound")
    ax.set_title("does the bound explain a kept segment? (shaded: bound < margin)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    for ax in list(axes[0, len(sets):]) + list(axes[1, 2:]):
        ax.set_visible(False)
    fig.suptitle("Appendix norm argument, checked (real vs random labels)\n"
                 r"$\|M\|_\infty$ of $y \mapsto y M$ for $(in, out)$ matrices = largest absolute column sum "
                 r"$\max_j \sum_i |M_{ij}|$; shaded in the top row: ratio $\leq 1$ (the band the argument needs); "
                 "dashed: 1", fontsize=11)
    save_figure(fig, path)
    return path
