"""Fig. 8: two moons (2-D): decision regions and pairwise GIs, real vs random labels."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._nets import logits
from relu_regions.experiments._pairwise_sets import real_vs_random, run_stat
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import Weighted, decide, fmt_ci
from relu_regions.plotting import new_figure, plot_decision_regions, save_figure

FIGURE = "fig8_moons.png"
SHRINK = 0.5


def _ratio(rand: Weighted, real: Weighted) -> float:
    return rand.median() / real.median()


def fig8_two_moons(ctx: ExperimentContext) -> dict:
    """Two moons (300 training, 100 validation points, 3x128): decision regions of the real- and
    random-label networks (first seed) and their pairwise GI distributions (unordered same-label pairs,
    both classes pooled, ``t`` in [-1, 2]), every seed."""
    fig, axes = new_figure(3)
    for ax, labels in zip(axes[0, :2], LABELS):
        net = ctx.network("moons", MAIN_WIDTHS, labels)
        plot_decision_regions(ax, lambda P, p=net.params: np.argmax(logits(p, P), axis=1), net.X, net.y,
                              f"{labels} labels (seed {ctx.seeds[0]}): train acc {net.record['final_train_acc']:.2f}, "
                              f"val acc {net.record['final_val_acc']:.2f}")
    res = real_vs_random(ctx, "moons", MAIN_WIDTHS, axes[0, 2], "pairwise GIs, t in [-1, 2] (max 3)")
    fig.suptitle("Fig. 8: two moons, 3x128, real vs random labels", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    st = dict(res["stats"])
    L = {lab: res["sets"][lab].lengths for lab in LABELS}
    st["median ratio random / real"] = run_stat(ctx, list(zip(L["random"], L["real"])), _ratio)
    r = st["median ratio random / real"]
    for lab in LABELS:
        kept = [(np.asarray(iv.hi) >= 1.0).astype(np.float64) for iv in res["sets"][lab].ivs]
        st[f"segment kept fraction ({lab})"] = run_stat(ctx, kept, lambda a: a.mean())
    claims = [
        claim("In two dimensions random labels shrink the pairwise GIs dramatically.",
              f"median real {fmt_ci(st['median_real'])}, random {fmt_ci(st['median_random'])}; ratio random/real "
              f"{fmt_ci(r)}; segment [0, 1] kept: real {fmt_ci(st['segment kept fraction (real)'])}, random "
              f"{fmt_ci(st['segment kept fraction (random)'])}; KS D {fmt_ci(st['ks'])}; {res['n_text']} (both "
              "classes pooled)",
              f"95% interval of median(random) / median(real) below {SHRINK}",
              decide(r["ci"], "below", SHRINK), networks=res["networks"], statistics={"ratio": r}),
    ]
    numbers = {"gi": res["gi"], "ks": {"real vs random (pooled)": res["ks"]}, "stats": st,
               "median_ratio_random_real": r["estimate"]}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": res["networks"]}
