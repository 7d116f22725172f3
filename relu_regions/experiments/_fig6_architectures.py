"""Fig. 6: pairwise GIs of the four architectures (1x512, 2x256, 3x128, 4x128), MNIST."""

from __future__ import annotations

import itertools

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._pairwise_sets import SIMILAR_KS, prominence, real_vs_random, run_stat
from relu_regions.experiments._sizes import ARCHITECTURES
from relu_regions.experiments._stats import Weighted, all_of, decide, fmt_ci, ks, ks_distance
from relu_regions.plotting import new_figure, save_figure

FIGURE = "fig6_architectures.png"


def arch_name(widths) -> str:
    """``(256, 256)`` -> ``"2x256"`` (equal widths) or ``"512-256"``."""
    widths = tuple(widths)
    return f"{len(widths)}x{widths[0]}" if len(set(widths)) == 1 else "-".join(map(str, widths))


def _max_ks(*samples: Weighted) -> float:
    return max(ks_distance(a, b) for a, b in itertools.combinations(samples, 2))


def _prominence_growth(shallow: Weighted, deep: Weighted) -> float:
    return prominence(deep) - prominence(shallow)


def fig6_architectures(ctx: ExperimentContext) -> dict:
    """Pairwise GIs (unordered same-label pairs, ``t`` in [-1, 2]) on MNIST 28x28 for the networks of
    :data:`ARCHITECTURES`, real vs random labels, every seed.

    Numbers: per architecture and labelling the pooled GI summary (``gi``) and bump near 1.3 (``bump``); KS
    of the pooled samples (``ks``); ``stats``: bootstrap intervals of the KS distance real vs random per
    architecture, of the largest KS distance between two architectures per labelling, and of the growth of
    the bump from 1 to 4 hidden layers per labelling.
    """
    fig, axes = new_figure(2, (len(ARCHITECTURES) + 1) // 2, sharey=True)
    per, lengths = {}, {}
    for ax, widths in zip(axes.ravel(), ARCHITECTURES):
        name = arch_name(widths)
        per[name] = real_vs_random(ctx, "mnist", widths, ax, f"MNIST, {name}")
        for labels in LABELS:
            lengths[(name, labels)] = per[name]["sets"][labels].lengths
    fig.suptitle("Fig. 6: pairwise GIs (unordered same-label pairs, t in [-1, 2]) for four architectures, "
                 f"{len(ctx.seeds)} seed(s) pooled", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    names = list(per)
    ks_tab = {f"{n}: real vs random (pooled)": per[n]["ks"] for n in names}
    for labels in LABELS:
        for a, b in itertools.combinations(names, 2):
            ks_tab[f"{a} vs {b} ({labels}, pooled)"] = ks(np.concatenate(lengths[(a, labels)]),
                                                          np.concatenate(lengths[(b, labels)]))
    stats = {f"{n}: ks real vs random": per[n]["stats"]["ks"] for n in names}
    for labels in LABELS:
        stats[f"largest cross-architecture ks ({labels})"] = run_stat(
            ctx, list(zip(*(lengths[(n, labels)] for n in names))), _max_ks)
    for labels in LABELS:
        for n in names:
            stats[f"{n}: bump prominence ({labels})"] = per[n]["stats"][f"bump_{labels}"]
        stats[f"bump growth {names[0]} -> {names[-1]} ({labels})"] = run_stat(
            ctx, list(zip(lengths[(names[0], labels)], lengths[(names[-1], labels)])), _prominence_growth)
    numbers = {
        "architectures": names,
        "gi": {f"{n}/{lab}": per[n]["gi"][lab] for n in names for lab in LABELS},
        "bump": {f"{n}/{lab}": per[n]["bump"][lab] for n in names for lab in LABELS},
        "seed_floor": {f"{n}/{lab}": per[n]["floor"][lab] for n in names for lab in LABELS},
        "ks": ks_tab,
        "stats": stats,
    }
    keys = {(n, lab): per[n]["sets"][lab].keys for n in names for lab in LABELS}
    claims = []
    for labels in LABELS:
        b = stats[f"largest cross-architecture ks ({labels})"]
        claims.append(claim(
            f"The pairwise GI distributions are roughly the same for networks with 1, 2, 3 and 4 hidden layers "
            f"({labels} labels).",
            "medians: " + ", ".join(f"{n} {fmt_ci(per[n]['stats'][f'median_{labels}'])}" for n in names)
            + f"; largest KS D between two architectures {fmt_ci(b)}; {per[names[0]]['n_text']}",
            f"equivalence: 95% interval of the largest cross-architecture KS distance below {SIMILAR_KS}",
            decide(b["ci"], "below", SIMILAR_KS), networks=[k for n in names for k in keys[(n, labels)]],
            statistics={"max_ks": b}))
    rr_stats = {n: stats[f"{n}: ks real vs random"] for n in names}
    claims.append(claim(
        "For every architecture real- and random-label pairwise GIs are alike.",
        "KS D real vs random: " + ", ".join(f"{n} {fmt_ci(rr_stats[n])}" for n in names)
        + f"; {per[names[0]]['n_text']}",
        f"equivalence: every 95% interval of the KS distance below {SIMILAR_KS} (holds); any above it (does not "
        "hold)",
        all_of(decide(rr_stats[n]["ci"], "below", SIMILAR_KS) for n in names),
        networks=[k for n in names for lab in LABELS for k in keys[(n, lab)]], statistics=rr_stats))
    for labels in LABELS:
        g = stats[f"bump growth {names[0]} -> {names[-1]} ({labels})"]
        claims.append(claim(
            f"As the number of layers increases the bump around 1.3 becomes more visible ({labels} labels).",
            "bump prominence: " + ", ".join(f"{n} {fmt_ci(stats[f'{n}: bump prominence ({labels})'])}"
                                            for n in names)
            + f"; {names[-1]} minus {names[0]}: {fmt_ci(g)}; {per[names[0]]['n_text']}",
            f"95% interval of prominence({names[-1]}) - prominence({names[0]}) above 0",
            decide(g["ci"], "above", 0.0), networks=keys[(names[0], labels)] + keys[(names[-1], labels)],
            statistics={"growth": g}))
    networks = [k for n in names for k in per[n]["networks"]]
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": networks}
