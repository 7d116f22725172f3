"""Figures of the experiments (matplotlib, Agg backend). Every function draws on a given axes;
:func:`save_figure` writes the PNG atomically."""

from relu_regions.plotting._decision import plot_decision_regions
from relu_regions.plotting._distributions import plot_gi_histograms
from relu_regions.plotting._figure import new_figure, save_figure
from relu_regions.plotting._paths import plot_logits_along
from relu_regions.plotting._plane import plot_plane
from relu_regions.plotting._training import plot_gi_over_training

__all__ = [
    "new_figure",
    "plot_decision_regions",
    "plot_gi_histograms",
    "plot_gi_over_training",
    "plot_logits_along",
    "plot_plane",
    "save_figure",
]
