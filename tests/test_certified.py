"""Certified exactness: the failure classes of the certified-exactness issue, each against exact rational
arithmetic (the independent refinement in ``reference.py`` and the exact walker), on both paths."""

from __future__ import annotations

import subprocess
import sys
import warnings
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relu_regions as rr
from both_paths import exact_interval, exact_intervals
from reference import reference_interval
from test_hand_cases import residual_gain
from relu_regions._exact import ExactNet, dyadic, exact_ray, ray_regions, to_float
from relu_regions._walk import _dot2, _pow2, error_bounds, first_layer, margins, no_pins, region_ahead

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SIZES = [3, 4, 4, 3]  # one architecture: one compilation for every generated case


def close(a, b):
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def assert_reference(params, x, d, r, t_min, t_max):
    lo, hi, label = reference_interval(params, x, d, t_min, t_max, exact=True)
    assert r.label == label
    assert close(r.lo, float(lo)) and close(r.hi, float(hi)), (r.lo, float(lo), r.hi, float(hi))


# ------------------------------------------------------------------ the hand cases

@pytest.mark.parametrize("slope", [0.0, -(2.0**50)])
@pytest.mark.parametrize("shift", [0.0, 1e13, 1e15])
def test_tie_tolerance_ignores_unrelated_and_shifted_logits(slope, shift):
    W = np.array([[0.0, 0.5, slope]])
    b = np.array([1.0, 0.5, -(2.0**50)]) + shift
    r = exact_interval([(W, b)], [0.0], [1.0], -1.0, 2.0)
    exact_hi = 1.0 if shift == 0 or (0.5 + shift) - (1.0 + shift) == -0.5 else None
    if exact_hi is not None:
        assert (r.hi, r.hi_class, r.lo, r.lo_class) == (1.0, 1, -1.0, -1)
    assert_reference([(W, b)], np.zeros(1), np.ones(1), r, -1.0, 2.0)


@pytest.mark.parametrize("m, K", [(1.0, 1e20), (1e-4, 1e13)])
def test_rounding_residual_times_huge_gain_is_no_change(m, K):
    r = exact_interval(residual_gain(m, K), [0.0], [1.0], -1.0, 2.0)
    assert (r.lo, r.hi, r.label, r.n_regions) == (-1.0, 2.0, 1, 2)


def test_exact_fallback_shows_progress(capsys):
    params = residual_gain(1.0, 1e20)
    R = rr.exact_intervals(params, np.zeros((3, 1)), np.ones((3, 1)), -1.0, 2.0, progress=True)
    assert R.fallback.all() and R.exact.all()
    assert "exact arithmetic" in capsys.readouterr().err
    rr.exact_intervals(params, np.zeros((3, 1)), np.ones((3, 1)), -1.0, 2.0)
    assert "exact arithmetic" not in capsys.readouterr().err


def test_scale_1e6_nets_batch_equals_single(rng):
    params = [(rng.normal(size=(p, q)) * 1e6, rng.normal(size=q) * 1e6) for p, q in zip([5, 4, 4, 4], [4, 4, 4, 2])]
    xs, ds = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    R = exact_intervals(params, xs, ds, -1.0, 2.0)
    for i in range(0, 40, 5):
        r = rr.exact_interval(params, xs[i], ds[i], -1.0, 2.0)
        assert close(r.lo, R.lo[i]) and close(r.hi, R.hi[i]) and r.hi_class == R.hi_class[i]
    for i in range(40):
        assert_reference(params, xs[i], ds[i], rr.Interval(*(np.asarray(v)[i] for v in R)), -1.0, 2.0)


def test_coincident_roots_and_tied_plateau():
    # Two units switch at exactly t = 1; logits 0 and 1 are tied on (1, 2) and never strictly crossed.
    W1, b1 = np.array([[1.0, 2.0]]), np.array([-1.0, -2.0])
    W2, b2 = np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([1.0, 0.0])
    params = [(W1, b1), (W2, b2)]
    r = exact_interval(params, [0.0], [1.0], 0.0, 3.0)
    assert (r.hi, r.label, r.hi_class) == (3.0, 0, -1)
    assert r.n_regions == 2


