"""Reproduction of the paper's experiments with exact generalization intervals.

An :class:`ExperimentContext` holds the output directory, data location, sizes (:class:`Sizes`: the
paper's, ``quick`` or ``tiny``), the seeds (``sizes.n_seeds`` from ``seed`` on; :meth:`~ExperimentContext.for_seed`
gives one seed's context) and the cache of trained networks. Each experiment is a function
``run(ctx) -> {"figures": [png names], "numbers": {..., "stats": {name: bootstrap interval}}, "claims":
[{"claim", "measured", "criterion", "verdict", "holds", "networks"}], "networks": [keys]}`` that runs over
every seed; verdicts are "holds" / "does not hold" / "inconclusive" from stated rules on bootstrap intervals
(:mod:`relu_regions.experiments._stats`). :data:`EXPERIMENTS` lists them in order (the paper's Figs. 1-9 and
appendix, then the related work's ``sensitivity``, ``hull`` and ``layerwise``), :func:`run_experiments` /
:func:`reproduce` run them and keep ``results.json`` and ``report.md`` up to date, and :func:`run_demo` is
the no-download demo.
"""

from relu_regions.experiments._along import ClassChanges, class_changes, logit_range, segment_stats
from relu_regions.experiments._appendix import norms_appendix
from relu_regions.experiments._context import DEFAULT_CACHE_DIR, ExperimentContext, TrainedNet
from relu_regions.experiments._data import SplitData, load_split
from relu_regions.experiments._demo import run_demo
from relu_regions.experiments._fig1_paths import fig1_paths
from relu_regions.experiments._fig4_dimension import fig4_dimension
from relu_regions.experiments._fig5_triangles import fig5_triangles
from relu_regions.experiments._fig6_architectures import fig6_architectures
from relu_regions.experiments._fig7_cifar import fig7_cifar10
from relu_regions.experiments._fig8_moons import fig8_two_moons
from relu_regions.experiments._fig9_training import fig9_training
from relu_regions.experiments._fig23_pca import fig2_pca_real, fig3_pca_random, pca_directions
from relu_regions.experiments._hull import hull, in_hull
from relu_regions.experiments._layerwise import layerwise
from relu_regions.experiments._sensitivity import jacobian_norms, sensitivity
from relu_regions.experiments._rays import midline_rays, random_triangles, same_label_pairs
from relu_regions.experiments._registry import EXPERIMENTS, Experiment
from relu_regions.experiments._report import claim_table, render_report
from relu_regions.experiments._reproduce import REPORT_NAME, RESULTS_NAME, reproduce, run_experiments
from relu_regions.experiments._sizes import ARCHITECTURES, MAIN_WIDTHS, Sizes

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_CACHE_DIR",
    "EXPERIMENTS",
    "MAIN_WIDTHS",
    "REPORT_NAME",
    "RESULTS_NAME",
    "ClassChanges",
    "Experiment",
    "ExperimentContext",
    "Sizes",
    "SplitData",
    "TrainedNet",
    "claim_table",
    "class_changes",
    "fig1_paths",
    "fig2_pca_real",
    "fig3_pca_random",
    "fig4_dimension",
    "fig5_triangles",
    "fig6_architectures",
    "fig7_cifar10",
    "fig8_two_moons",
    "fig9_training",
    "hull",
    "in_hull",
    "jacobian_norms",
    "layerwise",
    "load_split",
    "logit_range",
    "midline_rays",
    "norms_appendix",
    "pca_directions",
    "random_triangles",
    "render_report",
    "reproduce",
    "run_demo",
    "run_experiments",
    "same_label_pairs",
    "segment_stats",
    "sensitivity",
]
