"""Batches of convex polygons in the plane and their certified splitting by lines (float64 + error bounds).

A vertex is kept in homogeneous form ``h = (w, w s, w t)`` with ``w > 0`` (certified): it is the cross
product of the two lines ``(a, b, c)`` (``a + b s + c t = 0``) of its edges, so the sign of a third line at
the vertex is the sign of ``line . h`` -- a 3-term dot product with a rigorous bound from the errors of
the line coefficients and of ``h`` (no division, no rounded coordinates in any predicate). Where the bound
cannot decide a sign, the caller's exact fallback does.

Shapes: ``P`` polygons, ``V`` vertices in all, stored polygon after polygon, counter-clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Polys", "abs_cross", "certified_signs", "cross_lines", "ragged_take", "split_polys", "vertex_signs"]

U = 2.0 ** -53                # unit roundoff of float64
GAMMA2, GAMMA3 = 2 * U / (1 - 2 * U), 3 * U / (1 - 3 * U)
INFLATE = 1.0 + 2.0 ** -40    # covers the rounding of the (non-negative) bound arithmetic itself
TINY = 2.0 ** -1000           # covers underflow in products of non-zero numbers


@dataclass
class Polys:
    """Convex polygons: ``off (P + 1,)`` offsets into the vertex rows. Per vertex, packed for fast
    gathers: ``f (V, 12)`` float64 = ``h, eh`` (the homogeneous vertex and its error bound) and ``ec, ee``
    (the coefficients of the line of the outgoing edge, vertex ``i`` to the next, and their error
    bounds); ``g (V, 3)`` int64 = ``el`` (that line's id), ``chord`` (the split that made the edge, -1:
    window or decision line) and ``side`` (which side of that split the polygon lies on, +1 / -1).
    The named fields are views."""

    off: np.ndarray
    f: np.ndarray
    g: np.ndarray

    @classmethod
    def build(cls, off, h, eh, el, ec, ee, chord, side) -> "Polys":
        return cls(np.asarray(off, np.int64), np.concatenate([h, eh, ec, ee], axis=1),
                   np.stack([el, chord, side], axis=1).astype(np.int64))

    h = property(lambda self: self.f[:, 0:3])
    eh = property(lambda self: self.f[:, 3:6])
    ec = property(lambda self: self.f[:, 6:9])
    ee = property(lambda self: self.f[:, 9:12])
    el = property(lambda self: self.g[:, 0])
    chord = property(lambda self: self.g[:, 1])
    side = property(lambda self: self.g[:, 2])

    @property
    def n(self) -> int:
        return len(self.off) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.off)

    @property
    def xy(self) -> np.ndarray:
        """``(V, 2)`` float vertex coordinates ``(s, t)``."""
        return self.h[:, 1:] / self.h[:, :1]

    def owner(self) -> np.ndarray:
        """``(V,)`` polygon index of every vertex."""
        return np.repeat(np.arange(self.n), self.counts)

    def nxt(self) -> np.ndarray:
        """``(V,)`` index of the next vertex of the same polygon (cyclic)."""
        i = np.arange(len(self.el)) + 1
        ends = self.off[1:] - 1
        i[ends] = self.off[:-1]
        return i

    def prv(self) -> np.ndarray:
        """``(V,)`` index of the previous vertex of the same polygon (cyclic)."""
        i = np.arange(len(self.el)) - 1
        i[self.off[:-1]] = self.off[1:] - 1
        return i

    def take(self, idx: np.ndarray) -> "Polys":
        """The polygons ``idx`` (in that order)."""
        idx = np.asarray(idx, np.int64)
        v, off = ragged_take(self.off, idx)
        return Polys(off, self.f[v], self.g[v])

    @staticmethod
    def concat(parts: list["Polys"]) -> "Polys":
        parts = [p for p in parts if p.n]
        if not parts:
            raise ValueError("Polys.concat: nothing to concatenate")
        offs = [parts[0].off]
        base = parts[0].off[-1]
        for p in parts[1:]:
            offs.append(p.off[1:] + base)
            base += p.off[-1]
        return Polys(np.concatenate(offs), np.concatenate([p.f for p in parts]), np.concatenate([p.g for p in parts]))


def ragged_take(off: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex indices ``(V',)`` of polygons ``idx`` in order, and their new offsets ``(len(idx) + 1,)``."""
    counts = off[idx + 1] - off[idx]
    new_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    v = np.arange(new_off[-1], dtype=np.int64) + np.repeat(off[idx] - new_off[:-1], counts)
    return v, new_off


