"""Exact routines called on both paths (region-counting walk and certified skips), which must agree."""

from __future__ import annotations

import numpy as np

import relu_regions as rr

SAME = ("label", "lo_class", "hi_class", "exact")
ENDS = ("lo", "hi")
RTOL = 1e-9
"""The contract: the same classes, and GI ends within this relative distance (of the exact answer)."""


def exact_intervals(*args, **kwargs):
    """``rr.exact_intervals`` with regions counted; asserts the default path gives the same answer."""
    counted = rr.exact_intervals(*args, count_regions=True, **kwargs)
    fast = rr.exact_intervals(*args, **kwargs)
    for name in SAME:
        np.testing.assert_array_equal(getattr(counted, name), getattr(fast, name), err_msg=name)
    for name in ENDS:
        np.testing.assert_allclose(getattr(counted, name), getattr(fast, name), rtol=RTOL, atol=0, err_msg=name)
    return counted


def exact_interval(*args, **kwargs):
    """``rr.exact_interval`` with regions counted; asserts the default path gives the same answer."""
    counted = rr.exact_interval(*args, count_regions=True, **kwargs)
    fast = rr.exact_interval(*args, **kwargs)
    for name in SAME:
        assert getattr(counted, name) == getattr(fast, name), name
    for name in ENDS:
        np.testing.assert_allclose(getattr(counted, name), getattr(fast, name), rtol=RTOL, atol=0, err_msg=name)
    return counted
