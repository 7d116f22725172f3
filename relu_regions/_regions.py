"""Linear regions at a point: activation pattern, the masked matrices ``W~`` and the local affine map.

A hidden unit is *active* when its pre-activation is strictly positive (a unit at exactly 0 counts as
inactive; both choices give the same output at that point). All functions take one example ``x`` of
shape ``(n_0,)`` (or a batch ``(B, n_0)``); batch them with ``jax.vmap``. On concrete inputs they
validate them and compute in float64 whatever the global flag, and the pattern is the exact one: units
whose sign float64 cannot certify are decided in exact arithmetic. Under ``jit``/``vmap`` of the caller
they are plain functions in the caller's dtype.

Each also takes a JAX callable ``f(x) -> logits`` (``x``: one example of any shape) or a traced program
(``x``: its input shape, or a batch with a leading axis): patterns are then one array per switch
(``Program.switches``), and the local map ``A`` has shape ``in_shape + out_shape`` (see
:mod:`relu_regions._program_api`); dense ReLU chains keep the shapes above.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

import jax
import numpy as np

from relu_regions._exact import ExactNet, exact_pattern
from relu_regions._float64 import _traced, float64_api
from relu_regions._model import accepts_models
from relu_regions._program_api import program_effective_weights, program_local_map, program_pattern
from relu_regions._network import pre_activations
from relu_regions._validate import check_params, check_points
from relu_regions._walk import error_bounds, first_layer, margins, no_pins, region_ahead


def _float_pattern(params, x: Array) -> list[Array]:
    return [z > 0 for z in pre_activations(params, x)]


@accepts_models(program_pattern, batched=None)
def activation_pattern(params, x: Array) -> list[Array]:
    """Boolean masks ``z_l > 0``, one ``(n_l,)`` array per hidden layer (``(B, n_l)`` for a batch)."""
    if _traced((params, x)):
        return _float_pattern(params, x)
    net = check_params(params)
    arr = check_points(x, net[0][0].shape[0], "x", batched=np.ndim(x) == 2)
    rows = arr.reshape(-1, arr.shape[-1]).astype(np.float64)
    masks, certain = _certified_masks(net, rows)
    if not certain.all():
        exact = ExactNet.of(net)
        for i in np.flatnonzero(~certain):
            for l, m in enumerate(exact_pattern(exact, rows[i])):
                masks[l][i] = m
    return [m if arr.ndim == 2 else m[0] for m in masks]


def _certified_masks(net, rows: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Float64 masks of ``rows`` ``(B, n_0)`` and whether every unit's sign is certain (``(B,)``)."""
    with jax.enable_x64(True):
        p64 = [(jnp.asarray(W, jnp.float64), jnp.asarray(b, jnp.float64)) for W, b in net]
        masks, certain = _masks_kernel(p64, jnp.asarray(rows))
        return [np.array(m) for m in masks], np.asarray(certain)


@jax.jit
def _masks_kernel(params, rows):
    def one(x):
        ray = first_layer(params, x, jnp.zeros_like(x))
        region = region_ahead(params, ray, jnp.zeros((), x.dtype), no_pins(params))
        mg = margins(params, region, jnp.int32(0))
        b = error_bounds(params, ray, jnp.zeros((), x.dtype), region, mg, jnp.zeros((), x.dtype))
        ok = [jnp.all(jnp.abs(z) > e) for z, e in zip(region.z, b.ez)]
        return list(region.masks), jnp.all(jnp.stack(ok)) if ok else jnp.bool_(True)
    return jax.vmap(one)(rows)


@accepts_models(program_effective_weights, batched=None)
@float64_api
def effective_weights(params, x: Array) -> list[Array]:
    """The matrices ``W~_l``: each hidden layer's ``W_l`` ``(n_{l-1}, n_l)`` with the columns of the units
    inactive at ``x`` set to zero; the last layer's ``W_L`` is returned unchanged (no ReLU after it)."""
    masks = activation_pattern(params, x)
    tilde = [jnp.where(m[None, :], W, 0) for (W, _), m in zip(params[:-1], masks)]
    return tilde + [params[-1][0]]


@accepts_models(program_local_map, batched=None)
@float64_api
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
