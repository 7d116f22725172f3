"""Networks built by hand whose GIs are known in closed form (1-D input, ray x = 0, d = 1 unless noted).

Each case is also checked against the rational-arithmetic reference, so the hand answer and an
independent exact computation must both agree with the walker.
"""

from __future__ import annotations

import numpy as np
import pytest

import relu_regions as rr
from both_paths import exact_interval, exact_intervals
from reference import reference_interval

EYE2 = (np.eye(2), np.zeros(2))


def net(*layers):
    return [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)) for W, b in layers]


def check(params, x, d, expect_lo, expect_hi, t_min=-1.0, t_max=2.0, tol=1e-15):
    r = exact_interval(params, np.atleast_1d(x), np.atleast_1d(d), t_min, t_max)
    assert r.lo == pytest.approx(expect_lo, abs=tol)
    assert r.hi == pytest.approx(expect_hi, abs=tol)
    lo, hi, label = reference_interval(params, np.atleast_1d(x), np.atleast_1d(d), t_min, t_max, exact=True)
    assert float(lo) == pytest.approx(r.lo, abs=tol) and float(hi) == pytest.approx(r.hi, abs=tol)
    assert label == r.label
    return r


def residual_gain(m: float, K: float):
    """The unit ``relu(s t + a)`` followed by logits ``f0 = 0``, ``f1 = m + K h``: a walk that stops on the
    unit's root leaves a rounding residual there, which the huge gain ``K`` would turn into a class change
    that does not exist (exact GI [-1, 2], label 1); float64 cannot certify it, so it needs exact arithmetic."""
    a, s = -0.5606394622302311, 2.876159240814838
    return net(([[s]], [a]), ([[0.0, K]], [0.0, m]))


# Thin region (0.5, 0.5 + 1e-10): unit 1 switches on at 0.5, unit 2 at 0.5 + 1e-10.
# Logit 1 = u1 - 1001 u2 - 5e-11 rises above logit 0 = 0 at 0.5 + 5e-11, inside the thin region, and
# falls back below just after it: sampling at any practical resolution never sees class 1.
THIN = net(([[1.0, 1.0]], [-0.5, -(0.5 + 1e-10)]), ([[0.0, 1.0], [0.0, -1001.0]], [0.0, -5e-11]))


def test_class_change_inside_thin_region():
    r = check(THIN, 0.0, 1.0, -1.0, 0.5 + 5e-11)
    assert r.label == 0 and r.hi_class == 1 and r.lo_class == -1
    s = rr.sampled_interval(THIN, [0.0], [1.0], n=100_000)
    assert s.hi > 0.5 + 1e-9, "sampling should miss this change; the case would not test anything"


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_thin_region_through_identity_layers(depth):
    # Identity layers after the first: their units sit at z == 0 exactly while the unit feeding them is off
    # and cross zero at the very same t as it does: coincident boundaries in every layer.
    layers = [THIN[0]] + [EYE2] * depth + [THIN[1]]
    check(layers, 0.0, 1.0, -1.0, 0.5 + 5e-11)


def test_thin_region_walked_backwards():
    # From x = 1 towards 0: logit 1 = -1000 (p - 0.5) + 1.0005e-7 after the thin region (p the position),
    # so class 1 takes over at p = 0.5 + 1.0005e-10, i.e. t = 0.5 - 1.0005e-10.
    r = check(THIN, 1.0, -1.0, -1.0, 0.5 - 1.0005e-10, tol=1e-14)
    assert r.hi_class == 1


# Logit 1 = 2 relu(t - 0.5) - relu(0.5 - t): below logit 0 = 0 before 0.5, above after; both units switch
# at 0.5, so the class change is exactly on a region boundary.
AT_BOUNDARY = net(([[1.0, -1.0]], [-0.5, 0.5]), ([[0.0, 2.0], [0.0, -1.0]], [0.0, 0.0]))
# Logit 1 = -relu(t - 0.5) - relu(0.5 - t) = -|t - 0.5| touches logit 0 = 0 at the boundary: a tie at one
# point, never strictly above, so no class change.
TOUCH = net(([[1.0, -1.0]], [-0.5, 0.5]), ([[0.0, -1.0], [0.0, -1.0]], [0.0, 0.0]))


def test_change_exactly_at_region_boundary():
    r = check(AT_BOUNDARY, 0.0, 1.0, -1.0, 0.5)
    assert r.hi_class == 1 and r.n_regions == 1


def test_touching_tie_at_boundary_is_not_a_change():
    r = check(TOUCH, 0.0, 1.0, -1.0, 2.0)
    assert r.hi_class == -1 and r.n_regions == 2


