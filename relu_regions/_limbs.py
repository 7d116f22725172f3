"""Exact products of Python-integer vectors and dyadic matrices, through float64 products on small digits.

An integer is cut into signed base-``2^k`` digits, ``|digit| < 2^k`` (``k = 16``: whole bytes, cut and
joined by ``int.to_bytes``/``int.from_bytes``). With ``n`` terms and ``n 2^(2k) <= 2^53``
(:func:`digit_bits`), every product of two digits and every partial sum of a dot
product of digit vectors is an integer below ``2^53`` in magnitude, so float64 holds it exactly whatever
order or fused operations the BLAS uses. Hence ``v @ W = sum_{i,j} (v_i @ W_j) 2^(k (i + j))`` exactly,
from one float64 product of the stacked digits ``(L_v r, n) @ (n, L_W m)``, recombined in Python integers
in ``O((L_v + L_W) r m)`` operations, instead of ``r n m`` products of big integers.

A matrix is cut once (:func:`limb_matrix`, vectorised from its float64 bits); ``L_W`` is its exponent
range in digits (about 6 for trained weights; at most about 140, float64's whole range).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def digit_bits(n: int) -> int:
    """Digit size ``k`` (16, or 8 beyond ``2^21`` terms) for dot products of length ``n``: ``n 2^(2k) <= 2^53``,
    and digits are whole bytes (cut and joined by ``int.to_bytes``/``int.from_bytes``)."""
    if n > 2**37:
        raise ValueError(f"exact products of length {n} are not supported (at most 2^37)")
    return 16 if n <= 2**21 else 8


class LimbMatrix(NamedTuple):
    """The exact matrix ``2^exp sum_l D_l 2^(k l)`` of shape ``(n, m)``, its digits ``D_l`` (integers,
    ``|D_l| < 2^k``, ``k = digit_bits(n)``) stacked as ``stacked[:, l m : (l + 1) m]`` ``(n, L m)`` float64."""

    stacked: np.ndarray
    n_limbs: int
    k: int
    exp: int


def limb_matrix(W) -> LimbMatrix:
    """The exact value of a finite float64 matrix ``(n, m)`` as digits."""
    W = np.asarray(W, np.float64)
    n, m = W.shape
    k = digit_bits(n)
    frac, e = np.frexp(W)
    M = (np.abs(frac) * 2.0**53).astype(np.uint64)  # |W| = M 2^(e - 53), M < 2^53, exact
    e = e.astype(np.int64) - 53
    nz = M != 0
    exp = int(e[nz].min()) if nz.any() else 0
    q, r = np.divmod(np.where(nz, e - exp, 0), k)  # |W| 2^-exp = (M 2^r) 2^(k q)
    J = -(-(53 + k - 1) // k)  # digits of M 2^r < 2^(53 + k - 1)
    L = int(q.max()) + J
    digits = np.zeros((L, n, m))
    sign = np.where(W < 0, -1.0, 1.0)
    mask = np.uint64((1 << k) - 1)
    rows, cols = np.indices((n, m))
    for j in range(J):
        sh = k * j - r  # digit j of M 2^r: bits sh .. sh + k - 1 of M (sh < 0: M shifted left)
        right = M >> np.minimum(np.maximum(sh, 0), 63).astype(np.uint64)
        left = M << np.maximum(-sh, 0).astype(np.uint64)  # wraps mod 2^64: the low k bits survive
        digits[q + j, rows, cols] = sign * (np.where(sh >= 0, right, left) & mask).astype(np.float64)
    stacked = np.ascontiguousarray(digits.transpose(1, 0, 2).reshape(n, L * m))
    return LimbMatrix(stacked, L, k, exp)


def _digits(v: np.ndarray, k: int) -> np.ndarray:
    """Signed base-``2^k`` digits ``(L, r)`` float64 of the Python integers ``v`` ``(r,)``."""
    mag = [abs(int(a)) for a in v]
    nbytes = max(1, -(-max((a.bit_length() for a in mag), default=0) // k)) * (k // 8)
    raw = np.frombuffer(b"".join(a.to_bytes(nbytes, "little") for a in mag), f"<u{k // 8}")
    sign = np.where(v < 0, -1.0, 1.0)
    return raw.reshape(len(mag), -1).T * sign


def _join(S: np.ndarray, k: int) -> np.ndarray:
    """The Python integers ``sum_s S[s] 2^(k s)`` ``(r,)`` of int64 digit sums ``S`` ``(L, r)``."""
    S = np.concatenate([S, np.zeros_like(S[:1])])
    for s in range(len(S) - 1):  # carries: every digit but the top one into [0, 2^k)
        carry = S[s] >> k
        S[s] -= carry << k
        S[s + 1] += carry
    low = np.ascontiguousarray(S[:-1].T.astype(f"<u{k // 8}")).tobytes()
    width = (len(S) - 1) * (k // 8)
    top = S[-1].tolist()
    out = np.empty(len(top), dtype=object)
    out[:] = [int.from_bytes(low[i * width:(i + 1) * width], "little") + (top[i] << (k * (len(S) - 1)))
              for i in range(len(top))]
    return out


def int_matmul(v: np.ndarray, W: LimbMatrix) -> np.ndarray:
    """``v @ (W / 2^W.exp)`` exactly: ``v`` ``(..., n)`` Python integers (object array); returns ``(..., m)``."""
    n = W.stacked.shape[0]
    m = W.stacked.shape[1] // W.n_limbs
    lead = v.shape[:-1]
    flat = v.reshape(-1, n)
    r = flat.shape[0]
    D = _digits(flat.ravel(), W.k).reshape(-1, r, n)  # (Lv, r, n)
    Lv = D.shape[0]
    P = (D.reshape(Lv * r, n) @ W.stacked).reshape(Lv, r, W.n_limbs, m)
    # Digit products of equal weight 2^(k s), s = i + j, summed in int64: at most min(Lv, L_W) < 2^9
    # terms below 2^53 each.
    S = np.zeros((Lv + W.n_limbs - 1, r, m), np.int64)
    for i in range(Lv):
        S[i:i + W.n_limbs] += P[i].transpose(1, 0, 2).astype(np.int64)
    return _join(S.reshape(len(S), r * m), W.k).reshape(lead + (m,))
