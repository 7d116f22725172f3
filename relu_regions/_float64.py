"""Public point functions in float64 whatever the global flag, with their inputs validated.

Called on concrete arrays, a wrapped function checks the network and the point(s), runs under
``jax.enable_x64(True)`` on float64 copies and returns numpy float64 arrays (booleans stay booleans).
Called on JAX tracers (inside ``jit``/``vmap`` of the caller), it is the plain function in the caller's
dtype, so it stays composable.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._validate import check_params, check_points


def _traced(tree) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(tree))


def float64_api(fn):
    """Wrap ``fn(params, x)`` (``x``: ``(n_0,)`` or ``(B, n_0)``) as described in the module docstring."""

    @functools.wraps(fn)
    def wrapped(params, x):
        if _traced((params, x)):
            return fn(params, x)
        net = check_params(params)
        n_in = net[0][0].shape[0]
        arr = check_points(x, n_in, "x", batched=np.ndim(x) == 2)
        with jax.enable_x64(True):
            p64 = [(jnp.asarray(W, jnp.float64), jnp.asarray(b, jnp.float64)) for W, b in net]
            out = fn(p64, jnp.asarray(arr, jnp.float64))
            return jax.tree.map(np.asarray, out)

    return wrapped
