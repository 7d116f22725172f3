"""Sound bounds on the rounding errors of ``Program.along`` (running error analysis).

``rounding_bound(prog, x, d, t, choice)`` returns, in the shape of :class:`~relu_regions._trace.Along`,
non-negative bounds ``E`` with ``|computed - exact| <= E`` elementwise for the values and the slopes
that ``prog.along(x, d, t, choice)`` returns (logits and deciding quantities), where *exact* means real
arithmetic on the program with its folded constants at the real point ``x + t d`` (``x``, ``d``, ``t``
being the floating-point numbers given) and the switches frozen to ``choice``.

The model is the standard one for IEEE arithmetic with unit roundoff ``u`` (``2^-53`` in float64,
``2^-24`` in float32) and ``gamma_n = n u / (1 - n u)``: a sum or dot product of ``n`` terms is off by
at most ``gamma_n * sum |terms|`` in any summation order (blocked, pairwise, with or without FMA), an
elementwise ``+ - * /`` by ``u * |result|``, copies/selects/max/min by nothing. Each operation's bound
``|A| E_in + gamma_n (|A| |v_in| + |c|)`` is computed in the same precision and then inflated by
``1 + 2 gamma_{n+4}`` (covering the rounding of the bound itself) plus ``(n + 2)`` times the smallest
subnormal (underflow). Slopes are bounded the same way with an exact direction ``d`` (only the
operations of the tangent pass round). Valid when no operation overflows (infinite or NaN bounds then
say so).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions import _trace_ops as T
from relu_regions._trace import Along, _fixed, _patches, _pick

_SUMS = {"add", "add_any", "reduce_sum", "reduce_window_sum", "cumsum", "scatter-add"}


def _gamma(n: int, u: float) -> float:
    return n * u / (1.0 - n * u)


def _is_float(v) -> bool:
    return jnp.issubdtype(jnp.result_type(v), jnp.inexact)


def _acc_length(op, args) -> int:
    """Number of terms each output of a summing operation accumulates (1 for elementwise ones)."""
    name, p = op.prim.name, op.params
    if name in ("add", "add_any", "sub"):
        return 1
    if name == "reduce_sum":
        return int(np.prod([args[0].shape[a] for a in p["axes"]], dtype=np.int64))
    if name == "reduce_window_sum":
        return int(np.prod(p["window_dimensions"], dtype=np.int64))
    if name == "cumsum":
        return int(args[0].shape[p["axis"]])
    if name == "scatter-add":
        return int(np.size(args[2])) + 1
    if name == "dot_general":
        (lc, rc), _ = p["dimension_numbers"]
        i = 0 if op.lin[0] else 1
        dims = lc if i == 0 else rc
        return max(int(np.prod([args[i].shape[a] for a in dims], dtype=np.int64)), 1)
    if name == "conv_general_dilated":
        K = args[1]
        out_dim = p["dimension_numbers"].rhs_spec[0]
        return max(int(K.size // K.shape[out_dim]), 1)
    return 1


def rounding_bound(prog, x, d, t, choice) -> Along:
    """Bounds on the rounding errors of ``prog.along(x, d, t, choice)`` (see the module docstring).

    ``x``, ``d``: shape ``prog.in_shape``; ``t``: scalar; ``choice``: one array per switch. Returns an
    :class:`Along` of non-negative arrays: ``out`` and ``dout`` bound the errors of the logits and
    their slopes, ``q[i]`` and ``dq[i]`` those of the deciding quantities (0 at pooling padding).
    Pure, jit- and vmap-able."""
    return _round_jit(prog, x, d, t, _fixed(prog, choice=choice))


def _rounding(prog, x, d, t, fixed):
    s = prog._s
    rec: list = []
    prog._walk(x, d, t, None, fixed, record=rec)
    dtype = jnp.dtype(prog.in_dtype)
    u = float(np.finfo(dtype).eps) / 2
    tiny = float(np.finfo(dtype).smallest_subnormal)
    x = jnp.asarray(x, dtype)
    d = jnp.asarray(d, dtype)
    t = jnp.asarray(t, dtype)
    E = [None] * s.n_vars                       # (value error, slope error) of affine vars
    E[0] = (_gamma(2, u) * (jnp.abs(x) + jnp.abs(t * d)), jnp.zeros_like(d))

    def val(ref, k):
        """k = 0: value, 1: slope (0 for constants / piecewise constants), of an operand."""
        v = prog._read(rec, ref)
        if isinstance(v, tuple):
            return v[k]
        return v if k == 0 else jnp.zeros_like(v)

    def err(ref, lin, k, like):
        if lin:
            return E[ref][k]
        return jnp.zeros_like(like) if _is_float(like) else like

    def inflate(e, n):
        return e * (1 + 2 * _gamma(n + 4, u)) + (n + 2) * tiny

    qs = [[], []]
    for op in s.ops:
        if op.kind == "pwc":
            continue
        name = op.prim.name
        pair = []
        mult = op.kind == "bind" and name in ("mul", "div", "dot_general", "conv_general_dilated")
        for k in (0, 1):                        # values, then slopes
            # Operands: affine ones at pass k; constants keep their value where they multiply (and
            # when not floating: predicates, indices), else count as 0 in the slope pass.
            args = []
            for r, l in zip(op.ins, op.lin):
                v = val(r, k if l else 0)
                if not l and k == 1 and not mult and _is_float(v):
                    v = jnp.zeros_like(v)
                args.append(v)
            absargs = [jnp.abs(a) if _is_float(a) else a for a in args]
            errs = [err(r, l, k, a) for r, l, a in zip(op.ins, op.lin, args)]
            if op.kind == "bind":
                n = _acc_length(op, args)
                outs = [rec[o][k] if o >= 0 else None for o in op.outs]
                if name in T.POSITIVE_PRIMITIVES:
                    prop = op.prim.bind(*errs, **op.params)
                    prop = list(prop) if op.prim.multiple_results else [prop]
                    if name in _SUMS:
                        loc = op.prim.bind(*absargs, **op.params)
                        loc = list(loc) if op.prim.multiple_results else [loc]
                        res = [inflate(a + _gamma(n, u) * b, n) for a, b in zip(prop, loc)]
                    elif name in ("convert_element_type", "reduce_precision"):
                        uo = float(np.finfo(outs[0].dtype).eps) / 2
                        if name == "reduce_precision":
                            uo = max(uo, 2.0 ** -(op.params["mantissa_bits"] + 1))
                        res = [inflate(prop[0] + (uo if uo > u else 0.0) * jnp.abs(outs[0]), 1)]
                    else:
                        res = prop                                  # copies and selections: exact
                elif name == "sub":
                    res = [inflate(errs[0] + errs[1] + _gamma(1, u) * (absargs[0] + absargs[1]), 1)]
                elif name == "neg":
                    res = [errs[0]]
                elif name == "mul":
                    i = 0 if op.lin[0] else 1
                    res = [inflate(errs[i] * absargs[1 - i] + _gamma(1, u) * jnp.abs(outs[0]), 1)]
                elif name == "div":
                    res = [inflate(errs[0] / absargs[1] + _gamma(1, u) * jnp.abs(outs[0]), 1)]
                elif name in ("dot_general", "conv_general_dilated"):
                    i = 0 if op.lin[0] else 1
                    A = [None, None]
                    A[1 - i] = absargs[1 - i]
                    A[i] = errs[i]
                    prop = op.prim.bind(*A, **op.params)
                    A[i] = absargs[i]
                    loc = op.prim.bind(*A, **op.params)
                    res = [inflate(prop + _gamma(n, u) * loc, n)]
                else:  # pragma: no cover - guarded at trace time
                    raise NotImplementedError(name)
                pair.append(res)
                continue
            c = fixed[1][op.switch]
            if op.kind in ("max", "min", "cmp"):
                ea, eb = errs
                sw = s.switches[op.switch]
                eq = inflate(ea + eb + _gamma(1, u) * (absargs[0] + absargs[1]), 1)
                eq = jnp.broadcast_to(eq, sw.shape)
                res = [None if op.kind == "cmp" else jnp.where(c, ea, eb)]
            elif op.kind == "abs":
                eq = errs[0]
                res = [errs[0]]
            else:
                a = args[0]
                pad = (-jnp.inf if op.sign > 0 else jnp.inf) if k == 0 else 0.0
                P = _patches(a, op.idx, pad)
                EP = _patches(errs[0], op.idx, 0)
                cc = jnp.asarray(c, jnp.int32)
                vc, ec = _pick(P, cc), _pick(EP, cc)
                ispad = jnp.asarray(op.idx == a.size)
                absP = jnp.where(ispad, 0, jnp.abs(P))
                eq = inflate(ec[..., None] + EP + _gamma(1, u) * (jnp.abs(vc)[..., None] + absP), 1)
                eq = jnp.where(ispad, 0, eq)
                res = [ec]
            qs[k].append(eq)
            pair.append(res)
        for j, o in enumerate(op.outs):
            if o >= 0 and pair[0][j] is not None:
                E[o] = (pair[0][j], pair[1][j])
    eo, edo = E[s.out]
    return Along(eo, edo, tuple(qs[0]), tuple(qs[1]))


_round_jit = jax.jit(_rounding)
