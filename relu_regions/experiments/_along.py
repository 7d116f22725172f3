"""Exact quantities along a segment from its linear pieces (``rr.linear_pieces``): where the predicted
class changes, and how much one logit varies."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import relu_regions as rr
from relu_regions.experiments._nets import logits

_TIE = 1e-12  # relative tolerance for equal logits


class ClassChanges(NamedTuple):
    """Points ``t`` ``(m,)`` where ``argmax f(x + t d)`` changes, the class ``before`` and ``after`` each,
    and the class at the segment's start (``start``)."""

    t: np.ndarray
    before: np.ndarray
    after: np.ndarray
    start: int


def _winner(v: np.ndarray, g: np.ndarray, scale: float) -> int:
    """The class that is the maximum just after a point with logits ``v`` and slopes ``g``: the largest
    value, ties (within ``_TIE * scale``) broken by the larger slope."""
    top = np.flatnonzero(v >= v.max() - _TIE * scale)
    return int(top[np.argmax(g[top])])


def class_changes(pieces: rr.Pieces) -> ClassChanges:
    """Where the predicted class changes along the segment of ``pieces`` (finite ends required).

    Inside a piece the logits are ``f(a) + (t - a) g``; starting from the winner at the piece's left end,
    the next change is the first ``t`` at which a logit with a larger slope catches up with the winner.
    A touch that does not change the maximum is not a change.
    """
    bp, F, G = pieces.breakpoints, pieces.logits, pieces.slopes
    if not np.all(np.isfinite(bp)):
        raise ValueError("class_changes needs a segment with finite ends")
    scale = max(float(np.abs(F).max()), 1.0)
    ts, before, after = [], [], []
    current = start = _winner(F[0], G[0], scale)
    for k in range(pieces.n_pieces):
        a, b, f, g = bp[k], bp[k + 1], F[k], G[k]
        t = a
        w = _winner(f, g, scale)
        if w != current:
            ts.append(a), before.append(current), after.append(w)
            current = w
        while True:
            v = f + (t - a) * g
            faster = g > g[w]
            if not faster.any():
                break
            hits = t + (v[w] - v[faster]) / (g[faster] - g[w])
            t_next = hits.min()
            if not t_next < b:
                break
            t = max(t_next, t)
            w = _winner(f + (t - a) * g, g, scale)
            if w == current:  # rounding: no real change
                break
            ts.append(t), before.append(current), after.append(w)
            current = w
    return ClassChanges(np.array(ts, dtype=np.float64), np.array(before, dtype=np.int64),
                        np.array(after, dtype=np.int64), start)


def logit_range(pieces: rr.Pieces, cls: int) -> float:
    """``max - min`` of logit ``cls`` over the segment (exact: a piecewise-linear function attains its
    extremes at breakpoints)."""
    values = pieces.logits[:, cls]
    return float(np.nanmax(values) - np.nanmin(values))


def segment_stats(params, x: np.ndarray, d: np.ndarray, t_min: float = 0.0, t_max: float = 1.0) -> dict:
    """Exact statistics of ``f(x + t d)`` for ``t`` in ``[t_min, t_max]``: ``pieces`` (linear pieces),
    ``changes`` (class changes), ``label`` (class at ``t = 0``), ``label_range`` (``max - min`` of that
    class's logit) and ``kept`` (the whole segment keeps the label)."""
    pieces = rr.linear_pieces(params, x, d, t_min, t_max)
    changes = class_changes(pieces)
    label = int(np.argmax(logits(params, np.asarray(x)[None])[0]))
    kept = changes.start == label and len(changes.t) == 0
    return {"pieces": pieces.n_pieces, "changes": int(len(changes.t)), "label": label,
            "label_range": logit_range(pieces, label), "kept": bool(kept)}
