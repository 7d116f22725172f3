"""A plain reference walker over a traced :class:`~relu_regions._trace.Program` for the tests (slow, eager, float64).

It exists to pin down and test the interface the real walker uses; it is not the production walker.
One step, from ``t`` with the pattern ``c`` of the region entered just after ``t``::

    a = prog.along(x, d, t, c)                 # values and slopes at x + t d, switches frozen to c
    g, dg = prog.margins(c, a.q, a.dq)         # (n_constraints,): g >= 0 inside the region
    s = min over dg < 0 of -g / dg             # distance to the region's exit
    hit = (dg < 0) & (-g / dg <= s)            # the margins that determine the exit
    c = prog.choice_at(x, d, t + s, fixed=prog.after_exit(c, hit, dg))
                                               # the next region: hit units flip (pooling windows
                                               # switch), everything else by the lexicographic
                                               # (value, slope) rule given them

Every quantity is affine in ``t`` inside a region: ``logits(t + s) = a.out + s * a.dout``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class TracePieces(NamedTuple):
    """Linear pieces of ``x + t d``, ``t`` in ``[t_min, t_max]``, ordered by ``t``; ``k`` pieces.

    breakpoints ``(k + 1,)``; logits ``(k + 1,) + out_shape`` at the breakpoints (each piece's own
    affine map evaluated at its ends); slopes ``(k,) + out_shape``; patterns ``(k, n_units)`` (flat
    choices, ``Program.flatten_choice``)."""

    breakpoints: np.ndarray
    logits: np.ndarray
    slopes: np.ndarray
    patterns: np.ndarray


def walk_pieces(prog, x, d, t_min: float, t_max: float, max_pieces: int = 100_000) -> TracePieces:
    """Partition the segment into the linear pieces of ``prog`` (finite ``t_min < t_max``)."""
    t = float(t_min)
    c = prog.choice_at(x, d, t)
    bps, vals, slopes, pats = [t], [], [], []
    while True:
        a = prog.along(x, d, t, c)
        g, dg = (np.asarray(v) for v in prog.margins(c, a.q, a.dq))
        down = dg < 0
        ratio = np.where(down, -g / np.where(down, dg, -1.0), np.inf)
        s = max(float(np.min(ratio)), 0.0) if down.any() else np.inf
        hit = down & (ratio <= s)
        out, dout = np.asarray(a.out), np.asarray(a.dout)
        if not vals:
            vals.append(out)
        t_next = min(t + s, t_max)
        vals.append(out + (t_next - t) * dout)
        slopes.append(dout)
        pats.append(np.asarray(prog.flatten_choice(c)))
        bps.append(t_next)
        if t_next >= t_max or len(slopes) >= max_pieces:
            break
        t = t_next
        c = prog.choice_at(x, d, t, fixed=prog.after_exit(c, hit, dg))
    return TracePieces(np.asarray(bps), np.stack(vals), np.stack(slopes), np.stack(pats))
