"""Input validation: every public entry point turns bad input into a clear error, never a wrong number.

Convention: a network is a sequence of ``(W, b)`` pairs, ``W`` of shape ``(in, out)``, ``b`` of shape
``(out,)``, ``y = x @ W + b``, ReLU between layers and no activation after the last layer.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

Params = Sequence[tuple[Any, Any]]


class ParamsError(ValueError):
    """Raised for malformed network parameters."""


def _as_real_array(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        arr = np.asarray(value)
    elif isinstance(value, (list, tuple, int, float)):
        arr = np.asarray(value, dtype=np.float64)
    else:
        raise TypeError(f"{what}: expected an array, got {type(value).__name__}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{what}: expected a real (float or integer) array, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{what}: contains {bad} non-finite value(s) (NaN or inf)")
    if arr.dtype == np.float64 and _has_subnormal(arr):
        raise subnormal_error(what, arr.dtype)
    return arr


def subnormal_error(what: str, dtype=None) -> ValueError:
    """The error for subnormal numbers, which XLA's CPU kernels read as zero (``what``: where they are)."""
    which = "" if dtype is None else f" {np.dtype(dtype)} values (0 < |v| < {np.finfo(dtype).tiny:.3g})"
    return ValueError(f"{what}: contains subnormal{which or ' values'}, which XLA's CPU kernels read as zero, so no "
                      "answer computed in floating point could be certified; round them to 0 or rescale")


def _has_subnormal(arr: np.ndarray) -> bool:
    """Whether a floating-point array holds a subnormal value (float64: its bits without the sign lie in
    ``[1, 2^52)``, checked in cache-sized parts, about 0.3 ns a value)."""
    if arr.dtype != np.float64:
        a = np.abs(arr)
        return bool(np.any((a > 0) & (a < np.finfo(arr.dtype).tiny)))
    bits = np.ascontiguousarray(arr).reshape(-1).view(np.uint64)
    buf = np.empty(max(min(bits.size, 1 << 15), 1), np.uint64)
    for i in range(0, bits.size, buf.size):
        part = buf[: min(buf.size, bits.size - i)]
        np.left_shift(bits[i:i + part.size], np.uint64(1), out=part)  # (the sign bit shifted out)
        np.subtract(part, np.uint64(2), out=part)  # (0 wraps around to the top)
        if part.min() < np.uint64(2**53 - 2):
            return True
    return False


def check_params(params: Params) -> list[tuple[np.ndarray, np.ndarray]]:
    """Validate a network and return it as a list of ``(W, b)`` numpy arrays (dtypes kept).

    Checks: a non-empty list/tuple of pairs; ``W`` rank 2 and ``b`` rank 1 with ``b.shape == (W.shape[1],)``;
    consecutive layers chain (``W[l].shape[1] == W[l+1].shape[0]``); real dtypes; finite values.
    """
    if isinstance(params, dict) or hasattr(params, "iter_modules"):
        raise TypeError(
            "params: got a Flax tree/module; convert it first with relu_regions.params_from_flax(...)"
        )
    if not isinstance(params, (list, tuple)) or len(params) == 0:
        raise ParamsError("params: expected a non-empty list of (W, b) pairs")
    out = []
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ParamsError(
                f"params[{i}]: expected a (W, b) pair, got {type(layer).__name__}"
                + (f" of length {len(layer)}" if isinstance(layer, (list, tuple)) else "")
                + " (only dense layers are supported)"
            )
        W = _as_real_array(layer[0], f"params[{i}] W")
        b = _as_real_array(layer[1], f"params[{i}] b")
        if W.ndim != 2:
            raise ParamsError(f"params[{i}] W: expected rank 2 (in, out), got shape {W.shape}"
                              + (" (convolution kernels are not supported)" if W.ndim == 4 else ""))
        if b.ndim != 1:
            raise ParamsError(f"params[{i}] b: expected rank 1 (out,), got shape {b.shape}")
        if b.shape[0] != W.shape[1]:
            raise ParamsError(
                f"params[{i}]: bias has {b.shape[0]} entries but W has {W.shape[1]} output columns "
                "(W must be (in, out))"
            )
        if out and out[-1][0].shape[1] != W.shape[0]:
            raise ParamsError(
                f"params[{i}]: layer sizes do not chain: layer {i - 1} outputs {out[-1][0].shape[1]} "
                f"units but layer {i} W expects {W.shape[0]} inputs"
            )
        if W.shape[0] == 0 or W.shape[1] == 0:
            raise ParamsError(f"params[{i}] W: empty shape {W.shape}")
        out.append((W, b))
    if out[-1][0].shape[1] < 1:
        raise ParamsError("params: the network has no outputs")
    return out


def check_points(x: Any, n_in: int, what: str, batched: bool) -> np.ndarray:
    """Validate one input ``(n_in,)`` or a batch ``(B, n_in)``; returns a numpy array."""
    arr = _as_real_array(x, what)
    want = 2 if batched else 1
    if arr.ndim != want:
        shape = "(B, n_in)" if batched else "(n_in,)"
        raise ValueError(f"{what}: expected shape {shape} with n_in={n_in}, got {arr.shape}")
    if arr.shape[-1] != n_in:
        raise ValueError(f"{what}: last dimension is {arr.shape[-1]} but the network takes {n_in} inputs")
    return arr


def check_range(t_min: Any, t_max: Any, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the search range ``[t_min, t_max]``: it must contain 0 (infinite ends allowed, NaN not)."""
    lo = np.asarray(t_min, dtype=np.float64)
    hi = np.asarray(t_max, dtype=np.float64)
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise ValueError("t_min/t_max: NaN is not a valid range end")
    if np.any(lo > 0) or np.any(hi < 0):
        raise ValueError(f"the range [t_min, t_max] must contain 0, got [{np.min(lo)}, {np.max(hi)}]"
                         if lo.ndim or hi.ndim else f"the range [t_min, t_max] must contain 0, got [{lo}, {hi}]")
    if n is not None:
        try:
            lo, hi = np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,))
        except ValueError:
            raise ValueError(f"t_min/t_max: shapes {lo.shape} and {hi.shape} do not broadcast to ({n},)") from None
    return lo, hi


def check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what}: expected a positive integer, got {value!r}")
    return int(value)


def check_ray_batch(params: Params, xs: Any, ds: Any, t_min: Any, t_max: Any):
    """Validate a network and a batch of rays ``xs[i] + t ds[i]`` (``(B, n_0)`` each) with their ranges.

    Returns ``(net, xs, ds, t_min, t_max)``: the checked network, the arrays and ``(B,)`` range ends."""
    net = check_params(params)
    n_in = net[0][0].shape[0]
    xs = check_points(xs, n_in, "xs", batched=True)
    ds = check_points(ds, n_in, "ds", batched=True)
    if xs.shape != ds.shape:
        raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
    lo, hi = check_range(t_min, t_max, xs.shape[0])
    return net, xs, ds, lo, hi
