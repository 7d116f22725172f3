"""Pairwise GI sets of real- and random-label networks over seeds, the building block of Figs. 4 and 6-8,
with the statistics (bootstrap intervals over seeds and pairs) their claims are decided on."""

from __future__ import annotations

import itertools

import numpy as np

import relu_regions as rr
from relu_regions.experiments._context import LABELS, PAIR_RANGE, ExperimentContext
from relu_regions.experiments._gi import gi_summary
from relu_regions.experiments._stats import SIMILAR_KS, Weighted, bootstrap, bump, histogram, ks, ks_distance  # noqa: F401

WIDTH = PAIR_RANGE[1] - PAIR_RANGE[0]
#: Margin of "does not change" for a median GI: 5 % of the range (0.15 for t in [-1, 2]).
MEDIAN_MARGIN = 0.05 * WIDTH


def run_stat(ctx: ExperimentContext, per_seed, statistic) -> dict:
    """:func:`bootstrap` with the run's replicates and seeds."""
    return bootstrap(per_seed, statistic, n_boot=ctx.sizes.n_boot, seed=ctx.seeds[0], seeds=ctx.seeds)


def median(a: Weighted) -> float:
    return a.median()


def median_diff(a: Weighted, b: Weighted) -> float:
    """``median(a) - median(b)``."""
    return a.median() - b.median()


def capped(a: Weighted, width: float = WIDTH) -> float:
    """Share of GIs equal to the whole range (capped)."""
    return a.fraction(lambda v: v >= width * (1 - 1e-12))


def prominence(a: Weighted, center: float = 1.3) -> float:
    """Bump near ``center``: the share of the highest 0.05-bin within ``center +- 0.2`` minus the larger
    of the bins 0.2 below and above it (positive = a local maximum)."""
    edges = np.linspace(0.0, WIDTH, int(round(WIDTH / 0.05)) + 1)
    counts, _ = np.histogram(a.values, bins=edges, weights=a.weights)
    b = bump({"edges": edges, "counts": counts}, center)
    return b["height"] - max(b["left"], b["right"])


def n_text(gi: dict) -> str:
    """What ``n`` counts in a pooled pairwise summary (:meth:`PairwiseSet.pooled`), for a claim's text."""
    return (f"n = {gi['n_per_seed']:,} of {gi['n_pairs_total']:,} unordered same-label pairs per network and seed, "
            f"{gi['n_seeds']} seed(s)")


def seed_floor(samples: list[np.ndarray]) -> float | None:
    """Mean KS distance between the GI samples of two seeds of the same setting (how far two runs of one
    setting lie apart: the noise floor a real-vs-random distance is read against); ``None`` for one seed."""
    d = [ks(a, b)["statistic"] for a, b in itertools.combinations(samples, 2)]
    return float(np.mean(d)) if d else None


class PairwiseSet:
    """The pairwise GIs of one setting (data set, widths, labels) for every seed of ``ctx``."""

    def __init__(self, ctx: ExperimentContext, dataset: str, widths, labels: str):
        self.nets, self.ivs, self.summaries = [], [], []
        for c in ctx.per_seed():
            net = c.network(dataset, widths, labels)
            iv, s = c.pairwise(net)
            self.nets.append(net)
            self.ivs.append(iv)
            self.summaries.append(s | {"seed": c.seed})
        self.seeds = list(ctx.seeds)

    @property
    def keys(self) -> list[str]:
        return [n.key for n in self.nets]

    @property
    def lengths(self) -> list[np.ndarray]:
        return [np.asarray(iv.length, np.float64) for iv in self.ivs]

    def pooled(self) -> dict:
        """:func:`gi_summary` of all seeds together, with ``n_seeds``, ``n_pairs_total`` (per seed) and a
        compact ``per_seed`` list."""
        iv = rr.Interval(*(np.concatenate(cols) for cols in zip(*self.ivs)))
        s = gi_summary(iv, *PAIR_RANGE)
        s |= {"n_seeds": len(self.ivs), "n_pairs_total": self.summaries[0]["n_pairs_total"],
              "n_per_seed": self.summaries[0]["n_pairs_used"],
              "unit": "unordered same-label pairs (each once, random orientation) per network",
              "per_seed": [{k: v for k, v in x.items() if k != "histogram"} for x in self.summaries]}
        return s


def real_vs_random(ctx: ExperimentContext, dataset: str, widths, ax=None, title: str = "", *,
                   share_ax=None) -> dict:
    """Pairwise GIs of the real- and random-label networks of ``widths`` on ``dataset`` for every seed.

    Returns ``{"sets": {labels: PairwiseSet}, "gi": {labels: pooled summary}, "ks": KS of the pooled
    samples, "stats": {name: bootstrap dict}, "floor": {labels: between-seed KS}, "bump": {labels: bump of
    the pooled histogram}, "networks": keys, "n_text": what n counts}``; ``stats`` holds ``median_real``, ``median_random``,
    ``median_diff`` (random - real), ``ks`` (real vs random), ``capped_real``, ``capped_random``,
    ``bump_real``, ``bump_random``. Draws both distributions on ``ax`` when given.
    """
    from relu_regions.plotting import plot_gi_histograms

    sets = {labels: PairwiseSet(ctx, dataset, widths, labels) for labels in LABELS}
    L = {labels: sets[labels].lengths for labels in LABELS}
    both = list(zip(L["real"], L["random"]))
    stats = {
        "median_real": run_stat(ctx, L["real"], median),
        "median_random": run_stat(ctx, L["random"], median),
        "median_diff": run_stat(ctx, [(b, a) for a, b in both], median_diff),
        "ks": run_stat(ctx, both, ks_distance),
        "capped_real": run_stat(ctx, L["real"], capped),
        "capped_random": run_stat(ctx, L["random"], capped),
        "bump_real": run_stat(ctx, L["real"], prominence),
        "bump_random": run_stat(ctx, L["random"], prominence),
    }
    pooled = {labels: np.concatenate(L[labels]) for labels in LABELS}
    gi = {labels: sets[labels].pooled() for labels in LABELS}
    if ax is not None:
        plot_gi_histograms(ax, {labels: L[labels] for labels in LABELS}, WIDTH, title)
    return {"sets": sets, "gi": gi, "ks": ks(pooled["real"], pooled["random"]), "stats": stats,
            "floor": {labels: seed_floor(L[labels]) for labels in LABELS},
            "bump": {labels: bump(histogram(pooled[labels], 0.0, WIDTH, 0.05)) for labels in LABELS},
            "networks": [k for labels in LABELS for k in sets[labels].keys], "n_text": n_text(gi["real"])}
