"""Fig. 7: pairwise GIs on CIFAR-10, real vs random labels."""

from __future__ import annotations

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._pairwise_sets import SIMILAR_KS, real_vs_random
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import decide, fmt, fmt_ci
from relu_regions.plotting import new_figure, save_figure

FIGURE = "fig7_cifar10.png"


def fig7_cifar10(ctx: ExperimentContext) -> dict:
    """Pairwise GIs (unordered same-label pairs, ``t`` in [-1, 2]) of the 3x128 networks trained on 1000
    CIFAR-10 images (100 per class, 3072-d) with real and random labels, every seed. A partial local copy of
    CIFAR-10 is used as far as it goes (the loader's note is recorded in the network records)."""
    fig, axes = new_figure(1)
    res = real_vs_random(ctx, "cifar10", MAIN_WIDTHS, axes[0, 0],
                         "Fig. 7: CIFAR-10 pairwise GIs, 3x128, t in [-1, 2] (max 3)")
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    st = res["stats"]
    claims = [
        claim("On CIFAR-10, as on MNIST, pairwise GIs behave similarly with real and random labels.",
              f"KS D real vs random {fmt_ci(st['ks'])}; medians real {fmt_ci(st['median_real'])}, random "
              f"{fmt_ci(st['median_random'])}; seed-to-seed KS of one setting: real {fmt(res['floor']['real'])}, "
              f"random {fmt(res['floor']['random'])}; {res['n_text']}",
              f"equivalence: 95% interval of the KS distance below the margin {SIMILAR_KS}",
              decide(st["ks"]["ci"], "below", SIMILAR_KS), networks=res["networks"], statistics={"ks": st["ks"]}),
    ]
    numbers = {"gi": res["gi"], "ks": {"real vs random (pooled)": res["ks"]}, "bump": res["bump"], "stats": st,
               "seed_floor": res["floor"]}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": res["networks"]}
