"""Exact big-integer products through float64 digit products (:mod:`relu_regions._limbs`), against
Python's own integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relu_regions._exact import dyadic
from relu_regions._limbs import digit_bits, int_matmul, limb_matrix

finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True, width=64)
bigint = st.integers(min_value=-(2**400), max_value=2**400)


def _reference(v: np.ndarray, W: np.ndarray) -> list[tuple[int, int]]:
    """``v @ W`` in Python integers, as ``(ints, exp)`` pairs of the exact values ``ints * 2^exp``."""
    D = dyadic(W)
    out = []
    for j in range(W.shape[1]):
        out.append((sum(int(a) * int(w) for a, w in zip(v, D.ints[:, j])), D.exp))
    return out


def _same(a: tuple[int, int], b: tuple[int, int]) -> bool:
    e = min(a[1], b[1])
    return a[0] << (a[1] - e) == b[0] << (b[1] - e)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 12), st.integers(1, 5), st.data())
def test_int_matmul_is_exact(n, m, data):
    W = np.array(data.draw(st.lists(finite, min_size=n * m, max_size=n * m)), np.float64).reshape(n, m)
    v = np.empty(n, dtype=object)
    v[:] = data.draw(st.lists(bigint, min_size=n, max_size=n))
    lm = limb_matrix(W)
    got = int_matmul(v, lm)
    for j, ref in enumerate(_reference(v, W)):
        assert _same((int(got[j]), lm.exp), ref)


def test_int_matmul_batched_rows_and_wide_ranges(rng):
    # Rows of a 2-D operand; weights spanning float64's range (subnormals to 1e300) and a long dot product.
    for n, m, span in ((784, 7, 8), (40, 3, 300), (3000, 2, 30)):
        W = rng.normal(size=(n, m)) * 10.0 ** rng.uniform(-span, span, (n, m))
        W[rng.random((n, m)) < 0.2] = 0
        W[0, 0] = 5e-324
        v = np.empty((2, n), dtype=object)
        v[:] = [[int(a) * 3**150 for a in rng.integers(-2**62, 2**62, n)] for _ in range(2)]
        lm = limb_matrix(W)
        got = int_matmul(v, lm)
        assert got.shape == (2, m)
        for r in range(2):
            for j, ref in enumerate(_reference(v[r], W)):
                assert _same((int(got[r, j]), lm.exp), ref)


def test_digit_bits_keep_float64_sums_exact():
    for n in (1, 2, 3, 784, 2**21, 2**21 + 1, 2**37):
        k = digit_bits(n)
        assert k % 8 == 0 and n * 2 ** (2 * k) <= 2**53
    with pytest.raises(ValueError, match="2\\^37"):
        digit_bits(2**37 + 1)
