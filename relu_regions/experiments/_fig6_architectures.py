"""Fig. 6: pairwise GIs of the four architectures (1x512, 2x256, 3x128, 4x128), MNIST."""

from __future__ import annotations

import itertools

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._pairwise_sets import real_vs_random
from relu_regions.experiments._sizes import ARCHITECTURES
from relu_regions.experiments._stats import SIMILAR_KS, fmt, ks
from relu_regions.plotting import new_figure, save_figure

FIGURE = "fig6_architectures.png"


def arch_name(widths) -> str:
    """``(256, 256)`` -> ``"2x256"`` (equal widths) or ``"512-256"``."""
    widths = tuple(widths)
    return f"{len(widths)}x{widths[0]}" if len(set(widths)) == 1 else "-".join(map(str, widths))


def fig6_architectures(ctx: ExperimentContext) -> dict:
    """Pairwise GIs (same-label pairs, ``t`` in [-1, 2]) on MNIST 28x28 for the networks of
    :data:`ARCHITECTURES`, real vs random labels.

    Numbers: per architecture and labelling the GI summary (``gi``) and bump near 1.3 (``bump``); KS real
    vs random per architecture and between every two architectures with the same labels (``ks``).
    """
    fig, axes = new_figure(2, (len(ARCHITECTURES) + 1) // 2)
    per, lengths = {}, {}
    for ax, widths in zip(axes.ravel(), ARCHITECTURES):
        name = arch_name(widths)
        per[name] = real_vs_random(ctx, "mnist", widths, ax, f"MNIST, {name}")
        for labels in LABELS:
            lengths[(name, labels)] = ctx.pairwise(ctx.network("mnist", widths, labels))[0].length
    fig.suptitle("Fig. 6: pairwise GIs (same-label pairs, t in [-1, 2]) for four architectures", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    names = list(per)
    ks_tab = {f"{n}: real vs random": per[n]["ks"] for n in names}
    cross = {}
    for labels in LABELS:
        for a, b in itertools.combinations(names, 2):
            cross[(a, b, labels)] = ks(lengths[(a, labels)], lengths[(b, labels)])
            ks_tab[f"{a} vs {b} ({labels})"] = cross[(a, b, labels)]
    max_cross = {lab: max(v["statistic"] for (_, _, la), v in cross.items() if la == lab) for lab in LABELS}
    max_rr = max(per[n]["ks"]["statistic"] for n in names)
    prominence = {n: float(np.mean([per[n]["bump"][lab]["height"]
                                    - max(per[n]["bump"][lab]["left"], per[n]["bump"][lab]["right"])
                                    for lab in LABELS])) for n in names}
    prom_seq = [prominence[n] for n in names]  # ARCHITECTURES are ordered by depth
    numbers = {
        "architectures": names,
        "gi": {f"{n}/{lab}": per[n]["gi"][lab] for n in names for lab in LABELS},
        "bump": {f"{n}/{lab}": per[n]["bump"][lab] for n in names for lab in LABELS},
        "bump_prominence": prominence,
        "ks": ks_tab,
    }
    claims = [
        claim("The pairwise GI distributions are roughly the same for networks with 1, 2, 3 and 4 hidden layers.",
              "medians (real / random): " + ", ".join(
                  f"{n} {fmt(per[n]['gi']['real']['median'])} / {fmt(per[n]['gi']['random']['median'])}"
                  for n in names) + f"; largest KS D between two architectures: real labels "
              f"{fmt(max_cross['real'])}, random labels {fmt(max_cross['random'])}",
              f"every cross-architecture KS D < {SIMILAR_KS}", max(max_cross.values()) < SIMILAR_KS),
        claim("For every architecture real- and random-label pairwise GIs are alike.",
              "KS D real vs random: " + ", ".join(f"{n} {fmt(per[n]['ks']['statistic'])}" for n in names),
              f"every KS D < {SIMILAR_KS}", max_rr < SIMILAR_KS),
        claim("As the number of layers increases the bump around 1.3 becomes more visible.",
              "bump prominence (peak 0.05-bin share near 1.3 minus the larger flank-bin share, mean of real and "
              "random): " + ", ".join(f"{n} {fmt(prominence[n])}" for n in names),
              "prominence positive for the deepest network and increasing with depth",
              prom_seq[-1] > 0 and all(a < b for a, b in zip(prom_seq, prom_seq[1:]))),
    ]
    networks = [k for n in names for k in per[n]["networks"]]
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": networks}
