"""The public analyses on a traced :class:`~relu_regions._trace.Program` (not an MLP).

Called by the public routines through :func:`relu_regions._model.accepts_models`; each returns the
fields of the public result (``Interval``, ``Pieces`` ...) in order. Inputs have the program's input
shape (batches: a leading axis); everything runs in float64 whatever the global flag. The walker
(:mod:`relu_regions._program_walk`) certifies every answer or flags it: uncertified GIs come back with
``exact=False`` and NaN ends (with a warning giving the reason), uncertified region counts as -1 (the
GI itself stays exact), uncertified patterns and pieces raise ``RuntimeError``. There is no exact
rational fallback for programs yet. Every option of the public routines is honoured here or refused
with an error (:func:`_lanes`); the norm checks of :mod:`relu_regions._norms` use the local maps
computed here (:func:`program_map_norms`, :func:`program_piece_norms`).
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from relu_regions import _program_walk as W
from relu_regions._config import EngineConfig
from relu_regions._sharding import per_device, ray_mesh, shard_rows
from relu_regions._trace import _fixed
from relu_regions._validate import _as_real_array, check_positive_int, check_range

_CHUNK = 128
"""Rays per device in one compiled batch by default (smaller batches are padded to a power of two)."""

_MAP_CHUNK = 16
"""The most points (or pieces) per compiled batch of local maps: each point's map takes one walk of
the program per input coordinate, all in memory at once."""


def _points(prog, value, what: str, batched: bool) -> np.ndarray:
    arr = _as_real_array(value, what).astype(np.float64)
    want = ((arr.shape[0],) if batched and arr.ndim else ()) + tuple(prog.in_shape)
    if arr.shape != want:
        lead = "(B,) + " if batched else ""
        raise ValueError(f"{what}: expected shape {lead}{tuple(prog.in_shape)} (the model's input shape), "
                         f"got {arr.shape}")
    return arr


def _lanes(config, what: str) -> int | None:
    """The program walker's lanes per device from ``config`` (None: its default, a quarter of a batch's
    side walks, 8 to 64: :func:`relu_regions._program_walk.lane_count`).

    ``config.lanes`` means what it means for MLPs: side walks per device stepping together on the work
    queue. ``walk_lanes`` (how the MLP queue's lanes split between region steps and float32
    certification), ``small`` (when a small MLP batch bypasses the queue) and ``streams`` (the MLP engine's
    threads) have no counterpart in the program walker, whose every step both walks and certifies, so
    setting them is an error (never silently ignored)."""
    if config is None:
        return None
    if not isinstance(config, EngineConfig):
        raise TypeError(f"{what}: config must be a relu_regions.EngineConfig or None, got {type(config).__name__}")
    default = EngineConfig()
    unused = [f"{name}={getattr(config, name)!r}" for name in ("walk_lanes", "small", "streams")
              if getattr(config, name) != getattr(default, name)]
    if unused:
        raise ValueError(f"{what}: config sets {', '.join(unused)}: settings of the MLP engine only; a traced "
                         "program (a model that is not a dense ReLU chain) is walked by the program walker, "
                         "whose every step both walks and certifies, so the setting cannot apply. Leave "
                         "walk_lanes, small and streams at their defaults (config.lanes is honoured: side walks per "
                         "device stepping together)")
    return config.lanes


@partial(jax.jit, static_argnames=("max_steps", "count", "mesh", "n_lanes"))
def _intervals_sharded(prog, xs, ds, lo, hi, max_steps: int, count: bool, mesh, n_lanes=None):
    """:func:`relu_regions._program_walk.intervals` with the rays split over ``mesh`` (the program
    replicated; no communication between devices)."""
    fn = per_device(lambda p, *rays: W.intervals(p, *rays, max_steps, count, n_lanes), mesh, n_replicated=1,
                    n_out=2)
    return fn(prog, xs, ds, lo, hi)


def program_intervals(prog, xs, ds, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000, batch_size: int = 2048,
                      progress: bool = False, count_regions: bool = False, devices=None, config=None) -> tuple:
    """Fields of ``Interval`` for rays ``xs[i] + t ds[i]`` (``(B,) + in_shape``).

    Every option of :func:`relu_regions.exact_intervals` applies: rays go in compiled batches of at
    most ``batch_size`` rays per device (and at most 128), ``config.lanes`` sets the walker's lanes
    (:func:`_lanes`), ``devices`` splits every batch over those devices (the program replicated),
    ``progress`` shows a bar over the batches, ``max_steps`` bounds each side's steps and
    ``count_regions`` counts regions."""
    xs = _points(prog, xs, "xs", True)
    ds = _points(prog, ds, "ds", True)
    if xs.shape != ds.shape:
        raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
    n = xs.shape[0]
    lo, hi = check_range(t_min, t_max, n)
    max_steps = check_positive_int(max_steps, "max_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    n_lanes = _lanes(config, "exact_intervals")
    mesh = None if devices is None else ray_mesh(devices)
    n_dev = 1 if mesh is None else mesh.devices.size
    per_dev = min(batch_size, _CHUNK, 1 << max(-(-n // n_dev) - 1, 0).bit_length())
    chunk = per_dev * n_dev
    parts = []
    with jax.enable_x64(True):
        for s in tqdm(range(0, n, chunk), disable=not progress, desc="exact GIs", unit="chunk"):
            k = min(chunk, n - s)
            # The last chunk is padded with its first ray over the empty range [0, 0]: nothing walked twice.
            take = np.concatenate([np.arange(s, s + k), np.full(chunk - k, s)])
            real = np.arange(chunk) < k
            t_lo = np.where(real, lo[take], 0.0).astype(np.float64)
            t_hi = np.where(real, hi[take], 0.0).astype(np.float64)
            rays = [xs[take], ds[take], t_lo, t_hi]
            if mesh is None:
                out = W.intervals(prog, *rays, max_steps, count_regions, n_lanes)
            else:
                out = _intervals_sharded(prog, *shard_rows(mesh, rays), max_steps=max_steps, count=count_regions,
                                         mesh=mesh, n_lanes=n_lanes)
            parts.append(jax.tree.map(lambda a: np.asarray(a)[:k], out))
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
                          "is -1", RuntimeWarning, stacklevel=4)
    if not exact.all():
        why = [f"ray {i}: " + ("the walk met more than max_steps={} regions".format(max_steps) if not finished[i]
                               else "float64 cannot certify the GI (a class change or tie within rounding "
                               "error, or overflow); no exact fallback for traced programs")
               for i in np.flatnonzero(~exact)[:5]]
        warnings.warn(f"{int(np.sum(~exact))} of {n} rays have no certified answer; their lo/hi are NaN: "
                      + "; ".join(why), RuntimeWarning, stacklevel=4)
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


def _rows_padded(n: int, size: int, start: int) -> np.ndarray:
    """Row indices of the batch at ``start`` of ``size`` rows, the missing ones repeating ``start``."""
    k = min(size, n - start)
    return np.concatenate([np.arange(start, start + k), np.full(size - k, start)])


def _inf_norms(A: jax.Array, n_batch_dims: int, in_ndim: int) -> jax.Array:
    """``||A||_inf`` (largest absolute column sum of ``A`` as an ``(n_in, n_out)`` matrix) per batch row."""
    lead = A.shape[:n_batch_dims]
    n_in = int(np.prod(A.shape[n_batch_dims:n_batch_dims + in_ndim], dtype=np.int64))
    flat = jnp.abs(A).reshape(lead + (n_in, -1))
    return jnp.max(jnp.sum(flat, axis=-2), axis=-1)


def program_map_norms(prog, X, *, batch_size: int, progress: bool = False) -> np.ndarray:
    """``||A(x)||_inf`` ``(B,)`` of the local affine map at every point of ``X`` ``((B,) + in_shape)``,
    in batches of at most ``batch_size`` (and :data:`_MAP_CHUNK`) points; ``RuntimeError`` where a
    point's pattern cannot be certified (as :func:`program_local_map`)."""
    X = _points(prog, X, "X", True)
    n = X.shape[0]
    size = min(batch_size, _MAP_CHUNK, 1 << max(n - 1, 0).bit_length())
    out = []
    for s in tqdm(range(0, n, size), disable=not progress, desc="norms at points", unit="chunk"):
        A, _ = program_local_map(prog, X[_rows_padded(n, size, s)])
        with jax.enable_x64(True):
            out.append(np.asarray(_inf_norms(jnp.asarray(A), 1, len(prog.in_shape)))[: min(size, n - s)])
    return np.concatenate(out) if out else np.zeros(0)