def test_touch_at_boundary_is_no_change_in_any_batch(rng):
    # f1 touches f0 at t = 1 (a kink) and stays below: no change, whatever the batch around it.
    params = [(np.array([[1.0, -1.0]]), np.array([-1.0, 1.0])),
              (np.array([[0.0, -1.0], [0.0, -1.0]]), np.array([0.0, 0.0]))]
    x, d = np.zeros(1), np.ones(1)  # f0 = 0, f1 = -|t - 1|: touches 0 at t = 1
    for B in (1, 2, 7, 80):
        xs = np.concatenate([x[None], rng.normal(size=(B - 1, 1))])
        ds = np.concatenate([d[None], rng.normal(size=(B - 1, 1))])
        R = exact_intervals(params, xs, ds, -1.0, 2.0)
        assert (R.lo[0], R.hi[0], R.label[0], R.hi_class[0]) == (-1.0, 2.0, 0, -1)


def test_x_on_a_boundary_counts_both_regions():
    params = [(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0, -1.0]]), np.array([0.0, -5.0]))]
    r = exact_interval(params, [0.0], [1.0], -1.0, 2.0)
    assert (r.lo, r.hi, r.n_regions) == (-1.0, 2.0, 2)
    r = exact_interval(params, [0.5], [1.0], -1.0, 2.0)
    assert r.n_regions == 2
    r = exact_interval(params, [2.0], [1.0], -1.0, 1.0)
    assert r.n_regions == 1


def test_change_at_range_end_reports_no_class():
    params = [(np.array([[0.0, 1.0]]), np.array([1.0, 0.0]))]  # f1 = t overtakes f0 = 1 at t = 1
    r = exact_interval(params, [0.0], [1.0], -1.0, 1.0)
    assert (r.hi, r.hi_class) == (1.0, -1)
    r = exact_interval(params, [0.0], [1.0], -1.0, 1.5)
    assert (r.hi, r.hi_class) == (1.0, 1)


def test_far_overflow_is_exact_or_flagged():
    # A unit reaches 1e309 near t = 1e299: float64 overflows, exact arithmetic does not.
    params = [(np.array([[1e10]]), np.array([0.0])), (np.array([[0.0, -1e-300]]), np.array([0.0, 1.0]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        R = rr.exact_intervals(params, np.zeros((1, 1)), np.ones((1, 1)), 0.0, 1e300)
    en = ExactNet.of(params)
    fwd, _, label = exact_ray(en, np.zeros(1), np.ones(1), 0.0, 1e300, max_regions=100)
    assert R.label[0] == label
    assert not R.exact[0] or (close(R.hi[0], to_float(fwd.end)) and R.hi_class[0] == fwd.who)


def test_gi_end_beyond_float64_range_is_flagged_not_raised():
    # f1 = 2^-1022 t overtakes f0 = 1e300 at t = 1e300 2^1022 > the largest float64: no float64 answer exists,
    # so the ray is flagged (exact False, NaN ends, a warning that says why), never an OverflowError.
    params = [(np.array([[0.0, 2.0**-1022]]), np.array([1e300, 0.0]))]
    with pytest.warns(RuntimeWarning, match="overflows float64"):
        R = rr.exact_intervals(params, np.zeros((1, 1)), np.ones((1, 1)), 0.0, np.inf)
    assert not R.exact[0] and np.isnan(R.hi[0]) and R.label[0] == 0
    with pytest.raises(RuntimeError, match="overflows float64"):
        rr.exact_interval(params, [0.0], [1.0], 0.0, np.inf)
    assert to_float(Fraction(2) ** 1100) == np.inf and to_float(-Fraction(2) ** 1100) == -np.inf


def test_infinite_range_fast_path_has_no_livelock():
    # A toy integer net on (-inf, inf) through the queue: every lane advances or ends.
    params = [(np.array([[1.0, -1.0, 2.0]]), np.array([0.0, 1.0, -3.0])),
              (np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]), np.array([0.0, 0.5]))]
    xs = np.array([[0.0], [1.0], [2.0], [-3.0]])
    ds = np.array([[1.0], [-1.0], [1e-3], [7.0]])
    R = exact_intervals(params, xs, ds, -np.inf, np.inf, max_steps=200, config=rr.EngineConfig(small=0, lanes=3))
    assert R.exact.all()
    en = ExactNet.of(params)
    for i in range(len(xs)):
        fwd, bwd, label = exact_ray(en, xs[i], ds[i], -np.inf, np.inf, max_regions=1000)
        assert close(R.hi[i], to_float(fwd.end)) and close(R.lo[i], -to_float(bwd.end, 1))
        assert R.n_regions[i] == ray_regions(fwd, bwd)


def test_zero_direction_on_infinite_range():
    params = [(np.array([[1.0, -1.0]]), np.array([0.2, 0.1])), (np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2))]
    R = exact_intervals(params, np.array([[0.3]]), np.zeros((1, 1)), -np.inf, np.inf)
    assert (R.lo[0], R.hi[0], R.n_regions[0], R.fallback[0]) == (-np.inf, np.inf, 1, False)


