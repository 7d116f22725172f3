"""Fig. 1: network outputs along a same-class segment, a different-class segment and a random direction."""

from __future__ import annotations

import numpy as np

import relu_regions as rr
from relu_regions.experiments._along import class_changes, segment_stats
from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._pairwise_sets import median, median_diff, run_stat
from relu_regions.experiments._stats import decide, fmt_ci, summarize
from relu_regions.plotting import new_figure, plot_logits_along, save_figure

FIGURE = "fig1_paths.png"
KINDS = ("same_class", "other_class", "random_direction")
PLOT_RANGE = (-1.0, 2.0)
KEPT_THRESHOLD = 0.9


def path_triples(X: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` start points with, for each, a different training point of the same class, a training
    point of another class and a random Gaussian direction scaled to the same-class distance.
    Returns ``(I, directions)`` with ``directions[kind]`` ``(n, n_0)`` float64 for each of :data:`KINDS`."""
    I = rng.choice(len(y), size=n, replace=n > len(y))
    idx = np.arange(len(y))
    J = np.array([rng.choice(idx[(y == y[i]) & (idx != i)]) for i in I])
    K = np.array([rng.choice(idx[y != y[i]]) for i in I])
    x = X[I].astype(np.float64)
    same = X[J].astype(np.float64) - x
    rand = rng.normal(size=x.shape)
    rand *= (np.linalg.norm(same, axis=1) / np.linalg.norm(rand, axis=1))[:, None]
    return I, {"same_class": same, "other_class": X[K].astype(np.float64) - x, "random_direction": rand}


def fig1_paths(ctx: ExperimentContext) -> dict:
    """Outputs along paths from a training point ``x`` (MNIST, 3x128, real labels), ``t`` in [-1, 2]:
    to another point of its class (``t = 1``), to a point of another class, and along a random
    direction of the same length. Exact region boundaries and class changes from ``rr.linear_pieces``.

    Numbers, over ``sizes.n_paths`` such triples on ``t`` in [0, 1]: ``kept_fraction`` (the whole segment
    keeps the start's class), and summaries of ``label_range`` (max - min of that class's logit),
    ``pieces`` and ``changes``, per kind.
    """
    per_seed, keys = [], []
    for c in ctx.per_seed():
        net = c.network("mnist", MAIN_WIDTHS, "real")
        I, dirs = path_triples(net.X, net.y, ctx.sizes.n_paths, c.rng("fig1"))
        x = net.X[I].astype(np.float64)
        per_seed.append({kind: [segment_stats(net.params, x[k], dirs[kind][k]) for k in range(len(I))]
                         for kind in KINDS})
        keys.append(net.key)
        if c.seed == ctx.seeds[0]:
            first = (net, I, dirs, x)
    arrays = {kind: {f: [np.array([r[f] for r in seed[kind]], np.float64) for seed in per_seed]
                     for f in ("kept", "label_range", "pieces", "changes")} for kind in KINDS}
    numbers = {"n_paths": int(ctx.sizes.n_paths), "n_seeds": len(ctx.seeds), "t_range_stats": [0.0, 1.0],
               "kinds": {}}
    for kind in KINDS:
        A = arrays[kind]
        numbers["kinds"][kind] = {
            "kept_fraction": float(np.mean(np.concatenate(A["kept"]))),
            "label_range": summarize(np.concatenate(A["label_range"])),
            "pieces": summarize(np.concatenate(A["pieces"])),
            "changes": summarize(np.concatenate(A["changes"])),
        }
    R = {kind: arrays[kind]["label_range"] for kind in KINDS}
    stats = {
        "same-class kept fraction": run_stat(ctx, arrays["same_class"]["kept"], lambda a: a.mean()),
        "different-class kept fraction": run_stat(ctx, arrays["other_class"]["kept"], lambda a: a.mean()),
        "same-class pieces per segment, median": run_stat(ctx, arrays["same_class"]["pieces"], median),
        **{f"label-logit range median: {kind.replace('_', ' ')}": run_stat(ctx, R[kind], median) for kind in KINDS},
        "label-logit range median: other class - same class": run_stat(
            ctx, list(zip(R["other_class"], R["same_class"])), median_diff),
        "label-logit range median: random direction - same class": run_stat(
            ctx, list(zip(R["random_direction"], R["same_class"])), median_diff),
    }
    numbers["stats"] = stats
    net, I, dirs, x = first

    fig, axes = new_figure(3, sharey=True)
    titles = {"same_class": "same-class segment", "other_class": "different-class segment",
              "random_direction": "random direction (same length)"}
    example = {}
    for ax, kind in zip(axes[0], KINDS):
        pieces = rr.linear_pieces(net.params, x[0], dirs[kind][0], *PLOT_RANGE)
        changes = class_changes(pieces)
        label = per_seed[0][kind][0]["label"]
        marks = (0.0, 1.0) if kind != "random_direction" else (0.0,)
        plot_logits_along(ax, pieces, changes, label, f"{titles[kind]} (label {label})", marks=marks,
                          legend=kind == KINDS[0])
        example[kind] = {"pieces": pieces.n_pieces, "class_changes_t": changes.t,
                         "classes_after": changes.after}
    fig.suptitle(f"Fig. 1: MNIST 3x128, real labels, seed {ctx.seeds[0]}; grey: region boundaries, dashed: class changes, "
                 "red dotted: training samples", fontsize=9)
    numbers["example"] = {"start_index": int(I[0]), "range": list(PLOT_RANGE), **example}
    files = [save_figure(fig, ctx.figure_path(FIGURE))]

    med = {kind: fmt_ci(stats[f"label-logit range median: {kind.replace('_', ' ')}"]) for kind in KINDS}
    kept = stats["same-class kept fraction"]
    d_other = stats["label-logit range median: other class - same class"]
    d_rand = stats["label-logit range median: random direction - same class"]
    n = (f"n = {ctx.sizes.n_paths} segments per kind and seed (start: a random training point), "
         f"{len(ctx.seeds)} seed(s)")
    claims = [
        claim("Along the segment between two training samples of the same class the network classifies "
              "every point as that class (real labels).",
              f"fraction of same-class segments keeping the class over all of [0, 1]: {fmt_ci(kept)} "
              f"(different-class segments: {fmt_ci(stats['different-class kept fraction'])}); median linear pieces "
              f"per same-class segment {fmt_ci(stats['same-class pieces per segment, median'])}; {n}",
              f"95% interval of the fraction above {KEPT_THRESHOLD}", decide(kept["ci"], "above", KEPT_THRESHOLD),
              networks=keys, statistics={"kept": kept}),
        claim("The output of the correct class changes less along a same-class segment than along a "
              "different-class segment.",
              f"median range (max - min) of the start class's logit on [0, 1]: same class "
              f"{med['same_class']}, other class {med['other_class']}; other - same {fmt_ci(d_other)}; {n}",
              "95% interval of median(other) - median(same) above 0", decide(d_other["ci"], "above", 0.0),
              networks=keys, statistics={"difference": d_other}),
        claim("The output of the correct class changes less along a same-class segment than along a random "
              "direction.",
              f"median range of the start class's logit on [0, 1]: same class {med['same_class']}, "
              f"random direction (Gaussian, same Euclidean length as the same-class segment) "
              f"{med['random_direction']}; random - same {fmt_ci(d_rand)}; {n}",
              "95% interval of median(random) - median(same) above 0", decide(d_rand["ci"], "above", 0.0),
              networks=keys, statistics={"difference": d_rand}),
    ]
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