@partial(jax.jit, static_argnames="capacity")
def _segments_kernel(prog, x0s, ds, capacity: int):
    """:func:`relu_regions._program_walk.two_sided` over ``t`` in ``[0, 1]`` for a batch of segments."""
    def one(x, d):
        return W.two_sided(prog, x, d, jnp.zeros((), x.dtype), jnp.ones((), x.dtype), capacity)
    return jax.vmap(one)(x0s, ds)


def program_segment_sides(prog, x0s, ds, capacity: int, first: int = 0, what: str = "segment_norms"):
    """``(sides, complete)`` for the segments ``x0s[i] + t ds[i]``, ``t`` in ``[0, 1]`` (one compiled
    batch): per segment the ``(forwards, backwards)`` :class:`ProgramSide` pair for
    ``relu_regions._pieces._join``, and whether every walk fitted in ``capacity`` rows. ``RuntimeError``
    (from ``what``) naming the first segment (numbered from ``first``) whose partition float64 cannot
    certify."""
    with jax.enable_x64(True):
        rec = jax.device_get(_segments_kernel(prog, jnp.asarray(x0s), jnp.asarray(ds), capacity))
    complete = np.asarray(rec.complete).all(axis=1)
    if not complete.all():
        return None, False
    cert = np.asarray(rec.cert).all(axis=1)
    if not cert.all():
        raise RuntimeError(f"{what}: segment {first + int(np.flatnonzero(~cert)[0])}: float64 cannot certify the "
                           "partition of the segment (switches that coincide or nearly coincide, or ties within "
                           "rounding error); there is no exact fallback for traced programs yet")
    sides = [tuple(ProgramSide(*(np.asarray(a[i, j][: int(rec.count[i, j])]) for a in rec[:4])) for j in (0, 1))
             for i in range(len(x0s))]
    return sides, True


