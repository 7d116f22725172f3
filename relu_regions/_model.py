"""What the public routines accept as a model: a ``(W, b)`` list, a JAX callable or a traced Program.

``resolve(model, x, batched)`` turns a model into exactly one of ``(program, None)`` or ``(None,
params)``: a callable ``f(x) -> logits`` (one unbatched example of any input shape) is traced in float64
(:func:`relu_regions.trace`); a program that is a plain dense + ReLU chain becomes its ``(W, b)`` list
(``Program.as_mlp``), so it goes through the MLP engine and gets bit-for-bit the same answers.

Callables are traced on every call (tracing is cheap, and it sees weights changed in place), but the
static part of a program with the same structure as an earlier one is reused, so the walker's jitted
code (keyed on that static part) is compiled once per structure and batch shape, not once per call.
For a tight loop over single rays, trace once (``relu_regions.trace``) and pass the program.

``accepts_models(program_fn, result, batched)`` wraps a public ``fn(params, x, ...)`` so that it takes
any of the three: lists (and anything else: ``fn`` validates it) go to ``fn`` unchanged, MLP programs to ``fn`` with their list, other programs
to ``program_fn(prog, x, ...)`` (its tuple of fields is made a ``result`` when one is given).
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._trace import Program, trace
from relu_regions._validate import _has_subnormal, subnormal_error

_STATICS: OrderedDict = OrderedDict()      # structure signature -> a Program's static part (LRU)
_MAX_STATICS = 32


def _signature(prog: Program) -> tuple:
    s = prog._s
    ops = tuple((op.kind, op.prim.name, repr(sorted(op.params.items())), op.ins, op.outs, op.lin, op.switch,
                 op.sign, None if op.idx is None else op.idx.tobytes()) for op in s.ops)
    consts = tuple((tuple(np.shape(c)), str(jnp.result_type(c))) for c in prog._consts)
    return ops, s.out, s.in_shape, str(s.in_dtype), s.out_shape, consts, s.subnormal_at


def program_key(prog: Program) -> str:
    """A text that identifies a program's structure across processes (its static part: operations, their
    parameters, shapes and dtypes; object addresses in reprs removed). The constants are not in it."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(_signature(prog)))


def _reuse_static(prog: Program) -> Program:
    key = _signature(prog)
    if key in _STATICS:
        _STATICS.move_to_end(key)
        return Program(_STATICS[key], prog._consts)
    _STATICS[key] = prog._s
    if len(_STATICS) > _MAX_STATICS:
        _STATICS.popitem(last=False)
    return prog


def program_of(f, example) -> Program:
    """Trace ``f`` in float64 on an example of the input's shape (its values do not matter)."""
    example = np.asarray(example)
    with jax.enable_x64(True):
        try:
            prog = trace(f, jnp.zeros(example.shape, jnp.float64))
        except TypeError as e:
            if "dtype" not in str(e):
                raise
            raise TypeError(f"tracing f on a float64 input of shape {example.shape} failed: {e}. Exact "
                            "routines run the model in float64: give it float64 weights, or let its "
                            "operations promote (e.g. cast kernels with .astype(x.dtype))") from e
    return _reuse_static(prog)


def resolve(model, x, batched: bool | None):
    """``(program, None)`` or ``(None, params)`` for a model and its input ``x``.

    ``batched``: whether ``x`` carries a leading batch axis (``None``: a point routine; a program tells
    by its input shape, a callable is traced on ``x`` as one example)."""
    if isinstance(model, Program):
        prog = model
    elif callable(model):
        example = np.asarray(x)
        if batched:
            if example.ndim == 0 or example.shape[0] == 0:
                raise ValueError("xs: expected a non-empty batch (B,) + the model's input shape")
            example = example[0]
        prog = program_of(model, example)
    else:
        raise TypeError(f"params: expected a list of (W, b) pairs, a JAX callable f(x) -> logits or a "
                        f"relu_regions.Program, got {type(model).__name__}")
    mlp = program_layers(prog)
    return (None, mlp) if mlp is not None else (prog, None)


def program_layers(prog: Program) -> list | None:
    """The ``(W, b)`` list of a program that is exactly an MLP (``Program.as_mlp``), else None, after the
    refusals of :func:`_check_float64` (every routine that takes a program goes through here)."""
    _check_float64(prog)
    with jax.enable_x64(True):                           # (reading a block's W may evaluate it)
        return prog.as_mlp()


def _check_float64(prog: Program) -> None:
    """Refuse what float64 error bounds cannot cover: a program traced in another precision, values that
    depend on x in another precision (a cast such as ``.astype(jnp.float32)``), and subnormal constants,
    which XLA's CPU kernels read as zero."""
    if jnp.dtype(prog.in_dtype) != jnp.float64:
        raise TypeError(f"the program was traced in {jnp.dtype(prog.in_dtype)}; exact routines need float64: "
                        "trace inside jax.enable_x64(True) with a float64 example (or pass a callable to "
                        "routines that take one)")
    s = prog._s
    other = sorted({str(a.dtype) for a, lin in zip(s.avals, s.lin) if lin and jnp.dtype(a.dtype) != jnp.float64})
    if other:
        raise TypeError(f"the model computes values that depend on x in {', '.join(other)}; exact routines "
                        "need float64 throughout: remove casts such as .astype(jnp.float32), or cast to x.dtype")
    if s.subnormal_at:
        raise subnormal_error(f"the model's constant folding at {s.subnormal_at} (a subnormal input, or a product "
                              "or sum of constants that may be subnormal: flushed to 0 on a CPU, not on a GPU)")
    for i, c in enumerate(prog._consts):
        c = np.asarray(c)
        if np.issubdtype(c.dtype, np.floating) and _has_subnormal(c):
            raise subnormal_error(f"the model's constant #{i} (shape {c.shape})", c.dtype)


def model_identity(model, xs) -> tuple[object, list]:
    """``(description, arrays)`` that identify a model given a batch ``xs`` of its inputs: for a ``(W, b)``
    list (or a callable/program that is one) the layer shapes and arrays; for another program its
    ``repr`` and its constants plus its structure (:func:`program_key`). For resumable results and the
    processes' agreement check."""
    if isinstance(model, Program) or callable(model):
        prog, net = resolve(model, xs, batched=True)
        if prog is not None:
            return repr(prog), [np.asarray(c) for c in prog._consts] + [program_key(prog)]
        model = net
    return [list(np.shape(W)) for W, _ in model], [a for W, b in model for a in (W, b)]


def accepts_models(program_fn, result=None, batched: bool | None = True):
    """Decorator for a public ``fn(params, x, ...)``: see the module docstring."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapped(params, x, *args, **kwargs):
            if not (isinstance(params, Program) or callable(params)):
                return fn(params, x, *args, **kwargs)          # (W, b) lists; bad input: fn's errors
            prog, net = resolve(params, x, batched)
            if net is not None:
                return fn(net, x, *args, **kwargs)
            out = program_fn(prog, x, *args, **kwargs)
            return out if result is None else result(*out)

        return wrapped

    return deco
