"""The exact partition of a segment against layer-wise refinement (float and rational)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relu_regions as rr
from conftest import random_net
from reference import refine_pieces


@pytest.mark.parametrize("seed", range(6))
def test_breakpoints_and_logits_match_refinement(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 6)), *rng.integers(2, 9, size=int(rng.integers(1, 4))), int(rng.integers(2, 5))]
    params = random_net(rng, [int(s) for s in sizes], scale=1.0)
    x, d = rng.normal(size=sizes[0]), rng.normal(size=sizes[0])
    p = rr.linear_pieces(params, x, d, -2.0, 3.0)
    ref = refine_pieces(params, x, d, -2.0, 3.0)
    ref_bp = np.array([ref[0][0]] + [e for _, e, _, _ in ref])
    assert p.breakpoints.shape == ref_bp.shape
    np.testing.assert_allclose(p.breakpoints, ref_bp, atol=1e-9)
    for k, (a, e, F, G) in enumerate(ref):
        np.testing.assert_allclose(p.slopes[k], G, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(p.logits[k], F + a * G, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p.logits[-1], ref[-1][2] + 3.0 * ref[-1][3], rtol=1e-9, atol=1e-9)
    # Patterns differ between consecutive pieces, and each is the pattern at the piece's midpoint.
    mids = (p.breakpoints[:-1] + p.breakpoints[1:]) / 2
    for k, t in enumerate(mids):
        h, pat = x + t * d, []
        for W, b in params[:-1]:
            z = h @ W + b
            pat.append(z > 0)
            h = np.maximum(z, 0)
        np.testing.assert_array_equal(p.patterns[k], np.concatenate(pat))


def test_real_size_segment_is_continuous(rng):
    params = random_net(rng, [784, 128, 128, 128, 10])
    x, y = rng.random(784), rng.random(784)
    p = rr.linear_pieces(params, x, y - x)
    assert p.n_pieces > 10
    assert np.all(np.diff(p.breakpoints) > 0)
    # Logits are continuous: each piece's affine function ends where the next one starts.
    ends = p.logits[:-1] + np.diff(p.breakpoints)[:, None] * p.slopes
    np.testing.assert_allclose(ends, p.logits[1:], rtol=1e-9, atol=1e-9)


def test_capacity_overflow_is_signalled(rng):
    params = random_net(rng, [4, 64, 64, 3])
    x, d = rng.normal(size=4), rng.normal(size=4) * 20
    full = rr.linear_pieces(params, x, d)
    assert full.n_pieces > 4
    with pytest.raises(rr.PieceCapacityError, match="capacity"):
        rr.linear_pieces(params, x, d, capacity=2)


def test_infinite_ends_and_a_range_ending_at_zero(rng):
    params = random_net(rng, [3, 6, 3])
    x, d = rng.normal(size=3), rng.normal(size=3)
    p = rr.linear_pieces(params, x, d, -np.inf, np.inf)
    assert p.breakpoints[0] == -np.inf and p.breakpoints[-1] == np.inf
    assert np.isnan(p.logits[0]).all() and np.isnan(p.logits[-1]).all()
    assert np.isfinite(p.logits[1:-1]).all()
    q = rr.linear_pieces(params, x, d, 0.0, 1.0)
    assert q.breakpoints[0] == 0.0 and q.breakpoints[-1] == 1.0 and np.all(np.diff(q.breakpoints) > 0)


def test_x_on_a_boundary_splits_at_zero():
    params = [(np.array([[1.0, -1.0]]), np.array([0.0, 0.0])), (np.array([[1.0], [2.0]]), np.array([0.0]))]
    p = rr.linear_pieces(params, [0.0], [1.0], -1.0, 1.0)
    np.testing.assert_array_equal(p.breakpoints, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(p.slopes[:, 0], [-2.0, 1.0])


def test_compensated_tier_spares_exact_arithmetic(monkeypatch):
    """A segment of a 784-128-128-128-10 net whose breakpoint windows plain float64 cannot narrow to the
    contract's 1e-9 (errors grown through the layers): the compensated first layer certifies it, equal to
    the exact partition, and exact arithmetic is not used."""
    import jax
    import jax.numpy as jnp
    from relu_regions import _pieces
    from relu_regions._network import cast_params

    rng = np.random.default_rng(1)
    params = random_net(rng, [784, 128, 128, 128, 10])
    x, y = rng.random(784), rng.random(784)
    with jax.enable_x64(True):
        plain = jax.device_get(_pieces._two_sided(cast_params(params, jnp.float64), x, y - x, 0.0, 1.0, 4096))
    assert plain.complete.all() and not plain.cert.all()  # the case this test is about
    ref = _pieces.exact_pieces(params, x, y - x, 0.0, 1.0, 4096)

    def no_exact(*a, **k):
        raise AssertionError("exact arithmetic was used")

    monkeypatch.setattr(_pieces, "exact_pieces", no_exact)
    p = rr.linear_pieces(params, x, y - x, 0.0, 1.0)
    assert p.n_pieces == ref.n_pieces > 10
    np.testing.assert_allclose(p.breakpoints, ref.breakpoints, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(p.patterns, ref.patterns)
    np.testing.assert_allclose(p.logits, ref.logits, rtol=1e-9, atol=1e-12)


def _cancelling_net(seed: int, n_in: int, hidden: int, cancel: float):
    """A net whose first-layer pre-activations along ``x + t d`` are ``cancel`` times smaller than the
    products that make them: plain float64's rounding bounds (``n_in`` roundings of those products) then
    leave breakpoint windows wider than the contract's tolerance, while the compensated first layer
    (about one rounding) narrows them."""
    rng = np.random.default_rng(seed)
    x, d = rng.normal(size=n_in) * cancel, rng.normal(size=n_in)
    params = random_net(rng, [n_in, hidden, hidden, 3])
    W1, _ = params[0]
    params[0] = (W1, -(x @ W1) + rng.normal(size=hidden))  # a1 = x W1 + b1 is O(1), its terms O(cancel)
    return params, x, d


def _pieces_equal(p, ref, logit_atol=1e-9):
    assert p.n_pieces == ref.n_pieces
    np.testing.assert_allclose(p.breakpoints, ref.breakpoints, rtol=1e-9, atol=0)
    np.testing.assert_array_equal(p.patterns, ref.patterns)
    np.testing.assert_allclose(p.logits, ref.logits, rtol=1e-9, atol=logit_atol)


def test_cancelling_first_layer_reaches_the_compensated_tier():
    # The family below is aimed at the compensated tier: plain float64 fails on it, the compensated walk
    # certifies it (a precondition of the property test, checked on one member).
    import jax
    import jax.numpy as jnp
    from relu_regions import _pieces
    from relu_regions._network import cast_params

    params, x, d = _cancelling_net(0, 48, 8, 1e7)
    with jax.enable_x64(True):
        p64 = cast_params(params, jnp.float64)
        plain = jax.device_get(_pieces._two_sided(p64, x, d, -2.0, 2.0, 4096))
        comp = jax.device_get(_pieces._two_sided(p64, x, d, -2.0, 2.0, 4096, accurate=True))
    assert plain.complete.all() and not plain.cert.all() and comp.cert.all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([8, 48]), st.sampled_from([1e3, 1e6, 1e7, 1e9, 1e12]),
       st.sampled_from([(-2.0, 2.0), (-np.inf, np.inf), (0.0, 1.0)]))
def test_pieces_of_cancelling_nets_match_exact_arithmetic(seed, n_in, cancel, t_range):
    # Whichever tier answers (plain, compensated or exact), the partition (breakpoints, patterns) is the
    # exact one. Logits are float64 values of the network, rounded like a float64 forward pass: their error
    # scales with the cancelled products (|x| |W1| ~ cancel), up to n_in roundings of them.
    from relu_regions import _pieces

    params, x, d = _cancelling_net(seed, n_in, 8, cancel)
    ref = _pieces.exact_pieces(params, x, d, *t_range, 4096)
    _pieces_equal(rr.linear_pieces(params, x, d, *t_range), ref, logit_atol=1e-9 + 1e-13 * n_in * cancel)
