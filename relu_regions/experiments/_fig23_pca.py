"""Figs. 2 and 3: outputs and GIs along a tangent (first principal component of one class), a normal
(class-mean 9 minus class-mean 1, orthogonal to it) and a small-eigenvalue direction; real and random
labels."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

import relu_regions as rr
from relu_regions.experiments._along import class_changes, logit_range
from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._gi import gi_summary
from relu_regions.experiments._rays import fixed_rays
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._pairwise_sets import median, median_diff, run_stat
from relu_regions.experiments._stats import decide, fmt, fmt_ci, ks
from relu_regions.plotting import new_figure, plot_logits_along, save_figure

PCA_CLASS = 1
NORMAL_CLASSES = (9, 1)  # normal direction: mean of class 9 minus mean of class 1
RANGE = (-3.0, 3.0)
DIRECTIONS = ("tangent", "normal", "small_eigenvalue", "random")
KEPT_THRESHOLD = 0.9
#: Margin of "behaves like" for median GIs: 5 % of the range.
EQUIVALENCE_SHARE = 0.05


def pca_directions(X: np.ndarray, y: np.ndarray, cls: int = PCA_CLASS) -> dict:
    """Unit directions from the samples of class ``cls`` (rows of ``X`` with ``y == cls``).

    ``tangent``: first principal component; ``small_eigenvalue``: the component with the smallest
    non-zero eigenvalue (the covariance of ``m`` samples has rank ``m - 1`` at most); ``normal``:
    ``mean(X[y == 9]) - mean(X[y == 1])`` minus its projection on ``tangent``, normalised. Also returns
    ``eigenvalues`` (descending), ``small_index`` and ``scale`` = the median distance between two
    samples of the class (the length the directions are used with).
    """
    Xc = np.asarray(X[y == cls], dtype=np.float64)
    if len(Xc) < 3:
        raise ValueError(f"class {cls} has {len(Xc)} samples; PCA needs at least 3")
    centered = Xc - Xc.mean(axis=0)
    _, S, Vt = np.linalg.svd(centered, full_matrices=False)
    eig = S**2 / (len(Xc) - 1)
    rank = int(np.sum(S > S[0] * 1e-8))
    tangent, small = Vt[0], Vt[rank - 1]
    a, b = NORMAL_CLASSES
    diff = X[y == a].mean(axis=0).astype(np.float64) - X[y == b].mean(axis=0).astype(np.float64)
    normal = diff - (diff @ tangent) * tangent
    normal /= np.linalg.norm(normal)
    return {"tangent": tangent, "normal": normal, "small_eigenvalue": small, "eigenvalues": eig,
            "small_index": rank - 1, "scale": float(np.median(pdist(Xc)))}


def _pca_one_seed(c: ExperimentContext, labels: str) -> tuple:
    """GI lengths along the four directions from the class-1 starts of seed ``c``'s network."""
    net = c.network("mnist", MAIN_WIDTHS, labels)
    X, y = net.X, net.y
    pca = pca_directions(X, y)
    members = np.flatnonzero(y == PCA_CLASS)
    rng = c.rng(f"pca/{labels}")
    n = len(members) if c.sizes.n_pca_starts is None else min(c.sizes.n_pca_starts, len(members))
    starts = rng.permutation(members)[:n]
    L = pca["scale"]
    xs = X[starts].astype(np.float64)
    rand = rng.normal(size=xs.shape)
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    dirs = {k: np.broadcast_to(pca[k], xs.shape) for k in DIRECTIONS[:3]} | {"random": rand}
    ivs = {k: c.gis(net.params, fixed_rays(xs, L * dirs[k]), n, *RANGE, desc=f"GIs {k} seed {c.seed}",
                  count_regions=False)
           for k in DIRECTIONS}
    return net, pca, starts, ivs


