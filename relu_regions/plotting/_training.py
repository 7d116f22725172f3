"""Mean GI over training next to training and validation accuracy."""

from __future__ import annotations

import numpy as np


def plot_gi_over_training(ax, epochs, train_acc, val_acc, mean_gi, title: str, max_gi: float) -> None:
    """Accuracies (left axis) and mean GI (right axis, in ``[0, max_gi]``) against the epoch; epoch 0 is
    the initialisation (symmetric-log x axis)."""
    epochs = np.asarray(epochs)
    ax.plot(epochs, train_acc, "o-", color="tab:green", ms=3, label="train accuracy")
    ax.plot(epochs, val_acc, "s-", color="tab:purple", ms=3, label="validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    right = ax.twinx()
    right.plot(epochs, mean_gi, "^-", color="tab:red", ms=3, label="mean pairwise GI")
    right.set_ylim(0, max_gi * 1.02)
    right.set_ylabel("mean GI length", color="tab:red")
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=9)
