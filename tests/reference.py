"""Independent reference for exact GIs: layer-wise refinement of a segment, in numpy.

Unlike the walker (one region at a time, patterns decided at the region's entry), this splits the whole
segment layer by layer: the first layer's pre-activations are affine in ``t``, so their roots cut the
segment into pieces; on each piece the layer's pattern is read at the piece's midpoint, the next layer is
affine there and its roots cut further, and so on. It works for float64 arrays and, with ``exact=True``,
for ``fractions.Fraction`` object arrays (rational arithmetic, no rounding at all).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def _as(a, exact):
    a = np.asarray(a)
    if exact:
        return np.vectorize(lambda v: Fraction(v), otypes=[object])(a)
    return a.astype(np.float64)


def refine_pieces(params, x, d, t0, t1, exact=False):
    """Affine pieces of the logits on ``[t0, t1]``: list of ``(a, b, F, G)`` with logits ``F + t G`` on
    ``[a, b]``, in order."""
    params = [(_as(W, exact), _as(b, exact)) for W, b in params]
    x, d = _as(x, exact), _as(d, exact)
    t0, t1 = (Fraction(t0), Fraction(t1)) if exact else (float(t0), float(t1))
    pieces = [(t0, t1, x, d)]  # h(t) = p + t q on [a, b]
    for W, b in params[:-1]:
        new = []
        for a, e, p, q in pieces:
            zp, zq = p @ W + b, q @ W
            roots = sorted({-zp[i] / zq[i] for i in range(len(zq)) if zq[i] != 0 and a < -zp[i] / zq[i] < e})
            cuts = [a, *roots, e]
            for u, v in zip(cuts[:-1], cuts[1:]):
                mid = (u + v) / 2
                m = (zp + mid * zq) > 0
                new.append((u, v, np.where(m, zp, 0 * zp), np.where(m, zq, 0 * zq)))
        pieces = new
    W, b = params[-1]
    return [(a, e, p @ W + b, q @ W) for a, e, p, q in pieces]


def _first_change(F, G, c, s, e):
    """First ``t`` in ``[s, e]`` where some logit strictly exceeds logit ``c`` (affine ``F + t G``), or None."""
    best = None
    for j in range(len(F)):
        if j == c:
            continue
        m0, dm = (F[c] - F[j]) + s * (G[c] - G[j]), G[c] - G[j]
        if m0 < 0 or (m0 == 0 and dm < 0):
            t = s
        elif dm < 0:
            t = s + m0 / (-dm)
            if t >= e:  # reaching a tie at the piece's end is not a change: the next piece decides
                continue
        else:
            continue
        best = t if best is None or t < best else best
    return best


def reference_interval(params, x, d, t_min=-1.0, t_max=2.0, exact=False):
    """``(lo, hi, label)`` of the GI on a finite range by refinement; ``label = argmax f(x)``."""
    pieces = refine_pieces(params, x, d, t_min, t_max, exact)
    zero = Fraction(0) if exact else 0.0
    F0 = None
    for a, e, F, G in pieces:
        if a <= zero <= e:
            F0 = F + zero * G
            break
    best = max(F0)
    label = next(i for i, v in enumerate(F0) if v == best)  # ties to the lowest index
    hi = t_max
    for a, e, F, G in pieces:
        if e < zero or (e == zero and a < zero):
            continue
        t = _first_change(F, G, label, max(a, zero), e)
        if t is not None:
            hi = t
            break
    lo = t_min
    for a, e, F, G in reversed(pieces):
        if a > zero or (a == zero and e > zero):
            continue
        # walk backwards: s -> -t
        t = _first_change(F, -G, label, -min(e, zero), -a)
        if t is not None:
            lo = -t
            break
    return lo, hi, label
