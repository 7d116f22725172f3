"""Fig. 5: GIs along the mid-lines of triangles of three same-class samples (class 5), range 5."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._gi import gi_summary
from relu_regions.experiments._rays import midline_rays, random_triangles
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import DIFFERENT_KS, fmt, fmt_ks, ks
from relu_regions.plotting import new_figure, plot_gi_histograms, save_figure

FIGURE = "fig5_triangles.png"
TRIANGLE_CLASS = 5
RANGE = (-2.0, 3.0)


def fig5_triangles(ctx: ExperimentContext) -> dict:
    """GIs along triangle mid-lines, MNIST 3x128, real vs random labels.

    For each labelling, ``sizes.n_triangles`` triangles of three distinct training samples whose (training)
    label is 5 are drawn uniformly. Each triangle ``(a, b, c)`` gives three rays: for a vertex ``v`` with
    the other two ``u, w``, ``x = (v + u) / 2`` (midpoint of side vu) and ``d = (w - u) / 2`` (so ``t = 1``
    is the midpoint of side vw and the ray is parallel to uw), with ``t`` in [-2, 3]: a search range of 5
    that extends the mid-line segment [0, 1] by twice its length on each side (as [-1, 2] extends a
    pairwise segment by its length). GIs are taken around the class the network gives the midpoint
    (``label_ok_fraction``: how often that is 5).
    """
    lengths, gi, keys = {}, {}, []
    for labels in LABELS:
        net = ctx.network("mnist", MAIN_WIDTHS, labels)
        members = np.flatnonzero(net.y == TRIANGLE_CLASS)
        tri = random_triangles(members, ctx.sizes.n_triangles, ctx.rng(f"triangles/{labels}"))
        iv = ctx.gis(net.params, midline_rays(net.X, tri), 3 * len(tri), *RANGE, desc=f"mid-lines {labels}")
        lengths[labels] = iv.length
        gi[labels] = gi_summary(iv, *RANGE, expected_label=TRIANGLE_CLASS) | {"n_triangles": int(len(tri))}
        keys.append(net.key)
    fig, axes = new_figure(1)
    plot_gi_histograms(axes[0, 0], lengths, RANGE[1] - RANGE[0],
                       f"Fig. 5: GIs along triangle mid-lines, class {TRIANGLE_CLASS}, t in [-2, 3] (max 5)")
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    comparison = ks(lengths["real"], lengths["random"])
    width = RANGE[1] - RANGE[0]
    m_real, m_rand = gi["real"]["median"], gi["random"]["median"]
    claims = [
        claim("Along mid-lines of same-class triangles (class 5) the GIs stay large with real labels but are "
              "much smaller with random labels (mid-lines behave like random directions).",
              f"median mid-line GI real {fmt(m_real)} ({fmt(m_real / width)} of the range), random "
              f"{fmt(m_rand)} ({fmt(m_rand / width)}); {fmt_ks(comparison)}",
              f"random median < real median and KS D >= {DIFFERENT_KS}",
              m_rand < m_real and comparison["statistic"] >= DIFFERENT_KS),
    ]
    numbers = {"class": TRIANGLE_CLASS, "range": list(RANGE), "gi": gi, "ks": {"real vs random": comparison}}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
