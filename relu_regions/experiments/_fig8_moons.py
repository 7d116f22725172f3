"""Fig. 8: two moons (2-D): decision regions and pairwise GIs, real vs random labels."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._nets import logits
from relu_regions.experiments._pairwise_sets import real_vs_random
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import fmt, fmt_ks
from relu_regions.plotting import new_figure, plot_decision_regions, save_figure

FIGURE = "fig8_moons.png"
SHRINK = 0.5


def fig8_two_moons(ctx: ExperimentContext) -> dict:
    """Two moons (300 training, 100 validation points, 3x128): decision regions of the real- and
    random-label networks and their pairwise GI distributions (same-label pairs of both classes,
    ``t`` in [-1, 2])."""
    fig, axes = new_figure(3)
    for ax, labels in zip(axes[0, :2], LABELS):
        net = ctx.network("moons", MAIN_WIDTHS, labels)
        plot_decision_regions(ax, lambda P, p=net.params: np.argmax(logits(p, P), axis=1), net.X, net.y,
                              f"{labels} labels: train acc {net.record['final_train_acc']:.2f}, "
                              f"val acc {net.record['final_val_acc']:.2f}")
    res = real_vs_random(ctx, "moons", MAIN_WIDTHS, axes[0, 2], "pairwise GIs, t in [-1, 2] (max 3)")
    fig.suptitle("Fig. 8: two moons, 3x128, real vs random labels", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    gi, k = res["gi"], res["ks"]
    ratio = gi["random"]["median"] / gi["real"]["median"] if gi["real"]["median"] else None
    claims = [
        claim("In two dimensions random labels shrink the pairwise GIs dramatically.",
              f"median real {fmt(gi['real']['median'])}, random {fmt(gi['random']['median'])} (ratio {fmt(ratio)}); "
              f"segment kept: real {fmt(gi['real']['segment_fraction'])}, random "
              f"{fmt(gi['random']['segment_fraction'])}; {fmt_ks(k)}",
              f"random median <= {SHRINK} x real median", ratio is not None and ratio <= SHRINK),
    ]
    numbers = {"gi": gi, "ks": {"real vs random": k}, "median_ratio_random_real": ratio}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": res["networks"]}
