"""Import an ONNX graph as a JAX callable ``f(x) -> logits`` of one unbatched example.

``from_onnx(model_or_path)`` reads the graph with the ``onnx`` package (optional extra
``pip install "relu_regions[onnx]"``) and returns a plain function built from ``jax.numpy`` / ``jax.lax``
that :func:`relu_regions.trace` (and every exact routine that accepts callables) understands. Layouts
are ONNX's (NCHW for images). A leading batch dimension of the ONNX input that is 1 or symbolic is
handled for you: the callable takes one example without it, e.g. ``(1, 28, 28)`` for an input declared
``(N, 1, 28, 28)``, and returns the logits without the batch dimension.

PyTorch: export in evaluation mode (batch norm then uses its running statistics and dropout is the
identity), e.g.::

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), "net.onnx",
                      input_names=["x"], output_names=["logits"])
    f = relu_regions.from_onnx("net.onnx")          # f(x) with x of shape (1, 28, 28)
    prog = relu_regions.trace(f, np.zeros((1, 28, 28)))

Supported operators (default domain): Gemm, MatMul, Conv, Relu, LeakyRelu, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, BatchNormalization (inference), Add, Sub, Mul, Div, Neg, Abs, Max, Min,
Clip, Flatten, Reshape, Identity, Dropout (inference), Constant, Transpose, Squeeze, Unsqueeze, Concat,
Shape, Gather (constant indices), Pad (constant mode), Cast (to floating types). Anything else raises
:class:`OnnxError` naming the operator and the node.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from relu_regions._trace import TraceError
from relu_regions._trace_ops import window_indices


class OnnxError(TraceError):
    """Raised for ONNX graphs (or operators, attributes) that ``from_onnx`` does not support."""


def _import_onnx():
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("relu_regions.from_onnx needs the onnx package: pip install 'relu_regions[onnx]' "
                          "(or pip install onnx)") from e
    return onnx


# ----------------------------------------------------------------------------------------------------
# helpers


def _is_np(v) -> bool:
    return isinstance(v, (np.ndarray, np.generic))


class _Ctx:
    def __init__(self, dtype, node):
        self.dtype = dtype
        self.node = node

    def err(self, msg: str) -> OnnxError:
        n = self.node
        return OnnxError(f"ONNX node '{n.name or '<unnamed>'}' (op {n.op_type}): {msg}")

    def f(self, v):
        """A floating operand in the working dtype (numpy constants are cast; jax values kept)."""
        if v is None:
            return None
        if _is_np(v):
            return jnp.asarray(v, self.dtype) if np.issubdtype(v.dtype, np.floating) else jnp.asarray(v)
        return v

    def const(self, v, what: str) -> np.ndarray:
        if v is None:
            return None
        if not _is_np(v):
            raise self.err(f"{what} must be a constant (an initializer or a Constant node), not a value "
                           "computed from the input")
        return np.asarray(v)


def _ints(v) -> list[int]:
    return [int(a) for a in np.asarray(v).reshape(-1)]


def _spatial_pads(ctx, attrs, in_sp, kernel, strides, dilations) -> list[tuple[int, int]]:
    n = len(in_sp)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", ""):
        p = list(attrs.get("pads", [0] * (2 * n)))
        return [(int(p[i]), int(p[n + i])) for i in range(n)]
    if auto == "VALID":
        return [(0, 0)] * n
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(n):
            o = -(-in_sp[i] // strides[i])
            total = max((o - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in_sp[i], 0)
            small = total // 2
            out.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return out
    raise ctx.err(f"unsupported auto_pad {auto!r}")


def _ceil_extra(in_sp, pads, kernel, strides, dilations):
    """Extra end padding so that the output size follows ``ceil_mode=1`` (PyTorch's rule: the last
    window must start inside the input or its left padding)."""
    extra = []
    for i in range(len(in_sp)):
        eff = (kernel[i] - 1) * dilations[i] + 1
        span = in_sp[i] + pads[i][0] + pads[i][1] - eff
        o = -(-span // strides[i]) + 1
        if (o - 1) * strides[i] >= in_sp[i] + pads[i][0]:
            o -= 1
        extra.append(max((o - 1) * strides[i] + eff - (in_sp[i] + pads[i][0] + pads[i][1]), 0))
    return extra


def _pool_geometry(ctx, x, attrs):
    n = x.ndim - 2
    if n < 1:
        raise ctx.err(f"expected an input of rank >= 3 (N, C, spatial...), got shape {tuple(x.shape)}")
    kernel = _ints(attrs["kernel_shape"]) if "kernel_shape" in attrs else None
    if kernel is None:
        raise ctx.err("kernel_shape is required")
    strides = _ints(attrs.get("strides", [1] * n))
    dil = _ints(attrs.get("dilations", [1] * n))
    pads = _spatial_pads(ctx, attrs, x.shape[2:], kernel, strides, dil)
    extra = [0] * n
    if int(attrs.get("ceil_mode", 0)):
        extra = _ceil_extra(x.shape[2:], pads, kernel, strides, dil)
    return kernel, strides, dil, pads, extra


# ----------------------------------------------------------------------------------------------------
# operators: op(ctx, inputs, attrs) -> list of outputs


def _gemm(ctx, ins, at):
    A, B = ctx.f(ins[0]), ctx.f(ins[1])
    C = ctx.f(ins[2]) if len(ins) > 2 else None
    if int(at.get("transA", 0)):
        A = A.T
    if int(at.get("transB", 0)):
        B = B.T
    y = A @ B
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    if alpha != 1.0:
        y = y * alpha
    if C is not None:
        y = y + (C if beta == 1.0 else C * beta)
    return [y]


def _matmul(ctx, ins, at):
    return [jnp.matmul(ctx.f(ins[0]), ctx.f(ins[1]))]


_SPATIAL = {1: "H", 2: "HW", 3: "DHW"}


def _conv(ctx, ins, at):
    x, w = ctx.f(ins[0]), ctx.f(ins[1])
    b = ctx.f(ins[2]) if len(ins) > 2 else None
    n = x.ndim - 2
    if n not in _SPATIAL:
        raise ctx.err(f"only 1-D, 2-D and 3-D convolutions are supported, got input shape {tuple(x.shape)}")
    kernel = list(w.shape[2:])
    strides = _ints(at.get("strides", [1] * n))
    dil = _ints(at.get("dilations", [1] * n))
    pads = _spatial_pads(ctx, at, x.shape[2:], kernel, strides, dil)
    sp = _SPATIAL[n]
    y = lax.conv_general_dilated(x, w, window_strides=strides, padding=pads, rhs_dilation=dil,
                                 dimension_numbers=("NC" + sp, "OI" + sp, "NC" + sp),
                                 feature_group_count=int(at.get("group", 1)))
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * n)
    return [y]


def _maxpool(ctx, ins, at):
    x = ctx.f(ins[0])
    k, s, d, pads, extra = _pool_geometry(ctx, x, at)
    padding = [(0, 0), (0, 0)] + [(lo, hi + e) for (lo, hi), e in zip(pads, extra)]
    y = lax.reduce_window(x, -jnp.inf, lax.max, (1, 1) + tuple(k), (1, 1) + tuple(s), padding,
                          window_dilation=(1, 1) + tuple(d))
    return [y]


def _avgpool(ctx, ins, at):
    x = ctx.f(ins[0])
    k, s, d, pads, extra = _pool_geometry(ctx, x, at)
    padding = [(0, 0), (0, 0)] + [(lo, hi + e) for (lo, hi), e in zip(pads, extra)]
    window, strides, wdil = (1, 1) + tuple(k), (1, 1) + tuple(s), (1, 1) + tuple(d)
    total = lax.reduce_window(x, 0.0, lax.add, window, strides, padding, window_dilation=wdil)
    counts = _window_counts(x.shape[2:], k, s, d, pads, extra, int(at.get("count_include_pad", 0)))
    if np.all(counts == counts.reshape(-1)[0]):
        return [total / jnp.asarray(counts.reshape(-1)[0], x.dtype)]
    return [total / jnp.asarray(counts, x.dtype)]


def _window_counts(sp, k, s, d, pads, extra, include_pad) -> np.ndarray:
    """Divisor of every average-pooling window (a numpy constant): its elements inside the input, plus
    the explicit padding when ``count_include_pad=1`` (never the ceil_mode extension, as in PyTorch and
    onnxruntime)."""
    ones = np.pad(np.ones(tuple(sp)), list(pads), constant_values=1.0 if include_pad else 0.0)
    ones = np.pad(ones, [(0, e) for e in extra], constant_values=0.0)
    out = tuple((n - (kk - 1) * dd - 1) // ss + 1 for n, kk, ss, dd in zip(ones.shape, k, s, d))
    idx = window_indices(ones.shape, k, s, [(0, 0)] * len(k), [1] * len(k), d, out)
    return np.append(ones.reshape(-1), 0.0)[idx].sum(-1)


def _global_avg(ctx, ins, at):
    x = ctx.f(ins[0])
    return [jnp.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


def _global_max(ctx, ins, at):
    x = ctx.f(ins[0])
    return [jnp.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


def _batchnorm(ctx, ins, at):
    if int(at.get("training_mode", 0)):
        raise ctx.err("training_mode=1 is not supported: export the model in evaluation mode "
                      "(model.eval() in PyTorch)")
    x = ctx.f(ins[0])
    scale, bias, mean, var = (ctx.f(ctx.const(v, name)) for v, name in
                              zip(ins[1:5], ("scale", "B", "input_mean", "input_var")))
    eps = float(at.get("epsilon", 1e-5))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    s = scale / jnp.sqrt(var + eps)
    return [x * s.reshape(shape) + (bias - mean * s).reshape(shape)]


def _binary(fn):
    def op(ctx, ins, at):
        a, b = ins[0], ins[1]
        if _is_np(a) and _is_np(b):
            return [np.asarray(fn(a, b))]
        return [fn(ctx.f(a), ctx.f(b))]
    return op


def _unary(fn):
    def op(ctx, ins, at):
        return [fn(ctx.f(ins[0]))]
    return op


def _nary(fn):
    def op(ctx, ins, at):
        y = ctx.f(ins[0])
        for v in ins[1:]:
            y = fn(y, ctx.f(v))
        return [y]
    return op


def _relu(ctx, ins, at):
    return [jnp.maximum(ctx.f(ins[0]), 0)]


def _leaky(ctx, ins, at):
    return [jax.nn.leaky_relu(ctx.f(ins[0]), float(at.get("alpha", 0.01)))]


def _clip(ctx, ins, at):
    x = ctx.f(ins[0])
    lo = ins[1] if len(ins) > 1 else at.get("min")
    hi = ins[2] if len(ins) > 2 else at.get("max")
    if lo is not None:
        x = jnp.maximum(x, ctx.f(np.asarray(lo)) if isinstance(lo, (float, int)) else ctx.f(lo))
    if hi is not None:
        x = jnp.minimum(x, ctx.f(np.asarray(hi)) if isinstance(hi, (float, int)) else ctx.f(hi))
    return [x]


def _identity(ctx, ins, at):
    return [ins[0]]


def _dropout(ctx, ins, at):
    return [ins[0]]


def _flatten(ctx, ins, at):
    x = ins[0]
    axis = int(at.get("axis", 1))
    axis = axis + x.ndim if axis < 0 else axis
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, -1)]


def _reshape(ctx, ins, at):
    x = ins[0]
    shape = _ints(ctx.const(ins[1], "the target shape"))
    allowzero = int(at.get("allowzero", 0))
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def _constant(ctx, ins, at):
    onnx = _import_onnx()
    if "value" in at:
        return [onnx.numpy_helper.to_array(at["value"])]
    for key, dt in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                    ("value_ints", np.int64)):
        if key in at:
            return [np.asarray(at[key], dtype=dt)]
    raise ctx.err(f"unsupported Constant attributes {sorted(at)}")


def _transpose(ctx, ins, at):
    x = ins[0]
    perm = at.get("perm")
    perm = tuple(int(p) for p in perm) if perm is not None else tuple(reversed(range(x.ndim)))
    return [np.transpose(x, perm) if _is_np(x) else jnp.transpose(x, perm)]


def _axes(ctx, ins, at, ndim):
    axes = at.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = _ints(ctx.const(ins[1], "axes"))
    if axes is None:
        return None
    return tuple(int(a) % ndim for a in axes)


def _squeeze(ctx, ins, at):
    x = ins[0]
    axes = _axes(ctx, ins, at, x.ndim)
    if axes is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    return [np.squeeze(x, axes) if _is_np(x) else jnp.squeeze(x, axes)]


def _unsqueeze(ctx, ins, at):
    x = ins[0]
    raw = at.get("axes")
    if raw is None:
        raw = _ints(ctx.const(ins[1], "axes"))
    out_rank = x.ndim + len(raw)
    axes = sorted(int(a) % out_rank for a in raw)
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return [x.reshape(shape)]


def _concat(ctx, ins, at):
    axis = int(at["axis"])
    vals = [v for v in ins if v is not None]
    if all(_is_np(v) for v in vals):
        return [np.concatenate(vals, axis=axis)]
    return [jnp.concatenate([ctx.f(v) for v in vals], axis=axis)]


def _shape(ctx, ins, at):
    shape = np.asarray(ins[0].shape, dtype=np.int64)
    start, end = at.get("start", 0), at.get("end")
    return [shape[int(start):(int(end) if end is not None else None)]]


def _gather(ctx, ins, at):
    x = ins[0]
    idx = ctx.const(ins[1], "Gather indices").astype(np.int64)
    axis = int(at.get("axis", 0)) % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return [np.take(x, idx, axis=axis) if _is_np(x) else jnp.take(x, jnp.asarray(idx), axis=axis)]


def _pad(ctx, ins, at):
    mode = at.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        raise ctx.err(f"only mode='constant' is supported, got {mode!r}")
    x = ctx.f(ins[0])
    pads = _ints(ctx.const(ins[1], "pads")) if len(ins) > 1 and ins[1] is not None else _ints(at["pads"])
    value = ins[2] if len(ins) > 2 and ins[2] is not None else at.get("value", 0.0)
    value = float(np.asarray(ctx.const(np.asarray(value) if not isinstance(value, jax.Array) else value,
                                       "constant_value")).reshape(()))
    if len(ins) > 3 and ins[3] is not None:
        raise ctx.err("the axes input of Pad is not supported")
    n = x.ndim
    cfg = [(pads[i], pads[n + i], 0) for i in range(n)]
    return [lax.pad(x, jnp.asarray(value, x.dtype), cfg)]


def _cast(ctx, ins, at):
    onnx = _import_onnx()
    to = onnx.helper.tensor_dtype_to_np_dtype(int(at["to"]))
    x = ins[0]
    if _is_np(x):
        return [x.astype(to)]
    if not np.issubdtype(to, np.floating):
        raise ctx.err(f"casting a value computed from the input to {np.dtype(to)} is not supported")
    return [x]  # float casts keep the working dtype


_OPS: dict[str, Callable] = {
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "Relu": _relu, "LeakyRelu": _leaky,
    "MaxPool": _maxpool, "AveragePool": _avgpool, "GlobalAveragePool": _global_avg,
    "GlobalMaxPool": _global_max, "BatchNormalization": _batchnorm,
    "Add": _binary(lambda a, b: a + b), "Sub": _binary(lambda a, b: a - b),
    "Mul": _binary(lambda a, b: a * b), "Div": _binary(lambda a, b: a / b),
    "Neg": _unary(lambda a: -a), "Abs": _unary(abs), "Max": _nary(jnp.maximum), "Min": _nary(jnp.minimum),
    "Clip": _clip, "Flatten": _flatten, "Reshape": _reshape, "Identity": _identity, "Dropout": _dropout,
    "Constant": _constant, "Transpose": _transpose, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Concat": _concat, "Shape": _shape, "Gather": _gather, "Pad": _pad, "Cast": _cast,
}


# ----------------------------------------------------------------------------------------------------


def _dims(value_info) -> list:
    """Declared dims of a graph input/output: ints, or None for symbolic/unknown ones."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]