# One affine piece (the hidden unit relu(t + 10) is on for all t > -10): logits 0, t - 0.3, 2t - 1.
# Class 0 leads, then class 1 on (0.3, 0.7), then class 2: the first overtaker ends the GI, not the last.
THREE_TURNS = net(([[1.0]], [10.0]), ([[0.0, 1.0, 2.0]], [0.0, -10.3, -21.0]))


def test_three_classes_take_turns_inside_one_piece():
    r = check(THREE_TURNS, 0.0, 1.0, -1.0, 0.3)
    assert r.hi_class == 1 and r.n_regions == 1
    p = rr.linear_pieces(THREE_TURNS, [0.0], [1.0])
    assert p.n_pieces == 1
    # From inside class 2's stretch (x = 1) towards 0: class 1 takes over at 0.7 before class 0 at 0.5.
    r2 = check(THREE_TURNS, 1.0, -1.0, -1.0, 0.3)
    assert r2.label == 2 and r2.hi_class == 1 and r2.lo_class == -1


# x = 0 on the boundary of relu(t): z == 0 exactly at the start. Logit 1 = 2 relu(t) - relu(-t) - 1.
ON_BOUNDARY = net(([[1.0, -1.0]], [0.0, 0.0]), ([[0.0, 2.0], [0.0, -1.0]], [0.0, -1.0]))


def test_x_exactly_on_region_boundary():
    r = check(ON_BOUNDARY, 0.0, 1.0, -1.0, 0.5)
    assert r.hi_class == 1


def test_x_on_boundary_up_to_a_rounding_residual():
    # 0.1 + 0.2 - 0.3 is 5.55e-17 in float64, not 0: x sits on the plane z = 0 up to rounding.
    W1 = np.array([[0.1, -0.1], [0.2, -0.2]])
    b1 = np.array([-0.3, 0.3])
    W2 = np.array([[0.0, 2.0], [0.0, -1.0]])
    b2 = np.array([0.0, -0.1])
    params = net((W1, b1), (W2, b2))
    x, d = np.array([1.0, 1.0]), np.array([1.0, 0.0])
    z0 = (x @ W1 + b1)[0]
    assert z0 != 0 and abs(z0) < 1e-16
    # Along d the unit's pre-activation is 0.1 t + residual: logit 1 = 0.2 t - 0.1 (t > 0) crosses at 0.5.
    check(params, x, d, -1.0, 0.5, tol=1e-12)
    check(params, x, -d, -0.5, 2.0, tol=1e-12)


# x exactly on a decision boundary: logits 0 = 0 and 1 = t (through an always-on unit) tie at t = 0; the
# label is 0 (lowest index), lost immediately going forward, kept going backward.
ON_DECISION = net(([[1.0]], [10.0]), ([[0.0, 1.0]], [0.0, -10.0]))


def test_x_exactly_on_decision_boundary():
    r = check(ON_DECISION, 0.0, 1.0, -1.0, 0.0)
    assert r.label == 0 and r.hi_class == 1 and r.length == 1.0
    r = check(ON_DECISION, 0.0, -1.0, 0.0, 2.0)
    assert r.lo_class == 1


def test_zero_direction_gives_the_whole_range():
    params = THIN
    r = exact_interval(params, [0.3], [0.0], -1.0, 2.0)
    assert (r.lo, r.hi, r.n_regions, r.lo_class, r.hi_class) == (-1.0, 2.0, 1, -1, -1)
    r = exact_interval(params, [0.3], [0.0], -np.inf, np.inf)
    assert r.lo == -np.inf and r.hi == np.inf


def test_infinite_range_past_the_last_root():
    # Logit 1 = relu(t - 1) - relu(t - 3) - 3: at most -1, never above logit 0 = 0 -> unbounded GI.
    params = net(([[1.0, 1.0]], [-1.0, -3.0]), ([[0.0, 1.0], [0.0, -1.0]], [0.0, -3.0]))
    r = exact_interval(params, [0.0], [1.0], -np.inf, np.inf)
    assert r.lo == -np.inf and r.hi == np.inf and r.n_regions == 3
    # Logit 1 = -2 relu(t - 1) + 3 relu(t - 3) - 1 is t - 8 past 3, winning at t = 8: beyond the last root.
    params = net(([[1.0, 1.0]], [-1.0, -3.0]), ([[0.0, -2.0], [0.0, 3.0]], [0.0, -1.0]))
    r = exact_interval(params, [0.0], [1.0], -np.inf, np.inf)
    assert r.hi == 8.0 and r.lo == -np.inf and r.hi_class == 1 and r.n_regions == 3


def test_range_ends_at_zero():
    r = exact_interval(THREE_TURNS, [0.0], [1.0], 0.0, 0.2)
    assert (r.lo, r.hi) == (0.0, 0.2)
