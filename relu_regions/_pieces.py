"""The exact partition of a segment ``x + t d``, ``t`` in ``[t_min, t_max]``, into linear pieces."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._network import cast_params
from relu_regions._validate import check_params, check_points, check_positive_int, check_range
from relu_regions._walk import walk_regions


class PieceCapacityError(RuntimeError):
    """The segment has more linear pieces than the ``capacity`` the caller allowed."""


class Pieces(NamedTuple):
    """Linear pieces of a segment, ordered by ``t``; ``k`` pieces.

    breakpoints: ``(k + 1,)`` from ``t_min`` to ``t_max`` (ends may be infinite).
    logits: ``(k + 1, n_L)`` logits at the breakpoints (NaN at infinite ends).
    slopes: ``(k, n_L)`` ``d logits / dt`` on each piece (``d @ A`` of its local map).
    patterns: ``(k, n_hidden)`` activation pattern of each piece, hidden layers concatenated.
    """

    breakpoints: np.ndarray
    logits: np.ndarray
    slopes: np.ndarray
    patterns: np.ndarray

    @property
    def n_pieces(self) -> int:
        return int(self.slopes.shape[0])


@partial(jax.jit, static_argnames="capacity")
def _two_sided(params, x, d, t_min, t_max, capacity):
    walk = jax.vmap(walk_regions, in_axes=(None, None, 0, 0, None))
    return walk(params, x, jnp.stack([d, -d]), jnp.stack([t_max, -t_min]), capacity)


def linear_pieces(params, x, d, t_min=-1.0, t_max=2.0, *, capacity: int = 4096) -> Pieces:
    """All linear pieces of ``x + t d`` for ``t`` in ``[t_min, t_max]`` (``x, d`` of shape ``(n_0,)``).

    The walk goes from 0 to each end with room for ``capacity`` pieces per side; a segment with more
    raises :class:`PieceCapacityError` (raise ``capacity``). Computed in float64.
    """
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x = check_points(x, n_in, "x", batched=False)
    d = check_points(d, n_in, "d", batched=False)
    lo, hi = check_range(t_min, t_max)
    if lo.ndim or hi.ndim:
        raise ValueError("linear_pieces: t_min and t_max must be scalars")
    capacity = check_positive_int(capacity, "capacity")
    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        trace = jax.device_get(_two_sided(p64, x.astype(np.float64), d.astype(np.float64), lo, hi, capacity))
    if not trace.complete.all():
        raise PieceCapacityError(f"the segment has more than capacity={capacity} linear pieces on one side "
                                 "of t = 0; pass a larger capacity")
    fwd, bwd = (jax.tree.map(lambda a, i=i: a[i], trace) for i in (0, 1))
    nf, nb = int(fwd.count), int(bwd.count)
    # Forward region i spans [s_i, s_{i+1}]; backward region j spans t in [-u_{j+1}, -u_j], entered at its
    # right end, with slope -g in t. Both lists are rewritten as pieces (left, right, f at left, slope).
    s_next = np.append(fwd.starts[1:nf], float(hi))
    u, u_next = bwd.starts[:nb], np.append(bwd.starts[1:nb], -float(lo))
    with np.errstate(invalid="ignore"):
        f_left_b = bwd.f[:nb] + (u_next - u)[:, None] * bwd.g[:nb]
    left = np.concatenate([-u_next[::-1], fwd.starts[:nf]])
    right = np.concatenate([-u[::-1], s_next])
    f_left = np.concatenate([f_left_b[::-1], fwd.f[:nf]])
    slopes = np.concatenate([-bwd.g[:nb][::-1], fwd.g[:nf]])
    patterns = np.concatenate([bwd.patterns[:nb][::-1], fwd.patterns[:nf]])
    # The walks meet at t = 0: one piece if the first regions on both sides share a pattern.
    keep = np.ones(nb + nf, bool)
    if nb and nf and np.array_equal(patterns[nb - 1], patterns[nb]):
        keep[nb] = False
        right[nb - 1] = right[nb]
    keep &= right > left
    if not keep.any():
        keep[nb] = True
    left, right, f_left, slopes, patterns = (a[keep] for a in (left, right, f_left, slopes, patterns))
    with np.errstate(invalid="ignore"):
        f_end = f_left[-1] + (right[-1] - left[-1]) * slopes[-1]
    breakpoints = np.append(left, right[-1])
    logits = np.concatenate([f_left, f_end[None]])
    logits[~np.isfinite(breakpoints)] = np.nan
    return Pieces(breakpoints, logits, slopes, patterns)
