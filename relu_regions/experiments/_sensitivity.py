"""Sensitivity (Novak et al. 2018) next to GIs: across label-noise fractions, which of GI length,
input-output Jacobian norm and linear-region density at test points best predicts the generalization gap?"""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import PAIR_RANGE, ExperimentContext, noise_labels
from relu_regions.experiments._nets import accuracy
from relu_regions.experiments._pairwise_sets import run_stat
from relu_regions.experiments._rays import pair_rays, same_label_pairs
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import decide, fmt_ci, spearman
from relu_regions.plotting import new_figure, save_figure

FIGURE = "sensitivity.png"
MEASURES = ("gi", "jacobian", "density")
TITLES = {"gi": "mean GI length (test pairs)", "jacobian": "mean ||J(x)||_F at test points",
          "density": "linear regions per unit length (inside GIs)"}


def jacobian_norms(params, X: np.ndarray) -> np.ndarray:
    """Frobenius norm of the input-output Jacobian ``A(x)`` (the local linear map, exact on ``x``'s region)
    at every row of ``X`` ``(n, n_0)``, in float64.

    ``A(x) = W_1 D_1 M(x)`` with ``M(x) = W_2 D_2 ... W_L`` (``D_l``: the activation masks); the product
    is taken right to left in batched matrix products, and the wide first layer enters only through its
    Gram matrix: ``||W_1 D_1 M||_F^2 = sum((D_1 M) * (W_1^T W_1) (D_1 M))``, so no ``(n, n_0, n_L)`` array
    is formed."""
    h = np.asarray(X, np.float64)
    masks = []
    for W, b in params[:-1]:
        h = h @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        masks.append(h > 0)
        h = np.maximum(h, 0.0)
    W_last = np.asarray(params[-1][0], np.float64)
    if not masks:  # no hidden layer: the map is W_1 everywhere
        return np.full(len(h), np.linalg.norm(W_last))
    R = np.broadcast_to(W_last, (len(h),) + W_last.shape)
    for (W, _), m in zip(reversed(params[1:-1]), reversed(masks[1:])):
        R = np.matmul(np.asarray(W, np.float64), R * m[:, :, None])
    R = R * masks[0][:, :, None]
    W1 = np.asarray(params[0][0], np.float64)
    sq = np.sum(R * np.matmul(W1.T @ W1, R), axis=(1, 2))
    return np.sqrt(np.maximum(sq, 0.0))


def _measure_net(c: ExperimentContext, net) -> tuple[dict, np.ndarray, np.ndarray]:
    I, J, _ = same_label_pairs(net.y_val, c.sizes.n_sensitivity_pairs, c.rng(f"sensitivity/{net.key}"),
                               ordered=False)
    iv = c.gis(net.params, pair_rays(net.X_val, I, J), len(I), *PAIR_RANGE, desc=f"test GIs {net.key}",
               count_regions=True)
    dist = np.linalg.norm(net.X_val[J].astype(np.float64) - net.X_val[I].astype(np.float64), axis=1)
    length = np.asarray(iv.length, np.float64)
    density = np.asarray(iv.n_regions, np.float64) / np.maximum(length * dist, 1e-12)
    jac = jacobian_norms(net.params, net.X_val)
    train_acc = accuracy(net.params, net.X, net.y)
    val_acc = accuracy(net.params, net.X_val, net.y_val)
    row = {"seed": c.seed, "noise": None, "train_acc": train_acc, "val_acc": val_acc, "gap": train_acc - val_acc,
           "gi": float(length.mean()), "jacobian": float(jac.mean()), "density": float(density.mean())}
    return row, np.stack([length, density], axis=1), jac


def _rho(measure: str, gaps: list[np.ndarray], n_nets: int):
    def stat(*samples, seed_index: int) -> float:
        rays, jac = samples[:n_nets], samples[n_nets:]
        if measure == "jacobian":
            m = [j.mean() for j in jac]
        else:
            m = [r.mean()[0 if measure == "gi" else 1] for r in rays]
        return spearman(m, gaps[seed_index])
    return stat


def _rho_diff(a: str, b: str, gaps, n_nets: int):
    fa, fb = _rho(a, gaps, n_nets), _rho(b, gaps, n_nets)

    def stat(*samples, seed_index: int) -> float:
        return abs(fa(*samples, seed_index=seed_index)) - abs(fb(*samples, seed_index=seed_index))
    return stat


