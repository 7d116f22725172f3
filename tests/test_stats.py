"""The statistics of the reproduction (relu_regions.experiments._stats): weighted statistics, the bootstrap
over seeds and rows, and the verdict rules."""

import numpy as np
import pytest
from scipy import stats

from relu_regions.experiments._stats import (FAILS, HOLDS, INCONCLUSIVE, Weighted, all_of, bootstrap, decide,
                                             ks_distance, seed_bootstrap, spearman)


def test_weighted_statistics_equal_repeated_rows(rng):
    v = np.round(rng.normal(size=200), 1)                 # ties on purpose
    w = rng.integers(0, 4, size=200).astype(float)
    rep = np.repeat(v, w.astype(int))
    a = Weighted(v, w)
    assert a.mean() == pytest.approx(rep.mean())
    assert a.fraction(lambda x: x > 0) == pytest.approx(np.mean(rep > 0))
    for q in (0.1, 0.5, 0.9):
        assert a.quantile(q) == np.sort(rep)[int(np.ceil(q * len(rep))) - 1]
    u = np.round(rng.normal(0.3, size=150), 1)
    wu = rng.integers(0, 3, size=150).astype(float)
    expect = stats.ks_2samp(rep, np.repeat(u, wu.astype(int))).statistic
    assert ks_distance(a, Weighted(u, wu)) == pytest.approx(expect)
    assert ks_distance(Weighted(v), Weighted(v)) == 0


def test_bootstrap_intervals_cover_and_shrink(rng):
    seeds = [rng.normal(1.0 + 0.05 * k, 1.0, size=400) for k in range(4)]
    b = bootstrap(seeds, lambda a: a.mean(), n_boot=300, seed=1)
    assert b["n_seeds"] == 4 and len(b["per_seed"]) == 4
    assert b["estimate"] == pytest.approx(np.mean([s.mean() for s in seeds]))
    lo, hi = b["ci"]
    assert lo < b["estimate"] < hi and hi - lo < 0.4
    for p, s in zip(b["per_seed"], seeds):
        assert p["ci"][0] < s.mean() < p["ci"][1] and p["n"] == [400]
    one = bootstrap(seeds[:1], lambda a: a.mean(), n_boot=300)
    assert one["ci"] == one["per_seed"][0]["ci"]          # one seed: the within-seed interval
    again = bootstrap(seeds, lambda a: a.mean(), n_boot=300, seed=1)
    assert again == b                                      # deterministic


def test_bootstrap_two_samples_and_seed_constants(rng):
    pairs = [(rng.normal(0, 1, 300), rng.normal(0.5, 1, 300)) for _ in range(3)]
    d = bootstrap(pairs, lambda a, b: b.median() - a.median(), n_boot=200)
    assert d["ci"][0] > 0
    targets = [np.arange(5.0), -np.arange(5.0), np.arange(5.0)]

    def stat(a, seed_index):
        return spearman(a.mean(), targets[seed_index])
    G = [np.tile(np.arange(5.0), (20, 1)) + rng.normal(0, 0.01, (20, 5)) for _ in range(3)]
    r = bootstrap(G, stat, n_boot=50)
    assert [p["estimate"] for p in r["per_seed"]] == pytest.approx([1, -1, 1])


def test_bootstrap_skips_undefined_statistics():
    const = [np.ones(10), np.arange(10.0)]
    r = bootstrap(const, lambda a: spearman(a.values, np.arange(len(a.values))), n_boot=20)
    assert r["per_seed"][0]["estimate"] is None and r["estimate"] == pytest.approx(1.0)
    s = seed_bootstrap([1.0, 2.0, np.nan, 3.0], n_boot=100)
    assert s["estimate"] == 2.0 and s["ci"][0] >= 1.0 and s["ci"][1] <= 3.0


@pytest.mark.parametrize("ci, rule, kw, expected", [
    ([0.1, 0.2], "above", {}, HOLDS),
    ([-0.2, -0.1], "above", {}, FAILS),
    ([-0.1, 0.1], "above", {}, INCONCLUSIVE),
    ([0.02, 0.08], "below", {"threshold": 0.1}, HOLDS),
    ([0.12, 0.2], "below", {"threshold": 0.1}, FAILS),
    ([0.05, 0.15], "below", {"threshold": 0.1}, INCONCLUSIVE),
    ([-0.1, 0.1], "within", {"margin": 0.15}, HOLDS),
    ([0.2, 0.3], "within", {"margin": 0.15}, FAILS),
    ([0.1, 0.3], "within", {"margin": 0.15}, INCONCLUSIVE),   # overlaps the margin: no equivalence shown
    ([-0.5, 0.5], "within", {"margin": 0.15}, INCONCLUSIVE),  # wide interval: absence of evidence is not evidence
    ([None, None], "above", {}, INCONCLUSIVE),
])
def test_decide(ci, rule, kw, expected):
    v = decide(ci, rule, **kw)
    assert v == expected and isinstance(v, str)
    assert bool(v.why) == (expected == INCONCLUSIVE)  # an undecided verdict says why, a decided one does not


def test_inconclusive_verdicts_say_why():
    assert decide([-0.1, 0.25], "above").why == ("the 95% interval [-0.1, 0.25] contains the threshold 0: too wide, "
                                                 "or too close to it, to decide")
    assert "neither inside nor outside the margin -0.15 to 0.15" in decide([0.1, 0.3], "within", margin=0.15).why
    assert decide([None, None], "above").why.startswith("no interval")
    both = all_of([decide([-0.1, 0.2], "above"), HOLDS, decide([None, None], "below")])
    assert both == INCONCLUSIVE and "[-0.1, 0.2]" in both.why and "no interval" in both.why
    assert all_of([decide([-0.1, 0.2], "above"), FAILS]).why == ""


def test_all_of():
    assert all_of([HOLDS, HOLDS]) == HOLDS
    assert all_of([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert all_of([HOLDS, FAILS, INCONCLUSIVE]) == FAILS
    with pytest.raises(ValueError):
        decide([0, 1], "within")
