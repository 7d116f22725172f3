"""The experiments of the reproduction, in the order ``reproduce`` runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from relu_regions.experiments._appendix import norms_appendix
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._fig1_paths import fig1_paths
from relu_regions.experiments._fig4_dimension import fig4_dimension
from relu_regions.experiments._fig5_triangles import fig5_triangles
from relu_regions.experiments._fig6_architectures import fig6_architectures
from relu_regions.experiments._fig7_cifar import fig7_cifar10
from relu_regions.experiments._fig8_moons import fig8_two_moons
from relu_regions.experiments._fig9_training import fig9_training
from relu_regions.experiments._fig23_pca import fig2_pca_real, fig3_pca_random
from relu_regions.experiments._hull import hull
from relu_regions.experiments._layerwise import layerwise
from relu_regions.experiments._sensitivity import sensitivity


@dataclass(frozen=True)
class Experiment:
    """``run(ctx) -> {"figures", "numbers", "claims", "networks"}``; ``label`` is the paper's figure."""

    name: str
    label: str
    title: str
    run: Callable[[ExperimentContext], dict]


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("fig1", "Fig. 1", "outputs along same-class, different-class and random paths", fig1_paths),
    Experiment("fig2", "Fig. 2", "tangent, normal and small-eigenvalue directions, real labels", fig2_pca_real),
    Experiment("fig3", "Fig. 3", "tangent, normal and small-eigenvalue directions, random labels", fig3_pca_random),
    Experiment("fig4", "Fig. 4", "pairwise GIs, real vs random, 28x28 / 14x14 / 7x7 MNIST", fig4_dimension),
    Experiment("fig5", "Fig. 5", "GIs along triangle mid-lines (class 5)", fig5_triangles),
    Experiment("fig6", "Fig. 6", "pairwise GIs for 1x512, 2x256, 3x128, 4x128", fig6_architectures),
    Experiment("fig7", "Fig. 7", "pairwise GIs on CIFAR-10", fig7_cifar10),
    Experiment("fig8", "Fig. 8", "two moons: decision regions and pairwise GIs", fig8_two_moons),
    Experiment("fig9", "Fig. 9", "mean GI during training vs train/validation accuracy", fig9_training),
    Experiment("norms", "Appendix", "the matrix inf-norm argument", norms_appendix),
    Experiment("sensitivity", "Novak", "sensitivity next to GIs across label noise (Novak et al. 2018)", sensitivity),
    Experiment("hull", "Yousefzadeh", "interpolation vs extrapolation: the training set's convex hull "
               "(Yousefzadeh 2022)", hull),
    Experiment("layerwise", "Stephenson", "GIs and regions layer by layer (Stephenson et al. 2021)", layerwise),
)}
