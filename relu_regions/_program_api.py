"""The public analyses on a traced :class:`~relu_regions._trace.Program` (not an MLP).

Called by the public routines through :func:`relu_regions._model.accepts_models`; each returns the
fields of the public result (``Interval``, ``Pieces`` ...) in order. Inputs have the program's input
shape (batches: a leading axis); everything runs in float64 whatever the global flag. The walker
(:mod:`relu_regions._program_walk`) certifies every answer or flags it: uncertified GIs come back with
``exact=False`` and NaN ends (with a warning giving the reason), uncertified region counts as -1 (the
GI itself stays exact), uncertified patterns and pieces raise ``RuntimeError``. There is no exact
rational fallback for programs yet.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions import _program_walk as W
from relu_regions._trace import _fixed
from relu_regions._validate import _as_real_array, check_positive_int, check_range

_CHUNK = 128
"""Rays per compiled batch (smaller batches are padded to a power of two)."""


def _points(prog, value, what: str, batched: bool) -> np.ndarray:
    arr = _as_real_array(value, what).astype(np.float64)
    want = ((arr.shape[0],) if batched and arr.ndim else ()) + tuple(prog.in_shape)
    if arr.shape != want:
        lead = "(B,) + " if batched else ""
        raise ValueError(f"{what}: expected shape {lead}{tuple(prog.in_shape)} (the model's input shape), "
                         f"got {arr.shape}")
    return arr


def program_intervals(prog, xs, ds, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000, batch_size: int = 2048,
                      progress: bool = False, count_regions: bool = False, devices=None, config=None) -> tuple:
    """Fields of ``Interval`` for rays ``xs[i] + t ds[i]`` (``(B,) + in_shape``). ``devices`` and ``config``
    are accepted for the MLP signature's sake; programs run on the default device."""
    del progress, devices, config
    xs = _points(prog, xs, "xs", True)
    ds = _points(prog, ds, "ds", True)
    if xs.shape != ds.shape:
        raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
    n = xs.shape[0]
    lo, hi = check_range(t_min, t_max, n)
    max_steps = check_positive_int(max_steps, "max_steps")
    chunk = min(check_positive_int(batch_size, "batch_size"), _CHUNK, 1 << max(n - 1, 0).bit_length())
    parts = []
    with jax.enable_x64(True):
        for s in range(0, n, chunk):
            k = min(chunk, n - s)
            # The last chunk is padded with its first ray over the empty range [0, 0]: nothing walked twice.
            take = np.concatenate([np.arange(s, s + k), np.full(chunk - k, s)])
            real = np.arange(chunk) < k
            t_lo = np.where(real, lo[take], 0.0).astype(np.float64)
            t_hi = np.where(real, hi[take], 0.0).astype(np.float64)
            sides, label = W.intervals(prog, xs[take], ds[take], t_lo, t_hi, max_steps, count_regions)
            parts.append(jax.tree.map(lambda a: np.asarray(a)[:k], (sides, label)))
    sides = W.Side(*(np.concatenate([p[0][i] for p in parts]) for i in range(6))) if parts else None
    label = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    return _assemble(sides, label, n, count_regions, max_steps)


def _assemble(sides, label, n: int, count_regions: bool, max_steps: int) -> tuple:
    if n == 0:
        f, i = np.zeros(0), np.zeros(0, np.int64)
        return f, f, f, i, i, i, i, np.zeros(0, bool), np.zeros(0, bool)
    fwd, bwd = (slice(None), 0), (slice(None), 1)
    finished = sides.finished[fwd] & sides.finished[bwd]
    exact = finished & sides.cert[fwd] & sides.cert[bwd]
    lo = np.where(exact, -sides.end[bwd], np.nan)
    hi = np.where(exact, sides.end[fwd], np.nan)
    regions = np.full(n, -1, np.int64)
    if count_regions:
        shared = (sides.regions[fwd] > 0) & (sides.regions[bwd] > 0)
        counted = exact & sides.cert_count[fwd] & sides.cert_count[bwd]
        regions = np.where(counted, sides.regions[fwd] + sides.regions[bwd] - shared, -1).astype(np.int64)
        if np.any(exact & ~counted):
            warnings.warn(f"{int(np.sum(exact & ~counted))} of {n} rays have a certified GI but a region "
                          "count float64 cannot certify (coincident switches or near ties); their n_regions "
                          "is -1", RuntimeWarning, stacklevel=3)
    if not exact.all():
        why = [f"ray {i}: " + ("the walk met more than max_steps={} regions".format(max_steps) if not finished[i]
                               else "float64 cannot certify the GI (a class change or tie within rounding "
                               "error, or overflow); no exact fallback for traced programs")
               for i in np.flatnonzero(~exact)[:5]]
        warnings.warn(f"{int(np.sum(~exact))} of {n} rays have no certified answer; their lo/hi are NaN: "
                      + "; ".join(why), RuntimeWarning, stacklevel=3)
    return (lo, hi, hi - lo, label.astype(np.int64), sides.who[bwd].astype(np.int64),
            sides.who[fwd].astype(np.int64), regions, exact, np.zeros(n, bool))