# ------------------------------------------------------------------ property-based, against rationals

@st.composite
def cases(draw):
    """A 3-4-4-3 net and ray from one of the adversarial families of the issue."""
    kind = draw(st.sampled_from(["integer", "scale_small", "scale_large", "irrelevant", "shifted", "window"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shapes = list(zip(SIZES[:-1], SIZES[1:]))
    if kind == "integer":
        params = [(rng.integers(-2, 3, s).astype(float), rng.integers(-2, 3, s[1]).astype(float)) for s in shapes]
        x, d = rng.integers(-2, 3, 3) / 2.0, rng.integers(-2, 3, 3).astype(float)
    else:
        params = [(rng.normal(size=s), rng.normal(size=s[1]) * 0.5) for s in shapes]
        x, d = rng.normal(size=3), rng.normal(size=3)
        if kind == "scale_small":
            params = [(W * 1e-6, b * 1e-6) for W, b in params]
        elif kind == "scale_large":
            params = [(W * 1e6, b * 1e6) for W, b in params]
        elif kind == "irrelevant":
            W, b = params[-1]
            params[-1] = (W, b + np.array([0.0, 0.0, -(2.0**50)]))
        elif kind == "shifted":
            W, b = params[-1]
            params[-1] = (W, b + 1e13)
        elif kind == "window":
            # Class 2 wins only on a window of width w around t = 0.5: f2 - f0 = w/2 - |t - 0.5| (+ big offset).
            w = 10.0 ** -draw(st.integers(2, 13))
            off = draw(st.sampled_from([0.0, 1e3]))
            W1 = np.zeros((3, 4))
            W1[0, :2] = [1.0, -1.0]
            W3 = np.zeros((4, 3))
            W3[:2, 2] = -1.0
            params = [(W1, np.array([-0.5, 0.5, 0.0, 0.0])), (np.eye(4), np.zeros(4)),
                      (W3, np.array([off, off - 1.0, off + w / 2]))]
            x, d = np.zeros(3), np.array([1.0, 0.0, 0.0])
    return params, x, d


@settings(max_examples=40, **SETTINGS)
@given(cases(), st.sampled_from([(-1.0, 2.0), (-3.0, 3.0), (0.0, 1.0)]))
def test_adversarial_families_match_rational_reference(case, rng_range):
    params, x, d = case
    t_min, t_max = rng_range
    r = exact_interval(params, x, d, t_min, t_max)
    assert_reference(params, x, d, r, t_min, t_max)
    en = ExactNet.of(params)
    fwd, bwd, label = exact_ray(en, x, d, t_min, t_max, max_regions=10_000)
    assert (r.hi_class, r.lo_class) == (fwd.who, bwd.who)
    assert r.n_regions == ray_regions(fwd, bwd)


@settings(max_examples=15, **SETTINGS)
@given(st.lists(cases(), min_size=3, max_size=3), st.integers(0, 2))
def test_batch_composition_does_not_change_answers(batch, k):
    # Same net for all rays: take the first case's net, everyone's rays.
    params = batch[0][0]
    xs = np.stack([c[1] for c in batch])
    ds = np.stack([c[2] for c in batch])
    R = exact_intervals(params, xs, ds, -np.inf, 3.0)
    r = exact_interval(params, xs[k], ds[k], -np.inf, 3.0)
    assert close(r.lo, R.lo[k]) and close(r.hi, R.hi[k]) and (r.lo_class, r.hi_class) == (R.lo_class[k], R.hi_class[k])


def _first_tier(batch, t_range, skips=True):
    """The batch's rays (on the first case's net) through the first tier (certified skips unless ``skips``
    is False): ``(params, xs, ds, lo, hi, p64, cp, sides, labels)``."""
    from relu_regions._certify import prepare
    from relu_regions._config import EngineConfig
    from relu_regions._network import cast_params
    from relu_regions._stream import solve_rays

    params = batch[0][0]
    xs, ds = np.stack([c[1] for c in batch]), np.stack([c[2] for c in batch])
    lo, hi = np.full(len(xs), t_range[0]), np.full(len(xs), t_range[1])
    with jax.enable_x64(True):
        p64 = cast_params(params, jnp.float64)
        cp = prepare(p64) if skips else None
        sides, labels = solve_rays(p64, cp, [xs, ds, lo, hi], batch_size=4, max_steps=10_000, config=EngineConfig())
    return params, xs, ds, lo, hi, p64, cp, sides, labels


@settings(max_examples=20, **SETTINGS)
@given(st.lists(cases(), min_size=4, max_size=4), st.sampled_from([(-1.0, 2.0), (-np.inf, np.inf)]),
       st.booleans())
def test_certified_frontier_never_passes_the_exact_end(batch, t_range, skips):
    # An uncertified ray is resolved exactly from the frontier float64 certified free of change (`safe`);
    # that frontier must never lie beyond the exact end, on either path.
    params, xs, ds, _, _, _, _, sides, labels = _first_tier(batch, t_range, skips)
    en = ExactNet.of(params)
    for i in range(len(xs)):
        fwd, bwd, label = exact_ray(en, xs[i], ds[i], *t_range, max_regions=10_000)
        for k, side in enumerate((fwd, bwd)):
            if labels[i] == label and sides.safe[i, k] > 0:
                assert side.end is None or sides.safe[i, k] <= side.end


@settings(max_examples=20, **SETTINGS)
@given(st.lists(cases(), min_size=4, max_size=4),
       st.sampled_from([(-1.0, 2.0), (-np.inf, np.inf), (-np.inf, 3.0)]), st.integers(0, 255))
def test_second_tier_keeps_decided_sides_and_resumes_at_the_frontier(batch, t_range, forget):
    # Every ray sent to the second tier: a side the first tier decided keeps its answer, the others resume
    # at the first tier's frontier for its label (decisions of the first tier are dropped at random, their
    # frontiers kept, so that most sides resume past 0). Whatever comes out decided is the exact answer,
    # and a frontier handed on to exact arithmetic never passes the exact end.
    from relu_regions._config import EngineConfig
    from relu_regions._interval import _assemble, _second_tier

    params, xs, ds, lo, hi, p64, cp, sides, labels = _first_tier(batch, t_range)
    dropped = (forget >> np.arange(8)).reshape(4, 2) & 1 == 1
    sides = sides._replace(cert=sides.cert & ~dropped)
    with jax.enable_x64(True):
        cols, _ = _assemble(sides, labels, False)
        cols, rows, safe, decided = _second_tier(p64, cp, xs, ds, lo, hi, np.arange(4), sides, cols, False, 4,
                                                 10_000, EngineConfig(), None)
    en = ExactNet.of(params)
    for i in range(len(xs)):
        fwd, bwd, label = exact_ray(en, xs[i], ds[i], *t_range, max_regions=10_000)
        k = int(np.flatnonzero(rows == i)[0]) if i in rows else None
        if label != cols["label"][i]:
            assert k is not None and not decided[k].any()
            continue
        for s, side, end_col, who_col, sign in ((0, fwd, "hi", "hi_class", 1), (1, bwd, "lo", "lo_class", -1)):
            if k is None or decided[k, s]:
                assert close(cols[end_col][i], sign * to_float(side.end)) and cols[who_col][i] == side.who
            if k is not None:
                assert side.end is None or safe[k, s] <= side.end


def test_exact_resolution_from_a_frontier_matches_a_walk_from_zero(rng):
    # A side walked exactly from a frontier the ray is free of change up to (here: 3/4 of its exact end)
    # gives the answer of a walk from 0; a decided side is kept as it is.
    from relu_regions._interval import _resolve_exactly

    params = [(rng.integers(-2, 3, s).astype(float), rng.integers(-2, 3, s[1]).astype(float))
              for s in zip(SIZES[:-1], SIZES[1:])]
    xs, ds = rng.integers(-2, 3, (30, 3)) / 2.0, rng.integers(-2, 3, (30, 3)).astype(float)
    en = ExactNet.of(params)
    truth = [exact_ray(en, xs[i], ds[i], -3.0, 3.0, max_regions=1000) for i in range(len(xs))]
    safe = np.array([[0.75 * to_float(f.end), 0.75 * to_float(b.end)] for f, b, _ in truth])
    decided = np.zeros_like(safe, bool)
    decided[::3, 1] = True
    cols = dict(lo=np.full(30, 7.0), hi=np.full(30, 7.0), label=np.array([lab for *_, lab in truth]),
                lo_class=np.full(30, 9), hi_class=np.full(30, 9), n_regions=np.full(30, -1))
    exact, _ = _resolve_exactly(params, xs, ds, np.full(30, -3.0), np.full(30, 3.0), np.arange(30), cols, False,
                                1000, (safe, decided))
    assert exact.all()
    for i, (fwd, bwd, _) in enumerate(truth):
        assert (cols["hi"][i], cols["hi_class"][i]) == (to_float(fwd.end), fwd.who)
        expect = (7.0, 9) if decided[i, 1] else (-to_float(bwd.end), bwd.who)
        assert (cols["lo"][i], cols["lo_class"][i]) == expect


@pytest.mark.slow
@settings(max_examples=400, **SETTINGS)
@given(cases(), st.sampled_from([(-1.0, 2.0), (-3.0, 3.0)]))
def test_adversarial_families_many(case, rng_range):
    test_adversarial_families_match_rational_reference.hypothesis.inner_test(case, rng_range)


def test_dense_sampling_never_finds_a_missed_change(rng):
    params = [(rng.normal(size=(p, q)), rng.normal(size=q) * 0.5) for p, q in zip(SIZES[:-1], SIZES[1:])]
    xs, ds = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    R = exact_intervals(params, xs, ds, -3.0, 3.0)
    for i in range(30):
        ts = np.linspace(R.lo[i], R.hi[i], 20001)[1:-1]
        h = xs[i][None] + ts[:, None] * ds[i][None]
        for W, b in params[:-1]:
            h = np.maximum(h @ W + b, 0)
        f = h @ params[-1][0] + params[-1][1]
        assert np.all(f.max(axis=1) - f[:, R.label[i]] <= 1e-12 * (1 + np.abs(f).max()))


def test_linear_pieces_match_exact_partition():
    # Integer net: coincident roots force the exact partition; no 1-ulp sliver pieces.
    W1, b1 = np.array([[1.0, 2.0, -1.0]]), np.array([-1.0, -2.0, 0.0])
    W2, b2 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]]), np.array([0.0, 0.0])
    p = rr.linear_pieces([(W1, b1), (W2, b2)], [0.0], [1.0], -1.0, 3.0)
    np.testing.assert_array_equal(p.breakpoints, [-1.0, 0.0, 1.0, 3.0])
    assert p.n_pieces == 3 and len({tuple(r) for r in p.patterns}) == 3
    # The same net scaled by 2^-900 overall (exact powers of two): the exact partition scales exactly.
    tiny = rr.linear_pieces([(W1 * 2.0**-600, b1 * 2.0**-600), (W2 * 2.0**-300, b2)], [0.0], [1.0], -1.0, 3.0)
    np.testing.assert_array_equal(tiny.breakpoints, p.breakpoints)
    np.testing.assert_array_equal(tiny.slopes, p.slopes * 2.0**-900)
    np.testing.assert_array_equal(tiny.logits, p.logits * 2.0**-900)


