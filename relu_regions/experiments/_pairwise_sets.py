"""Pairwise GI sets of real- and random-label networks, the building block of Figs. 4 and 6-8."""

from __future__ import annotations

from relu_regions.experiments._context import LABELS, PAIR_RANGE, ExperimentContext
from relu_regions.experiments._stats import bump, ks
from relu_regions.plotting import plot_gi_histograms


def real_vs_random(ctx: ExperimentContext, dataset: str, widths, ax=None, title: str = "") -> dict:
    """Pairwise GIs (``ctx.pairwise``) of the real- and random-label networks of ``widths`` on ``dataset``.

    Returns ``{"gi": {"real": summary, "random": summary}, "ks": KS real vs random, "bump": {labels:
    bump near 1.3}, "networks": [keys]}``; draws both histograms on ``ax`` when given.
    """
    lengths, gi, bumps, keys = {}, {}, {}, []
    for labels in LABELS:
        net = ctx.network(dataset, widths, labels)
        iv, summary = ctx.pairwise(net)
        lengths[labels], gi[labels] = iv.length, summary
        bumps[labels] = bump(summary["histogram"])
        keys.append(net.key)
    if ax is not None:
        plot_gi_histograms(ax, lengths, PAIR_RANGE[1] - PAIR_RANGE[0], title)
    return {"gi": gi, "ks": ks(lengths["real"], lengths["random"]), "bump": bumps, "networks": keys}
