"""Exact generalization intervals (GIs) along rays.

``GI(x, d)`` is the largest interval ``[lo, hi]`` containing ``t = 0`` inside ``[t_min, t_max]`` on which
the label ``c = argmax f(x)`` stays a maximum of ``f(x + t d)`` (ties at a point do not end it: another
class must strictly exceed ``c``). It is computed by walking the ray region by region from 0 forwards
(to ``t_max``) and backwards (to ``t_min``) in float64 (:mod:`relu_regions._engine`); with
``count_regions=False`` stretches proven free of class change by float32 bounds are skipped instead of
walked. Range ends may be infinite.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._certify import prepare
from relu_regions._network import cast_params
from relu_regions._sharding import ray_mesh
from relu_regions._stream import solve_rays
from relu_regions._validate import check_params, check_points, check_positive_int, check_range, check_ray_batch


class Interval(NamedTuple):
    """A GI (scalars for one ray, ``(B,)`` arrays for a batch).

    lo, hi: ends of the GI, ``t_min <= lo <= 0 <= hi <= t_max``.  length: ``hi - lo``.
    label: ``argmax f(x)`` (lowest index on ties).  lo_class, hi_class: the class that overtakes at
    ``lo``/``hi``, or -1 where the end is the range end.  n_regions: linear regions met in ``[lo, hi]``
    (1 + boundaries crossed on both sides).  exact: False only where ``max_steps`` stopped a walk; then
    lo/hi are NaN.
    """

    lo: np.ndarray
    hi: np.ndarray
    length: np.ndarray
    label: np.ndarray
    lo_class: np.ndarray
    hi_class: np.ndarray
    n_regions: np.ndarray
    exact: np.ndarray


def assemble(sides, label, n_rays: int, count_regions: bool) -> Interval:
    """An :class:`Interval` from side results ``(B, 2)`` (numpy; forwards, backwards) and labels."""
    end, who, cross, finished = (np.asarray(v) for v in sides)
    fwd, bwd = (slice(None), 0), (slice(None), 1)
    exact = finished[fwd] & finished[bwd]
    hi = np.where(exact, end[fwd], np.nan)
    lo = np.where(exact, -end[bwd], np.nan)
    n_regions = (1 + cross[fwd] + cross[bwd]) if count_regions else np.full(n_rays, -1)
    return Interval(lo=lo, hi=hi, length=hi - lo, label=np.asarray(label).astype(np.int64),
                    lo_class=who[bwd].astype(np.int64), hi_class=who[fwd].astype(np.int64),
                    n_regions=n_regions.astype(np.int64), exact=exact)


def exact_intervals(params, xs, ds, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                    batch_size: int = 2048, progress: bool = False, count_regions: bool = True,
                    devices=None) -> Interval:
    """Exact GIs of a batch of rays ``xs[i] + t ds[i]``; ``xs, ds`` are ``(B, n_0)``.

    ``t_min``/``t_max`` are scalars or ``(B,)`` arrays with ``t_min <= 0 <= t_max`` (``-inf``/``inf`` allowed).
    Rays are processed in chunks of ``batch_size`` (one compilation per network shape and chunk size),
    which also makes the computation interruptible between chunks. Returns an :class:`Interval` of
    ``(B,)`` arrays.

    ``count_regions=False`` selects the fast path: stretches of a ray that float32 bound propagation
    proves free of class change (soundly, rounding included) are skipped, and only the rest is walked
    region by region; ``lo``, ``hi`` and the overtaking classes are those of the full walk (the float64
    walk decides every GI end), but ``n_regions`` is not known and is -1. ``max_steps`` then bounds the
    certification attempts and region steps of each side together.

    ``devices``: a list of JAX devices to shard the rays over (``batch_size`` then counts rays per device);
    default: the default device only.
    """
    net, xs, ds, lo_lim, hi_lim = check_ray_batch(params, xs, ds, t_min, t_max)
    n = xs.shape[0]
    max_steps = check_positive_int(max_steps, "max_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    certify = not count_regions and len(net) > 1

    mesh = None if devices is None else ray_mesh(devices)

    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        cp = prepare(p64) if certify else None
        arrays = [a.astype(np.float64) for a in (xs, ds, lo_lim, hi_lim)]
        out = solve_rays(p64, cp, arrays, batch_size=batch_size, max_steps=max_steps, progress=progress,
                         desc="exact GIs", mesh=mesh)
    if out is None:
        empty_i = np.zeros(0, np.int64)
        return Interval(np.zeros(0), np.zeros(0), np.zeros(0), empty_i, empty_i, empty_i, empty_i,
                        np.zeros(0, bool))
    sides, label = out
    r = assemble(sides, label, n, count_regions)
    if not r.exact.all():
        warnings.warn(f"{int((~r.exact).sum())} of {n} rays did not finish within max_steps={max_steps} "
                      "region steps; their lo/hi are NaN (raise max_steps)", RuntimeWarning, stacklevel=2)
    return r


def exact_interval(params, x, d, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                   count_regions: bool = True) -> Interval:
    """Exact GI of one ray ``x + t d`` (``x, d`` of shape ``(n_0,)``) within ``[t_min, t_max]`` (default
    ``[-1, 2]`` as in the paper). Returns an :class:`Interval` of scalars; raises ``RuntimeError`` if the
    walk needs more than ``max_steps`` regions. ``count_regions=False``: see :func:`exact_intervals`."""
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x = check_points(x, n_in, "x", batched=False)
    d = check_points(d, n_in, "d", batched=False)
    check_range(t_min, t_max)
    if np.ndim(t_min) or np.ndim(t_max):
        raise ValueError("exact_interval: t_min and t_max must be scalars (use exact_intervals for a batch)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = exact_intervals(net, x[None], d[None], t_min, t_max, max_steps=max_steps, batch_size=1,
                            count_regions=count_regions)
    if not r.exact[0]:
        raise RuntimeError(f"exact_interval: the ray crosses more than max_steps={max_steps} regions; "
                           "raise max_steps")
    return Interval(*(np.asarray(v[0]).item() if np.ndim(v) else v for v in r))