def sensitivity(ctx: ExperimentContext) -> dict:
    """MNIST 3x128 trained with label-noise fractions ``sizes.noise_fractions`` (0 = real labels, 1 = the
    randomly permuted ones; others: that share of labels permuted), every seed. Per network, at test
    (validation) points: the mean Frobenius norm of the input-output Jacobian; exact GIs of
    ``sizes.n_sensitivity_pairs`` unordered pairs of test points with the same true label (``t`` in [-1, 2])
    and the linear regions crossed per unit Euclidean length inside them; the generalization gap (training
    accuracy on the noisy labels minus validation accuracy).

    Statistics: Spearman correlation across the noise levels of each measure with the gap (per seed, then
    the mean over seeds; bootstrap over seeds, then test pairs/points) and differences of absolute
    correlations between measures.
    """
    rows, per_seed, gaps, keys = [], [], [], []
    for c in ctx.per_seed():
        rays, jacs, g = [], [], []
        for p in ctx.sizes.noise_fractions:
            net = c.network("mnist", MAIN_WIDTHS, noise_labels(p))
            row, r, j = _measure_net(c, net)
            row["noise"] = p
            rows.append(row)
            rays.append(r)
            jacs.append(j)
            g.append(row["gap"])
            keys.append(net.key)
        per_seed.append(tuple(rays) + tuple(jacs))
        gaps.append(np.array(g))
    k = len(ctx.sizes.noise_fractions)
    stats = {f"spearman({m}, gap)": run_stat(ctx, per_seed, _rho(m, gaps, k)) for m in MEASURES}
    stats["|rho gi| - |rho jacobian|"] = run_stat(ctx, per_seed, _rho_diff("gi", "jacobian", gaps, k))
    stats["|rho gi| - |rho density|"] = run_stat(ctx, per_seed, _rho_diff("gi", "density", gaps, k))
    stats["|rho jacobian| - |rho density|"] = run_stat(ctx, per_seed, _rho_diff("jacobian", "density", gaps, k))

    fig, axes = new_figure(len(MEASURES) + 1, panel_size=(4.6, 3.6))
    noise = np.array(ctx.sizes.noise_fractions)
    for s in ctx.seeds:
        sr = [r for r in rows if r["seed"] == s]
        axes[0, 0].plot(noise, [r["gap"] for r in sr], "o-", ms=3, color="0.4", alpha=0.7)
        for ax, m in zip(axes[0, 1:], MEASURES):
            ax.plot([r["gap"] for r in sr], [r[m] for r in sr], "o", ms=4, alpha=0.8, label=f"seed {s}")
            for r in sr:
                ax.annotate(f"{r['noise']:g}", (r["gap"], r[m]), textcoords="offset points", xytext=(3, 3), fontsize=6)
    axes[0, 0].set_xlabel("label-noise fraction")
    axes[0, 0].set_ylabel("generalization gap (train - val accuracy)")
    axes[0, 0].set_title("gap vs label noise (one line per seed)", fontsize=9)
    for ax, m in zip(axes[0, 1:], MEASURES):
        ax.set_xlabel("generalization gap")
        ax.set_ylabel(TITLES[m])
        ax.set_title(f"{TITLES[m]}\nSpearman with the gap {fmt_ci(stats[f'spearman({m}, gap)'], 2)}", fontsize=8)
    axes[0, -1].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, frameon=False)
    fig.suptitle("Sensitivity (Novak et al. 2018) next to GIs: MNIST 3x128, label noise "
                 + ", ".join(f"{p:g}" for p in noise) + " (numbers at the points: noise fraction)", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    n = f"{k} noise levels x {len(ctx.seeds)} seed(s); {ctx.sizes.n_sensitivity_pairs} test pairs per network"
    sj, sd, sg = (stats[f"spearman({m}, gap)"] for m in ("jacobian", "density", "gi"))
    claims = [
        claim("Novak et al.: the input-output Jacobian norm at test points grows with the generalization gap.",
              f"Spearman (mean ||J||_F, gap) across noise levels {fmt_ci(sj)}; {n}",
              "95% interval of the Spearman correlation above 0", decide(sj["ci"], "above", 0.0),
              networks=keys, statistics={"spearman": sj}),
        claim("Novak et al.: functions that generalize worse cross more linear regions per unit length near "
              "test points.",
              f"Spearman (regions per unit length inside test GIs, gap) {fmt_ci(sd)}; {n}",
              "95% interval of the Spearman correlation above 0", decide(sd["ci"], "above", 0.0),
              networks=keys, statistics={"spearman": sd}),
        claim("GIs at test points track the generalization gap (shorter GIs, larger gap).",
              f"Spearman (mean test GI, gap) {fmt_ci(sg)}; {n}",
              "95% interval of the Spearman correlation below 0", decide(sg["ci"], "below", 0.0),
              networks=keys, statistics={"spearman": sg}),
        claim("GI predicts the gap at least as well as the Jacobian norm (larger |Spearman|).",
              f"|rho GI| - |rho Jacobian| {fmt_ci(stats['|rho gi| - |rho jacobian|'])}; |rho GI| - |rho density| "
              f"{fmt_ci(stats['|rho gi| - |rho density|'])}; |rho Jacobian| - |rho density| "
              f"{fmt_ci(stats['|rho jacobian| - |rho density|'])}",
              "95% interval of |rho GI| - |rho Jacobian| above 0 (GI better) or below 0 (Jacobian better); "
              "else inconclusive (no measure is shown to be better)",
              decide(stats["|rho gi| - |rho jacobian|"]["ci"], "above", 0.0), networks=keys,
              statistics={"difference": stats["|rho gi| - |rho jacobian|"]}),
    ]
    numbers = {"noise_fractions": list(noise), "stats": stats, "table": rows}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
