"""Fig. 9: mean pairwise GI over training next to training and validation accuracy, with dense early
snapshots, the one-class phase set apart, and rank correlations with intervals over seeds and pairs."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, PAIR_RANGE, ExperimentContext
from relu_regions.experiments._nets import logits
from relu_regions.experiments._pairwise_sets import run_stat
from relu_regions.experiments._rays import pair_rays, same_label_pairs
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import Weighted, decide, fmt_ci, spearman
from relu_regions.plotting import new_figure, plot_gi_over_training, save_figure

FIGURE = "fig9_training.png"
MIN_SPEARMAN = 0.5
MIN_CLASSES = 2

EXPLANATION = (
    "At initialisation and for the first epochs the network predicts one class for (almost) every input, so no "
    "class changes anywhere and every GI is the whole range (3). As training separates classes the GIs first "
    "shrink while the accuracies rise, and only then grow again with the accuracy. Where this one-class phase "
    "takes a sizeable share of the snapshots (SGD at 0.01, as in the earlier single-seed full run), it alone can "
    "make the correlation of mean GI with validation accuracy over all snapshots negative; the paper's statement "
    "is about networks that classify, so the criterion uses only snapshots where the network predicts at least "
    "two classes on its training set.")


def _series(c: ExperimentContext, labels: str):
    net = c.network("mnist", MAIN_WIDTHS, labels)
    snaps = dict(net.result.snapshots)
    snaps.setdefault(net.result.epochs_run, net.params)
    I, J, _ = same_label_pairs(net.y, c.sizes.n_pairs_training, c.rng(f"fig9/{labels}"), ordered=False)
    rows, G = [], []
    for epoch in sorted(snaps):
        params = snaps[epoch]
        iv = c.gis(params, pair_rays(net.X, I, J), len(I), *PAIR_RANGE, desc=f"{labels} seed {c.seed} epoch {epoch}",
                   count_regions=False)
        pred = np.argmax(logits(params, net.X), axis=1)
        val = np.argmax(logits(params, net.X_val), axis=1)
        rows.append({"seed": c.seed, "epoch": int(epoch), "train_acc": float(np.mean(pred == net.y)),
                     "val_acc": float(np.mean(val == net.y_val)), "classes_predicted": int(len(np.unique(pred))),
                     "mean_gi": float(np.mean(iv.length)), "median_gi": float(np.median(iv.length))})
        G.append(np.asarray(iv.length, np.float64))
    return net, rows, np.stack(G, axis=1)  # G: (pairs, snapshots)


def _corr_stat(targets: list[np.ndarray], masks: list[np.ndarray]):
    def stat(g: Weighted, seed_index: int) -> float:
        m = masks[seed_index]
        return spearman(g.mean()[m], targets[seed_index][m])
    return stat


def fig9_training(ctx: ExperimentContext) -> dict:
    """For the MNIST 3x128 networks (real and random labels) of every seed: at every kept snapshot epoch
    (``sizes.snapshot_epochs``: every epoch for the first 20, up to the end of training, plus the final
    network) the exact GIs over a fixed set of ``sizes.n_pairs_training`` unordered same-label pairs (``t``
    in [-1, 2]), the accuracy on the training set (its training labels) and on the validation set, and the
    number of classes the snapshot predicts on the training set.

    Statistics (bootstrap over seeds, then pairs): Spearman correlation across snapshots of the mean GI
    with validation and with training accuracy, over the snapshots that predict at least two classes (the
    criterion) and over all snapshots (the original curve, for comparison).
    """
    fig, axes = new_figure(2, panel_size=(5.6, 3.8), sharey=True)
    table, stats, keys = [], {}, {lab: [] for lab in LABELS}
    for ax, labels in zip(axes[0], LABELS):
        runs = [_series(c, labels) for c in ctx.per_seed()]
        keys[labels] = [r[0].key for r in runs]
        for _, rows, _ in runs:
            table += [dict(labels=labels, **r) for r in rows]
        G = [r[2] for r in runs]
        masks = {"two or more classes": [np.array([x["classes_predicted"] >= MIN_CLASSES for x in r[1]]) for r in runs],
                 "all snapshots": [np.ones(len(r[1]), bool) for r in runs]}
        for target in ("val_acc", "train_acc"):
            ys = [np.array([x[target] for x in r[1]]) for r in runs]
            for which, m in masks.items():
                stats[f"{labels}: spearman(mean GI, {target}), {which}"] = run_stat(ctx, G, _corr_stat(ys, m))
        rows0 = runs[0][1]
        plot_gi_over_training(ax, [r["epoch"] for r in rows0], [r["train_acc"] for r in rows0],
                              [r["val_acc"] for r in rows0], [r["mean_gi"] for r in rows0],
                              f"{labels} labels, seed {ctx.seeds[0]}, {runs[0][2].shape[0]:,} pairs per snapshot\n"
                              f"open markers: the network predicts one class",
                              PAIR_RANGE[1] - PAIR_RANGE[0],
                              one_class=[r["classes_predicted"] < MIN_CLASSES for r in rows0])
    fig.suptitle("Fig. 9: MNIST 3x128, mean pairwise GI during training", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    v = stats["real: spearman(mean GI, val_acc), two or more classes"]
    v_all = stats["real: spearman(mean GI, val_acc), all snapshots"]
    t = stats["real: spearman(mean GI, train_acc), two or more classes"]
    n_used = [sum(r["classes_predicted"] >= MIN_CLASSES for r in table if r["labels"] == "real" and r["seed"] == s)
              for s in ctx.seeds]
    claims = [
        claim("During training (real labels) the generalization intervals correlate with the validation "
              "accuracy.",
              f"Spearman (mean GI, validation accuracy) over snapshots predicting >= {MIN_CLASSES} classes "
              f"({', '.join(map(str, n_used))} per seed): {fmt_ci(v)}; with training accuracy: {fmt_ci(t)}; over "
              f"all snapshots (the original curve, one-class phase included): {fmt_ci(v_all)}",
              f"95% interval of the Spearman correlation over snapshots with >= {MIN_CLASSES} predicted classes "
              f"above {MIN_SPEARMAN}", decide(v["ci"], "above", MIN_SPEARMAN), networks=keys["real"],
              statistics={"spearman_val": v}),
    ]
    one = [sum(r["classes_predicted"] < MIN_CLASSES for r in table if r["labels"] == "real" and r["seed"] == s)
           for s in ctx.seeds]
    total = [sum(r["labels"] == "real" and r["seed"] == s for r in table) for s in ctx.seeds]
    explanation = (f"{EXPLANATION} This run (real labels): {', '.join(f'{a} of {b}' for a, b in zip(one, total))} "
                   f"snapshots per seed predict one class; Spearman (mean GI, validation accuracy) over all snapshots "
                   f"{fmt_ci(v_all)}, over those predicting at least two classes {fmt_ci(v)}.")
    numbers = {"n_pairs": ctx.sizes.n_pairs_training, "stats": stats, "explanation": explanation,
               "table": table}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys["real"] + keys["random"]}
