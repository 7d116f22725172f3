"""Distributions of generalization-interval lengths."""

from __future__ import annotations

import numpy as np

COLORS = {"real": "tab:blue", "random": "tab:orange"}


def _as_seeds(values) -> list[np.ndarray]:
    if isinstance(values, (list, tuple)) and values and np.ndim(values[0]) == 1:
        return [np.asarray(v, np.float64) for v in values]
    return [np.asarray(values, np.float64)]


def plot_gi_histograms(ax, samples: dict, max_length: float, title: str, bin_width: float = 0.05,
                       legend: bool = True) -> None:
    """GI length distributions, one per entry of ``samples`` (name -> lengths, or a list of per-seed
    lengths, pooled for the curve).

    GIs shorter than the range are drawn as a density histogram (steps) over ``[0, max_length)``, scaled so
    that it integrates to their share; GIs equal to the whole range (capped: the class never changed inside
    it) are not a spike at ``max_length`` but a separate bar right of the dotted line, on its own axis (share
    0..1, right), labelled with the share. The legend (sample sizes, seeds, medians) sits below the axes.
    """
    edges = np.linspace(0.0, max_length, int(round(max_length / bin_width)) + 1)
    names = list(samples)
    gap, bar = 0.06 * max_length, 0.05 * max_length
    right = ax.twinx()
    for k, name in enumerate(names):
        seeds = _as_seeds(samples[name])
        v = np.concatenate([s[np.isfinite(s)] for s in seeds]) if seeds else np.zeros(0)
        if v.size == 0:
            continue
        cap = v >= max_length * (1 - 1e-12)
        inner = v[~cap]
        color = COLORS.get(name, f"C{k}")
        weights = np.full(inner.size, 1.0 / (v.size * bin_width))
        ax.hist(inner, bins=edges, weights=weights, histtype="step", lw=1.4, color=color,
                label=f"{name}: n={v.size:,} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''}), "
                      f"median {np.median(v):.2f}, {cap.mean():.0%} = range")
        x0 = max_length + gap + k * (bar / len(names))
        share = cap.mean()
        right.bar(x0, share, width=bar / len(names), align="edge", color=color, alpha=0.6)
        right.annotate(f"{share:.0%}", (x0 + bar / (2 * len(names)), share + 0.07 * k), ha="center",
                       va="bottom", fontsize=6, color=color)
    ax.axvline(max_length + gap / 2, color="0.5", lw=0.6, ls=":")
    ax.set_xlim(0, max_length + gap + bar * 1.3)
    right.set_ylim(0, 1.1)
    right.set_ylabel("share of GIs = whole range (bars)", fontsize=7)
    right.tick_params(labelsize=7)
    ticks = list(np.arange(0, max_length + 1e-9, 0.5 if max_length <= 3 else 1.0))
    ax.set_xticks(ticks + [max_length + gap + bar / 2])
    ax.set_xticklabels([f"{t:g}" for t in ticks] + ["=range"], fontsize=7)
    ax.set_xlabel("GI length", fontsize=8)
    ax.set_ylabel("density (GIs shorter than the range)", fontsize=7)
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1, frameon=False)