def _pca_experiment(ctx: ExperimentContext, labels: str, figure: str, fig_no: int) -> tuple[dict, dict]:
    """Shared part of Figs. 2/3; returns the result (without claims) and the per-seed GI lengths by
    direction."""
    runs = [_pca_one_seed(c, labels) for c in ctx.per_seed()]
    lengths = {k: [np.asarray(r[3][k].length, np.float64) for r in runs] for k in DIRECTIONS}
    gi = {}
    for k in DIRECTIONS:
        pooled = rr.Interval(*(np.concatenate(cols) for cols in zip(*(r[3][k] for r in runs))))
        expected = np.concatenate([r[0].y[r[2]] for r in runs])
        gi[k] = gi_summary(pooled, *RANGE, expected_label=expected) | {"n_seeds": len(runs)}
    comparisons = {"tangent vs normal (pooled)": ks(np.concatenate(lengths["tangent"]), np.concatenate(lengths["normal"])),
                   "tangent vs random (pooled)": ks(np.concatenate(lengths["tangent"]), np.concatenate(lengths["random"]))}
    net, pca = runs[0][0], runs[0][1]
    X, y = net.X, net.y
    members = np.flatnonzero(y == PCA_CLASS)
    L = pca["scale"]

    # Example (first seed): the class sample closest to the class mean.
    center = members[np.argmin(np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1))]
    x0 = X[center].astype(np.float64)
    fig, axes = new_figure(3, sharey=True)
    example = {}
    titles = {"tangent": "1st principal component (tangent)",
              "normal": f"normal: mean {NORMAL_CLASSES[0]} - mean {NORMAL_CLASSES[1]}, orthogonalised",
              "small_eigenvalue": f"component {pca['small_index'] + 1} (eigenvalue {pca['eigenvalues'][pca['small_index']]:.2g})"}
    label0 = int(y[center])
    for ax, k in zip(axes[0], DIRECTIONS[:3]):
        pieces = rr.linear_pieces(net.params, x0, L * pca[k], *RANGE)
        changes = class_changes(pieces)
        plot_logits_along(ax, pieces, changes, label0, titles[k], marks=(0.0,), legend=k == "tangent")
        example[k] = {"pieces": pieces.n_pieces, "class_changes": int(len(changes.t)),
                      "label_range": logit_range(pieces, label0)}
    fig.suptitle(f"Fig. {fig_no}: MNIST 3x128, {labels} labels, seed {ctx.seeds[0]}; start: the class-{PCA_CLASS} "
                 f"sample nearest its mean (label {label0}); t in [-3, 3] times the median class-{PCA_CLASS} pair "
                 f"distance {L:.2f}", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(figure))]
    numbers = {
        "class": PCA_CLASS, "labels": labels, "n_starts": int(len(runs[0][2])), "n_seeds": len(runs),
        "scale": L, "range": list(RANGE),
        "eigenvalue_first": float(pca["eigenvalues"][0]),
        "eigenvalue_small": float(pca["eigenvalues"][pca["small_index"]]),
        "small_index": pca["small_index"],
        "gi": gi, "ks": comparisons, "example": example,
    }
    return {"figures": files, "numbers": numbers, "networks": [r[0].key for r in runs]}, lengths


