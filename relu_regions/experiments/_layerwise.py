"""Layer-wise view (Stephenson et al. 2021): GIs and linear regions of the sub-network from hidden layer l
to the output, along rays between the layer-l representations of same-label training points."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, PAIR_RANGE, ExperimentContext
from relu_regions.experiments._pairwise_sets import median, run_stat
from relu_regions.experiments._rays import pair_rays, same_label_pairs
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import Weighted, decide, fmt_ci, ks_distance
from relu_regions.plotting import new_figure, save_figure

FIGURE = "layerwise.png"


def representation(params, X: np.ndarray, layer: int) -> np.ndarray:
    """Output of hidden layer ``layer`` (after ReLU; ``0`` = the input itself) for the rows of ``X``."""
    h = np.asarray(X, np.float64)
    for W, b in params[:layer]:
        h = np.maximum(h @ np.asarray(W, np.float64) + np.asarray(b, np.float64), 0.0)
    return h


def _growth(r0: Weighted, x0: Weighted, rL: Weighted, xL: Weighted) -> float:
    return ks_distance(rL, xL) - ks_distance(r0, x0)


def layerwise(ctx: ExperimentContext) -> dict:
    """MNIST 3x128, real vs random labels, every seed: for each layer ``l`` (0 = input, 1..3 = hidden), the
    representations ``h_l`` of the training points and the sub-network ``params[l:]``; exact GIs (``t`` in
    [-1, 2]) with region counts along ``sizes.n_layer_pairs`` unordered same-label pairs of ``h_l``.
    Numbers per layer: GI medians, KS real vs random, regions per unit ``t`` inside the GI."""
    n_layers = len(MAIN_WIDTHS) + 1
    L = {(lab, l): [] for lab in LABELS for l in range(n_layers)}
    R = {(lab, l): [] for lab in LABELS for l in range(n_layers)}
    keys = []
    for c in ctx.per_seed():
        for lab in LABELS:
            net = c.network("mnist", MAIN_WIDTHS, lab)
            keys.append(net.key)
            I, J, _ = same_label_pairs(net.y, c.sizes.n_layer_pairs, c.rng(f"layers/{lab}"), ordered=False)
            for l in range(n_layers):
                H = representation(net.params, net.X, l)
                iv = c.gis(net.params[l:], pair_rays(H, I, J), len(I), *PAIR_RANGE,
                           desc=f"layer {l} {net.key}", count_regions=True)
                length = np.asarray(iv.length, np.float64)
                L[(lab, l)].append(length)
                R[(lab, l)].append(np.asarray(iv.n_regions, np.float64) / np.maximum(length, 1e-12))
    stats = {}
    for l in range(n_layers):
        for lab in LABELS:
            stats[f"layer {l}: median GI ({lab})"] = run_stat(ctx, L[(lab, l)], median)
            stats[f"layer {l}: regions per unit t, median ({lab})"] = run_stat(ctx, R[(lab, l)], median)
        stats[f"layer {l}: KS real vs random"] = run_stat(ctx, list(zip(L[("real", l)], L[("random", l)])), ks_distance)
    last = n_layers - 1
    g = run_stat(ctx, list(zip(L[("real", 1)], L[("random", 1)], L[("real", last)], L[("random", last)])), _growth)
    stats[f"KS real vs random: layer {last} - layer 1"] = g

    fig, axes = new_figure(2, sharex=True)
    x = np.arange(n_layers)
    for lab, color in zip(LABELS, ("tab:blue", "tab:orange")):
        for ax, what in zip(axes[0], ("median GI", "regions per unit t, median")):
            est = [stats[f"layer {l}: {what} ({lab})"] for l in x]
            y = [e["estimate"] for e in est]
            lo = [e["estimate"] - e["ci"][0] if e["ci"][0] is not None else 0 for e in est]
            hi = [e["ci"][1] - e["estimate"] if e["ci"][1] is not None else 0 for e in est]
            ax.errorbar(x, y, yerr=[lo, hi], fmt="o-", color=color, capsize=3, label=f"{lab} labels")
            ax.set_ylabel(what)
            ax.set_xticks(x)
            ax.set_xlabel("layer l (0 = input; GIs of the sub-network l -> output)")
    axes[0, 0].set_title("median GI along same-label pairs of h_l (95% intervals over seeds and pairs)", fontsize=8)
    axes[0, 1].set_title("linear regions per unit t inside the GI", fontsize=8)
    axes[0, 1].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.suptitle("Layer-wise view (Stephenson et al. 2021): MNIST 3x128", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    ks_txt = ", ".join(f"layer {l} {fmt_ci(stats[f'layer {l}: KS real vs random'])}" for l in range(n_layers))
    claims = [
        claim("Stephenson et al.: memorisation of random labels happens mostly in the deeper layers; early layers "
              "are barely affected (measured as the real-vs-random difference of GIs on each layer's "
              "representations).",
              f"KS real vs random per layer: {ks_txt}; last hidden minus first hidden {fmt_ci(g)}",
              f"95% interval of KS(layer {last}) - KS(layer 1) above 0", decide(g["ci"], "above", 0.0),
              networks=keys, statistics={"growth": g}),
    ]
    numbers = {"n_layers": n_layers, "stats": stats}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
