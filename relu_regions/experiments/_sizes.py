"""Workload sizes of the reproduction: the paper's (``full``, 5 seeds), a smoke run of under 10 minutes on
2 CPU cores (``quick``, 2 seeds) and a seconds-long one for tests (``tiny``, 1 seed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

MAIN_WIDTHS = (128, 128, 128)
ARCHITECTURES = ((512,), (256, 256), (128, 128, 128), (128, 128, 128, 128))

#: Fig. 9 snapshots: every epoch for the first 20 (where the networks leave the one-class phase), every
#: 5 epochs up to 100, then sparser up to the cap.
_FULL_SNAPSHOTS = (*range(21), *range(25, 101, 5), 120, 150, 200, 250, 300, 400, 500, 700, 1000, 1500, 2000,
                   3000, 5000)
#: Label-noise fractions of the sensitivity study (0 = the real labels, 1 = the randomly permuted ones).
NOISE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Sizes:
    """How much of everything an experiment run computes (JSON-able; recorded in ``results.json``).

    Attributes:
        name: ``"full"``, ``"quick"``, ``"tiny"`` or ``"custom"``.
        n_per_class: training samples per class (the paper: 100, i.e. 1000 images).
        n_val_per_class: validation images per class (100: 1000 test images).
        optimizer, learning_rate: how the networks are trained (mini-batches of 32); the paper's plain SGD
            with learning rate 0.01 in ``full``. ``quick`` uses Adam (lr 1e-3), which reaches 100 % training
            accuracy within tens of epochs (SGD at 0.01 needs hundreds to thousands), so that its networks are
            trained and their GIs cheap to compute (networks stopped half-way, with tiny logit margins, send
            many rays to the exact rational fallback).
        max_epochs: training cap; training stops earlier at 100 % training accuracy.
        val_every: the validation accuracy is measured during training every this many epochs and at the last
            one (nothing but the final value is used: Fig. 9 measures its own accuracies at its snapshots).
        fallback: train again with :attr:`fallback_optimizer` when plain SGD misses 100 % within the cap
            (the result records which optimizer produced the network).
        fallback_optimizer, fallback_learning_rate, fallback_max_epochs, fallback_batch_size: that second
            attempt (``fallback_batch_size=None``: full batch). The default (Adam, lr 3e-3, full batch) is
            what memorizes the randomly labelled two moons, where SGD at 0.01 stalls near 60 %.
        snapshot_epochs: epochs whose parameters the MNIST 3x128 real- and random-label runs keep (for the
            GI-over-training experiment; other networks keep none); epochs after the run stopped are skipped.
        n_pairs: same-label pairs per pairwise GI set; ``None`` = all unordered pairs (49,500 for 1000
            images in 10 classes of 100; each pair once, in a random orientation).
        n_pairs_training: pairs per snapshot in the GI-over-training experiment.
        n_triangles: triangles (3 mid-lines each) per labelling in the triangle experiment.
        n_paths: segment triples (same class, other class, random) for the path statistics.
        n_pca_starts: start points per direction in the PCA experiments (``None`` = the whole class).
        n_norm_random: random points handed to the norms experiment.
        n_norm_segments: same-label segments per network in the norms experiment.
        gi_batch: rays per compiled batch of the exact GI walker (results do not depend on it). At the
            engine's small-batch size (``EngineConfig().small``, 64) its second tier, which re-walks the rays
            float64 could not decide, reuses the first tier's compiled walk: one compilation less per
            network shape, what counts at a few hundred rays per set (``quick``, ``tiny``).
        n_seeds: independent repetitions (data subset, label permutation, initialisation, batch order and
            every sampled ray family are drawn per seed); every statistic is reported per seed and pooled.
        n_boot: bootstrap replicates per interval.
        n_sensitivity_pairs: validation-point pairs per network in the sensitivity study.
        n_hull_points: validation points per data set tested for membership of the training set's convex hull.
        n_layer_pairs: same-label pairs per network and layer in the layer-wise study.
        noise_fractions: label-noise fractions of the sensitivity study.
    """

    name: str = "full"
    n_per_class: int = 100
    n_val_per_class: int = 100
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    max_epochs: int = 5000
    val_every: int = 1
    fallback: bool = True
    fallback_optimizer: str = "adam"
    fallback_learning_rate: float = 3e-3
    fallback_max_epochs: int = 40_000
    fallback_batch_size: int | None = None
    snapshot_epochs: tuple[int, ...] = _FULL_SNAPSHOTS
    n_pairs: int | None = None
    n_pairs_training: int = 3000
    n_triangles: int = 10_000
    n_paths: int = 200
    n_pca_starts: int | None = None
    n_norm_random: int = 10_000
    n_norm_segments: int = 500
    gi_batch: int = 512
    n_seeds: int = 5
    n_boot: int = 500
    n_sensitivity_pairs: int = 2000
    n_hull_points: int = 300
    n_layer_pairs: int = 5000
    noise_fractions: tuple[float, ...] = NOISE_FRACTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "snapshot_epochs", tuple(sorted({int(e) for e in self.snapshot_epochs})))
        object.__setattr__(self, "noise_fractions", tuple(float(p) for p in self.noise_fractions))
        if any(not 0 <= p <= 1 for p in self.noise_fractions):
            raise ValueError(f"Sizes.noise_fractions must lie in [0, 1], got {self.noise_fractions}")
        for key in ("n_per_class", "n_val_per_class", "max_epochs", "val_every", "fallback_max_epochs", "n_pairs_training",
                    "n_triangles", "n_paths", "n_norm_random", "n_norm_segments", "gi_batch", "n_seeds", "n_boot",
                    "n_sensitivity_pairs", "n_hull_points", "n_layer_pairs"):
            if getattr(self, key) < 1:
                raise ValueError(f"Sizes.{key} must be >= 1, got {getattr(self, key)}")
        for key in ("n_pairs", "n_pca_starts", "fallback_batch_size"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ValueError(f"Sizes.{key} must be None or >= 1, got {getattr(self, key)}")

    @classmethod
    def full(cls) -> "Sizes":
        """The paper's sizes: all same-label pairs, training to 100 % (cap 5000 epochs)."""
        return cls()

    @classmethod
    def quick(cls) -> "Sizes":
        """Under 10 minutes on 2 CPU cores: 2 seeds, networks trained with Adam (lr 1e-3, mini-batches of 32)
        to 100 % training accuracy within 500 epochs (not the paper's SGD; a network that misses the target,
        such as the randomly labelled two moons, makes the claims resting on it 'inconclusive (training target
        not reached)'), a few hundred rays per set. A smoke test of the whole pipeline, not a result.

        Every network and experiment of the full run is kept; the cuts are in samples per set (pairs, points,
        segments, snapshots, bootstrap replicates), where they widen intervals and cost least. Where the
        time goes (measured on 2 shared cores, about 340 CPU-seconds in all): compiling the exact-GI kernels
        once per network shape and mode (a third), training (a fifth; CIFAR-10 with random labels runs to
        the cap), and the exact rational partition of segments the float64 walk cannot certify (a seventh,
        about 1 s each; hence 20 appendix segments per network). GIs go in compiled batches of 64 rays
        (``gi_batch``), so that the engine's second tier reuses the first tier's compilation. The validation
        accuracy is measured every 10 epochs during training (only the final one is used)."""
        return cls(name="quick", optimizer="adam", learning_rate=1e-3, max_epochs=500, val_every=10, fallback=False,
                   snapshot_epochs=(*range(21), 25, 30, 40, 50, 75, 100, 150, 200, 300, 500),
                   n_pairs=300, n_pairs_training=60, n_triangles=100, n_paths=10, n_pca_starts=30,
                   n_norm_random=500, n_norm_segments=20, gi_batch=64, n_seeds=2, n_boot=200,
                   n_sensitivity_pairs=200, n_hull_points=20, n_layer_pairs=200)

    @classmethod
    def tiny(cls) -> "Sizes":
        """Seconds: for tests only; the numbers mean nothing."""
        return cls(name="tiny", max_epochs=3, fallback=False, snapshot_epochs=(0, 1, 2, 3), n_pairs=32,
                   n_pairs_training=16, n_triangles=8, n_paths=2, n_pca_starts=4, n_norm_random=32, n_norm_segments=4,
                   gi_batch=64, n_seeds=1, n_boot=50, n_sensitivity_pairs=24, n_hull_points=4, n_layer_pairs=24,
                   noise_fractions=(0.0, 0.5, 1.0))

    @classmethod
    def preset(cls, name: str) -> "Sizes":
        presets = {"full": cls.full, "quick": cls.quick, "tiny": cls.tiny}
        if name not in presets:
            raise ValueError(f"unknown size preset {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def replace(self, **changes: Any) -> "Sizes":
        """A copy with ``changes`` applied (named ``"custom"`` unless a name is given)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        changes.setdefault("name", f"{self.name}+custom")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["snapshot_epochs"] = list(self.snapshot_epochs)
        d["noise_fractions"] = list(self.noise_fractions)
        return d