@jax.jit
def _pieces_kernel(prog, x_mid, patterns):
    choice = jax.vmap(prog.unflatten_choice)(patterns)
    A, _ = _local_maps(prog, x_mid, choice)
    own, _ = jax.vmap(W.point_pattern, in_axes=(None, 0))(prog, x_mid)
    agrees = jnp.all(jax.vmap(prog.flatten_choice)(own) == patterns, axis=1)
    return _inf_norms(A, 1, len(prog.in_shape)), agrees


def program_piece_norms(prog, x_mid, patterns, *, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(composed, agrees)``, each ``(P,)``: ``||A_i||_inf`` of the local map of the piece with the flat
    pattern ``patterns[i]`` (``(P, n_units)``), and whether the midpoint ``x_mid[i]`` (``(P,) + in_shape``)
    has that pattern in float64 (a rounding check), in batches of at most ``batch_size`` (and
    :data:`_MAP_CHUNK`) pieces."""
    n = len(patterns)
    size = min(batch_size, _MAP_CHUNK, 1 << max(n - 1, 0).bit_length())
    composed, agrees = [], []
    with jax.enable_x64(True):
        for s in range(0, n, size):
            take = _rows_padded(n, size, s)
            c, a = _pieces_kernel(prog, jnp.asarray(x_mid[take], jnp.float64),
                                  jnp.asarray(patterns[take], jnp.int32))
            composed.append(np.asarray(c)[: min(size, n - s)])
            agrees.append(np.asarray(a)[: min(size, n - s)])
    if not composed:
        return np.zeros(0), np.zeros(0, bool)
    return np.concatenate(composed), np.concatenate(agrees)