def from_onnx(model_or_path, *, batch_dim: bool | None = None, strip_softmax: bool = False) -> Callable:
    """An ONNX model as a JAX callable ``f(x) -> logits`` of one unbatched example.

    ``model_or_path``: an ``onnx.ModelProto``, a path to a ``.onnx`` file, or the file's bytes.
    ``batch_dim``: whether the ONNX input's first dimension is a batch dimension of size 1 to add before
    and remove after the graph; ``None`` (default): yes when the input has rank >= 2 and its first
    dimension is 1 or symbolic. Shapes follow the ONNX graph (NCHW): for an input declared
    ``(N, 1, 28, 28)``, ``f`` takes ``x`` of shape ``(1, 28, 28)`` and returns ``(n_classes,)``.
    Initializers are cast to ``x``'s floating dtype (float64 analysis of a float32 model works).
    ``strip_softmax``: when the graph ends in Softmax or LogSoftmax over the class axis, drop it and
    return its input (the logits): the predicted class, hence every GI, is unchanged, and what is left
    is piecewise linear. Off by default (then such a graph raises :class:`OnnxError`).

    The returned function has attributes ``input_shape`` (the unbatched shape, None for unknown dims),
    ``input_name``, ``output_name`` and ``batch_dim``. Raises :class:`OnnxError` (a ``TraceError``,
    hence a ``ValueError``) for unsupported operators, naming the operator and the node, up front.
    """
    onnx = _import_onnx()
    if isinstance(model_or_path, (str, os.PathLike)):
        model = onnx.load(os.fspath(model_or_path))
    elif isinstance(model_or_path, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model_or_path))
    elif isinstance(model_or_path, onnx.ModelProto):
        model = model_or_path
    else:
        raise TypeError(f"from_onnx: expected an onnx.ModelProto, a path or bytes, got "
                        f"{type(model_or_path).__name__}")
    graph = model.graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise OnnxError(f"from_onnx: expected one graph input (besides initializers), got "
                        f"{[i.name for i in inputs]}")
    if len(graph.output) != 1:
        raise OnnxError(f"from_onnx: expected one graph output (the logits), got "
                        f"{[o.name for o in graph.output]}")
    nodes = list(graph.node)
    out = graph.output[0]
    out_name = out.name
    if strip_softmax and nodes and nodes[-1].op_type in ("Softmax", "LogSoftmax") \
            and list(nodes[-1].output) == [out_name]:
        out_name = nodes[-1].input[0]
        nodes = nodes[:-1]
    for node in nodes:
        if node.domain not in ("", "ai.onnx"):
            raise OnnxError(f"ONNX node '{node.name or '<unnamed>'}': operator {node.domain}.{node.op_type} "
                            "from a custom domain is not supported")
        if node.op_type not in _OPS:
            raise OnnxError(
                f"ONNX node '{node.name or '<unnamed>'}': unsupported operator '{node.op_type}' (supported: "
                f"{', '.join(sorted(_OPS))}); only piecewise-linear networks can be analysed exactly"
                + ("; a final Softmax can be dropped with strip_softmax=True"
                   if node.op_type in ("Softmax", "LogSoftmax") else ""))
        if node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            raise OnnxError(f"ONNX node '{node.name or '<unnamed>'}' (op MaxPool): the Indices output is "
                            "not supported")
    inp = inputs[0]
    dims = _dims(inp)
    if batch_dim is None:
        batch_dim = len(dims) >= 2 and dims[0] in (1, None)
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in nodes]

    def f(x):
        x = jnp.asarray(x)
        dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
        x = x.astype(dtype)
        env: dict[str, Any] = dict(inits)
        env[inp.name] = x[None] if batch_dim else x
        for node, at in zip(nodes, attrs):
            ins = [env[name] if name else None for name in node.input]
            ctx = _Ctx(dtype, node)
            try:
                outs = _OPS[node.op_type](ctx, ins, at)
            except (OnnxError, TraceError):
                raise
            except Exception as e:
                raise ctx.err(f"{type(e).__name__}: {e}") from e
            for name, v in zip(node.output, outs):
                if name:
                    env[name] = v
        y = env[out_name]
        y = jnp.asarray(y, dtype) if _is_np(y) else y
        if batch_dim:
            if y.ndim == 0 or y.shape[0] != 1:
                raise OnnxError(f"from_onnx: the output {out_name!r} has shape {tuple(y.shape)}; expected a "
                                "leading batch dimension of 1")
            y = y.reshape(y.shape[1:])
        return y

    f.input_shape = tuple(dims[1:] if batch_dim else dims)
    f.input_name = inp.name
    f.output_name = out_name
    f.batch_dim = batch_dim
    f.__name__ = f"onnx_{graph.name or 'model'}"
    f.__doc__ = (f"ONNX graph {graph.name!r} as f(x) -> logits; x of shape {f.input_shape} "
                 f"({'batch dimension added and removed' if batch_dim else 'no batch dimension'}).")
    return f


__all__ = ["OnnxError", "from_onnx"]
