"""The network as a pure function of a plain pytree of ``(W, b)`` pairs.

Shapes: ``W_l`` is ``(n_{l-1}, n_l)``, ``b_l`` is ``(n_l,)``; one example ``x`` is ``(n_0,)`` (or a batch
``(B, n_0)``). Batch with ``jax.vmap(fn, in_axes=(None, 0))``. On concrete inputs the public functions
validate them and compute in float64 (:mod:`relu_regions._float64`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from relu_regions._float64 import float64_api


def cast_params(params, dtype) -> list[tuple[Array, Array]]:
    """The network as jax arrays of ``dtype`` (call inside ``jax.enable_x64(True)`` for float64)."""
    return [(jnp.asarray(W, dtype), jnp.asarray(b, dtype)) for W, b in params]


@float64_api
def forward(params, x: Array) -> Array:
    """Logits ``f(x)`` of shape ``(n_L,)``: ReLU after every layer but the last."""
    h = x
    for W, b in params[:-1]:
        h = jnp.maximum(h @ W + b, 0)
    W, b = params[-1]
    return h @ W + b


@float64_api
def pre_activations(params, x: Array) -> list[Array]:
    """Pre-activations ``z_l = h_{l-1} @ W_l + b_l`` of the hidden layers, each ``(n_l,)``."""
    zs = []
    h = x
    for W, b in params[:-1]:
        z = h @ W + b
        zs.append(z)
        h = jnp.maximum(z, 0)
    return zs


@float64_api
def predict(params, x: Array) -> Array:
    """Predicted class ``argmax f(x)`` (ties go to the lowest index)."""
    return jnp.argmax(forward(params, x), axis=-1)
