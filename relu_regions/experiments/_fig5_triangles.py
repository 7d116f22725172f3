"""Fig. 5: GIs along the mid-lines of triangles of three same-class samples (class 5), range 5."""

from __future__ import annotations

import numpy as np

import relu_regions as rr
from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._gi import gi_summary
from relu_regions.experiments._rays import midline_rays, random_triangles
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._pairwise_sets import median, median_diff, run_stat
from relu_regions.experiments._stats import DIFFERENT_KS, all_of, decide, fmt_ci, ks, ks_distance
from relu_regions.plotting import new_figure, plot_gi_histograms, save_figure

FIGURE = "fig5_triangles.png"
TRIANGLE_CLASS = 5
RANGE = (-2.0, 3.0)


def fig5_triangles(ctx: ExperimentContext) -> dict:
    """GIs along triangle mid-lines, MNIST 3x128, real vs random labels.

    For each labelling and seed, ``sizes.n_triangles`` triangles of three distinct training samples whose (training)
    label is 5 are drawn uniformly. Each triangle ``(a, b, c)`` gives three rays: for a vertex ``v`` with
    the other two ``u, w``, ``x = (v + u) / 2`` (midpoint of side vu) and ``d = (w - u) / 2`` (so ``t = 1``
    is the midpoint of side vw and the ray is parallel to uw), with ``t`` in [-2, 3]: a search range of 5
    that extends the mid-line segment [0, 1] by twice its length on each side (as [-1, 2] extends a
    pairwise segment by its length). GIs are taken around the class the network gives the midpoint
    (``label_ok_fraction``: how often that is 5).
    """
    lengths, gi, keys = {lab: [] for lab in LABELS}, {}, []
    for labels in LABELS:
        ivs = []
        for c in ctx.per_seed():
            net = c.network("mnist", MAIN_WIDTHS, labels)
            members = np.flatnonzero(net.y == TRIANGLE_CLASS)
            tri = random_triangles(members, ctx.sizes.n_triangles, c.rng(f"triangles/{labels}"))
            iv = c.gis(net.params, midline_rays(net.X, tri), 3 * len(tri), *RANGE,
                       desc=f"mid-lines {labels} seed {c.seed}", count_regions=False)
            lengths[labels].append(np.asarray(iv.length, np.float64))
            ivs.append(iv)
            keys.append(net.key)
        pooled = rr.Interval(*(np.concatenate(cols) for cols in zip(*ivs)))
        gi[labels] = gi_summary(pooled, *RANGE, expected_label=TRIANGLE_CLASS) | {
            "n_triangles_per_seed": ctx.sizes.n_triangles, "n_seeds": len(ctx.seeds),
            "unit": "mid-lines (3 per triangle; the 3 of one triangle share vertices)"}
    fig, axes = new_figure(1)
    width = RANGE[1] - RANGE[0]
    plot_gi_histograms(axes[0, 0], lengths, width,
                       f"Fig. 5: GIs along triangle mid-lines, class {TRIANGLE_CLASS}, t in [-2, 3] (max 5)")
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    both = list(zip(lengths["real"], lengths["random"]))
    stats = {"median_real": run_stat(ctx, lengths["real"], median),
             "median_random": run_stat(ctx, lengths["random"], median),
             "median real - random": run_stat(ctx, both, median_diff),
             "ks": run_stat(ctx, both, ks_distance)}
    d, k = stats["median real - random"], stats["ks"]
    claims = [
        claim("Along mid-lines of same-class triangles (class 5) the GIs stay large with real labels but are "
              "much smaller with random labels (mid-lines behave like random directions).",
              f"median mid-line GI real {fmt_ci(stats['median_real'])}, random {fmt_ci(stats['median_random'])} "
              f"(range {width:g}); real - random {fmt_ci(d)}; KS D {fmt_ci(k)}; n = {ctx.sizes.n_triangles:,} "
              f"triangles (3 mid-lines each) per network and seed, {len(ctx.seeds)} seed(s)",
              f"95% interval of median(real) - median(random) above 0 and of the KS distance above {DIFFERENT_KS} "
              "('much smaller')",
              all_of([decide(d["ci"], "above", 0.0), decide(k["ci"], "above", DIFFERENT_KS)]), networks=keys,
              statistics=stats),
    ]
    numbers = {"class": TRIANGLE_CLASS, "range": list(RANGE), "gi": gi, "stats": stats,
               "ks": {"real vs random (pooled)": ks(np.concatenate(lengths["real"]), np.concatenate(lengths["random"]))}}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