def program_interval(prog, x, d, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                     count_regions: bool = False) -> tuple:
    """Fields of ``Interval`` (scalars) for one ray; ``RuntimeError`` where no certified answer exists."""
    x = _points(prog, x, "x", False)
    d = _points(prog, d, "d", False)
    lo, hi = check_range(t_min, t_max)
    if lo.ndim or hi.ndim:
        raise ValueError("exact_interval: t_min and t_max must be scalars (use exact_intervals for a batch)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        r = program_intervals(prog, x[None], d[None], lo, hi, max_steps=max_steps, batch_size=1,
                              count_regions=count_regions)
    if not r[7][0]:
        raise RuntimeError("exact_interval: " + "; ".join(str(w.message) for w in caught))
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=3)
    return tuple(np.asarray(v[0]).item() for v in r)


class ProgramSide(NamedTuple):
    """One side's regions in walking order (as ``relu_regions._pieces._Side``): entry distances
    ``(k,)``, flat logits and slopes at entry ``(k, n_out)``, flat patterns ``(k, n_units)``."""

    starts: np.ndarray
    f: np.ndarray
    g: np.ndarray
    patterns: np.ndarray


def program_sides(prog, x, d, t_min, t_max, capacity: int):
    """``(forwards, backwards, lo, hi, complete)`` for ``linear_pieces``; ``RuntimeError`` when float64
    cannot certify the partition."""
    x = _points(prog, x, "x", False)
    d = _points(prog, d, "d", False)
    lo, hi = check_range(t_min, t_max)
    if lo.ndim or hi.ndim:
        raise ValueError("linear_pieces: t_min and t_max must be scalars")
    capacity = check_positive_int(capacity, "capacity")
    with jax.enable_x64(True):
        rec = jax.device_get(W.two_sided(prog, x, d, lo.astype(np.float64), hi.astype(np.float64), capacity))
    complete = bool(rec.complete.all())
    if complete and not rec.cert.all():
        raise RuntimeError("linear_pieces: float64 cannot certify the partition of this segment (switches "
                           "that coincide or nearly coincide, or ties within rounding error); there is no "
                           "exact fallback for traced programs yet")
    sides = [ProgramSide(*(np.asarray(a[i][: int(rec.count[i])]) for a in rec[:4])) for i in (0, 1)]
    return sides[0], sides[1], float(lo), float(hi), complete


def program_pattern(prog, x) -> list:
    """The pattern at ``x`` (``in_shape``, or a batch with a leading axis): one array per switch
    (``switches[i].shape``, bool or window index; batched: a leading axis). ``RuntimeError`` where a
    unit's choice is within rounding error of its switching point."""
    x = np.asarray(x)
    batched = x.ndim == len(prog.in_shape) + 1
    xs = _points(prog, x if batched else x[None], "x", True)
    with jax.enable_x64(True):
        choice, ok = jax.vmap(W.point_pattern, in_axes=(None, 0))(prog, jnp.asarray(xs))
    ok = np.asarray(ok)
    if not ok.all():
        raise RuntimeError(f"activation pattern: {int(np.sum(~ok))} of {len(ok)} points lie within rounding "
                           "error of a switching point (float64 cannot certify the pattern there)")
    out = [np.asarray(c) for c in choice]
    return out if batched else [c[0] for c in out]


def program_local_map(prog, x) -> tuple:
    """``(A, c)`` of ``x``'s linear region: ``f(y) = tensordot(y, A, y.ndim) + c`` for every ``y`` with
    the same pattern; ``A`` of shape ``in_shape + out_shape``, ``c`` of shape ``out_shape`` (batched:
    a leading axis on both)."""
    x = np.asarray(x)
    batched = x.ndim == len(prog.in_shape) + 1
    choice = program_pattern(prog, x)
    xs = _points(prog, x if batched else x[None], "x", True)
    if not batched:
        choice = [c[None] for c in choice]
    with jax.enable_x64(True):
        A, c = _local_maps(prog, jnp.asarray(xs), tuple(jnp.asarray(c) for c in choice))
    A, c = np.asarray(A), np.asarray(c)
    return (A, c) if batched else (A[0], c[0])


def _local_map_one(prog, x, choice):
    """The slopes along every input direction (``in_shape + out_shape``) and the value at 0."""
    basis = jnp.eye(x.size, dtype=x.dtype).reshape((x.size,) + x.shape)
    slopes = jax.vmap(lambda e: prog._walk(x, e, 0.0, None, _fixed(prog, choice=choice))[0].dout)(basis)
    zero = jnp.zeros_like(x)
    c = prog._walk(zero, zero, 0.0, None, _fixed(prog, choice=choice))[0].out
    return slopes.reshape(x.shape + slopes.shape[1:]), c


_local_maps = jax.jit(jax.vmap(_local_map_one, in_axes=(None, 0, 0)))


def program_effective_weights(prog, x):
    raise TypeError("effective_weights is defined for dense ReLU networks (a list of (W, b), or a callable "
                    "that is one); for other models use local_linear_map (the region's affine map) or "
                    "activation_pattern")