def fig2_pca_real(ctx: ExperimentContext) -> dict:
    """Fig. 2 (real labels): GIs along the tangent, normal, small-eigenvalue and random directions from
    ``sizes.n_pca_starts`` samples of class 1 per seed (``t`` in [-3, 3] times the median class-1 pair
    distance), plus the outputs along the first three from the sample nearest the class mean."""
    result, L = _pca_experiment(ctx, "real", "fig2_pca_real.png", 2)
    stats = {f"median {k}": run_stat(ctx, L[k], median) for k in DIRECTIONS}
    stats["median tangent - normal"] = run_stat(ctx, list(zip(L["tangent"], L["normal"])), median_diff)
    stats["median tangent - random"] = run_stat(ctx, list(zip(L["tangent"], L["random"])), median_diff)
    result["numbers"]["stats"] = stats
    tn, tr = stats["median tangent - normal"], stats["median tangent - random"]
    n = f"n={result['numbers']['n_starts']} starts per seed, {len(ctx.seeds)} seed(s)"
    result["claims"] = [
        claim("Real labels: along the first principal component of a class (a tangent direction) the class "
              "is stable, along a normal direction (mean 9 - mean 1, orthogonal to it) it changes.",
              f"median GI (range 6) from class-{PCA_CLASS} samples: tangent {fmt_ci(stats['median tangent'])}, "
              f"normal {fmt_ci(stats['median normal'])}; tangent - normal {fmt_ci(tn)}; {n}",
              "95% interval of median(tangent) - median(normal) above 0", decide(tn["ci"], "above", 0.0),
              networks=result["networks"], statistics={"difference": tn}),
        claim("Real labels: the tangent direction generalizes further than a random direction.",
              f"median GI tangent {fmt_ci(stats['median tangent'])}, random {fmt_ci(stats['median random'])}; "
              f"tangent - random {fmt_ci(tr)}; {n}",
              "95% interval of median(tangent) - median(random) above 0", decide(tr["ci"], "above", 0.0),
              networks=result["networks"], statistics={"difference": tr}),
    ]
    return result


def fig3_pca_random(ctx: ExperimentContext) -> dict:
    """Fig. 3 (random labels): as Fig. 2 on the networks trained with permuted labels (class 1 = the samples
    whose random label is 1), plus the same-label pairwise segments of those networks."""
    result, L = _pca_experiment(ctx, "random", "fig3_pca_random.png", 3)
    stats = {f"median {k}": run_stat(ctx, L[k], median) for k in DIRECTIONS}
    stats["median tangent - random"] = run_stat(ctx, list(zip(L["tangent"], L["random"])), median_diff)
    kept, pair_keys = [], []
    for c in ctx.per_seed():
        net = c.network("mnist", MAIN_WIDTHS, "random")
        iv, _ = c.pairwise(net)
        kept.append((np.asarray(iv.hi) >= 1.0).astype(np.float64))
        pair_keys.append(net.key)
    stats["pairwise segment kept fraction"] = run_stat(ctx, kept, lambda a: a.mean())
    result["numbers"]["stats"] = stats
    result["numbers"]["pairwise_segment_fraction"] = stats["pairwise segment kept fraction"]["estimate"]
    result["numbers"]["pairwise_n"] = int(sum(len(k) for k in kept))
    tr, seg = stats["median tangent - random"], stats["pairwise segment kept fraction"]
    margin = EQUIVALENCE_SHARE * (RANGE[1] - RANGE[0])
    result["claims"] = [
        claim("Random labels: there is no manifold to approximate; the first principal component of a "
              "(random) class behaves like a random direction.",
              f"median GI (range 6) tangent {fmt_ci(stats['median tangent'])}, random "
              f"{fmt_ci(stats['median random'])}; tangent - random {fmt_ci(tr)}; n={result['numbers']['n_starts']} "
              f"starts per seed, {len(ctx.seeds)} seed(s)",
              f"equivalence: 95% interval of median(tangent) - median(random) inside +-{fmt(margin)} "
              f"({EQUIVALENCE_SHARE:.0%} of the range; a KS p-value >= 0.05 is not evidence of no difference)",
              decide(tr["ci"], "within", 0.0, margin), networks=result["networks"],
              statistics={"difference": tr}),
        claim("Random labels: points on the segment between two samples with the same random label are "
              "still classified as that label (the network interpolates pairwise).",
              f"fraction of unordered same-label segments keeping the label over all of [0, 1]: {fmt_ci(seg)} "
              f"(n={len(kept[0]):,} pairs per seed, {len(kept)} seed(s))",
              f"95% interval of the fraction above {KEPT_THRESHOLD}", decide(seg["ci"], "above", KEPT_THRESHOLD),
              networks=pair_keys, statistics={"kept": seg}),
    ]
    return result
