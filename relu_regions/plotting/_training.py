"""Mean GI over training next to training and validation accuracy."""

from __future__ import annotations

import numpy as np


def plot_gi_over_training(ax, epochs, train_acc, val_acc, mean_gi, title: str, max_gi: float,
                          one_class=None) -> None:
    """Accuracies (left axis) and mean GI (right axis, in ``[0, max_gi]``) against the epoch; epoch 0 is
    the initialisation (symmetric-log x axis). ``one_class`` (booleans per snapshot) marks the snapshots
    that predict a single class (GI = the whole range by construction) with open markers. The legend
    sits below the axes."""
    epochs = np.asarray(epochs)
    ax.plot(epochs, train_acc, "o-", color="tab:green", ms=3, label="train accuracy")
    ax.plot(epochs, val_acc, "s-", color="tab:purple", ms=3, label="validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    right = ax.twinx()
    gi = np.asarray(mean_gi)
    right.plot(epochs, gi, "-", color="tab:red", lw=1, label="mean pairwise GI")
    m = np.zeros(len(gi), bool) if one_class is None else np.asarray(one_class, bool)
    right.plot(epochs[~m], gi[~m], "^", color="tab:red", ms=4, label=">= 2 classes predicted")
    if m.any():
        right.plot(epochs[m], gi[m], "^", mfc="none", color="tab:red", ms=4, label="one class predicted")
    right.set_ylim(0, max_gi * 1.02)
    right.set_ylabel("mean GI length", color="tab:red")
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="upper center",
              bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    ax.set_title(title, fontsize=9)
