"""The exact partition of a segment ``x + t d``, ``t`` in ``[t_min, t_max]``, into linear pieces."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._network import cast_params
from relu_regions._validate import check_params, check_points, check_positive_int, check_range
from relu_regions._model import resolve
from relu_regions._trace import Program
from relu_regions._program_api import program_sides
from relu_regions._exact import Dyadic, ExactNet, RegionLimitError, first_quantities, fractions, walk_side
from relu_regions._walk import first_layer, reverse, walk_regions


class PieceCapacityError(RuntimeError):
    """The segment has more linear pieces than the ``capacity`` the caller allowed."""


class Pieces(NamedTuple):
    """Linear pieces of a segment, ordered by ``t``; ``k`` pieces.

    breakpoints: ``(k + 1,)`` from ``t_min`` to ``t_max`` (ends may be infinite).
    logits: ``(k + 1, n_L)`` logits at the breakpoints (NaN at infinite ends): float64 values, rounded as in a
    float64 forward pass (breakpoints and patterns are the exact ones).
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


@partial(jax.jit, static_argnames=("capacity", "accurate"))
def _two_sided(params, x, d, t_min, t_max, capacity, accurate=False):
    """Both sides' :class:`relu_regions._walk.Trace` (stacked: forwards, backwards); ``accurate``: the
    first layer with compensated dot products (:func:`relu_regions._walk.first_layer`)."""
    ray = first_layer(params, x, d, accurate)
    walk = jax.vmap(walk_regions, in_axes=(None, 0, 0, None))
    both = jax.tree.map(lambda f, b: jnp.stack([f, b]), ray, reverse(ray))
    return walk(params, both, jnp.stack([t_max, -t_min]), capacity)


class _Side(NamedTuple):
    """One side's regions in walking order: entry distances ``(k,)``, logits and slopes at entry
    ``(k, n_L)``, patterns ``(k, n_hidden)``."""

    starts: np.ndarray
    f: np.ndarray
    g: np.ndarray
    patterns: np.ndarray


def _exact_side(en: ExactNet, a1, s1, T: float, capacity: int) -> _Side:
    try:
        side, _ = walk_side(en, a1, s1, T, 0, max_regions=capacity, record=True, stop_at_change=False)
    except RegionLimitError:
        raise PieceCapacityError(f"the segment has more than capacity={capacity} linear pieces on one side "
                                 "of t = 0; pass a larger capacity") from None
    starts = np.array([float(t) for t, _, _, _ in side.record])
    f, g = [], []
    for t, _, fa, fb in side.record:
        slopes = fractions(fb)
        f.append([float(a + b * t) for a, b in zip(fractions(fa), slopes)])
        g.append([float(b) for b in slopes])
    return _Side(starts, np.array(f), np.array(g), np.array([p for _, p, _, _ in side.record]))


def linear_pieces(params, x, d, t_min=-1.0, t_max=2.0, *, capacity: int = 4096) -> Pieces:
    """All linear pieces of ``x + t d`` for ``t`` in ``[t_min, t_max]`` (``x, d`` of shape ``(n_0,)``).

    ``params`` may also be a JAX callable or a traced program (``x, d`` of its input shape): logits are
    then flattened, and patterns are the flat choices ``(k, n_units)`` (``Program.flatten_choice``).

    The walk goes from 0 to each end with room for ``capacity`` pieces per side; a segment with more
    raises :class:`PieceCapacityError` (raise ``capacity``). Computed in float64 with every pattern and
    boundary certified. A segment plain float64 cannot certify is walked again with a compensated first
    layer (most are: its error bounds, grown through the layers, make a breakpoint's window wider than the
    contract's ``1e-9`` relative); one that still cannot be certified (coincident roots, exact ties) is
    partitioned in exact arithmetic. Breakpoints are the exact ones to within ``2^-34`` relative.
    """
    if isinstance(params, Program) or callable(params):  # a JAX callable or a traced program
        prog, params = resolve(params, x, batched=False)
        if prog is not None:
            fwd, bwd, lo, hi, complete = program_sides(prog, x, d, t_min, t_max, capacity)
            if not complete:
                raise PieceCapacityError(f"the segment has more than capacity={capacity} linear pieces on "
                                         "one side of t = 0; pass a larger capacity")
            return _join(fwd, bwd, lo, hi)
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x = check_points(x, n_in, "x", batched=False).astype(np.float64)
    d = check_points(d, n_in, "d", batched=False).astype(np.float64)
    lo, hi = check_range(t_min, t_max)
    if lo.ndim or hi.ndim:
        raise ValueError("linear_pieces: t_min and t_max must be scalars")
    capacity = check_positive_int(capacity, "capacity")
    return certified_pieces(net, x, d, float(lo), float(hi), capacity)


def certified_pieces(net, x: np.ndarray, d: np.ndarray, lo: float, hi: float, capacity: int, *,
                     plain: bool = True) -> Pieces:
    """:func:`linear_pieces` of a checked float64 network and segment: the float64 walk (``plain`` False
    skips it, for a caller whose own plain walk failed), then the compensated one, then exact arithmetic."""
    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        trace = jax.device_get(_two_sided(p64, x, d, lo, hi, capacity)) if plain else None
        if trace is None or (trace.complete.all() and not trace.cert.all()):
            trace = jax.device_get(_two_sided(p64, x, d, lo, hi, capacity, accurate=True))
    if not trace.complete.all():
        raise PieceCapacityError(f"the segment has more than capacity={capacity} linear pieces on one side "
                                 "of t = 0; pass a larger capacity")
    if not trace.cert.all():
        return exact_pieces(net, x, d, lo, hi, capacity)
    fwd, bwd = (_Side(*(np.asarray(a[i][: int(trace.count[i])]) for a in trace[:4])) for i in (0, 1))
    return _join(fwd, bwd, lo, hi)


def exact_pieces(net, x: np.ndarray, d: np.ndarray, lo: float, hi: float, capacity: int) -> Pieces:
    """The partition in exact rational arithmetic (:mod:`relu_regions._exact`), both sides walked from 0."""
    en = ExactNet.of(net)
    a1, s1 = first_quantities(en, x, d)
    fwd = _exact_side(en, a1, s1, hi, capacity)
    bwd = _exact_side(en, a1, Dyadic(-s1.ints, s1.exp), -lo, capacity)
    return _join(fwd, bwd, lo, hi)


def _join(fwd: _Side, bwd: _Side, lo: float, hi: float) -> Pieces:
    """Pieces from the forward and backward walks (they meet at ``t = 0``)."""
    nf, nb = len(fwd.starts), len(bwd.starts)
    # Forward region i spans [s_i, s_{i+1}]; backward region j spans t in [-u_{j+1}, -u_j], entered at its
    # right end, with slope -g in t. Both lists are rewritten as pieces (left, right, f at left, slope).
    s_next = np.append(fwd.starts[1:], hi)
    u, u_next = bwd.starts, np.append(bwd.starts[1:], -lo)
    with np.errstate(invalid="ignore"):
        f_left_b = bwd.f + (u_next - u)[:, None] * bwd.g
    left = np.concatenate([-u_next[::-1], fwd.starts])
    right = np.concatenate([-u[::-1], s_next])
    f_left = np.concatenate([f_left_b[::-1], fwd.f])
    slopes = np.concatenate([-bwd.g[::-1], fwd.g])
    patterns = np.concatenate([bwd.patterns[::-1], fwd.patterns])
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