def test_compensated_first_layer_bound_holds(rng):
    with jax.enable_x64(True):
        for k in range(22):
            n = int(rng.integers(1, 60)) if k < 20 else 1500  # 1500: the narrowest slices (beta = 20)
            x = rng.normal(size=n) * 10.0 ** rng.uniform(-6, 6)
            W = rng.normal(size=(n, 2)) * 10.0 ** rng.uniform(-4, 4, size=(n, 2))
            b = rng.normal(size=2)
            if k % 2:
                x[: n // 2] = -x[n // 2: 2 * (n // 2)]
            a, e = jax.jit(_dot2)(jnp.asarray(x), jnp.asarray(W), jnp.asarray(b))
            for j in range(2):
                exact = sum(Fraction(float(x[i])) * Fraction(float(W[i, j])) for i in range(n)) + Fraction(float(b[j]))
                assert abs(Fraction(float(a[j])) - exact) <= Fraction(float(e[j]))


def test_slice_units_are_exact_powers_of_two():
    # The compensated first layer's slices need units that are powers of two on every device: on an H200,
    # jnp.ldexp (through pow) was an ulp off for some exponents, and the bound above failed 9 of 72 times.
    with jax.enable_x64(True):
        k = np.arange(-1022, 1024)
        np.testing.assert_array_equal(np.asarray(jax.jit(_pow2)(jnp.asarray(k, jnp.int32))), np.ldexp(1.0, k))


@pytest.mark.parametrize("rng_range", [(-1.0, 2.0), (-np.inf, np.inf)])
def test_weights_below_float32_range_are_not_read_as_zero(rng_range):
    """A weight of 1e-40 is a float32 subnormal, which XLA's CPU reads as zero; times an activation of
    1e33 it moves the margin by 0.02 a unit of t: the certifier must not clear the change at t = 0.49."""
    params = [(np.array([[1e20]]), np.array([0.0])), (np.array([[1e-40]]), np.array([0.0])),
              (np.array([[-1e5, 1e5]]), np.array([0.5, -0.5]))]
    x, d = np.array([1e13]), np.array([1e15])
    with np.errstate(invalid="ignore"):  # (the reference's bisection meets inf * 0 on the infinite range)
        ref = reference_interval(params, x, d, *rng_range)
    R = exact_intervals(params, np.repeat(x[None], 70, 0), np.repeat(d[None], 70, 0), *rng_range)
    assert R.exact.all() and (R.label == ref[2]).all()
    np.testing.assert_allclose(R.hi, ref[1], rtol=1e-9)
    np.testing.assert_allclose(R.lo, ref[0], rtol=1e-9)


def test_first_layer_error_bounds_hold(rng):
    # The bound counts nonzero entries and bounds |x| @ |W1| by norms (the 2-norm scaled by the largest
    # entry): random rays, then sparse ones (most entries exactly 0, as in MNIST images) at scales whose
    # squares or products under- or overflow, with b = 0 so that nothing hides a bound that is too small.
    cases = [dict()] * 10 + [
        dict(xs=1e-170, ds=1.0),  # an unscaled 2-norm of x is 0
        dict(xs=1e170, ds=1e-160, b=1.0),  # squares overflow
        dict(xs=1.0, ds=0.0),  # a zero direction: exactly zero slopes and errors
        dict(xs=1e-300, ds=1e-300, Ws=1e10, n=784),  # gamma |d| alone underflows; times |W| it does not
        dict(xs=0.0, ds=1e-10, Ws=1e307, n=60),  # a zero x against infinite column 1-norms: no 0 * inf
        dict(xs=1e-10, ds=1.0, Ws=1e306, n=600),  # column 1-norms overflow, 2-norms do not
        dict(xs=1.0, ds=1.0, n=1),
        dict(xs=1.0, ds=1.0, zero_column=True),
    ]
    with jax.enable_x64(True):
        for case in cases:
            n = case.get("n", int(rng.integers(1, 800)))
            x, d = rng.random(n) * 10.0 ** rng.uniform(-5, 5), rng.normal(size=n) * 10.0 ** rng.uniform(-5, 5)
            W = rng.normal(size=(n, 3)) * 10.0 ** rng.uniform(-3, 3, size=(n, 3))
            b = rng.normal(size=3)
            if case:
                x, d = x / np.max(np.abs(x)) * case["xs"], d / np.max(np.abs(d)) * case["ds"]
                x[rng.random(n) < 0.8], d[rng.random(n) < 0.7] = 0.0, 0.0
                W = rng.normal(size=(n, 3)) * case.get("Ws", 1.0)
                b = b * case.get("b", 0.0)
                if case.get("zero_column"):
                    W[:, 1] = 0.0
            params = [(jnp.asarray(W), jnp.asarray(b)), (jnp.ones((3, 2)), jnp.zeros(2))]
            ray = jax.jit(first_layer)(params, jnp.asarray(x), jnp.asarray(d))
            for j in range(3):
                a = sum(Fraction(float(x[i])) * Fraction(float(W[i, j])) for i in range(n)) + Fraction(float(b[j]))
                s = sum(Fraction(float(d[i])) * Fraction(float(W[i, j])) for i in range(n))
                assert np.isfinite(ray.ea[j]) and np.isfinite(ray.es[j]), case
                assert abs(Fraction(float(ray.a[j])) - a) <= Fraction(float(ray.ea[j])), case
                assert abs(Fraction(float(ray.s[j])) - s) <= Fraction(float(ray.es[j])), case
            if not d.any():
                assert not np.asarray(ray.s).any() and not np.asarray(ray.es).any()


def test_units_certainly_off_pass_no_error_on():
    # Unit 1 of the first layer is certainly off on the stretch (z = -6 - t): its exact output is 0, as
    # computed, so the error bounds of later layers must not depend on its outgoing weights (1e8 here).
    # Before, every off unit passed its own error bound on, amplified by those weights.
    W1, b1 = np.array([[1.0, -1.0]]), np.array([0.0, -6.0])
    W3, b3 = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]]), np.zeros(3)
    bounds = []
    with jax.enable_x64(True):
        for big in (1e8, 0.0):
            params = [(W1, b1), (np.array([[1.0, 2.0], [big, -big]]), np.zeros(2)), (W3, b3)]
            params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
            ray = first_layer(params, jnp.array([1.0]), jnp.array([1.0]))
            t, tau = jnp.float64(0.0), jnp.float64(0.5)
            region = region_ahead(params, ray, t, no_pins(params))
            assert not bool(region.masks[0][1])
            mg = margins(params, region, jnp.int32(0))
            bounds.append(error_bounds(params, ray, t, region, mg, tau))
    np.testing.assert_array_equal(bounds[0].ez[1], bounds[1].ez[1])
    np.testing.assert_array_equal(bounds[0].Am, bounds[1].Am)
    np.testing.assert_array_equal(bounds[0].Bm, bounds[1].Bm)


