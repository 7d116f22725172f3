"""Linear regions at a point: activation pattern, the masked matrices ``W~`` and the local affine map.

A hidden unit is *active* when its pre-activation is strictly positive (a unit at exactly 0 counts as
inactive; both choices give the same output at that point). All functions take one example ``x`` of
shape ``(n_0,)``; batch them with ``jax.vmap``. They keep the dtype of their inputs: enable
``jax_enable_x64`` and pass float64 for exact work.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from relu_regions._network import pre_activations


def activation_pattern(params, x: Array) -> list[Array]:
    """Boolean masks ``z_l > 0``, one ``(n_l,)`` array per hidden layer."""
    return [z > 0 for z in pre_activations(params, x)]


def effective_weights(params, x: Array) -> list[Array]:
    """The matrices ``W~_l``: each hidden layer's ``W_l`` ``(n_{l-1}, n_l)`` with the columns of the units
    inactive at ``x`` set to zero; the last layer's ``W_L`` is returned unchanged (no ReLU after it)."""
    masks = activation_pattern(params, x)
    tilde = [jnp.where(m[None, :], W, 0) for (W, _), m in zip(params[:-1], masks)]
    return tilde + [params[-1][0]]


def local_linear_map(params, x: Array) -> tuple[Array, Array]:
    """The affine map of ``x``'s linear region: ``f(y) = y @ A + c`` for every ``y`` with the same pattern.

    Returns ``A`` of shape ``(n_0, n_L)``, equal to ``W~_1 @ W~_2 @ ... @ W_L``, and ``c`` of shape ``(n_L,)``.
    """
    masks = activation_pattern(params, x)
    n_in = params[0][0].shape[0]
    A = jnp.eye(n_in, dtype=params[0][0].dtype)
    c = jnp.zeros((n_in,), dtype=params[0][0].dtype)
    for (W, b), m in zip(params[:-1], masks):
        A = jnp.where(m[None, :], A @ W, 0)
        c = jnp.where(m, c @ W + b, 0)
    W, b = params[-1]
    return A @ W, c @ W + b
