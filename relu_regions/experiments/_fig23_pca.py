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
from relu_regions.experiments._stats import fmt, fmt_ks, ks
from relu_regions.plotting import new_figure, plot_logits_along, save_figure

PCA_CLASS = 1
NORMAL_CLASSES = (9, 1)  # normal direction: mean of class 9 minus mean of class 1
RANGE = (-3.0, 3.0)
DIRECTIONS = ("tangent", "normal", "small_eigenvalue", "random")
KEPT_THRESHOLD = 0.9


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


def _pca_experiment(ctx: ExperimentContext, labels: str, figure: str, fig_no: int) -> tuple[dict, dict]:
    """Shared part of Figs. 2/3; returns the result (without claims) and the GI summaries by direction."""
    net = ctx.network("mnist", MAIN_WIDTHS, labels)
    X, y = net.X, net.y
    pca = pca_directions(X, y)
    members = np.flatnonzero(y == PCA_CLASS)
    rng = ctx.rng(f"pca/{labels}")
    n = len(members) if ctx.sizes.n_pca_starts is None else min(ctx.sizes.n_pca_starts, len(members))
    starts = rng.permutation(members)[:n]
    L = pca["scale"]
    xs = X[starts].astype(np.float64)
    rand = rng.normal(size=xs.shape)
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    dirs = {k: np.broadcast_to(pca[k], xs.shape) for k in DIRECTIONS[:3]} | {"random": rand}
    gi = {}
    for k in DIRECTIONS:
        iv = ctx.gis(net.params, fixed_rays(xs, L * dirs[k]), n, *RANGE, desc=f"GIs {k}")
        gi[k] = gi_summary(iv, *RANGE, expected_label=y[starts])
        gi[k]["lengths"] = iv.length
    comparisons = {"tangent vs normal": ks(gi["tangent"]["lengths"], gi["normal"]["lengths"]),
                   "tangent vs random": ks(gi["tangent"]["lengths"], gi["random"]["lengths"])}

    # Example: the class sample closest to the class mean.
    center = members[np.argmin(np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1))]
    x0 = X[center].astype(np.float64)
    fig, axes = new_figure(3)
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
    fig.suptitle(f"Fig. {fig_no}: MNIST 3x128, {labels} labels; start: the class-{PCA_CLASS} sample nearest "
                 f"its mean (label {label0}); t in [-3, 3] times the median class-{PCA_CLASS} pair distance "
                 f"{L:.2f}", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(figure))]
    numbers = {
        "class": PCA_CLASS, "labels": labels, "n_starts": n, "scale": L, "range": list(RANGE),
        "eigenvalue_first": float(pca["eigenvalues"][0]),
        "eigenvalue_small": float(pca["eigenvalues"][pca["small_index"]]),
        "small_index": pca["small_index"],
        "gi": {k: {kk: vv for kk, vv in v.items() if kk != "lengths"} for k, v in gi.items()},
        "ks": comparisons, "example": example,
    }
    return {"figures": files, "numbers": numbers, "networks": [net.key]}, gi


def fig2_pca_real(ctx: ExperimentContext) -> dict:
    """Fig. 2 (real labels): GIs along the tangent, normal, small-eigenvalue and random directions from
    ``sizes.n_pca_starts`` samples of class 1 (``t`` in [-3, 3] times the median class-1 pair distance),
    plus the outputs along the first three from the sample nearest the class mean."""
    result, gi = _pca_experiment(ctx, "real", "fig2_pca_real.png", 2)
    med = {k: gi[k]["median"] for k in DIRECTIONS}
    ks_tn = result["numbers"]["ks"]["tangent vs normal"]
    result["claims"] = [
        claim("Real labels: along the first principal component of a class (a tangent direction) the class "
              "is stable, along a normal direction (mean 9 - mean 1, orthogonal to it) it changes.",
              f"median GI (range 6) from class-{PCA_CLASS} samples: tangent {fmt(med['tangent'])}, normal "
              f"{fmt(med['normal'])}, small-eigenvalue {fmt(med['small_eigenvalue'])}, random {fmt(med['random'])}; "
              f"tangent vs normal {fmt_ks(ks_tn)}",
              "median GI tangent > median GI normal", med["tangent"] > med["normal"]),
        claim("Real labels: the tangent direction generalizes further than a random direction.",
              f"median GI tangent {fmt(med['tangent'])} vs random {fmt(med['random'])}; "
              f"{fmt_ks(result['numbers']['ks']['tangent vs random'])}",
              "median GI tangent > median GI random", med["tangent"] > med["random"]),
    ]
    return result


def fig3_pca_random(ctx: ExperimentContext) -> dict:
    """Fig. 3 (random labels): as Fig. 2 on the network trained with permuted labels (class 1 = the samples
    whose random label is 1), plus the same-label pairwise segments of that network."""
    result, gi = _pca_experiment(ctx, "random", "fig3_pca_random.png", 3)
    net = ctx.network("mnist", MAIN_WIDTHS, "random")
    _, pairs = ctx.pairwise(net)
    result["numbers"]["pairwise_segment_fraction"] = pairs["segment_fraction"]
    result["numbers"]["pairwise_n"] = pairs["n"]
    k_tr = result["numbers"]["ks"]["tangent vs random"]
    result["claims"] = [
        claim("Random labels: there is no manifold to approximate; the first principal component of a "
              "(random) class behaves like a random direction.",
              f"median GI tangent {fmt(gi['tangent']['median'])} vs random {fmt(gi['random']['median'])}; "
              f"{fmt_ks(k_tr)}",
              "KS p >= 0.05 (no detectable difference)",
              None if k_tr["pvalue"] is None else k_tr["pvalue"] >= 0.05),
        claim("Random labels: points on the segment between two samples with the same random label are "
              "still classified as that label (the network interpolates pairwise).",
              f"fraction {fmt(pairs['segment_fraction'])} of {fmt(pairs['n'])} same-label segments keep the label "
              f"over all of [0, 1]",
              f"fraction >= {KEPT_THRESHOLD}", pairs["segment_fraction"] >= KEPT_THRESHOLD),
    ]
    return result
