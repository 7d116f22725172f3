"""Random networks: the walker against two independent references and against dense sampling."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relu_regions as rr
from both_paths import exact_interval, exact_intervals
from conftest import random_net
from reference import reference_interval

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_nets(draw, integer=False):
    """A tiny MLP with a ray: integer weights give many exact ties (coincident roots, equal logits)."""
    n_in = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    n_out = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = [n_in, *hidden, n_out]
    if integer:
        params = [(rng.integers(-2, 3, (a, b)).astype(float), rng.integers(-2, 3, b).astype(float))
                  for a, b in zip(sizes[:-1], sizes[1:])]
        x = rng.integers(-2, 3, n_in) / 2.0
        d = rng.integers(-2, 3, n_in).astype(float)
    else:
        params = random_net(rng, sizes, scale=1.0)
        x, d = rng.normal(size=n_in), rng.normal(size=n_in)
    return params, x, d


def assert_no_change_inside(params, x, d, r, n=4001):
    """Dense sampling: the label must be a maximum (up to rounding) at every sample inside [lo, hi]."""
    ts = np.linspace(r.lo, r.hi, n)
    h = x[None, :] + ts[:, None] * d[None, :]
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0)
    f = h @ params[-1][0] + params[-1][1]
    gap = f.max(axis=1) - f[:, r.label]
    assert np.all(gap <= 1e-9 * (1 + np.abs(f).max())), f"class change inside the GI at t={ts[gap.argmax()]}"


@settings(**SETTINGS)  # examples: the profile's (tests/conftest.py: 6 quick, 60 thorough)
@given(small_nets())
def test_matches_float_reference_and_sampling(case):
    params, x, d = case
    r = exact_interval(params, x, d, -3.0, 3.0)
    lo, hi, label = reference_interval(params, x, d, -3.0, 3.0)
    assert r.label == label
    assert abs(r.lo - lo) <= 1e-9 and abs(r.hi - hi) <= 1e-9
    assert_no_change_inside(params, x, d, r)


@settings(**SETTINGS)  # examples: the profile's (tests/conftest.py: 6 quick, 60 thorough)
@given(small_nets(integer=True))
def test_matches_rational_reference_on_degenerate_integer_nets(case):
    params, x, d = case
    r = exact_interval(params, x, d, -3.0, 3.0)
    lo, hi, label = reference_interval(params, x, d, -3.0, 3.0, exact=True)
    assert r.label == label
    assert abs(r.lo - float(lo)) <= 1e-9 and abs(r.hi - float(hi)) <= 1e-9
    assert_no_change_inside(params, x, d, r)


def test_wide_deep_nets_match_reference(rng):
    for sizes in ([784, 128, 128, 128, 10], [50, 64, 64, 64, 64, 5], [10, 512, 10]):
        params = random_net(rng, sizes)
        xs = rng.random((12, sizes[0]))
        ds = rng.random((12, sizes[0])) - xs
        R = exact_intervals(params, xs, ds)
        for i in range(len(xs)):
            lo, hi, label = reference_interval(params, xs[i], ds[i])
            assert R.label[i] == label
            assert abs(R.lo[i] - lo) <= 1e-9 and abs(R.hi[i] - hi) <= 1e-9
            assert_no_change_inside(params, xs[i], ds[i], rr.Interval(*(v[i] for v in R)))


def test_real_mnist_rays_match_reference(mnist_rays, rng):
    xs, ds = mnist_rays
    pick = rng.choice(len(xs), size=60, replace=False)
    params = random_net(rng, [784, 128, 128, 128, 10])
    R = exact_intervals(params, xs[pick], ds[pick])
    assert R.exact.all()
    for k, i in enumerate(pick):
        lo, hi, label = reference_interval(params, xs[i], ds[i])
        assert R.label[k] == label and abs(R.lo[k] - lo) <= 1e-9 and abs(R.hi[k] - hi) <= 1e-9


def test_batched_equals_single(rng):
    params = random_net(rng, [6, 8, 8, 3])
    xs, ds = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    t_min, t_max = -rng.random(9) * 3, rng.random(9) * 3
    R = exact_intervals(params, xs, ds, t_min, t_max, batch_size=4)
    for i in range(9):
        r = exact_interval(params, xs[i], ds[i], t_min[i], t_max[i])
        assert (r.label, r.lo_class, r.hi_class, r.n_regions, r.exact) == (
            R.label[i], R.lo_class[i], R.hi_class[i], R.n_regions[i], R.exact[i])
        # Batched matrix products may round differently in the last bit.
        assert abs(r.lo - R.lo[i]) <= 1e-12 and abs(r.hi - R.hi[i]) <= 1e-12


def test_jitted_equals_unjitted(rng):
    params = random_net(rng, [5, 7, 7, 4])
    xs, ds = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    R = exact_intervals(params, xs, ds)
    with jax.disable_jit():
        U = exact_intervals(params, xs, ds)
    np.testing.assert_allclose(R.lo, U.lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(R.hi, U.hi, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(R.hi_class, U.hi_class)
    np.testing.assert_array_equal(R.n_regions, U.n_regions)


def test_max_steps_flags_unfinished_rays(rng):
    params = random_net(rng, [4, 32, 32, 3])
    x, d = rng.normal(size=4), rng.normal(size=4) * 50
    full = exact_interval(params, x, d, -np.inf, np.inf)
    assert full.n_regions > 3
    with pytest.warns(RuntimeWarning, match="max_steps"):
        R = exact_intervals(params, x[None], d[None], -np.inf, np.inf, max_steps=2)
    assert not R.exact[0] and np.isnan(R.lo[0]) and np.isnan(R.hi[0])
    with pytest.raises(RuntimeError, match="max_steps"):
        exact_interval(params, x, d, -np.inf, np.inf, max_steps=2)


def test_sampled_estimate_lies_inside_exact_and_converges(rng):
    params = random_net(rng, [20, 32, 32, 5])
    xs, ds = rng.random((40, 20)), rng.random((40, 20)) - 0.5
    E = exact_intervals(params, xs, ds)
    errs = []
    for n in (30, 300, 3000):
        S = rr.sampled_intervals(params, xs, ds, n=n)
        assert np.array_equal(S.label, E.label)
        spacing = 3.0 / (n - 1)
        # Wherever the sampler did not skip a change entirely, it is inside and within one spacing.
        inside = (S.lo >= E.lo - 1e-12) & (S.hi <= E.hi + 1e-12)
        near = (S.lo - E.lo <= spacing + 1e-12) & (E.hi - S.hi <= spacing + 1e-12)
        assert np.all(inside | (S.length > E.length)), "a sampled GI may only exceed an exact one by skipping"
        assert np.mean(inside & near) > 0.9
        errs.append(np.mean(np.abs(S.length - E.length)))
    assert errs[2] < errs[0]
    S32 = rr.sampled_intervals(params, xs, ds, n=300, dtype=np.float32)
    assert np.mean(S32.label == E.label) > 0.95
