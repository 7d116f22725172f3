"""Trace a JAX callable ``f(x) -> logits`` into a flat piecewise-linear :class:`Program`.

``trace(f, example_x)`` runs ``jax.make_jaxpr`` once on one unbatched example, inlines every call
(``jit``, ``closed_call``, ``custom_jvp_call``, ``custom_vjp_call``, ``checkpoint``; ``cond`` with a
constant predicate; ``lax.scan`` / ``fori_loop`` of static length are unrolled), constant-folds every
equation that does not depend on ``x`` (weights, batch-norm statistics, ``rsqrt(var + eps)`` ...) and
checks that what is left is piecewise linear in ``x``. The result is a flat list of operations on
intermediate arrays, of two sorts:

* **affine** operations (dot_general, convolutions, sums, products and quotients by constants, reshapes,
  transposes, slices, pads, gathers with constant indices, sum and average pooling, type conversions,
  ``select_n`` with a predicate that is fixed once the switches are fixed);
* **switching** operations, each with an array of *units* (``Program.switches``):

  ===========  ===============================  ===================  =====================================
  kind         comes from                       choice per unit      deciding quantity ``q``
  ===========  ===============================  ===================  =====================================
  ``max``      ``max(a, b)`` (ReLU: ``b = 0``)  bool: True -> ``a``   ``a - b``  (True iff ``q > 0``)
  ``min``      ``min(a, b)``                    bool: True -> ``a``   ``b - a``  (True iff ``q > 0``)
  ``abs``      ``abs(a)``                       bool: True -> ``a``   ``a``      (True iff ``q > 0``)
  ``cmp``      ``gt/ge/lt/le(a, b)``            bool: the result      ``a - b`` (gt, ge) or ``b - a``
                                                                      (lt, le); True iff ``q > 0``
                                                                      (gt, lt) or ``q >= 0`` (ge, le)
  ``pool_max`` ``reduce_max``,                  int in ``[0, k)``:    ``x_c - x_j`` for every window
               ``reduce_window_max``            the chosen element    element ``j``, shape ``(..., k)``
  ``pool_min`` ``reduce_min``,                  same                  ``x_j - x_c``
               ``reduce_window_min``
  ===========  ===============================  ===================  =====================================

  ``clamp(lo, x, hi)`` (hard tanh, ``jnp.clip``) becomes ``max(x, lo)`` followed by ``min(., hi)``;
  ``max``/``min`` with a single operand depending on ``x`` are oriented so that ``a`` is that operand
  (``max(0, z)`` and ``max(z, 0)`` are the same ReLU unit with ``q = z``). Leaky ReLU as
  ``jax.nn.leaky_relu`` writes it, ``select_n(x >= 0, slope * x, x)``, is one ``cmp`` unit per element
  followed by an affine select.

With every choice fixed (a *pattern*), the program is affine in ``x``, hence along a ray ``x + t d``
every intermediate value, every logit and every deciding quantity is affine in ``t``. Within the
region of a pattern every *margin* (``Program.margins``) is ``>= 0``: ``q`` for a binary unit whose
choice is True, ``-q`` when False (``q > 0`` for the strict ``gt``/``lt``), ``x_c - x_j >= 0`` for a
max-pooling window (``x_j - x_c`` for min pooling).

Choices are a tuple with one array per switch, ``choice[i].shape == switches[i].shape``: bool for
binary units, int32 for pooling windows. ``Program.flatten_choice`` packs them into one int32 vector of
length ``n_units``.

Everything here is a pure function of arrays: ``evaluate``, ``along``, ``choice_at``, ``margins``,
``after_exit`` and ``abs_propagate`` are jit- and vmap-able (``Program`` is a pytree whose leaves are
its constants; the methods jit themselves once per program when called eagerly). Tracing fixes the
input dtype: trace inside ``jax.enable_x64(True)`` with a float64 example for float64 analysis.

How a region walker uses a program (``relu_regions._program_walk`` is the certified one,
``tests/trace_reference.py`` a plain reference)::

    prog = trace(f, x)                                   # once per network
    c = prog.choice_at(x, d, t0)                         # pattern of the region entered just after t0
    while t < t_max:
        a = prog.along(x, d, t, c)                       # logits a.out + s * a.dout for the region
        g, dg = prog.margins(c, a.q, a.dq)               # (n_constraints,), g >= 0 in the region
        s = min(-g / dg over dg < 0)                     # exit distance (inf: none)
        ... class changes inside [t, t + s] from a.out, a.dout (affine) ...
        hit = (dg < 0) & (-g / dg <= s)                  # the margins that make the exit
        c = prog.choice_at(x, d, t + s, fixed=prog.after_exit(c, hit, dg))
        t = t + s

``prog.flatten_choice(c)`` packs a pattern into ``(n_units,)`` int32 (to store or compare patterns);
``prog.constraint_unit`` / ``constraint_element`` say which unit (and window element) each margin
belongs to; ``prog.rounding_bound(x, d, t, c)`` gives sound bounds on the rounding errors of
``along``'s values and slopes (``relu_regions._trace_round``); ``prog.abs_propagate(c, r)`` bounds how
perturbations ``|e| <= r`` of ``x`` move the logits and the deciding quantities, and with
``consts=True`` gives the magnitudes needed for a rounding-error analysis of every operation;
``prog.as_mlp()`` returns ``(W, b)`` pairs when the program is a plain dense + ReLU chain, so the
existing MLP walker can be used.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax._src import core as jcore
from jax._src import source_info_util

from relu_regions import _trace_ops as T
from relu_regions._validate import _has_subnormal


class TraceError(ValueError):
    """Raised when a callable is not a piecewise-linear function of its input that ``trace`` supports.

    The message names the primitive and the line of user code it came from."""


@dataclasses.dataclass(frozen=True)
class Switch:
    """One switching operation: an array of units, each with a binary or a ``k``-way choice.

    ``kind``: ``max``, ``min``, ``abs``, ``cmp``, ``pool_max`` or ``pool_min`` (see the module docstring);
    ``primitive``: the JAX primitive it came from; ``shape``: the shape of the unit array (and of the
    choice array); ``k``: 2 for binary units, the window size for pooling; ``offset``: index of its first
    unit in the flat unit vector; ``strict``: for binary units, whether the True choice needs ``q > 0``
    (False: ``q >= 0``, for ``ge``/``le``); ``source``: the user code it was traced from."""

    kind: str
    primitive: str
    shape: tuple[int, ...]
    k: int
    offset: int
    strict: bool
    source: str

    @property
    def size(self) -> int:
        """Number of units."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def binary(self) -> bool:
        return self.kind in ("max", "min", "abs", "cmp")

    @property
    def q_shape(self) -> tuple[int, ...]:
        """Shape of the deciding quantities: ``shape`` for binary units, ``shape + (k,)`` for pooling."""
        return self.shape if self.binary else self.shape + (self.k,)


class Along(NamedTuple):
    """Values and slopes ``d/dt`` at ``x + t d`` of the program with every switch frozen.

    ``out``, ``dout``: the logits, shape ``Program.out_shape``; ``q``, ``dq``: one array per switch,
    ``q[i].shape == switches[i].q_shape``, the deciding quantities (padding elements of a pooling
    window: ``q = +inf``, ``dq = 0``; the chosen element itself: exactly 0 and 0)."""

    out: Any
    dout: Any
    q: tuple
    dq: tuple


