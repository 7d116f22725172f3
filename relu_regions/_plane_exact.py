"""Exact fallback of the plane partition: line coefficients as Python integers and exact sign tests.

Every float64 is a dyadic rational, so every affine map the network induces on the plane
``origin + s u + t v`` has dyadic coefficients: they are kept as integers times a power of two. A *line*
is ``a + b s + c t = 0`` given by three integers (one shared power of two, irrelevant for signs).

Line ids (shared with the float code): ``-1 .. -4`` the window edges ``s = s0, s = s1, t = t0, t = t1``;
``0 .. n_hidden - 1`` hidden units in layer order; ``n_hidden + c n_out + j`` the logit difference
``f_c - f_j``. A unit's (and a logit's) line depends on the activation pattern of the layers before it,
which is passed as the pattern of the polygon the test is made on.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["ExactPlane"]


def _to_ints(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``a`` (float64, any shape) as ``(ints, e)`` with ``a == ints * 2**e`` exactly (object array)."""
    a = np.asarray(a, np.float64)
    m, e = np.frexp(a)                        # a = m 2^e, 0.5 <= |m| < 1
    mant = (m * 2.0 ** 53).astype(np.int64)   # exact: 53-bit mantissas
    e = e.astype(np.int64) - 53
    nz = mant != 0
    e0 = int(e[nz].min()) if nz.any() else 0
    shift = np.where(nz, e - e0, 0)
    ints = np.empty(a.shape, dtype=object)
    flat_m, flat_s, out = mant.ravel(), shift.ravel(), ints.reshape(-1)
    for i in range(flat_m.size):
        out[i] = int(flat_m[i]) << int(flat_s[i])
    return ints, e0


def _align(x: np.ndarray, ex: int, y: np.ndarray, ey: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Bring two integer arrays with exponents ``ex, ey`` to the smaller exponent."""
    e = min(ex, ey)
    return x * (1 << (ex - e)), y * (1 << (ey - e)), e


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


class ExactPlane:
    """Exact line coefficients of a network on a plane, computed lazily and cached per pattern prefix.

    net: ``[(W (n_{l-1}, n_l), b (n_l,)), ...]`` float64; origin, u, v: ``(n_0,)``; bounds:
    ``((s0, s1), (t0, t1))``.
    """

    def __init__(self, net, origin, u, v, bounds):
        self.net = net
        self._ints: dict = {}
        self.sizes = [W.shape[1] for W, _ in net]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes[:-1])]).astype(int)
        self.n_hidden = int(sum(self.sizes[:-1]))
        self.n_out = self.sizes[-1]
        self.plane_rows = np.stack([origin, u, v]).astype(np.float64)
        (s0, s1), (t0, t1) = bounds
        self.window = {-1: self._axis_line(s0, 1), -2: self._axis_line(s1, 1),
                       -3: self._axis_line(t0, 2), -4: self._axis_line(t1, 2)}
        self._cache: dict = {}

    @staticmethod
    def _axis_line(value: float, axis: int) -> tuple[int, int, int]:
        q = Fraction(value)           # s - value = 0 as (-p, q, 0) / q
        line = [-q.numerator, 0, 0]
        line[axis] = q.denominator
        return tuple(line)

    def _params(self, k):
        """Layer ``k``'s ``((W ints, e), (b ints, e))``, or the plane's rows for ``k == "plane"`` (converted
        on first use: most partitions never need exact arithmetic)."""
        if k not in self._ints:
            if k == "plane":
                self._ints[k] = _to_ints(self.plane_rows)
            else:
                W, b = self.net[k]
                self._ints[k] = (_to_ints(W), _to_ints(b))
        return self._ints[k]

    def _layer(self, k: int, pattern: np.ndarray) -> tuple[np.ndarray, int]:
        """Integer coefficients ``(3, n_k)`` (and their exponent) of the pre-activations of layer ``k``
        (0-based) under the hidden ``pattern`` of the layers before it."""
        prefix = np.asarray(pattern[: self.offsets[k]], bool) if k else np.zeros(0, bool)
        key = (k, np.packbits(prefix).tobytes(), prefix.size)
        if key not in self._cache:
            (W, eW), (b, eb) = self._params(k)
            if k == 0:
                H, eH = self._params("plane")
            else:
                Z, eH = self._layer(k - 1, pattern)
                H = np.where(prefix[self.offsets[k - 1]:][None, :], Z, 0)
            Z = H.dot(W)
            bias = np.zeros_like(Z)
            bias[0] = b
            Z, bias, e = _align(Z, eH + eW, bias, eb)
            self._cache[key] = (Z + bias, e)
        return self._cache[key]

    def line(self, pattern: np.ndarray, lid: int) -> tuple[int, int, int]:
        """The three integers of line ``lid`` on a polygon with hidden ``pattern`` ``(n_hidden,)``."""
        lid = int(lid)
        if lid < 0:
            return self.window[lid]
        if lid < self.n_hidden:
            k = int(np.searchsorted(self.offsets, lid, side="right")) - 1
            Z, _ = self._layer(k, pattern)
            col = Z[:, lid - self.offsets[k]]
            return tuple(int(x) for x in col)
        c, j = divmod(lid - self.n_hidden, self.n_out)
        Z, _ = self._layer(len(self.sizes) - 1, pattern)
        return tuple(int(x) for x in (Z[:, c] - Z[:, j]))

    def vertex_sign(self, pattern: np.ndarray, la: int, lb: int, lc: int) -> int:
        """Exact sign of line ``lc`` at the intersection of lines ``la`` and ``lb``."""
        a1, b1, c1 = self.line(pattern, la)
        a2, b2, c2 = self.line(pattern, lb)
        a3, b3, c3 = self.line(pattern, lc)
        d = b1 * c2 - b2 * c1
        if d == 0:
            raise RuntimeError(f"plane_regions: internal error, lines {la} and {lb} of a vertex are parallel")
        det = a1 * (b2 * c3 - b3 * c2) - a2 * (b1 * c3 - b3 * c1) + a3 * d
        return _sign(det) * _sign(d)

    def orientation(self, pattern: np.ndarray, la: int, lb: int) -> int:
        """Exact sign of ``b_a c_b - b_b c_a`` (the homogeneous weight of the vertex of ``la`` and ``lb``)."""
        _, b1, c1 = self.line(pattern, la)
        _, b2, c2 = self.line(pattern, lb)
        return _sign(b1 * c2 - b2 * c1)
