"""Exact generalization intervals (GIs) along rays.

``GI(x, d)`` is the largest interval ``[lo, hi]`` containing ``t = 0`` inside ``[t_min, t_max]`` on which
the label ``c = argmax f(x)`` stays a maximum of ``f(x + t d)`` (ties at a point do not end it: another
class must strictly exceed ``c``). It is computed by walking the ray region by region from 0 forwards
(to ``t_max``) and backwards (to ``t_min``) in float64. Range ends may be infinite.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._chunks import map_in_chunks
from relu_regions._network import cast_params, forward
from relu_regions._validate import check_params, check_points, check_positive_int, check_range
from relu_regions._walk import walk_to_class_change


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


def _interval_kernel(params, x, d, t_min, t_max, max_steps):
    """One ray: ``x, d`` ``(n_0,)``, scalar ``t_min <= 0 <= t_max``. Both sides walk as one batch of two."""
    label = jnp.argmax(forward(params, x))
    walk = jax.vmap(walk_to_class_change, in_axes=(None, None, 0, 0, None, None))
    side = walk(params, x, jnp.stack([d, -d]), jnp.stack([t_max, -t_min]), label, max_steps)
    return side, label


@partial(jax.jit, static_argnames="max_steps")
def _batch_kernel(params, xs, ds, t_min, t_max, max_steps):
    return jax.vmap(_interval_kernel, in_axes=(None, 0, 0, 0, 0, None))(params, xs, ds, t_min, t_max, max_steps)


def exact_intervals(params, xs, ds, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                    batch_size: int = 2048, progress: bool = False) -> Interval:
    """Exact GIs of a batch of rays ``xs[i] + t ds[i]``; ``xs, ds`` are ``(B, n_0)``.

    ``t_min``/``t_max`` are scalars or ``(B,)`` arrays with ``t_min <= 0 <= t_max`` (``-inf``/``inf`` allowed).
    Rays are processed in chunks of ``batch_size`` (one compilation per network shape and chunk size),
    which also makes the computation interruptible between chunks. Returns an :class:`Interval` of
    ``(B,)`` arrays.
    """
    net = check_params(params)
    n_in = net[0][0].shape[0]
    xs = check_points(xs, n_in, "xs", batched=True)
    ds = check_points(ds, n_in, "ds", batched=True)
    if xs.shape != ds.shape:
        raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
    n = xs.shape[0]
    lo_lim, hi_lim = check_range(t_min, t_max, n)
    max_steps = check_positive_int(max_steps, "max_steps")
    batch_size = check_positive_int(batch_size, "batch_size")

    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        kernel = partial(_batch_kernel, p64, max_steps=max_steps)
        out = map_in_chunks(kernel, (xs, ds, lo_lim, hi_lim), batch_size, np.float64, progress, "exact GIs")
    if out is None:
        empty_i = np.zeros(0, np.int64)
        return Interval(np.zeros(0), np.zeros(0), np.zeros(0), empty_i, empty_i, empty_i, empty_i,
                        np.zeros(0, bool))
    side, label = out
    end, who, cross, finished = side.end, side.overtaker, side.crossings, side.finished
    label = label.astype(np.int64)
    exact = finished.all(axis=1)
    if not exact.all():
        warnings.warn(f"{int((~exact).sum())} of {n} rays did not finish within max_steps={max_steps} "
                      "region steps; their lo/hi are NaN (raise max_steps)", RuntimeWarning, stacklevel=2)
    hi = np.where(exact, end[:, 0], np.nan)
    lo = np.where(exact, -end[:, 1], np.nan)
    return Interval(lo=lo, hi=hi, length=hi - lo, label=label,
                    lo_class=who[:, 1].astype(np.int64), hi_class=who[:, 0].astype(np.int64),
                    n_regions=(1 + cross.sum(axis=1)).astype(np.int64), exact=exact)


def exact_interval(params, x, d, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000) -> Interval:
    """Exact GI of one ray ``x + t d`` (``x, d`` of shape ``(n_0,)``) within ``[t_min, t_max]`` (default
    ``[-1, 2]`` as in the paper). Returns an :class:`Interval` of scalars; raises ``RuntimeError`` if the
    walk needs more than ``max_steps`` regions."""
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x = check_points(x, n_in, "x", batched=False)
    d = check_points(d, n_in, "d", batched=False)
    check_range(t_min, t_max)
    if np.ndim(t_min) or np.ndim(t_max):
        raise ValueError("exact_interval: t_min and t_max must be scalars (use exact_intervals for a batch)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = exact_intervals(net, x[None], d[None], t_min, t_max, max_steps=max_steps, batch_size=1)
    if not r.exact[0]:
        raise RuntimeError(f"exact_interval: the ray crosses more than max_steps={max_steps} regions; "
                           "raise max_steps")
    return Interval(*(np.asarray(v[0]).item() if np.ndim(v) else v for v in r))
