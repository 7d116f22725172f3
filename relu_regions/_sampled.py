"""The sampling baseline: GIs estimated from the predicted class at ``n`` grid points per ray.

The grid is ``n`` evenly spaced points of ``[t_min, t_max]`` plus ``t = 0``. The estimate is the span of the
run of grid points around 0 whose class equals the label: it lies inside the exact GI and misses it by
less than one grid spacing at each finite end, unless a class change shorter than the spacing is
skipped altogether. The first layer is affine in ``t``, so it is computed once per ray.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._chunks import map_in_chunks
from relu_regions._interval import Interval
from relu_regions._network import cast_params
from relu_regions._validate import check_positive_int, check_ray_batch


def sampled_ray(params, x, d, ts):
    """Classes along a ray at ``ts`` ``(n,)``; ``x, d`` ``(n_0,)``. Returns ``(n,)`` int32."""
    W1, b1 = params[0]
    h = (x @ W1 + b1)[None, :] + ts[:, None] * (d @ W1)[None, :]
    for W, b in params[1:]:
        h = jnp.maximum(h, 0) @ W + b
    return jnp.argmax(h, axis=-1).astype(jnp.int32)


def _sampled_kernel(params, x, d, t_min, t_max, n):
    u = jnp.linspace(0.0, 1.0, n, dtype=x.dtype)
    grid = t_min + u * (t_max - t_min)
    ts = jnp.concatenate([jnp.zeros((1,), x.dtype), grid])
    classes = sampled_ray(params, x, d, ts)
    label, classes, grid = classes[0], classes[1:], grid
    bad = classes != label
    hi = jnp.min(jnp.where(bad & (grid > 0), grid, jnp.inf))
    lo = jnp.max(jnp.where(bad & (grid < 0), grid, -jnp.inf))
    # The estimate ends at the last good grid point before the first bad one (or at 0).
    good = (~bad) & (grid < hi) & (grid > lo)
    hi_est = jnp.maximum(jnp.max(jnp.where(good, grid, -jnp.inf)), 0.0)
    lo_est = jnp.minimum(jnp.min(jnp.where(good, grid, jnp.inf)), 0.0)
    return lo_est, hi_est, label


@partial(jax.jit, static_argnames="n")
def sampled_batch(params, xs, ds, t_min, t_max, n):
    """Jitted, vmapped sampled GIs: ``xs, ds`` ``(B, n_0)``, ``t_min, t_max`` ``(B,)``; returns
    ``(lo, hi, label)``, each ``(B,)``, in the dtype of the inputs."""
    return jax.vmap(_sampled_kernel, in_axes=(None, 0, 0, 0, 0, None))(params, xs, ds, t_min, t_max, n)


def sampled_intervals(params, xs, ds, t_min=-1.0, t_max=2.0, *, n: int = 1000, dtype=np.float64,
                      batch_size: int = 1024, progress: bool = False) -> Interval:
    """Sampled GIs of ``xs[i] + t ds[i]`` (``(B, n_0)``) from ``n`` grid points in finite ``[t_min, t_max]``.

    Returns an :class:`Interval` with ``lo_class = hi_class = -1`` (not resolved by sampling), ``n_regions``
    = -1 (unknown) and ``exact`` False. ``dtype`` is float64 or float32.
    """
    net, xs, ds, lo_lim, hi_lim = check_ray_batch(params, xs, ds, t_min, t_max)
    B = xs.shape[0]
    if not (np.all(np.isfinite(lo_lim)) and np.all(np.isfinite(hi_lim))):
        raise ValueError("sampled intervals need a finite range [t_min, t_max]")
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    with jax.enable_x64(dtype == np.float64):
        pj = cast_params(net, dtype)
        out = map_in_chunks(partial(sampled_batch, pj, n=n), (xs, ds, lo_lim, hi_lim), batch_size, dtype,
                            progress, "sampled GIs")
    lo, hi, label = out if out is not None else (np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    lo, hi, label = lo.astype(np.float64), hi.astype(np.float64), label.astype(np.int64)
    minus = -np.ones(B, np.int64)
    return Interval(lo=lo, hi=hi, length=hi - lo, label=label, lo_class=minus, hi_class=minus,
                    n_regions=minus, exact=np.zeros(B, bool), fallback=np.zeros(B, bool))


def sampled_interval(params, x, d, t_min=-1.0, t_max=2.0, *, n: int = 1000, dtype=np.float64) -> Interval:
    """Sampled GI of one ray ``x + t d`` (``(n_0,)``); see :func:`sampled_intervals`."""
    x = np.asarray(x)
    d = np.asarray(d)
    if x.ndim != 1 or d.ndim != 1:
        raise ValueError(f"x and d must be 1-D (n_0,), got {x.shape} and {d.shape}")
    if np.ndim(t_min) or np.ndim(t_max):
        raise ValueError("sampled_interval: t_min and t_max must be scalars")
    r = sampled_intervals(params, x[None], d[None], t_min, t_max, n=n, dtype=dtype, batch_size=1)
    return Interval(*(np.asarray(v[0]).item() for v in r))
