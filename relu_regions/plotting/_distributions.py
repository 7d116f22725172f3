"""Distributions of generalization-interval lengths."""

from __future__ import annotations

import numpy as np

COLORS = {"real": "tab:blue", "random": "tab:orange"}


def plot_gi_histograms(ax, samples: dict, max_length: float, title: str, bin_width: float = 0.05) -> None:
    """Density histograms (steps) of GI lengths, one per entry of ``samples`` (name -> lengths), over
    ``[0, max_length]`` (the search range); the legend gives each sample's size and median."""
    edges = np.linspace(0.0, max_length, int(round(max_length / bin_width)) + 1)
    for k, (name, values) in enumerate(samples.items()):
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        ax.hist(v, bins=edges, density=True, histtype="step", lw=1.4,
                color=COLORS.get(name, f"C{k}"), label=f"{name} (n={v.size:,}, median {np.median(v):.2f})")
    ax.set_xlim(0, max_length)
    ax.set_xlabel("GI length")
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
