"""Primitive tables and static index helpers for :mod:`relu_regions._trace`.

Nothing here touches traced values: the tables classify JAX primitives by name, and the index helpers
build, once at trace time, the numpy gather indices that list the elements of every max-pooling window.
"""

from __future__ import annotations

import numpy as np

# Call-like primitives whose body is inlined (their parameter holding the body, in order of preference).
CALL_PRIMITIVES = {
    "jit": ("jaxpr",),
    "pjit": ("jaxpr",),
    "closed_call": ("call_jaxpr",),
    "core_call": ("call_jaxpr",),
    "custom_jvp_call": ("call_jaxpr",),
    "custom_vjp_call": ("call_jaxpr", "fun_jaxpr"),
    "custom_vjp_call_jaxpr": ("fun_jaxpr", "call_jaxpr"),
    "remat": ("jaxpr",),
    "remat2": ("jaxpr",),
    "checkpoint": ("jaxpr",),
    "custom_lin": (),
}

# Identities in the forward pass (``stop_gradient`` would zero the slopes ``along`` computes).
IDENTITY_PRIMITIVES = {"stop_gradient"}

# Control flow: allowed only when it does not depend on x (then it is constant-folded); ``cond`` with a
# constant branch index is inlined.
CONTROL_PRIMITIVES = {"cond", "while", "scan", "fori_loop", "switch", "map"}

# Each output element is a sum with coefficients +1 (or a copy) of input elements: the |linear map| of
# such an op is the op itself, so error vectors are pushed through by binding the same primitive.
# Operands that are not floating point (gather indices, select predicates) are passed unchanged.
POSITIVE_PRIMITIVES = {
    "reshape", "transpose", "broadcast_in_dim", "squeeze", "expand_dims", "rev", "slice", "pad",
    "concatenate", "gather", "dynamic_slice", "dynamic_update_slice", "reduce_sum", "reduce_window_sum",
    "cumsum", "convert_element_type", "copy", "copy_p", "select_n", "split", "reduce_precision", "add",
    "add_any", "sharding_constraint", "optimization_barrier", "stack", "unstack", "tile", "scatter",
    "scatter-add",
}

# Affine primitives with their own |linear map| rule (see ``_trace._abs_rule``).
SIGNED_PRIMITIVES = {"sub", "neg", "mul", "div", "dot_general", "conv_general_dilated"}

AFFINE_PRIMITIVES = POSITIVE_PRIMITIVES | SIGNED_PRIMITIVES

# Comparisons that create binary switching units when an operand depends on x. ``strict``: ``gt``/``lt``
# are false at equality, ``ge``/``le`` true. ``sign``: the deciding quantity is ``a - b`` (+1) or ``b - a``.
COMPARISONS = {"gt": (True, 1), "ge": (False, 1), "lt": (True, -1), "le": (False, -1)}

SWITCH_PRIMITIVES = {"max", "min", "abs", "clamp", "reduce_max", "reduce_min", "reduce_window_max",
                     "reduce_window_min"} | set(COMPARISONS)

# Short explanations for the commonest unsupported primitives (the error names the primitive anyway).
WHY_NOT = {
    "exp": "not piecewise linear", "exp2": "not piecewise linear", "log": "not piecewise linear",
    "log1p": "not piecewise linear", "expm1": "not piecewise linear", "tanh": "not piecewise linear",
    "logistic": "not piecewise linear (sigmoid)", "erf": "not piecewise linear (GELU?)",
    "sqrt": "not piecewise linear", "rsqrt": "not piecewise linear (batch norm in training mode?)",
    "integer_pow": "a power of a value that depends on x is not piecewise linear",
    "square": "a power of a value that depends on x is not piecewise linear",
    "pow": "not piecewise linear", "sin": "not piecewise linear", "cos": "not piecewise linear",
    "reduce_logsumexp": "not piecewise linear (softmax / log-softmax?)",
    "eq": "equality tests of values that depend on x are not supported",
    "ne": "equality tests of values that depend on x are not supported",
    "argmax": "an index chosen from values that depend on x is not supported",
    "argmin": "an index chosen from values that depend on x is not supported",
    "sign": "sign of a value that depends on x is not supported (use abs or a comparison)",
    "floor": "rounding of values that depend on x is not supported",
    "ceil": "rounding of values that depend on x is not supported",
    "round": "rounding of values that depend on x is not supported",
    "sort": "sorting values that depend on x is not supported",
    "cummax": "cumulative max is not supported", "cummin": "cumulative min is not supported",
    "reduce_prod": "a product of values that depend on x is not piecewise linear",
}


def reduce_indices(shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """Flat indices of the elements reduced into each output of ``reduce_max(axes)``.

    Returns an int array of shape ``out_shape + (k,)`` (``k`` = product of the reduced sizes), indexing
    ``x.reshape(-1)``; window element order is row-major over the reduced axes."""
    idx = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    keep = [a for a in range(len(shape)) if a not in axes]
    idx = np.transpose(idx, keep + list(axes))
    out_shape = tuple(shape[a] for a in keep)
    return idx.reshape(out_shape + (-1,))


def window_indices(shape, window_dimensions, window_strides, padding, base_dilation, window_dilation,
                   out_shape) -> np.ndarray:
    """Flat indices of the elements of every window of ``reduce_window_{max,min}``.

    Returns an int array of shape ``out_shape + (k,)`` with ``k = prod(window_dimensions)``, indexing
    ``x.reshape(-1)``; positions that fall into padding or base-dilation holes get index
    ``x.size`` (an extra slot holding the reduction's identity, -inf for max). Window elements are in
    row-major order over the window dimensions."""
    n = int(np.prod(shape, dtype=np.int64))
    dil = np.full(tuple((s - 1) * b + 1 if s > 0 else 0 for s, b in zip(shape, base_dilation)), n,
                  dtype=np.int64)
    dil[tuple(slice(None, None, b) for b in base_dilation)] = np.arange(n, dtype=np.int64).reshape(shape)
    lo = [p[0] for p in padding]
    hi = [p[1] for p in padding]
    if min(lo + hi, default=0) < 0:
        raise NotImplementedError("negative window padding")
    padded = np.pad(dil, list(zip(lo, hi)), constant_values=n)
    grids = []
    for d, (o, w, s, wd) in enumerate(zip(out_shape, window_dimensions, window_strides, window_dilation)):
        pos = np.arange(o)[:, None] * s + np.arange(w)[None, :] * wd        # (out_d, win_d)
        if pos.size and pos.max() >= padded.shape[d]:
            raise ValueError("window runs past the padded input")
        grids.append(pos)
    rank = len(shape)
    # Advanced indexing with one (out_d, win_d) grid per dimension, broadcast over 2 * rank axes.
    index = [_place(pos, d, rank) for d, pos in enumerate(grids)]
    got = padded[tuple(index)]                                                # out_shape + window
    return got.reshape(tuple(out_shape) + (-1,))


def _place(pos: np.ndarray, d: int, rank: int) -> np.ndarray:
    """``pos`` (out_d, win_d) reshaped to broadcast along axes ``d`` and ``rank + d`` of 2*rank axes."""
    shape = [1] * (2 * rank)
    shape[d] = pos.shape[0]
    shape[rank + d] = pos.shape[1]
    return pos.reshape(shape)