def test_dyadic_conversion_is_exact(rng):
    a = rng.normal(size=20) * 10.0 ** rng.uniform(-300, 300, 20)
    D = dyadic(a)
    for v, i in zip(a, D.ints):
        assert Fraction(int(i)) * Fraction(2) ** D.exp == Fraction(float(v))


def test_matmuls_request_full_precision():
    from relu_regions._stream import _walk_small
    params = [(jnp.ones((3, 4)), jnp.zeros(4)), (jnp.ones((4, 2)), jnp.zeros(2))]
    with jax.enable_x64(True):
        args = (params, jnp.zeros((2, 3)), jnp.ones((2, 3)), -jnp.ones(2), jnp.ones(2))
        text = _walk_small.lower(*args, max_steps=10).as_text()
    dots = [line for line in text.splitlines() if "dot_general" in line]
    assert dots and all("HIGHEST" in line for line in dots)


def test_public_api_without_x64_flag(tmp_path):
    """In a fresh process without ``jax_enable_x64``: float64 answers, no dtype warnings."""
    code = (
        "import warnings, numpy as np, relu_regions as rr\n"
        "warnings.simplefilter('error')\n"
        "p = [(np.array([[1.0, -1.0]]), np.array([0.1, 0.2])), (np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2))]\n"
        "r = rr.exact_interval(p, [0.3], [1.0])\n"
        "assert isinstance(r.hi, float) and (r.lo, r.hi, r.lo_class) == (-0.25, 2.0, 1), r\n"
        "R = rr.exact_intervals(p, np.zeros((5, 1)), np.ones((5, 1)))\n"
        "assert R.lo.dtype == np.float64\n"
        # Rays that pass through the second tier (resuming at the frontier) into exact arithmetic.
        "g = [(np.array([[2.876159240814838]]), np.array([-0.5606394622302311])),"
        " (np.array([[0.0, 1e20]]), np.array([0.0, 1.0]))]\n"
        "R = rr.exact_intervals(g, np.zeros((3, 1)), np.ones((3, 1)))\n"
        "assert R.fallback.all() and R.exact.all() and (R.lo == -1.0).all() and (R.hi == 2.0).all(), R\n"
        # Streams: worker threads, where the x64 setting of the calling thread does not reach by itself.
        "rng = np.random.default_rng(0)\n"
        "q = [(rng.normal(size=(3, 16)), rng.normal(size=16)), (rng.normal(size=(16, 3)), rng.normal(size=3))]\n"
        "xs, ds = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))\n"
        "one, two = (rr.exact_intervals(q, xs, ds, config=rr.EngineConfig(small=0, streams=k)) for k in (1, 2))\n"
        "assert one.hi.dtype == two.hi.dtype == np.float64 and np.allclose(one.hi, two.hi, rtol=1e-9, atol=0)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def _scaled_program(params, s: float, c: float):
    """The net as a callable whose logits are ``f(x) * s + c``: its exact GI is the net's for ``s > 0``
    (argmax and ties unchanged in exact arithmetic), but no layer list reads it off exactly (``W * s``)."""
    def f(x):  # (numpy weights: jnp.asarray here, with x64 off, would make them float32)
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return (x @ W + b) * s + c
    return f


@settings(max_examples=30, **SETTINGS)
@given(cases(), st.sampled_from([0.1, 0.3, 1 / 3, 7.0, 1e-3, 2.0**-20, 1e10]), st.sampled_from([0.0, 1.0, -1e8]),
       st.sampled_from([(-1.0, 2.0), (-3.0, 3.0)]), st.booleans())
def test_scaled_programs_match_rational_reference(case, s, c, rng_range, count):
    """Traced models whose last block scales and shifts every logit (walked as programs, not read off as
    rounded weights): an answer flagged exact is the net's rational one, and so is a region count given
    (``count_regions``; the scale changes no pattern); float64 may leave a GI undecided or a count -1."""
    params, x, d = case
    t_min, t_max = rng_range
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (undecided ties: exact=False, NaN ends)
        r = rr.exact_intervals(_scaled_program(params, s, c), x[None], d[None], t_min, t_max, count_regions=count)
    if not r.exact[0]:
        assert np.isnan(r.lo[0]) and np.isnan(r.hi[0])
        return
    lo, hi, label = reference_interval(params, x, d, t_min, t_max, exact=True)
    fwd, bwd, _ = exact_ray(ExactNet.of(params), x, d, t_min, t_max, max_regions=10_000)
    assert r.label[0] == label and (r.hi_class[0], r.lo_class[0]) == (fwd.who, bwd.who)
    assert close(r.lo[0], float(lo)) and close(r.hi[0], float(hi)), (r.lo[0], float(lo), r.hi[0], float(hi))
    assert r.n_regions[0] in (-1, ray_regions(fwd, bwd)) if count else r.n_regions[0] == -1


@pytest.mark.slow
@settings(max_examples=300, **SETTINGS)
@given(cases(), st.sampled_from([0.1, 0.3, 1 / 3, 7.0, 1e-3, 2.0**-20, 1e10]), st.sampled_from([0.0, 1.0, -1e8]),
       st.sampled_from([(-1.0, 2.0), (-3.0, 3.0)]), st.booleans())
def test_scaled_programs_many(case, s, c, rng_range, count):
    test_scaled_programs_match_rational_reference.hypothesis.inner_test(case, s, c, rng_range, count)
