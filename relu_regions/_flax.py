"""Convert Flax MLP parameters into the project's ``[(W, b), ...]`` format.

The project convention is the Flax ``Dense``/``nnx.Linear`` one: ``W`` has
shape ``(in, out)``, ``b`` has shape ``(out,)`` and a layer computes
``y = x @ W + b``. Kernels are therefore copied as they are, never transposed.

Only the layer list is produced; whether consecutive layer sizes chain is
checked elsewhere (``relu_regions._validate``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

__all__ = ["params_from_flax"]

Params = list[tuple[np.ndarray, np.ndarray]]

_NUMBERED = re.compile(r"^(.*?)_?(\d+)$")


def params_from_flax(obj: Any) -> Params:
    """Return the affine layers of a Flax MLP as numpy ``(W, b)`` pairs.

    Accepted inputs:

    * a ``flax.linen`` parameter tree of ``nn.Dense`` layers, with or without
      the outer ``{"params": ...}`` collection key (any other collection, e.g.
      BatchNorm's ``"batch_stats"``, is rejected). Each layer is a mapping
      with a ``"kernel"`` of rank 2 and an optional ``"bias"`` of rank 1.
      Mappings that are not layers are descended into (e.g. sub-modules).
      Within one mapping, layers are ordered by the integer suffix of their
      names when all names share one prefix and end in a number
      (``Dense_0, Dense_1, ..., Dense_10``, or ``layers_0, layers_2``);
      otherwise insertion order is kept. Beware that JAX tree utilities
      (``jax.tree.map`` etc.) sort dict keys, so a tree with custom,
      un-numbered names should be passed before such a transformation.
      A bare single-layer tree ``{"kernel": ..., "bias": ...}`` gives one layer.
    * an ``nnx.Module`` whose ``nnx.Linear`` sub-modules form the MLP. They are
      found with ``nnx.iter_modules`` and ordered by attribute definition order
      (list positions for ``nnx.List``/``nnx.Sequential``), recursively; this
      must match the order in which the module applies them.
    * a list or tuple of ``nnx.Linear`` layers, in order.

    A layer without a bias (``use_bias=False``) gets a zero bias of the
    kernel's dtype. The arrays are fresh, writable numpy copies that keep
    their dtype.

    Raises:
        TypeError: for an unsupported input type or a layer that is not a
            Dense/Linear layer (e.g. Conv, BatchNorm, LayerNorm), naming it.
        ValueError: when no layer is found or a collection other than
            ``"params"`` is present.
    """
    if isinstance(obj, nnx.Module):
        layers = _from_nnx_module(obj)
    elif isinstance(obj, (list, tuple)):
        layers = _from_linear_sequence(obj)
    elif isinstance(obj, Mapping):
        layers = _from_linen_tree(obj)
    else:
        raise TypeError(
            "params_from_flax expects a linen params mapping, an nnx.Module or "
            f"a list/tuple of nnx.Linear, got {type(obj).__name__}"
        )
    if not layers:
        raise ValueError("params_from_flax: no Dense/Linear layer found")
    return layers


# --------------------------------------------------------------------- linen


def _from_linen_tree(tree: Mapping) -> Params:
    if "params" in tree and isinstance(tree["params"], Mapping):
        others = sorted(str(k) for k in tree if k != "params")
        if others:
            raise ValueError(
                f"unsupported variable collections {others} next to 'params' "
                "(e.g. BatchNorm 'batch_stats'); only Dense MLPs are supported"
            )
        tree = tree["params"]
    if "kernel" in tree:
        return [_linen_layer("<root>", tree)]
    layers: Params = []
    _collect_linen(tree, "", layers)
    return layers


def _collect_linen(tree: Mapping, prefix: str, out: Params) -> None:
    for name in _ordered_names(list(tree)):
        value = tree[name]
        path = f"{prefix}{name}"
        if not isinstance(value, Mapping):
            raise TypeError(
                f"unexpected leaf {path!r} ({type(value).__name__}) in the params "
                "tree: expected Dense layers with 'kernel' and 'bias'"
            )
        if "kernel" in value:
            out.append(_linen_layer(path, value))
        elif any(not isinstance(v, Mapping) for v in value.values()):
            raise TypeError(
                f"layer {path!r} has parameters {sorted(map(str, value))}: "
                "not a Dense layer (BatchNorm/LayerNorm/Embed etc. are unsupported)"
            )
        else:
            _collect_linen(value, f"{path}/", out)


def _ordered_names(names: list) -> list:
    """Numeric-suffix order when all names are ``<same prefix><int>``."""
    matches = [_NUMBERED.match(str(n)) for n in names]
    if names and all(matches) and len({m.group(1) for m in matches}) == 1:
        return [n for _, n in sorted(zip((int(m.group(2)) for m in matches), names))]
    return names


def _linen_layer(path: str, layer: Mapping) -> tuple[np.ndarray, np.ndarray]:
    extra = sorted(str(k) for k in layer if k not in ("kernel", "bias"))
    if extra:
        raise TypeError(
            f"layer {path!r} has unsupported parameters {extra}: not a Dense layer"
        )
    kernel = np.array(layer["kernel"])
    bias = np.array(layer["bias"]) if "bias" in layer else None
    return _checked_pair(path, kernel, bias)


# ----------------------------------------------------------------------- nnx


def _from_linear_sequence(seq: Sequence) -> Params:
    for i, layer in enumerate(seq):
        if not isinstance(layer, nnx.Linear):
            raise TypeError(
                f"element {i} of the sequence is {type(layer).__name__}, "
                "expected nnx.Linear"
            )
    return [_nnx_layer(f"[{i}]", layer) for i, layer in enumerate(seq)]


def _from_nnx_module(module: nnx.Module) -> Params:
    found = {tuple(path): mod for path, mod in nnx.iter_modules(module)}
    layers = []
    for path in sorted(found, key=lambda p: _definition_rank(p, found)):
        mod = found[path]
        name = "/".join(map(str, path)) or "<root>"
        if isinstance(mod, nnx.Linear):
            layers.append(_nnx_layer(name, mod))
            continue
        owned = sorted(
            k for k, v in vars(mod).items() if isinstance(v, (nnx.Param, nnx.BatchStat))
        )
        if owned:
            raise TypeError(
                f"sub-module {name!r} is {type(mod).__name__} with parameters "
                f"{owned}: only nnx.Linear layers are supported"
            )
    return layers


def _definition_rank(path: tuple, found: dict) -> tuple:
    """Position of each path component in its parent's attribute order."""
    rank = []
    for depth, part in enumerate(path):
        parent = found.get(path[:depth])
        attrs = list(vars(parent)) if parent is not None else []
        key = str(part)
        rank.append(attrs.index(key) if key in attrs else len(attrs))
    return tuple(rank)


def _nnx_layer(name: str, layer: nnx.Linear) -> tuple[np.ndarray, np.ndarray]:
    kernel = np.array(layer.kernel.get_value())
    bias = None if layer.bias is None else np.array(layer.bias.get_value())
    return _checked_pair(name, kernel, bias)


# -------------------------------------------------------------------- shared


def _checked_pair(
    name: str, kernel: np.ndarray, bias: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if kernel.ndim != 2:
        raise TypeError(
            f"layer {name!r} has a kernel of rank {kernel.ndim} (shape "
            f"{kernel.shape}); only rank-2 Dense kernels are supported (not Conv)"
        )
    if not jnp.issubdtype(kernel.dtype, jnp.floating):  # bfloat16-aware
        raise TypeError(f"layer {name!r} has a non-float kernel ({kernel.dtype})")
    if bias is None:
        bias = np.zeros(kernel.shape[1], dtype=kernel.dtype)
    elif bias.ndim != 1:
        raise TypeError(
            f"layer {name!r} has a bias of rank {bias.ndim}; expected rank 1"
        )
    return kernel, bias
