"""Fig. 9: mean pairwise GI over training next to training and validation accuracy."""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, PAIR_RANGE, ExperimentContext
from relu_regions.experiments._nets import accuracy
from relu_regions.experiments._rays import pair_rays, same_label_pairs
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import correlation, fmt, fmt_p
from relu_regions.plotting import new_figure, plot_gi_over_training, save_figure

FIGURE = "fig9_training.png"
MIN_SPEARMAN = 0.5


def fig9_training(ctx: ExperimentContext) -> dict:
    """For the MNIST 3x128 networks (real and random labels): at every kept snapshot epoch
    (``sizes.snapshot_epochs`` up to the end of training, plus the final network), the mean exact GI over
    a fixed set of ``sizes.n_pairs_training`` same-label pairs (``t`` in [-1, 2]) and the accuracy on the
    training set (its training labels) and on the validation set. Numbers: the series and the
    Pearson/Spearman correlation of mean GI with validation accuracy across snapshots, over all of them and
    from the snapshot with the smallest mean GI on (the GI first drops from the whole range, as the
    initial network gives every input one class, before it grows with the accuracy)."""
    fig, axes = new_figure(2)
    series, corr, keys = {}, {}, []
    for ax, labels in zip(axes[0], LABELS):
        net = ctx.network("mnist", MAIN_WIDTHS, labels)
        keys.append(net.key)
        snaps = dict(net.result.snapshots)
        snaps.setdefault(net.result.epochs_run, net.params)
        I, J, _ = same_label_pairs(net.y, ctx.sizes.n_pairs_training, ctx.rng(f"fig9/{labels}"))
        rows = []
        for epoch in sorted(snaps):
            params = snaps[epoch]
            iv = ctx.gis(params, pair_rays(net.X, I, J), len(I), *PAIR_RANGE, desc=f"{labels} epoch {epoch}")
            rows.append({"epoch": int(epoch), "train_acc": accuracy(params, net.X, net.y),
                         "val_acc": accuracy(params, net.X_val, net.y_val), "mean_gi": float(iv.length.mean()),
                         "median_gi": float(np.median(iv.length))})
        series[labels] = rows
        corr[labels] = correlation([r["mean_gi"] for r in rows], [r["val_acc"] for r in rows])
        low = int(np.argmin([r["mean_gi"] for r in rows]))
        corr[f"{labels}, from the smallest mean GI on"] = correlation(
            [r["mean_gi"] for r in rows[low:]], [r["val_acc"] for r in rows[low:]]) | {"from_epoch": rows[low]["epoch"]}
        plot_gi_over_training(ax, [r["epoch"] for r in rows], [r["train_acc"] for r in rows],
                              [r["val_acc"] for r in rows], [r["mean_gi"] for r in rows],
                              f"{labels} labels ({len(I):,} pairs per snapshot)", PAIR_RANGE[1] - PAIR_RANGE[0])
    fig.suptitle("Fig. 9: MNIST 3x128, mean pairwise GI during training", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    c, late = corr["real"], corr["real, from the smallest mean GI on"]
    claims = [
        claim("During training (real labels) the generalization intervals correlate with the validation "
              "accuracy.",
              f"across {c['n']} snapshots: Spearman {fmt(c['spearman'])} (p{fmt_p(c['spearman_p'])}), Pearson "
              f"{fmt(c['pearson'])}; random labels: Spearman {fmt(corr['random']['spearman'])}. Supplementary (not "
              f"the criterion): from the snapshot with the smallest mean GI (epoch {late['from_epoch']}) on, "
              f"Spearman {fmt(late['spearman'])} over {late['n']} snapshots",
              f"Spearman correlation of mean GI with validation accuracy > {MIN_SPEARMAN}",
              None if c["spearman"] is None else c["spearman"] > MIN_SPEARMAN),
    ]
    numbers = {"n_pairs": ctx.sizes.n_pairs_training, "correlation": corr,
               "table": [dict(labels=lab, **r) for lab in LABELS for r in series[lab]]}
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": keys}