def abs_cross(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``|x| x |y|`` with plus signs: the bound pattern of a cross product (``(..., 3)`` each)."""
    return np.stack([x[..., 1] * y[..., 2] + x[..., 2] * y[..., 1],
                     x[..., 2] * y[..., 0] + x[..., 0] * y[..., 2],
                     x[..., 0] * y[..., 1] + x[..., 1] * y[..., 0]], axis=-1)


def cross_lines(c1, e1, c2, e2) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous intersection ``h = c1 x c2`` of lines ``(n, 3)`` with coefficient errors ``e1, e2`` and
    a rigorous bound ``eh`` on ``|h - h_exact|``; both scaled by a power of two (exact) so that
    ``max |h| ~ 1``. The sign of ``h[:, 0]`` is not normalised here."""
    h = np.cross(c1, c2)
    a1, a2 = np.abs(c1), np.abs(c2)
    eh = (abs_cross(e1, a2) + abs_cross(a1, e2) + abs_cross(e1, e2) + GAMMA2 * abs_cross(a1, a2)) * INFLATE
    eh = eh + TINY * (abs_cross(a1, a2) > 0)
    top = np.max(np.abs(h), axis=1)
    _, ex = np.frexp(np.where(top > 0, top, 1.0))
    scale = np.ldexp(1.0, -ex)[:, None]
    return h * scale, eh * scale


def certified_signs(val: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signs ``(int8)`` of exact values known to lie within ``bound`` of ``val``; ``uncertain`` where the
    float result cannot decide (there the sign is 0 and must be decided exactly)."""
    sign = np.zeros(val.shape, np.int8)
    sign[val > bound] = 1
    sign[val < -bound] = -1
    uncertain = (sign == 0) & ~((val == 0) & (bound == 0))
    return sign, uncertain


def vertex_signs(c, e, h, eh) -> tuple[np.ndarray, np.ndarray]:
    """Certified signs of lines ``c`` (coefficient errors ``e``) at homogeneous vertices ``h`` (errors
    ``eh``), all ``(n, 3)`` row by row: ``(sign (n,), uncertain (n,))``."""
    ah, ac = np.abs(h), np.abs(c)
    val = np.einsum("ij,ij->i", c, h)
    prod = np.einsum("ij,ij->i", ah, ac)
    bound = (np.einsum("ij,ij->i", ah + eh, e) + np.einsum("ij,ij->i", eh, ac) + GAMMA3 * prod) * INFLATE
    bound = bound + TINY * (prod > 0)
    return certified_signs(val, bound)


def split_polys(polys: Polys, sigma: np.ndarray, lc, le, lid, chord, orient) -> tuple[Polys, Polys]:
    """Split every polygon (each crossed by its line: exact vertex signs ``sigma (V,)`` with both +1 and
    -1) into its part on the positive and on the negative side of its line.

    ``lc, le (P, 3)``: the lines' coefficients and errors; ``lid, chord (P,)``: their line ids and the
    chord ids to record on the new edges. New vertices are edge-line intersections; ``orient(rows, la,
    lb) -> (n,) +-1`` decides exactly the sign of ``h[:, 0]`` where the float bound cannot.
    Returns ``(positive, negative)``, polygon ``i`` of each coming from polygon ``i``.
    """
    nxt = polys.nxt()
    owner = polys.owner()
    s, sn = sigma, sigma[nxt]
    crossing = s.astype(np.int64) * sn < 0
    ci = np.flatnonzero(crossing)
    xh, xeh = cross_lines(polys.ec[ci], polys.ee[ci], lc[owner[ci]], le[owner[ci]])
    sign, unsure = certified_signs(xh[:, 0], xeh[:, 0])
    if unsure.any():
        k = np.flatnonzero(unsure)
        sign[k] = orient(owner[ci[k]], polys.el[ci[k]], lid[owner[ci[k]]])
    if (sign == 0).any():
        raise RuntimeError("plane_regions: internal error, a split line is parallel to the edge it crosses")
    # Slots per vertex: (the vertex itself, the crossing point on its outgoing edge). A crossing point
    # lies on the vertex's outgoing edge, so it copies that edge's fields and gets its own h, eh.
    xf = polys.f.copy()
    xf[ci, 0:3], xf[ci, 3:6] = xh * sign[:, None], xeh
    slot_f = np.stack([polys.f, xf], axis=1)                       # (V, 2, 12)
    slot_g = np.stack([polys.g, polys.g], axis=1)                  # (V, 2, 3)
    line_f = np.concatenate([lc, le], axis=1)[owner]               # (V, 6): the new edge's line
    line_g = np.stack([lid, chord], axis=1)[owner]
    out = []
    for side in (1, -1):
        t, tn = s * side, sn * side
        keep = np.stack([t >= 0, crossing], axis=1)
        on_line = np.stack([(t == 0) & (tn < 0), crossing & (t > 0)], axis=1)   # outgoing edge on the line
        f, g = slot_f.copy(), slot_g.copy()
        rows, cols = np.nonzero(on_line)
        f[rows, cols, 6:12] = line_f[rows]
        g[rows, cols, 0:2] = line_g[rows]
        g[rows, cols, 2] = side
        counts = np.add.reduceat(keep.sum(axis=1), polys.off[:-1])
        off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        out.append(Polys(off, f[keep], g[keep]))
    return out[0], out[1]
