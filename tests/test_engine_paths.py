"""The engine's paths: the certified fast path (``count_regions=False``) against the plain region walk
and the independent reference, the soundness of the float32 certificates, and the lane queue."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import relu_regions as rr
from conftest import random_net
from reference import reference_interval
from relu_regions._certify import certified_fraction, certified_ray, margin_bounds, prepare
from relu_regions._network import cast_params
from relu_regions._walk import Ray, first_layer
# THIN: class 1 wins only on (0.5 + 5e-11, 0.5 + 1e-10), a sliver no bound may certify across.
from test_hand_cases import (AT_BOUNDARY, EYE2, ON_BOUNDARY, ON_DECISION, THIN, THREE_TURNS, TOUCH, net,
                             residual_gain)


FEW_LANES = rr.EngineConfig(lanes=6, walk_lanes=2, small=0)
"""Few lanes, so that lanes are refilled from the queue, walking lanes are gathered into a smaller
sub-batch, and unfinished lanes are handed over between chunks."""


def both_paths(params, xs, ds, t_min, t_max, **kw):
    full = rr.exact_intervals(params, xs, ds, t_min, t_max, count_regions=True, **kw)
    fast = rr.exact_intervals(params, xs, ds, t_min, t_max, **kw)
    assert np.all(fast.n_regions == -1)
    np.testing.assert_array_equal(fast.label, full.label)
    np.testing.assert_array_equal(fast.exact, full.exact)
    np.testing.assert_array_equal(fast.lo_class, full.lo_class)
    np.testing.assert_array_equal(fast.hi_class, full.hi_class)
    np.testing.assert_allclose(fast.lo, full.lo, rtol=1e-9, atol=0)
    np.testing.assert_allclose(fast.hi, full.hi, rtol=1e-9, atol=0)
    return full, fast


def no_change_inside(params, x, d, lo, hi, label, n=2001):
    ts = np.linspace(lo, hi, n)
    h = x[None, :] + ts[:, None] * d[None, :]
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0)
    f = h @ params[-1][0] + params[-1][1]
    gap = f.max(axis=1) - f[:, label]
    return np.all(gap <= 1e-9 * (1 + np.abs(f).max()))


@pytest.mark.parametrize("depth", [0, 2])
def test_fast_path_finds_the_thin_sliver(depth):
    params = [THIN[0]] + [EYE2] * depth + [THIN[1]]
    # From far away, so that the sliver sits deep inside a long stretch.
    xs = np.array([[-5.0], [0.0], [1.0], [5.0]])
    ds = np.array([[1.0], [1.0], [-1.0], [-1.0]])
    full, fast = both_paths(params, xs, ds, -10.0, 10.0)
    assert fast.hi[1] == pytest.approx(0.5 + 5e-11, abs=1e-15) and fast.hi_class[1] == 1
    assert fast.hi[0] == pytest.approx(5.5 + 5e-11, abs=1e-14)
    for i in range(len(xs)):
        lo, hi, label = reference_interval(params, xs[i], ds[i], -10.0, 10.0, exact=True)
        assert abs(fast.lo[i] - float(lo)) <= 1e-9 and abs(fast.hi[i] - float(hi)) <= 1e-9


@pytest.mark.parametrize("params", [AT_BOUNDARY, TOUCH, THREE_TURNS, ON_BOUNDARY, ON_DECISION],
                         ids=["at_boundary", "touch", "three_turns", "on_boundary", "on_decision"])
def test_fast_path_on_hand_built_ties(params):
    xs = np.array([[0.0], [0.0], [1.0], [0.5]])
    ds = np.array([[1.0], [-1.0], [-1.0], [1.0]])
    full, fast = both_paths(params, xs, ds, -1.0, 2.0)
    for i in range(len(xs)):
        lo, hi, label = reference_interval(params, xs[i], ds[i], -1.0, 2.0, exact=True)
        assert fast.label[i] == label
        assert fast.lo[i] == pytest.approx(float(lo), rel=1e-9) and fast.hi[i] == pytest.approx(float(hi), rel=1e-9)


def test_certificate_stops_before_the_sliver():
    with jax.enable_x64(True):
        p = cast_params(THIN, jnp.float64)
        cp = prepare(p)
        ray = certified_ray(first_layer(p, jnp.zeros(1), jnp.ones(1)))  # x = 0, d = 1
        label = jnp.int32(0)
        for a, b in [(0.0, 1.0), (0.4, 0.6), (0.5, 0.5 + 1e-10), (0.0, 10.0)]:
            s = float(certified_fraction(margin_bounds(cp, ray, jnp.float64(a), jnp.float64(b), label).low))
            assert a + s * (b - a) <= 0.5 + 5e-11
        # Away from the sliver a long stretch is certified at once.
        s = float(certified_fraction(margin_bounds(cp, ray, jnp.float64(-3.0), jnp.float64(0.4), label).low))
        assert s == 1.0


def _bounds_hold(params, xs, ds, a, b, label_at, tail: bool) -> int:
    """Check the float32 lower bounds of ``margin_bounds`` on the stretches ``[a_i, b_i]`` against the true
    margins at 257 points of each: in ``t``, or with ``tail`` in ``u = 1 / t``, where the truth is the
    margins divided by ``t`` (the network with its later biases scaled by ``u`` at ``s1 + u a1``; ``u = 0``
    their limit). Labels are the argmax at ``label_at``. Returns how many stretches were certified."""
    a1 = xs @ params[0][0] + params[0][1]
    s1 = ds @ params[0][0]

    def along(i, s):  # logits (t) or logits / t (tail) at the stretch variable's values s (k,)
        base, slope = (s1[i], a1[i]) if tail else (a1[i], s1[i])
        h = base[None, :] + s[:, None] * slope[None, :]
        for W, bias in params[1:]:
            h = np.maximum(h, 0) @ W + (s[:, None] if tail else 1.0) * bias
        return h

    labels = np.array([np.argmax(along(i, label_at[i:i + 1])[0]) for i in range(len(xs))], np.int32)
    with jax.enable_x64(True):
        p = cast_params(params, jnp.float64)
        bound = jax.jit(jax.vmap(lambda c, r, lo, hi, l: margin_bounds(c, r, lo, hi, l, tail=tail),
                                 in_axes=(None, 0, 0, 0, 0)))
        rays = jax.vmap(certified_ray)(jax.vmap(first_layer, in_axes=(None, 0, 0))(p, xs, ds))
        low = np.asarray(bound(prepare(p), rays, a, b, labels).low, dtype=np.float64)
    u = np.linspace(0, 1, 257)
    n_pass = 0
    for i in range(len(xs)):
        h = along(i, a[i] + u * (b[i] - a[i]))
        margin = h[:, labels[i], None] - h
        others = np.arange(h.shape[1]) != labels[i]
        lower = (1 - u[:, None]) * low[i, 0][None, others] + u[:, None] * low[i, 1][None, others]
        assert np.all(lower <= margin[:, others] + 1e-9 * (1 + np.abs(h).max())), i
        n_pass += np.all(lower > 0)
    return n_pass


def test_certified_ray_encloses_the_float64_ray(rng):
    """The float32 copy certification reads: each value's error bound covers its rounding and the float64
    bound, exactly (rational arithmetic), at magnitudes from float32's subnormals to beyond its range
    (where the copy is infinite and never certifies)."""
    from fractions import Fraction

    n = 400
    mags = 10.0 ** rng.uniform(-48, 40, (4, n))
    a, s, ea, es = rng.choice([-1.0, 1.0], (4, n)) * mags
    a[:5], s[5:10] = 0.0, 0.0
    ea, es = np.abs(ea) * 1e-10, np.abs(es) * 1e-10
    with jax.enable_x64(True):
        r = certified_ray(Ray(*(jnp.asarray(v) for v in (a, s, ea, es))))
    a32, s32, ea32, es32 = (np.asarray(v, np.float64) for v in r)
    for v, e, v32, e32 in ((a, ea, a32, ea32), (s, es, s32, es32)):
        big = np.abs(v) > 3.4e38
        assert np.all(np.isinf(v32[big]) | np.isinf(e32[big]))
        for i in np.nonzero(~big)[0]:
            assert Fraction(e32[i]) >= abs(Fraction(v[i]) - Fraction(v32[i])) + Fraction(e[i]), i
    assert np.all(a32[:5] == 0) and np.all(s32[5:10] == 0)


@pytest.fixture(params=["all labels", "own label"])
def radius_path(request, monkeypatch):
    """Both ways of forming the margins and their radii (:data:`relu_regions._walk.ALL_LABELS_MAX`), in the
    certifier and in the walk: one product for every label (few classes), or each lane its own label's
    difference matrix (many classes)."""
    from relu_regions import _certify, _walk

    if request.param == "own label":
        monkeypatch.setattr(_certify, "ALL_LABELS_MAX", 0)
        monkeypatch.setattr(_walk, "ALL_LABELS_MAX", 0)
    jax.clear_caches()  # the constant is read when tracing: kernels traced with the other value must go
    yield request.param
    jax.clear_caches()


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_margin_bounds_are_sound(rng, scale, radius_path):
    """The float32 lower bounds never exceed the true (float64) margins anywhere on the stretch."""
    params = random_net(rng, [6, 16, 16, 16, 5])
    params = [(W * scale ** (1 / 4), b * scale) for W, b in params]
    xs, ds = rng.normal(size=(300, 6)), rng.normal(size=(300, 6))
    a = rng.uniform(-2, 1, 300)
    b = a + 10.0 ** rng.uniform(-4, 0.5, 300)
    assert _bounds_hold(params, xs, ds, a, b, a, tail=False) > 30, "the test should include certified stretches"


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_tail_bounds_are_sound(rng, scale, radius_path):
    """In ``u = 1 / t`` the float32 lower bounds never exceed the true margins divided by ``t``
    (``u = 0``: their limit, the network without biases at the direction)."""
    params = random_net(rng, [5, 16, 16, 4])
    params = [(W, b * scale) for W, b in params]
    xs, ds = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    a = np.where(rng.random(300) < 0.3, 0.0, 10.0 ** rng.uniform(-4, 0, 300))
    b = a + 10.0 ** rng.uniform(-4, 0.5, 300)
    assert _bounds_hold(params, xs, ds, a, b, b, tail=True) > 30, "the test should include certified stretches"


def test_fast_path_on_random_nets_matches_reference(rng, radius_path):
    for sizes, scale, n in (([3, 5, 5, 3], 1.0, 60), ([10, 32, 32, 32, 6], None, 30)):
        params = random_net(rng, sizes, scale)
        xs, ds = rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[0]))
        full, fast = both_paths(params, xs, ds, -3.0, 3.0, config=FEW_LANES)
        for i in range(len(xs)):
            lo, hi, label = reference_interval(params, xs[i], ds[i], -3.0, 3.0)
            assert fast.label[i] == label
            assert abs(fast.lo[i] - lo) <= 1e-9 and abs(fast.hi[i] - hi) <= 1e-9
            assert no_change_inside(params, xs[i], ds[i], fast.lo[i], fast.hi[i], label)


def test_fast_path_on_degenerate_integer_nets(rng):
    """Integer weights: coincident roots, units at z == 0, equal logits (ties never certify)."""
    sizes = [2, 4, 4, 3]
    for _ in range(6):
        params = [(rng.integers(-2, 3, (a, b)).astype(float), rng.integers(-2, 3, b).astype(float))
                  for a, b in zip(sizes[:-1], sizes[1:])]
        xs = rng.integers(-2, 3, (20, 2)) / 2.0
        ds = rng.integers(-2, 3, (20, 2)).astype(float)
        full, fast = both_paths(params, xs, ds, -3.0, 3.0, config=FEW_LANES)
        for i in range(len(xs)):
            lo, hi, label = reference_interval(params, xs[i], ds[i], -3.0, 3.0, exact=True)
            assert fast.label[i] == label
            assert abs(fast.lo[i] - float(lo)) <= 1e-9 and abs(fast.hi[i] - float(hi)) <= 1e-9


def test_tied_logits_everywhere():
    # Logits 0 and 1 are equal for every input: never a change, never certifiable (margin 0).
    W1, b1 = np.array([[1.0, -1.0, 0.5]]), np.array([0.1, 0.2, -0.3])
    W2 = np.array([[1.0, 1.0, -2.0], [0.5, 0.5, 1.0], [-1.0, -1.0, 0.0]])
    params = net((W1, b1), (W2, np.array([0.0, 0.0, -5.0])))
    full, fast = both_paths(params, np.array([[0.3]]), np.array([[1.0]]), -4.0, 4.0)
    assert (fast.lo[0], fast.hi[0], fast.label[0]) == (-4.0, 4.0, 0)


def test_infinite_ranges_and_zero_direction(rng):
    params = random_net(rng, [4, 32, 32, 3])
    xs, ds = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    ds[3] = 0.0
    for config in (None, FEW_LANES):  # the plain walk of small batches, and the lanes with tail certificates
        both_paths(params, xs, ds, -np.inf, np.inf, config=config)
        lo_lim, hi_lim = -rng.random(20) * 3, np.where(rng.random(20) < 0.5, np.inf, 2.0)
        both_paths(params, xs, ds, lo_lim, hi_lim, config=config)


def test_far_change_on_an_infinite_range():
    """A class change far out (t near 1e5), made by second-layer units only, lies inside the stretch the
    tail certificate (``u = 1 / t`` in ``[0, 1]``) first tries; the GI must still end there."""
    a = 1e5
    W1, b1 = np.array([[1.0]]), np.array([0.0])
    W2, b2 = np.ones((1, 4)), np.array([0.0, -a, -a - 1, -a - 2])
    W3 = np.array([[1e-3, 0.0], [0.0, 1e3], [0.0, -2e3], [0.0, 1e3]])
    params = net((W1, b1), (W2, b2), (W3, np.array([0.5, 0.0])))
    xs, ds = np.array([[0.25], [0.5]]), np.array([[1.0], [-1.0]])
    full, fast = both_paths(params, xs, ds, -np.inf, np.inf, config=FEW_LANES)
    h = (0.5 + 1e3 * a) / (1e3 - 1e-3)  # the first hidden unit's value where class 1 overtakes
    assert fast.hi[0] == pytest.approx(h - 0.25, rel=1e-12) and fast.hi_class[0] == 1
    assert fast.lo[1] == pytest.approx(0.5 - h, rel=1e-12) and fast.lo_class[1] == 1
    assert fast.lo[0] == -np.inf and fast.hi[1] == np.inf


def test_without_hidden_layers():
    params = net(([[1.0, -1.0, 0.5]], [0.0, 0.5, 0.2]))
    full, fast = both_paths(params, np.array([[0.0]]), np.array([[1.0]]), -1.0, 2.0)
    assert full.hi[0] == pytest.approx(0.2) and full.hi_class[0] == 2 and full.n_regions[0] == 1


def test_queue_results_do_not_depend_on_chunking(rng):
    params = random_net(rng, [6, 24, 24, 4])
    xs, ds = rng.normal(size=(37, 6)), rng.normal(size=(37, 6)) * 3
    ref = rr.exact_intervals(params, xs, ds, count_regions=True)  # one lane per side, no queue
    for count in (True, False):
        # Chunks of 4 rays (8 sides) on 5 lanes: refills, and unfinished lanes handed over between chunks.
        r = rr.exact_intervals(params, xs, ds, batch_size=4, count_regions=count,
                               config=rr.EngineConfig(lanes=5, walk_lanes=2, small=0))
        np.testing.assert_array_equal(r.n_regions, ref.n_regions if count else -1)
        np.testing.assert_array_equal(r.hi_class, ref.hi_class)
        np.testing.assert_array_equal(r.lo_class, ref.lo_class)
        np.testing.assert_allclose(r.lo, ref.lo, rtol=1e-9, atol=0)
        np.testing.assert_allclose(r.hi, ref.hi, rtol=1e-9, atol=0)


def test_lane_counts_keep_the_split_on_small_chunks():
    from relu_regions._stream import lane_counts

    config = rr.EngineConfig(lanes=192, walk_lanes=24)
    assert lane_counts(4096, True, config, "cpu") == (192, 24)
    assert lane_counts(13, True, config, "cpu") == (26, 3)  # not 24 walking lanes and 2 certifying
    assert lane_counts(1, True, config, "cpu") == (2, 1)
    assert lane_counts(13, False, config, "cpu") == (26, 26)


def test_default_cpu_lanes_widen_for_large_chunks():
    from relu_regions._config import CPU_WIDE_RAYS
    from relu_regions._stream import lane_counts

    config = rr.EngineConfig()
    assert lane_counts(CPU_WIDE_RAYS - 1, True, config, "cpu") == (192, 24)
    assert lane_counts(CPU_WIDE_RAYS, True, config, "cpu") == (384, 48)
    assert lane_counts(CPU_WIDE_RAYS, False, config, "cpu") == (384, 384)
    assert lane_counts(CPU_WIDE_RAYS, True, rr.EngineConfig(lanes=100, walk_lanes=10), "cpu") == (100, 10)
    assert lane_counts(CPU_WIDE_RAYS, True, config, "gpu") == (2000, 250)  # 2 chunk sides; not widened


def test_stream_count():
    from relu_regions._config import STREAM_MIN_RAYS

    config = rr.EngineConfig()
    assert config.stream_count("gpu", 10**6) == 1
    assert config.stream_count("cpu", 2 * STREAM_MIN_RAYS - 1) == 1  # every stream keeps its share of rays
    assert 1 <= config.stream_count("cpu", 10**6) <= (os.cpu_count() or 1)
    assert rr.EngineConfig(streams=3).stream_count("gpu", 100) == 3  # as configured, at most one per ray
    assert rr.EngineConfig(streams=3).stream_count("cpu", 2) == 2
    with pytest.raises(ValueError, match="EngineConfig.streams: expected a positive integer"):
        rr.EngineConfig(streams=0)


@pytest.mark.parametrize("t_range", [(-3.0, 3.0), (-np.inf, np.inf)])
def test_streams_give_the_same_answers(rng, t_range):
    """Rays split over concurrent streams (threads, each with its own lanes, chunks handed over within a
    stream): every answer as on one stream, on both paths and through the second tier."""
    params = random_net(rng, [6, 24, 24, 4])
    xs, ds = rng.normal(size=(41, 6)), rng.normal(size=(41, 6)) * 3
    for count in (False, True):
        one, three = (rr.exact_intervals(params, xs, ds, *t_range, batch_size=5, count_regions=count,
                                         config=rr.EngineConfig(lanes=6, walk_lanes=2, small=0, streams=k))
                      for k in (1, 3))
        for field in ("label", "lo_class", "hi_class", "n_regions", "exact", "fallback"):
            np.testing.assert_array_equal(getattr(one, field), getattr(three, field), err_msg=field)
        for field in ("lo", "hi"):  # (certified ends: the walk's last bits may follow the lanes' products)
            np.testing.assert_allclose(getattr(one, field), getattr(three, field), rtol=1e-9, atol=0, err_msg=field)
    # Rays only the second tier and exact arithmetic decide (residual_gain), on 3 streams.
    R = rr.exact_intervals(residual_gain(1.0, 1e20), np.zeros((12, 1)), np.ones((12, 1)), -1.0, 2.0,
                           config=rr.EngineConfig(lanes=6, walk_lanes=2, small=0, streams=3))
    assert R.fallback.all() and R.exact.all() and np.all(R.lo == -1.0) and np.all(R.hi == 2.0)


def test_a_failing_stream_stops_the_others(rng, monkeypatch):
    """An error in one stream (here the second's first chunk) is the call's error, and the other streams stop
    after their current chunk instead of finishing their share."""
    import threading

    import relu_regions._stream as stream

    params = random_net(rng, [4, 8, 3])
    xs, ds = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    chunks = {}
    problems = stream._problems

    def failing(*args, **kwargs):
        name = threading.current_thread().name
        chunks[name] = chunks.get(name, 0) + 1
        if name.endswith("_1"):
            raise MemoryError("injected")
        return problems(*args, **kwargs)

    monkeypatch.setattr(stream, "_problems", failing)
    with pytest.raises(MemoryError, match="injected"):
        rr.exact_intervals(params, xs, ds, batch_size=2, config=rr.EngineConfig(lanes=4, walk_lanes=2, small=0,
                                                                                streams=2))
    first = [v for k, v in chunks.items() if k.endswith("_0")]
    assert first and first[0] < 10, chunks  # of its 10 chunks of 2 rays


def test_steps_change_only_the_moving_lane_fields(rng):
    """The fast path gathers lanes for each kind of step and writes back only ``_engine._MOVING`` (every
    field but the problem's, ``_FIXED``): no step may change a fixed field, and the bout limit, set only
    when a lane starts walking, must be among those written back."""
    from relu_regions import _engine
    from relu_regions._stream import side_problems

    params = random_net(rng, [5, 12, 12, 3])
    xs, ds = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    with jax.enable_x64(True):
        p64 = cast_params(params, jnp.float64)
        cp = prepare(p64)
        _, problems = side_problems(p64, jnp.asarray(xs), jnp.asarray(ds), jnp.full(6, -1.0), jnp.full(6, 2.0))
        lane = _engine._init(p64, _engine.with_caps(cp, problems), jnp.arange(12), True)
        lane = lane._replace(h=lane.h / 2, h_min=lane.h)  # every unfinished attempt now starts a walk bout
        certified, _ = _engine._certify(p64, cp, lane)
        walked, _ = _engine._walk(p64, lane)
    leaves = lambda lane, f: [np.asarray(v) for v in jax.tree.leaves(getattr(lane, f))]
    for new in (certified, walked):
        for field in _engine._FIXED:
            for a, b in zip(leaves(lane, field), leaves(new, field)):
                np.testing.assert_array_equal(a, b, err_msg=field)
    assert np.any(np.asarray(certified.walking)) and np.any(leaves(certified, "limit")[0] != leaves(lane, "limit")[0])


def test_aligned_rows_copy_only_when_needed():
    from relu_regions._stream import ALIGN, _aligned

    buf = np.zeros(10 * 8 + ALIGN, np.uint8)
    off = -buf.ctypes.data % ALIGN
    a = buf[off:off + 80].view(np.float64).reshape(10, 1)
    a[:, 0] = np.arange(10.0)
    assert _aligned(a, 10) is a  # aligned and whole: used in place
    misaligned = buf[off + 8:off + 80].view(np.float64).reshape(9, 1)
    cases = [(misaligned, 9), (np.asfortranarray(np.arange(12.0).reshape(4, 3)), 4), (a[:7], 10)]
    for v, rows in cases:
        out = _aligned(v, rows)
        assert out is not v and out.ctypes.data % ALIGN == 0 and out.flags.c_contiguous and out.shape[0] == rows
        np.testing.assert_array_equal(out[: len(v)], v)
        assert not np.any(out[len(v):])


def test_fast_path_flags_unfinished_rays(rng):
    params = random_net(rng, [4, 32, 32, 3])
    x, d = rng.normal(size=4), rng.normal(size=4) * 50
    with pytest.warns(RuntimeWarning, match="max_steps"):
        R = rr.exact_intervals(params, x[None], d[None], -np.inf, np.inf, max_steps=2,
                               config=rr.EngineConfig(small=0))
    assert not R.exact[0] and np.isnan(R.hi[0])


def test_real_mnist_rays_fast_path(mnist_rays, rng):
    xs, ds = mnist_rays
    pick = rng.choice(len(xs), size=200, replace=False)
    params = random_net(rng, [784, 128, 128, 128, 10])
    full, fast = both_paths(params, xs[pick], ds[pick], -1.0, 2.0)
    assert fast.exact.all()


def test_second_tier_uses_fewer_lanes_never_more_than_asked():
    assert rr.EngineConfig().second_tier("cpu").resolved("cpu") == (48, 12)
    assert rr.EngineConfig().second_tier("gpu").resolved("gpu") == (512, 128)
    assert rr.EngineConfig(lanes=6, walk_lanes=2, small=0).second_tier("cpu") == rr.EngineConfig(6, 2, 0, 1)
    assert rr.EngineConfig(lanes=64, walk_lanes=16, small=5, streams=3).second_tier("cpu") == rr.EngineConfig(16, 8, 5, 1)


def test_second_tier_reuses_the_first_tiers_kernel_when_chunks_match():
    """Rays that need the second tier (and exact arithmetic after it): :func:`residual_gain`."""
    import relu_regions._stream as stream

    params = residual_gain(1.0, 1e20)
    xs, ds = np.zeros((100, 1)), np.ones((100, 1))
    jax.clear_caches()  # counts from scratch, whatever ran before
    compiles = []
    for batch in (64, 65):  # 64: the second tier's chunk size (EngineConfig().small)
        before = stream._advance._cache_size()
        R = rr.exact_intervals(params, xs, ds, -1.0, 2.0, batch_size=batch)
        compiles.append(stream._advance._cache_size() - before)
        assert R.fallback.all() and R.exact.all() and np.all(R.lo == -1.0) and np.all(R.hi == 2.0)
    assert 0 < compiles[0] < compiles[1]