@dataclasses.dataclass(frozen=True, eq=False)
class _Op:
    kind: str                     # 'bind' | 'pwc' | 'max' | 'min' | 'abs' | 'cmp' | 'kway'
    prim: Any                     # the JAX primitive (bound as is by ``evaluate``)
    params: dict
    ins: tuple[int, ...]          # var ids (>= 0) or constants (-1 - index)
    outs: tuple[int, ...]         # var ids (-1: dropped)
    lin: tuple[bool, ...]         # which inputs are affine in x (given the pattern)
    switch: int = -1
    sign: int = 1                 # cmp: q = sign * (a - b); kway: +1 max, -1 min
    idx: Any = None               # kway: (unit_shape + (k,)) flat indices, x.size = padding slot
    source: str = ""


class _Static:
    """The static part of a program (compared by identity, so jit retraces per program)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


# ----------------------------------------------------------------------------------------------------
# Tracing


class _K:
    """A value known at trace time (does not depend on x)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _subnormal(value) -> bool:
    """Whether a constant holds a subnormal float (XLA's CPU kernels read them as zero)."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):     # (also PRNG keys, ints, bools)
        return False
    return _has_subnormal(np.asarray(value))


_FOLD_PRODUCTS = frozenset({"mul", "dot_general", "conv_general_dilated"})
_FOLD_SUMS = frozenset({"add", "add_any", "sub", "reduce_sum", "cumsum", "dot_general", "conv_general_dilated"})
_FOLD_CHECKED = _FOLD_PRODUCTS | _FOLD_SUMS | {"convert_element_type", "exp", "exp2", "logistic", "square",
                                               "integer_pow", "pow", "reduce_prod", "cumprod", "div"}


def _magnitudes(value) -> np.ndarray:
    """The non-zero magnitudes of a float array, as float64."""
    a = np.abs(np.asarray(value, np.float64)).ravel()
    return a[a > 0]


def _log2_extremes(value) -> tuple[float, float]:
    """``log2`` of the smallest and largest non-zero magnitude (``(inf, -inf)`` if all are zero)."""
    a = _magnitudes(value)
    return (float(np.log2(a.min())), float(np.log2(a.max()))) if a.size else (np.inf, -np.inf)


def _fold_may_underflow(name: str, args, params) -> bool:
    """Whether a constant fold may produce a non-zero value below the smallest normal number ``tiny``:
    XLA's CPU kernels flush it to zero (a GPU may keep it), leaving no subnormal to detect. Conservative,
    in ``log2`` of magnitudes (so nothing overflows here): a product of the operands' smallest magnitudes
    below ``2 tiny`` (``mul``, ``square``, ``div``, matrix products, integer and float powers, products
    along an axis); ``exp``-like functions of arguments below ``log(2 tiny)``; a narrowing conversion of
    a value below the new type's ``2 tiny``; for sums, an addend or product below ``2^p tiny`` (``p`` the
    mantissa bits: every float above that is a multiple of ``tiny``, and so are sums, zero or normal).
    Other primitives (``sin`` ..., complex values) are not checked."""
    floats = [a for a in args if jnp.issubdtype(getattr(a, "dtype", np.int32), jnp.floating)]
    if not floats or name not in _FOLD_CHECKED:                # (nothing scanned for the other primitives)
        return False
    info = jnp.finfo(np.result_type(*[a.dtype for a in floats]))
    floor = float(np.log2(2 * float(info.tiny)))           # log2 of 2 tiny
    logs = [_log2_extremes(a) for a in floats]
    low = [lo for lo, _ in logs]
    if name == "convert_element_type":
        new = np.dtype(params["new_dtype"])
        return (np.issubdtype(new, np.floating) and new.itemsize < floats[0].dtype.itemsize
                and low[0] < float(np.log2(2 * float(jnp.finfo(new).tiny))))
    if name in ("exp", "exp2", "logistic"):
        smallest = float(np.min(np.asarray(floats[0], np.float64), initial=np.inf))
        return smallest < (floor if name == "exp2" else floor * float(np.log(2.0)))
    if name in ("square", "integer_pow", "pow", "reduce_prod", "cumprod"):
        if name == "square":
            exps = [2.0]
        elif name == "integer_pow":
            exps = [float(params["y"])]
        elif name == "pow":
            exps = ([float(v) for v in (np.min(args[1]), np.max(args[1]))] if np.size(args[1]) else [1.0])
        else:
            axes = params.get("axes", params.get("axis", 0))
            axes = axes if isinstance(axes, (tuple, list)) else (axes,)
            exps = [float(np.prod([np.shape(floats[0])[a] for a in axes]))]
        hi = logs[0][1]
        return any(y * base < floor for y in exps for base in (low[0], hi) if np.isfinite(base) and y != 0)
    if name == "div":
        return len(floats) == 2 and low[0] - logs[1][1] < floor
    least = sum(low) if name in _FOLD_PRODUCTS and len(low) == 2 else min(low)
    return least < (floor - 1 + info.nmant if name in _FOLD_SUMS else floor)


def _where(eqn, fallback: str = "") -> str:
    """``file:line (function)`` of the innermost user frame of an equation (plus the innermost frame
    outside installed packages, when different); ``fallback`` (the enclosing call's location) when the
    equation has no user frame (bodies of ``jit``-ed library functions such as ``jax.nn.leaky_relu``)."""
    try:
        frames = list(source_info_util.user_frames(eqn.source_info.traceback))
    except Exception:  # pragma: no cover - depends on JAX internals
        frames = []
    if not frames:
        return fallback or "<unknown location>"

    def fmt(fr):
        return f"{fr.file_name}:{fr.start_line} ({fr.function_name})"

    first = frames[0]
    own = next((fr for fr in frames if "-packages" not in fr.file_name), None)
    if own is not None and own is not first:
        return f"{fmt(own)}, via {fmt(first)}"
    return fmt(first)


def _is_float(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.inexact)


class _Builder:
    def __init__(self):
        self.ops: list[_Op] = []
        self.consts: list[Any] = []
        self._const_ids: dict[int, int] = {}
        self.lin: list[bool] = []          # per var: affine in x (else piecewise constant)
        self.avals: list[Any] = []
        self.switches: list[Switch] = []
        self.n_units = 0
        self.site = ""                     # location of the innermost call being inlined
        self.subnormal_at = None           # where constant folding first met a subnormal input, or a fold
                                           # that may underflow (outputs are checked where they are used,
                                           # as inputs or constants)

    # -- values
    def const(self, value) -> int:
        key = id(value)
        if key not in self._const_ids:
            self._const_ids[key] = len(self.consts)
            self.consts.append(value)
        return -1 - self._const_ids[key]

    def var(self, aval, lin: bool) -> int:
        self.lin.append(lin)
        self.avals.append(aval)
        return len(self.lin) - 1

    def ref(self, a) -> int:
        return self.const(a.value) if isinstance(a, _K) else a

    def is_lin(self, a) -> bool:
        return not isinstance(a, _K) and self.lin[a]

    @staticmethod
    def read(env, v):
        if isinstance(v, jcore.Literal):
            return _K(np.asarray(v.val, dtype=v.aval.dtype))
        return env[v]

    def add_switch(self, kind, primitive, shape, k, strict, source) -> int:
        sw = Switch(kind, primitive, tuple(int(s) for s in shape), int(k), self.n_units, strict, source)
        self.switches.append(sw)
        self.n_units += sw.size
        return len(self.switches) - 1

    # -- equations
    def jaxpr(self, jaxpr, consts, ins):
        env = {}
        for v, c in zip(jaxpr.constvars, consts):
            env[v] = _K(c)
        for v, a in zip(jaxpr.invars, ins):
            env[v] = a
        for eqn in jaxpr.eqns:
            self.eqn(eqn, env)
        return [self.read(env, v) for v in jaxpr.outvars]

    def inline(self, sub, ins, eqn, env):
        outer, self.site = self.site, _where(eqn, self.site)
        try:
            if isinstance(sub, jcore.ClosedJaxpr):
                outs = self.jaxpr(sub.jaxpr, sub.consts, ins)
            else:
                outs = self.jaxpr(sub, [], ins)
        finally:
            self.site = outer
        for v, o in zip(eqn.outvars, outs):
            if not isinstance(v, jcore.DropVar):
                env[v] = o

    def eqn(self, eqn, env):
        name = eqn.primitive.name
        ins = [self.read(env, v) for v in eqn.invars]
        if name in T.CALL_PRIMITIVES:       # inlined even on constants: each fold inside is checked on its own
            for key in T.CALL_PRIMITIVES[name]:
                sub = eqn.params.get(key)
                if isinstance(sub, (jcore.ClosedJaxpr, jcore.Jaxpr)):
                    return self.inline(sub, ins, eqn, env)
            if not all(isinstance(a, _K) for a in ins):
                raise TraceError(f"cannot inline primitive '{name}' at {_where(eqn, self.site)}")
        if all(isinstance(a, _K) for a in ins):                      # constant folding
            outs = eqn.primitive.bind(*[a.value for a in ins], **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            if self.subnormal_at is None and (any(_subnormal(a.value) for a in ins)
                                              or _fold_may_underflow(name, [a.value for a in ins], eqn.params)):
                self.subnormal_at = _where(eqn, self.site)
            for v, o in zip(eqn.outvars, outs):
                if not isinstance(v, jcore.DropVar):
                    env[v] = _K(o)
            return
        where = _where(eqn, self.site)
        if name in T.IDENTITY_PRIMITIVES:                           # forward pass: the identity
            env[eqn.outvars[0]] = ins[0]
            return
        if name == "cond" and isinstance(ins[0], _K):
            branch = eqn.params["branches"][int(np.asarray(ins[0].value))]
            return self.inline(branch, ins[1:], eqn, env)
        if name not in T.CONTROL_PRIMITIVES and any(isinstance(p, (jcore.ClosedJaxpr, jcore.Jaxpr))
                                                    for p in eqn.params.values()):
            raise TraceError(f"unsupported primitive '{name}' applied to a value that depends on the "
                             f"input x, at {where}: a higher-order primitive with a user-defined body")
        if name in T.CONTROL_PRIMITIVES:
            raise TraceError(
                f"unsupported primitive '{name}' at {where}: control flow (cond/while/...) whose "
                "predicate or carried values depend on the input x is not supported; write the network "
                "without data-dependent control flow (Python loops over layers, lax.scan and fori_loop "
                "with static lengths are fine)")
        lin = [self.is_lin(a) for a in ins]
        out_avals = [v.aval for v in eqn.outvars]
        if not any(lin):                                              # piecewise constant
            outs = tuple(-1 if isinstance(v, jcore.DropVar) else self.var(v.aval, False)
                         for v in eqn.outvars)
            self._emit(env, eqn, _Op("pwc", eqn.primitive, dict(eqn.params), tuple(self.ref(a) for a in ins),
                                     outs, tuple(lin), source=where))
            return
        if name in T.SWITCH_PRIMITIVES:
            return self.switch(eqn, name, ins, lin, where, env)
        if name not in T.AFFINE_PRIMITIVES:
            why = T.WHY_NOT.get(name, "not a supported piecewise-linear operation")
            raise TraceError(
                f"unsupported primitive '{name}' applied to a value that depends on the input x, at "
                f"{where}: {why}. relu_regions.trace supports affine operations (dense, convolutions, "
                "sums, products by constants, reshapes, slices, pads, pooling averages, batch norm in "
                "inference mode) and the switches max/min/abs/clamp, comparisons with select "
                "(leaky ReLU) and max pooling")
        nlin = sum(lin)
        if name in ("mul", "dot_general") and nlin != 1:
            raise TraceError(f"unsupported primitive '{name}' at {where}: a product of two values that "
                             "both depend on the input x is not piecewise linear")
        if name == "div" and (lin[1] or not lin[0]):
            raise TraceError(f"unsupported primitive 'div' at {where}: division by a value that depends "
                             "on the input x is not piecewise linear")
        if name == "conv_general_dilated" and lin[1]:
            raise TraceError(f"unsupported primitive '{name}' at {where}: a convolution kernel that "
                             "depends on the input x is not piecewise linear")
        for aval in out_avals:
            if not _is_float(aval.dtype):
                raise TraceError(f"unsupported primitive '{name}' at {where}: it turns a value that "
                                 f"depends on the input x into {aval.dtype} values")
        outs = tuple(-1 if isinstance(v, jcore.DropVar) else self.var(v.aval, True) for v in eqn.outvars)
        self._emit(env, eqn, _Op("bind", eqn.primitive, dict(eqn.params), tuple(self.ref(a) for a in ins),
                                 outs, tuple(lin), source=where))

    def _emit(self, env, eqn, op: _Op):
        self.ops.append(op)
        for v, o in zip(eqn.outvars, op.outs):
            if o >= 0:
                env[v] = o

    def switch(self, eqn, name, ins, lin, where, env):
        aval = eqn.outvars[0].aval
        shape = tuple(aval.shape)
        if name in T.COMPARISONS:
            strict, sign = T.COMPARISONS[name]
            sw = self.add_switch("cmp", name, shape, 2, strict, where)
            out = self.var(aval, False)
            self.ops.append(_Op("cmp", eqn.primitive, dict(eqn.params), tuple(self.ref(a) for a in ins), (out,),
                                tuple(lin), switch=sw, sign=sign, source=where))
            env[eqn.outvars[0]] = out
            return
        if name in ("max", "min"):
            env[eqn.outvars[0]] = self.binary(name, eqn.primitive, ins, lin, aval, where, name)
            return
        if name == "clamp":
            lo, x, hi = ins
            m = self.binary("max", lax.max_p, [x, lo], [lin[1], lin[0]], aval, where, "clamp")
            env[eqn.outvars[0]] = self.binary("min", lax.min_p, [m, hi], [True, lin[2]], aval, where,
                                              "clamp")
            return
        if name == "abs":
            sw = self.add_switch("abs", name, shape, 2, True, where)
            out = self.var(aval, True)
            self.ops.append(_Op("abs", eqn.primitive, dict(eqn.params), (self.ref(ins[0]),), (out,), (True,),
                                switch=sw, source=where))
            env[eqn.outvars[0]] = out
            return
        # pooling: reduce_max / reduce_min / reduce_window_max / reduce_window_min
        in_shape = tuple(eqn.invars[0].aval.shape)
        p = eqn.params
        if name.startswith("reduce_window"):
            try:
                idx = T.window_indices(in_shape, p["window_dimensions"], p["window_strides"], p["padding"],
                                       p["base_dilation"], p["window_dilation"], shape)
            except (NotImplementedError, ValueError) as e:
                raise TraceError(f"unsupported primitive '{name}' at {where}: {e}") from None
        else:
            idx = T.reduce_indices(in_shape, tuple(p["axes"]))
        mx = name.endswith("max")
        sw = self.add_switch("pool_max" if mx else "pool_min", name, shape, idx.shape[-1], True, where)
        out = self.var(aval, True)
        self.ops.append(_Op("kway", eqn.primitive, dict(p), (self.ref(ins[0]),), (out,), (True,), switch=sw,
                            sign=1 if mx else -1, idx=idx.astype(np.int32), source=where))
        env[eqn.outvars[0]] = out

    def binary(self, kind, prim, ins, lin, aval, where, primitive_name) -> int:
        a, b = ins
        la, lb = lin
        if not la:                                 # orient: the operand depending on x first
            a, b, la, lb = b, a, lb, la
        sw = self.add_switch(kind, primitive_name, aval.shape, 2, True, where)
        out = self.var(aval, True)
        self.ops.append(_Op(kind, prim, {}, (self.ref(a), self.ref(b)), (out,), (la, lb), switch=sw,
                            source=where))
        return out


def _sub_jaxprs(params):
    for p in params.values():
        for q in (p if isinstance(p, (tuple, list)) else (p,)):
            if isinstance(q, jcore.ClosedJaxpr):
                yield q.jaxpr
            elif isinstance(q, jcore.Jaxpr):
                yield q


def _has_scan(jaxpr) -> bool:
    return any(e.primitive.name == "scan" or any(_has_scan(j) for j in _sub_jaxprs(e.params))
               for e in jaxpr.eqns)


def _eval_unrolled(jaxpr, consts, *args):
    """Evaluate a jaxpr (under an outer ``make_jaxpr``) with every ``scan`` unrolled and every call
    inlined, keeping each equation's source location. ``lax.scan``/``fori_loop`` with a static length
    over values that depend on x thus become plain, traceable operations."""
    env = {}

    def read(v):
        return v.val if isinstance(v, jcore.Literal) else env[v]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = c
    for v, a in zip(jaxpr.invars, args):
        env[v] = a
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        with source_info_util.user_context(eqn.source_info.traceback,
                                           name_stack=eqn.source_info.name_stack):
            sub = next((eqn.params.get(k) for k in T.CALL_PRIMITIVES.get(name, ())
                        if isinstance(eqn.params.get(k), (jcore.ClosedJaxpr, jcore.Jaxpr))), None)
            if name == "scan":
                outs = _unroll_scan(eqn.params, ins)
            elif sub is not None:
                if isinstance(sub, jcore.ClosedJaxpr):
                    outs = _eval_unrolled(sub.jaxpr, sub.consts, *ins)
                else:
                    outs = _eval_unrolled(sub, [], *ins)
            else:
                outs = eqn.primitive.bind(*ins, **eqn.params)
                outs = outs if eqn.primitive.multiple_results else [outs]
        for v, o in zip(eqn.outvars, outs):
            if not isinstance(v, jcore.DropVar):
                env[v] = o
    return [read(v) for v in jaxpr.outvars]


def _unroll_scan(params, ins):
    nc, nk, length = params["num_consts"], params["num_carry"], int(params["length"])
    body = params["jaxpr"]
    consts, carry, xs = ins[:nc], list(ins[nc:nc + nk]), ins[nc + nk:]
    n_ys = len(body.jaxpr.outvars) - nk
    if length == 0:
        return carry + [jnp.zeros((0,) + tuple(v.aval.shape), v.aval.dtype) for v in body.jaxpr.outvars[nk:]]
    steps = range(length - 1, -1, -1) if params["reverse"] else range(length)
    ys = [None] * length
    for i in steps:
        out = _eval_unrolled(body.jaxpr, body.consts, *consts, *carry, *[x[i] for x in xs])
        carry, ys[i] = list(out[:nk]), out[nk:]
    return carry + [jnp.stack([y[j] for y in ys]) for j in range(n_ys)]


def trace(f: Callable, example_x) -> "Program":
    """Trace ``f(x) -> logits`` (one unbatched example) into a :class:`Program`, once, for reuse.

    ``f``: a JAX-traceable callable of one array, e.g. ``functools.partial(module.apply, variables)``,
    an equinox module, ``relu_regions.from_onnx(path)``; ``example_x``: an array of the input's shape and
    floating dtype (its values do not matter). Weights are folded as constants, so retrace after
    changing them. Raises :class:`TraceError` naming the primitive and the user's source line for
    anything that is not piecewise linear in ``x``.
    """
    x = jnp.asarray(example_x)
    if not _is_float(x.dtype):
        raise TraceError(f"example_x: expected a floating-point array, got dtype {x.dtype}")
    try:
        closed = jax.make_jaxpr(f)(x)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError,
            jax.errors.TracerIntegerConversionError, jax.errors.TracerArrayConversionError) as e:
        raise TraceError(
            "f could not be traced: it uses the value of x in Python (an `if`/`while` on x, int(x), "
            "numpy on x, ...), which is data-dependent control flow; write it with jnp.where / "
            f"jnp.maximum instead. JAX said: {str(e).splitlines()[0]}") from e
    jaxpr = closed.jaxpr
    if len(jaxpr.invars) == 1 and _has_scan(jaxpr):       # unroll lax.scan / fori_loop (static length)
        inner = closed
        closed = jax.make_jaxpr(lambda v: _eval_unrolled(inner.jaxpr, inner.consts, v))(x)
        jaxpr = closed.jaxpr
    if len(jaxpr.invars) != 1:
        raise TraceError(f"f must take one array argument; its jaxpr has {len(jaxpr.invars)} inputs")
    if len(jaxpr.outvars) != 1:
        raise TraceError(f"f must return one array (the logits); it returned {len(jaxpr.outvars)} arrays")
    b = _Builder()
    xin = b.var(jaxpr.invars[0].aval, True)
    (out,) = b.jaxpr(jaxpr, closed.consts, [xin])
    out_aval = jaxpr.outvars[0].aval
    if isinstance(out, _K) or not b.lin[out]:
        raise TraceError("the output of f does not depend affinely on x anywhere (it is constant or "
                         "piecewise constant); expected logits")
    if not _is_float(out_aval.dtype):
        raise TraceError(f"the output of f has dtype {out_aval.dtype}; expected floating-point logits")
    static = _Static(
        ops=tuple(b.ops), lin=tuple(b.lin), avals=tuple(b.avals), n_vars=len(b.lin), out=out,
        switches=tuple(b.switches), n_units=b.n_units, in_shape=tuple(x.shape), in_dtype=x.dtype,
        out_shape=tuple(out_aval.shape), out_dtype=out_aval.dtype, cmp_deps=None, subnormal_at=b.subnormal_at,
    )
    consts = tuple(jnp.asarray(c) for c in b.consts)
    return Program(static, consts)


# ----------------------------------------------------------------------------------------------------
# The program


def _on(q, dq, strict: bool):
    """Binary choice at a point: True iff ``(q, dq) > (0, 0)`` lexicographically (``>=`` if not strict)."""
    return (q > 0) | ((q == 0) & ((dq > 0) if strict else (dq >= 0)))


def _lex_argmax(P, Tn):
    """Index of the largest value along the last axis, ties broken by larger slope, then lowest index."""
    m = jnp.max(P, axis=-1, keepdims=True)
    cand = P == m
    s = jnp.max(jnp.where(cand, Tn, -jnp.inf), axis=-1, keepdims=True)
    cand = cand & (Tn == s)
    return jnp.argmax(cand, axis=-1).astype(jnp.int32)


def _force(c, fixed, i, choice):
    if fixed is None or choice is not None:
        return c
    mask, forced = fixed
    return jnp.where(jnp.asarray(mask[i], bool), jnp.asarray(forced[i], c.dtype), c)


def _fixed(prog, fixed=None, choice=None):
    """Normalise ``fixed`` to a full ``(mask, forced)`` pair with canonical dtypes, so that ``along``,
    ``choice_at`` and ``along_at`` share one compiled function: ``choice`` given means every unit is
    forced to it; ``fixed=None`` forces nothing."""
    masks, forced = [], []
    for i, sw in enumerate(prog.switches):
        dt = jnp.bool_ if sw.binary else jnp.int32
        if choice is not None:
            masks.append(jnp.ones(sw.shape, bool))
            forced.append(jnp.asarray(choice[i]).astype(dt))
        elif fixed is not None:
            masks.append(jnp.asarray(fixed[0][i]).astype(bool))
            forced.append(jnp.asarray(fixed[1][i]).astype(dt))
        else:
            masks.append(jnp.zeros(sw.shape, bool))
            forced.append(jnp.zeros(sw.shape, dt))
    return tuple(masks), tuple(forced)


def _bind(op: _Op, args):
    out = op.prim.bind(*args, **op.params)
    return list(out) if op.prim.multiple_results else [out]


def _patches(a, idx, pad):
    """Window elements ``(unit_shape + (k,))`` of ``a``; index ``a.size`` reads ``pad``."""
    flat = jnp.concatenate([jnp.ravel(a), jnp.full((1,), pad, dtype=a.dtype)])
    return jnp.take(flat, jnp.asarray(idx), axis=0)


def _pick(P, c):
    return jnp.take_along_axis(P, c[..., None], axis=-1)[..., 0]


class Program:
    """A traced piecewise-linear program (see the module docstring of ``relu_regions._trace``).

    Attributes: ``in_shape``, ``in_dtype``, ``out_shape``; ``switches`` (tuple of :class:`Switch`);
    ``n_units`` (all units, flat); ``units_per_switch``; ``n_constraints`` (length of the flat margin
    vector: one per binary unit, ``k`` per pooling window); ``constraint_unit`` and
    ``constraint_element`` (numpy int arrays of length ``n_constraints``: the flat unit of each margin and
    the window element it compares with, 0 for binary units).
    """

    def __init__(self, static: _Static, consts: tuple):
        self._s = static
        self._consts = consts

    # -- description
    in_shape = property(lambda self: self._s.in_shape)
    in_dtype = property(lambda self: self._s.in_dtype)
    out_shape = property(lambda self: self._s.out_shape)
    switches = property(lambda self: self._s.switches)
    n_units = property(lambda self: self._s.n_units)

    @property
    def units_per_switch(self) -> tuple[int, ...]:
        return tuple(sw.size for sw in self.switches)

    @property
    def n_constraints(self) -> int:
        return sum(sw.size * (1 if sw.binary else sw.k) for sw in self.switches)

    @property
    def constraint_unit(self) -> np.ndarray:
        parts = [np.repeat(np.arange(sw.offset, sw.offset + sw.size), 1 if sw.binary else sw.k)
                 for sw in self.switches]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    @property
    def constraint_element(self) -> np.ndarray:
        parts = [np.zeros(sw.size, np.int64) if sw.binary else np.tile(np.arange(sw.k), sw.size)
                 for sw in self.switches]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def __repr__(self):
        kinds = ", ".join(f"{sw.kind}{list(sw.shape)}" for sw in self.switches)
        return (f"Program(in_shape={self.in_shape}, out_shape={self.out_shape}, ops={len(self._s.ops)}, "
                f"n_units={self.n_units}, switches=[{kinds}])")

    def _read(self, env, ref):
        return self._consts[-1 - ref] if ref < 0 else env[ref]

    def _x(self, x):
        x = jnp.asarray(x, self.in_dtype)
        if tuple(x.shape) != self.in_shape:
            raise ValueError(f"x: expected shape {self.in_shape}, got {tuple(x.shape)}")
        return x

    # -- 2. the forward pass
    def evaluate(self, x) -> jax.Array:
        """``f(x)`` of shape ``out_shape`` for one example ``x`` of shape ``in_shape``: the original
        primitives bound in the original order, so the result equals ``f(x)`` bit for bit when both run
        un-jitted (jitted, XLA may fuse both differently)."""
        env = [None] * self._s.n_vars
        env[0] = self._x(x)
        for op in self._s.ops:
            args = [self._read(env, r) for r in op.ins]
            for o, v in zip(op.outs, _bind(op, args)):
                if o >= 0:
                    env[o] = v
        return env[self._s.out]

    # -- 3. values and slopes along a ray
    def _walk(self, x, d, t, choice, fixed=None, record=None):
        """Shared interpreter: (value, slope) pairs for affine vars; choices fixed (``choice``) or
        decided, except where ``fixed = (mask, forced)`` forces them."""
        s = self._s
        x = self._x(x)
        d = self._x(d)
        t = jnp.asarray(t, x.dtype)
        env = [None] * s.n_vars
        env[0] = (x + t * d, d)
        qs, dqs, cs = [], [], []
        for op in s.ops:
            if op.kind == "pwc":
                vals = _bind(op, [self._read(env, r) for r in op.ins])
                for o, v in zip(op.outs, vals):
                    if o >= 0:
                        env[o] = v
                continue
            vt = []
            for r, l in zip(op.ins, op.lin):
                v = self._read(env, r)
                vt.append(v if l else (v, None))
            if op.kind == "bind":
                lin_pos = [i for i, l in enumerate(op.lin) if l]
                known = [v for v, _ in vt]

                def fn(*lv, _op=op, _pos=lin_pos, _fixed=known):
                    args = list(_fixed)
                    for i, v in zip(_pos, lv):
                        args[i] = v
                    return tuple(_bind(_op, args))

                outs, touts = jax.jvp(fn, tuple(vt[i][0] for i in lin_pos), tuple(vt[i][1] for i in lin_pos))
                for o, v, tv in zip(op.outs, outs, touts):
                    if o >= 0:
                        env[o] = (v, tv)
                continue
            sw = s.switches[op.switch]
            if op.kind in ("max", "min", "cmp"):
                (a, ta), (b, tb) = vt
                ta = jnp.zeros_like(a) if ta is None else ta
                tb = jnp.zeros_like(b) if tb is None else tb
                sign = -1 if (op.kind == "min" or (op.kind == "cmp" and op.sign < 0)) else 1
                q = jnp.broadcast_to(a - b if sign > 0 else b - a, sw.shape)
                dq = jnp.broadcast_to(ta - tb if sign > 0 else tb - ta, sw.shape)
                c = _on(q, dq, sw.strict) if choice is None else jnp.asarray(choice[op.switch], bool)
                c = _force(c, fixed, op.switch, choice)
                if op.kind == "cmp":
                    env[op.outs[0]] = c
                else:
                    env[op.outs[0]] = (jnp.where(c, a, b), jnp.where(c, ta, tb))
            elif op.kind == "abs":
                ((a, ta),) = vt
                q, dq = a, ta
                c = _on(q, dq, True) if choice is None else jnp.asarray(choice[op.switch], bool)
                c = _force(c, fixed, op.switch, choice)
                env[op.outs[0]] = (jnp.where(c, a, -a), jnp.where(c, ta, -ta))
            else:                                                      # kway
                ((a, ta),) = vt
                pad = -jnp.inf if op.sign > 0 else jnp.inf
                P = _patches(a, op.idx, pad)
                Tn = _patches(ta, op.idx, 0)
                if choice is None:
                    c = _lex_argmax(P, Tn) if op.sign > 0 else _lex_argmax(-P, -Tn)
                else:
                    c = jnp.asarray(choice[op.switch], jnp.int32)
                c = _force(c, fixed, op.switch, choice)
                v, tv = _pick(P, c), _pick(Tn, c)
                env[op.outs[0]] = (v, tv)
                ispad = jnp.asarray(op.idx == a.size)
                q = op.sign * (v[..., None] - P)
                dq = op.sign * (tv[..., None] - Tn)
                q = jnp.where(ispad, jnp.inf, q)
                dq = jnp.where(ispad, 0, dq)
            qs.append(q)
            dqs.append(dq)
            cs.append(c)
        out, dout = env[s.out]
        if record is not None:
            record.extend(env)
        return Along(out, dout, tuple(qs), tuple(dqs)), tuple(cs)

    def along(self, x, d, t, choice) -> Along:
        """Values and slopes ``d/dt`` at ``x + t d`` of the program with every switch frozen to ``choice``.

        ``x``, ``d``: shape ``in_shape``; ``t``: a scalar; ``choice``: one array per switch
        (``choice[i].shape == switches[i].shape``; bool for binary units, int for pooling windows).
        Returns :class:`Along` ``(out, dout, q, dq)``. The frozen program is affine in ``t``, so
        ``along(x, d, 0., c)`` gives the coefficients: ``out(t) = out + t * dout`` exactly in real
        arithmetic (and likewise ``q``) as long as the pattern is ``c``. Slopes come from ``jax.jvp``
        of each operation. Pure, jit- and vmap-able."""
        return _walk_jit(self, x, d, t, None, _fixed(self, choice=choice))[0]

    def choice_at(self, x, d, t, fixed=None) -> tuple:
        """The pattern of the linear region that the ray ``x + s d`` enters just after ``s = t``.

        Each unit is decided in program order from the (value, slope) of its deciding quantity at
        ``x + t d``, given the choices upstream: a binary unit is True iff ``(q, dq) > (0, 0)``
        lexicographically (``>=`` for ``ge``/``le`` comparisons): a ReLU is on iff ``z > 0`` or
        (``z == 0`` and ``dz/dt > 0``); a pooling window chooses its largest value, ties broken by the
        larger slope, then the lowest index (smallest for min pooling). Returns one array per switch.

        ``fixed``: optional ``(mask, forced)``, one array per switch each (``switches[i].shape``; bool
        mask; forced choices as in ``choice``): units under the mask take the forced choice instead of
        being decided, and units downstream are decided given them. This is how a walker enters the
        next region without reading the sign of a quantity it has just stepped onto (a rounding
        residual): see :meth:`after_exit`."""
        return _walk_jit(self, x, d, t, None, _fixed(self, fixed))[1]

    def along_at(self, x, d, t, fixed=None) -> tuple[Along, tuple]:
        """``(along(x, d, t, c), c)`` with ``c = choice_at(x, d, t, fixed)``, in one pass."""
        return _walk_jit(self, x, d, t, None, _fixed(self, fixed))

    def after_exit(self, choice, hit, dg) -> tuple:
        """``fixed = (mask, forced)`` for :meth:`choice_at` at a region's exit.

        ``choice``: the pattern of the region being left; ``hit``: bool ``(n_constraints,)``, the
        margins that reach 0 at the exit (those that determine it); ``dg``: their slopes
        ``(n_constraints,)`` (from :meth:`margins`). A binary unit with a hit margin flips; a pooling
        window with hit elements switches to the hit element with the most negative ``dg`` (the fastest
        growing one), ties to the lowest index. Pure, jit- and vmap-able."""
        hit = jnp.asarray(hit, bool)
        dg = jnp.asarray(dg)
        masks, forced = [], []
        pos = 0
        for sw, c in zip(self.switches, choice):
            n = sw.size * (1 if sw.binary else sw.k)
            h = hit[pos:pos + n].reshape(sw.q_shape)
            if sw.binary:
                masks.append(h)
                forced.append(~jnp.asarray(c, bool))
            else:
                g = dg[pos:pos + n].reshape(sw.q_shape)
                j = jnp.argmax(jnp.where(h, -g, -jnp.inf), axis=-1).astype(jnp.int32)
                m = jnp.any(h, axis=-1)
                masks.append(m)
                forced.append(jnp.where(m, j, jnp.asarray(c, jnp.int32)))
            pos += n
        return tuple(masks), tuple(forced)

    # -- flat views for the walker
    def margins(self, choice, q, dq):
        """Flat margins ``(g, dg)``, each of shape ``(n_constraints,)``, ``>= 0`` inside the region of
        ``choice``: ``q`` for a binary unit chosen True, ``-q`` for False, the window differences as they
        are for pooling (already signed so that ``>= 0``). Order: switch by switch, units row-major,
        window elements last (``constraint_unit``/``constraint_element`` name each entry)."""
        gs, dgs = [], []
        for sw, c, a, da in zip(self.switches, choice, q, dq):
            if sw.binary:
                sgn = jnp.where(jnp.asarray(c, bool), 1, -1).astype(a.dtype)
                a, da = sgn * a, sgn * da
            gs.append(jnp.ravel(a))
            dgs.append(jnp.ravel(da))
        if not gs:
            z = jnp.zeros((0,), self.in_dtype)
            return z, z
        return jnp.concatenate(gs), jnp.concatenate(dgs)

    def flatten(self, per_switch) -> jax.Array:
        """Concatenate one array per switch (``q``-shaped, e.g. ``abs_propagate``'s radii) into the flat
        constraint order of ``margins``."""
        parts = [jnp.ravel(a) for a in per_switch]
        return jnp.concatenate(parts) if parts else jnp.zeros((0,), self.in_dtype)

    def flatten_choice(self, choice) -> jax.Array:
        """One int32 vector of length ``n_units``: 0/1 for binary units, the window index for pooling."""
        parts = [jnp.ravel(jnp.asarray(c).astype(jnp.int32)) for c in choice]
        return jnp.concatenate(parts) if parts else jnp.zeros((0,), jnp.int32)

    def unflatten_choice(self, flat) -> tuple:
        """Inverse of ``flatten_choice``."""
        flat = jnp.asarray(flat)
        out = []
        for sw in self.switches:
            c = flat[sw.offset:sw.offset + sw.size].reshape(sw.shape)
            out.append(c.astype(bool) if sw.binary else c.astype(jnp.int32))
        return tuple(out)

    # -- 4. error propagation
    def abs_propagate(self, choice, r, *, consts: bool = False):
        """Push a non-negative vector through the absolute values of the frozen program's linear maps.

        ``choice``: the pattern (one array per switch); ``r``: non-negative, shape ``in_shape``.
        Returns ``(r_out, rq)``: ``r_out`` of shape ``out_shape`` and ``rq``, one array per switch of
        shape ``switches[i].q_shape``.

        Contract. With the pattern fixed, every intermediate value is ``v = L_v x + c_v`` with
        ``L_v`` a composition of the operations' linear maps ``A`` (their constant parts go into
        ``c_v``). This computes ``|A_n| ... |A_1| r`` per operation, replacing each ``A`` by its
        entrywise absolute value: ``|W|`` for dot_general, ``|kernel|`` for convolutions, ``|c|`` for
        products and ``1/|c|`` for quotients by a constant ``c``, ``+`` for both ``a + b`` and ``a - b``,
        the identity for ``neg`` and ``abs``, and the operation itself for copies, reshapes, slices, pads
        (padding with 0), gathers, selects (of the chosen branch), sums and sum/average pooling (the
        average's ``1/n`` is a product by a constant), max/min and pooling windows (of the chosen
        operand/element). A deciding quantity ``q = a - b`` gets ``r_a + r_b``; ``abs`` gets ``r_a``;
        a pooling difference ``x_c - x_j`` gets ``r_c + r_j`` (0 at padding and at ``j = c``). Hence for
        every ``e`` with ``|e| <= r`` elementwise, ``|L_v e| <= result_v`` (exact arithmetic; the
        result is computed in floating point with round-to-nearest, so inflate it by a relative
        ``(n_ops + 1) * eps`` or so before relying on it). Constants contribute nothing unless
        ``consts=True``: then every constant operand ``c`` (bias, padding value, constant select
        branch, constant max/min operand) adds ``|c|``, so that with ``r = |x|`` the result bounds
        ``|v|`` for every intermediate (magnitudes for a rounding-error analysis, e.g.
        ``|fl(v) - v| <= gamma_n * (|A| |input| + |c|)`` per operation). Pure, jit- and vmap-able.
        """
        return _abs_jit(self, tuple(choice), r, consts)

    def _abs_propagate(self, choice, r, consts):
        s = self._s
        r = jnp.asarray(r, self.in_dtype)
        env = [None] * s.n_vars
        env[0] = r
        rqs = []

        def side(ref, lin):
            v = self._read(env, ref)
            if lin or not _is_float(jnp.result_type(v)):
                return v
            return jnp.abs(v) if consts else jnp.zeros_like(v)

        for op in s.ops:
            if op.kind in ("pwc",):
                vals = _bind(op, [self._read(env, ref) for ref in op.ins])
                for o, v in zip(op.outs, vals):
                    if o >= 0:
                        env[o] = v
                continue
            name = op.prim.name
            if op.kind == "bind":
                if name in T.POSITIVE_PRIMITIVES:
                    outs = _bind(op, [side(ref, l) for ref, l in zip(op.ins, op.lin)])
                elif name in ("sub", "neg"):
                    args = [side(ref, l) for ref, l in zip(op.ins, op.lin)]
                    outs = [args[0] if name == "neg" else jnp.broadcast_to(args[0] + args[1],
                                                                              s.avals[op.outs[0]].shape)]
                elif name in ("mul", "div", "dot_general", "conv_general_dilated"):
                    args = [self._read(env, ref) if l else jnp.abs(self._read(env, ref))
                            for ref, l in zip(op.ins, op.lin)]
                    if name == "div":
                        outs = [args[0] / args[1]]
                    else:
                        outs = _bind(op, args)
                else:  # pragma: no cover - guarded at trace time
                    raise TraceError(f"no |linear map| rule for '{name}'")
                for o, v in zip(op.outs, outs):
                    if o >= 0:
                        env[o] = v
                continue
            sw = s.switches[op.switch]
            c = choice[op.switch]
            if op.kind in ("max", "min", "cmp"):
                ra, rb = (side(ref, l) for ref, l in zip(op.ins, op.lin))
                rq = jnp.broadcast_to(ra + rb, sw.shape)
                if op.kind == "cmp":
                    env[op.outs[0]] = jnp.asarray(c, bool)
                else:
                    env[op.outs[0]] = jnp.where(jnp.asarray(c, bool), ra, rb)
            elif op.kind == "abs":
                ra = self._read(env, op.ins[0])
                rq = ra
                env[op.outs[0]] = ra
            else:
                ra = self._read(env, op.ins[0])
                R = _patches(ra, op.idx, 0)
                v = _pick(R, jnp.asarray(c, jnp.int32))
                env[op.outs[0]] = v
                ispad = jnp.asarray(op.idx == ra.size)
                rq = jnp.where(ispad, 0, v[..., None] + R)
            rqs.append(rq)
        return env[s.out], tuple(rqs)

    def rounding_bound(self, x, d, t, choice) -> Along:
        """Sound bounds on the rounding errors of ``along(x, d, t, choice)``: an :class:`Along` of
        non-negative arrays ``E`` with ``|computed - exact| <= E`` for the logits, their slopes, the
        deciding quantities and their slopes (exact: real arithmetic on the program with its folded
        constants at the real point ``x + t d``). Running error analysis with ``gamma_n`` per
        operation; see ``relu_regions._trace_round``. Pure, jit- and vmap-able."""
        from relu_regions._trace_round import rounding_bound

        return rounding_bound(self, x, d, t, choice)

    # -- 5. MLP recognition
    def as_mlp(self):
        """The ``(W, b)`` list (numpy, ``W`` of shape ``(in, out)``, ``y = x @ W + b``) if the program is
        exactly an MLP, else None.

        An MLP here: a 1-D input, switches that are all ReLUs (``max`` with a constant zero), each ReLU's
        input an affine function of the previous ReLU's output alone (of ``x`` for the first), the 1-D
        output an affine function of the last ReLU's output alone (no skip connections, no other
        switches). Hidden unit arrays of any shape are taken flat (row-major), e.g. ``(1, n)`` when an
        ONNX graph keeps its batch dimension. Each block's ``W`` and ``b`` are read off the block exactly
        (``b = block(0)``, ``W = jacobian``), so a block that is ``h @ W + b`` returns the very arrays
        of ``f``, whatever the shapes and reshapes around the product (an ONNX graph's ``(1, n)``). A block
        whose matrix or offset would be computed with rounding (a constant scale after the product, a
        folded batch norm, two products or two constant offsets in a row: ``W * s`` is not the exact
        product) is not an MLP block: the program is then walked as written (None)."""
        if not hasattr(self, "_mlp_layers"):              # per instance: the constants are its own
            self._mlp_layers = self._mlp()
        mlp = self._mlp_layers
        return None if mlp is None else [(W.copy(), b.copy()) for W, b in mlp]

    def _mlp(self):
        s = self._s
        if len(s.in_shape) != 1 or len(s.out_shape) != 1:
            return None
        deps: dict[int, frozenset] = {0: frozenset({-1})}
        relu_in, relu_out = [], []
        block_ops: dict[int, list] = {}
        for op in s.ops:
            if op.kind not in ("bind", "max"):
                return None
            src = frozenset().union(*(deps[r] for r, l in zip(op.ins, op.lin) if l))
            if op.kind == "max":
                sw = s.switches[op.switch]
                if not op.lin[0] or op.lin[1]:
                    return None
                if op.ins[1] >= 0:
                    return None
                zero = self._read(None, op.ins[1])
                if np.any(np.asarray(zero) != 0):
                    return None
                if src != frozenset({op.switch - 1}):
                    return None
                relu_in.append(op.ins[0])
                relu_out.append(op.outs[0])
                deps[op.outs[0]] = frozenset({op.switch})
            else:
                for o in op.outs:
                    deps[o] = src
                block_ops.setdefault(min(src), []).append(op)
        if deps[s.out] != frozenset({len(relu_out) - 1}):
            return None
        targets = relu_in + [s.out]
        sources = [0] + relu_out
        layers = []
        for k, (src_var, tgt_var) in enumerate(zip(sources, targets)):
            ops = block_ops.get(k - 1, [])
            dense = self._dense_block(ops, src_var, tgt_var)
            if dense is not None:
                layers.append(dense)
                continue
            if not _read_off_exactly(ops):
                return None
            src_shape = tuple(s.avals[src_var].shape)

            def block(h, _src=src_var, _tgt=tgt_var, _shape=src_shape):
                return jnp.ravel(self._eval_block(_src, _tgt, h.reshape(_shape)))

            h0 = jnp.zeros((int(np.prod(src_shape, dtype=np.int64)),), self.in_dtype)
            b = np.asarray(jax.jit(block)(h0))
            W = np.asarray(jax.jit(jax.jacfwd(block))(h0)).T
            layers.append((W, b))
        return layers

    def _dense_block(self, ops, src, tgt):
        """``(W, b)`` read straight from the constants when a block is ``dot_general(h, W)`` optionally
        followed by ``+ b`` on 1-D vectors (the common case: exact arrays, no computation); else None."""
        s = self._s
        if not ops or len(ops) > 2 or ops[0].prim.name != "dot_general" or ops[-1].outs[0] != tgt:
            return None
        dot = ops[0]
        if len(s.avals[src].shape) != 1 or len(s.avals[dot.outs[0]].shape) != 1:
            return None
        (lc, rc), (lb, rb) = dot.params["dimension_numbers"]
        if lb or rb or src not in dot.ins:
            return None
        i = dot.ins.index(src)
        wref = dot.ins[1 - i]
        if wref >= 0:
            return None
        Wc = np.asarray(self._read(None, wref))
        if Wc.ndim != 2 or not _exact_in_float64(Wc):
            return None
        wdim = (rc if i == 0 else lc)[0]
        W = Wc if wdim == 0 else Wc.T
        n = W.shape[1]
        b = np.zeros(n, W.dtype)
        if len(ops) == 2:
            add = ops[1]
            if add.prim.name != "add" or dot.outs[0] not in add.ins:
                return None
            bref = add.ins[1 - add.ins.index(dot.outs[0])]
            if bref >= 0:
                return None
            bc = np.asarray(self._read(None, bref))
            if bc.shape not in ((), (n,)) or not _exact_in_float64(bc):
                return None
            b = np.broadcast_to(bc, (n,))
        # float64 whatever the constants' dtypes (lax.dot_general takes an int or float32 kernel, and the
        # bias must not be cast to the kernel's dtype); exact, as checked.
        return np.array(W, np.float64), np.array(b, np.float64)

    def _eval_block(self, src, tgt, h):
        """Evaluate the ops between var ``src`` (set to ``h``) and var ``tgt`` (only those feeding it)."""
        s = self._s
        env = [None] * s.n_vars
        env[src] = h
        for op in s.ops:
            if any(l and env[r] is None for r, l in zip(op.ins, op.lin)):
                continue
            if op.kind == "max":
                continue
            for o, v in zip(op.outs, _bind(op, [self._read(env, r) for r in op.ins])):
                if o >= 0:
                    env[o] = v
            if tgt in op.outs:
                break
        return env[tgt]


def _exact_in_float64(c: np.ndarray) -> bool:
    """Whether a constant's values are all float64 numbers (bools, integers below 2^53, floats of at most
    float64's precision; not complex)."""
    if c.dtype == np.bool_ or (np.issubdtype(c.dtype, np.floating) and c.dtype.itemsize <= 8):
        return True
    if np.issubdtype(c.dtype, np.integer):
        return not c.size or max(abs(int(c.min())), abs(int(c.max()))) <= 2**53
    return False


_REARRANGING = frozenset({"reshape", "squeeze", "expand_dims", "broadcast_in_dim", "transpose", "copy",
                          "copy_p", "convert_element_type", "slice", "neg"})
"""Primitives that move, copy or negate values without arithmetic (exact on any input)."""


def _read_off_exactly(ops) -> bool:
    """Whether a block's ``W`` and ``b``, read off its Jacobian and its value at 0 in floating point, are
    exact: the block is one product with a constant (the Jacobian's entries are the constant's own: one
    product by 1 plus zeros), then at most one constant added or subtracted (``b`` is that constant: 0 plus
    it), with only rearranging primitives around them, each op taking the variable path once."""
    products = offsets = 0
    for op in ops:
        if sum(op.lin) != 1:
            return False
        name = op.prim.name
        if name in _REARRANGING:
            continue
        if name == "dot_general" and not products:
            products += 1
        elif name in ("add", "sub") and products and not offsets:
            offsets += 1
        else:
            return False
    return products == 1


# Whole-program jit (one compilation per program and shape, instead of one per primitive when called
# eagerly); inside an outer jit these are inlined.
_walk_jit = jax.jit(lambda p, x, d, t, choice, fixed=None: p._walk(x, d, t, choice, fixed))
_abs_jit = jax.jit(lambda p, choice, r, consts: p._abs_propagate(choice, r, consts), static_argnums=3)


def _flatten(p: Program):
    return p._consts, p._s


def _unflatten(static, consts):
    return Program(static, tuple(consts))


jax.tree_util.register_pytree_node(Program, _flatten, _unflatten)
