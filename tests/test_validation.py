"""Bad input gets a clear error naming the problem, never a wrong number or a hang."""

from __future__ import annotations

import numpy as np
import pytest

import relu_regions as rr

GOOD = [(np.ones((3, 4)), np.zeros(4)), (np.ones((4, 2)), np.zeros(2))]
X, D = np.zeros(3), np.ones(3)


@pytest.mark.parametrize("params, match", [
    ([], "non-empty"),
    ([(np.ones((3, 4)), np.zeros(4)), (np.ones((5, 2)), np.zeros(2))], "do not chain"),
    ([(np.ones((3, 4)), np.zeros(3))], "bias has 3 entries"),
    ([(np.ones(3), np.zeros(3))], "rank 2"),
    ([(np.ones((3, 4, 1, 1)), np.zeros(4))], "convolution"),
    ([(np.ones((3, 4)), np.zeros((4, 1)))], "rank 1"),
    ([(np.full((3, 4), np.nan), np.zeros(4))], "non-finite"),
    ([(np.ones((3, 4)), np.array([0, np.inf, 0, 0]))], "non-finite"),
    ([(np.full((3, 4), 1e-310), np.zeros(4))], "subnormal"),  # XLA's CPU reads them as zero
    ([(np.ones((3, 4)), np.array([0, -5e-324, 0, 0]))], "subnormal"),
    ([(np.ones((3, 4)), np.zeros(4), np.zeros(4))], "only dense layers"),
    ([(np.ones((3, 4), dtype=complex), np.zeros(4))], "real"),
    ([(np.ones((3, 4), dtype=bool), np.zeros(4))], "real"),
    ({"params": {}}, "params_from_flax"),
])
def test_bad_params(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rr.exact_interval(params, X, D)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros(4)), "network takes 3 inputs"),
    (dict(x=np.zeros((1, 3))), r"shape \(n_in,\)"),
    (dict(d=np.array([0, np.nan, 0])), "non-finite"),
    (dict(x=np.array([np.inf, 0, 0])), "non-finite"),
    (dict(x=np.array([1e300, 2.2e-308, 0])), "subnormal"),
    (dict(d=np.array([0, -1e-320, 1])), "subnormal"),
    (dict(t_min=0.5), "must contain 0"),
    (dict(t_max=-0.1), "must contain 0"),
    (dict(t_max=np.nan), "NaN"),
    (dict(max_steps=0), "positive integer"),
])
def test_bad_rays(kwargs, match):
    args = dict(x=X, d=D)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        rr.exact_interval(GOOD, **args)


def test_bad_batches():
    with pytest.raises(ValueError, match="same shape"):
        rr.exact_intervals(GOOD, np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        rr.exact_intervals(GOOD, np.zeros((2, 3)), np.zeros((2, 3)), t_min=np.array([-1.0, -1.0, -1.0]))
    with pytest.raises(ValueError, match="finite range"):
        rr.sampled_intervals(GOOD, np.zeros((2, 3)), np.ones((2, 3)), t_max=np.inf)
    with pytest.raises(ValueError, match="float32 or float64"):
        rr.sampled_interval(GOOD, X, D, dtype=np.int32)


def test_integer_and_float32_inputs_are_accepted_and_computed_in_float64():
    p32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in GOOD]
    r = rr.exact_interval(p32, X.astype(np.int64), D.astype(np.float32))
    assert isinstance(r.lo, float) and r.exact


def test_empty_batch():
    r = rr.exact_intervals(GOOD, np.zeros((0, 3)), np.zeros((0, 3)))
    assert r.lo.shape == (0,) and r.label.dtype == np.int64
