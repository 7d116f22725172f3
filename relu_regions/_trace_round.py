"""Sound error bounds for ``Program.along``: rounding at a point, and whole stretches of a ray.

``rounding_bound(prog, x, d, t, choice)`` returns, in the shape of :class:`~relu_regions._trace.Along`,
non-negative bounds ``E`` with ``|computed - exact| <= E`` elementwise for the values and the slopes
that ``prog.along(x, d, t, choice)`` returns (logits and deciding quantities), where *exact* means real
arithmetic on the program with its folded constants at the real point ``x + t d`` (``x``, ``d``, ``t``
being the floating-point numbers given) and the switches frozen to ``choice``.

``stretch_bound(prog, rec, choice, x, d, t, tau)`` bounds more: on the stretch ``s`` in ``[0, tau]`` the
computed affine functions ``v + s dv`` (from one ``along`` pass at ``t``, recorded in ``rec``) differ
from the values of the *true* program at ``x + (t + s) d`` (every switch deciding for itself, whatever
``choice`` is) by at most ``E.value + s E.slope``. Where a unit's frozen choice is certainly right on
the whole stretch (its margin's lower bound ``>= 0`` at both ends) the switch adds nothing; elsewhere
the continuity of max/min/abs/pooling gives ``|max(a*, b*) - a~| <= max(e_a, e_b) + max(-q~, 0)``
(the *violation* of the frozen choice, largest at the stretch's ends; twice it for ``abs``). A
comparison feeding ``select_n`` directly adds, where its sign is uncertain, the gap between the two
selected values over the stretch's uncertain windows; any other use of an uncertain comparison makes
the bound infinite. So the walker needs no exact pattern to certify a GI, only these bounds.

The rounding model is the standard one for IEEE arithmetic with unit roundoff ``u`` (``2^-53`` in
float64, ``2^-24`` in float32) and ``gamma_n = n u / (1 - n u)``: a sum or dot product of ``n`` terms
is off by at most ``gamma_n * sum |terms|`` in any summation order, an elementwise ``+ - * /`` by
``u * |result|``, copies/selects/max/min by nothing. Each operation's bound ``|A| E_in + gamma_n (|A|
|v_in| + |c|)`` is computed in the same precision and then inflated by ``1 + 2 gamma_{n+4}`` (the
rounding of the bound itself) plus ``(2n + 2)`` times the smallest normal number (underflow of the
products and of the bound's own products; XLA's CPU kernels flush subnormal results and read subnormal
operands as zero; the point ``x + t d`` takes two) — except for
the differences that make deciding quantities, where the underflow term is added only where the
operands are non-zero and below ``2^60`` times the smallest normal, so that exact ties (pooled zeros of
inactive ReLUs, equal inputs) have error 0.
Valid when no operation overflows (infinite or NaN bounds then say so).
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
    rec: list = []
    _, c = prog._walk(x, d, t, None, fixed, record=rec)
    return stretch_bound(prog, rec, c, x, d, t, None)


def _cmp_deps(prog) -> dict:
    """``var -> frozenset of cmp switches`` for the piecewise-constant vars computed from comparisons
    (cached on the program's static part)."""
    s = prog._s
    if s.cmp_deps is None:
        deps: dict = {}
        for op in s.ops:
            if op.kind == "cmp":
                deps[op.outs[0]] = frozenset({op.switch})
            elif op.kind == "pwc":
                src = frozenset().union(*(deps.get(r, frozenset()) for r in op.ins if r >= 0))
                for o in op.outs:
                    if o >= 0:
                        deps[o] = src
        s.cmp_deps = deps
    return s.cmp_deps


def _nonneg(g, dg, eg, edg, tau, u, strict=False):
    """Whether the lower bound ``(g - eg) + s (dg - edg)`` is ``>= 0`` (``> 0`` where ``strict``) for
    every ``s`` in ``[0, tau]`` (``tau`` may be ``inf``), rounding of this test included."""
    fin = jnp.isfinite(tau)
    tf = jnp.where(fin, tau, 0)
    lo0 = g - eg                                               # fl(a - b) >= 0 iff a >= b
    start = jnp.where(strict, lo0 > 0, lo0 >= 0)
    val = (g + tf * dg) - (eg + tf * edg)
    slack = 4 * u * (jnp.abs(g) + tf * jnp.abs(dg) + eg + tf * edg)
    end = jnp.where(fin, jnp.where(strict, val - slack > 0, val - slack >= 0), dg - edg >= 0)
    return start & end


def _violation(g, dg, tau, u, tiny):
    """``max(-g(s), 0)`` over ``s`` in ``[0, tau]`` for ``g(s) = g + s dg`` (reals), bounded above."""
    fin = jnp.isfinite(tau)
    tf = jnp.where(fin, tau, 0)
    end = g + tf * dg
    v = jnp.maximum(jnp.maximum(-g, -end), 0) + 2.001 * u * (jnp.abs(g) + jnp.abs(end)) + 2 * tiny
    return jnp.where(fin | (dg >= 0), v, jnp.inf)


def _window(g, dg, eg, edg, tau, u):
    """Widths ``(w0, w1)`` of the stretch's start ``[0, w0]`` and end ``[tau - w1, tau]`` windows outside
    which the lower bound ``(g - eg) + s (dg - edg)`` is ``> 0`` (0: no such window)."""
    c0, c1 = g - eg, dg - edg
    fin = jnp.isfinite(tau)
    tf = jnp.where(fin, tau, 0)
    end = (c0 + tf * c1) - 4 * u * (jnp.abs(c0) + tf * jnp.abs(c1))
    root = jnp.where(c1 != 0, -c0 / jnp.where(c1 != 0, c1, 1), jnp.inf) * (1 + 8 * u)
    w0 = jnp.where(c0 > 0, 0.0, jnp.where(c1 > 0, jnp.minimum(root, tf), jnp.where(fin, tf, jnp.inf)))
    w1 = jnp.where(end > 0, 0.0, jnp.where(c0 > 0, jnp.maximum(tf - root * (1 - 16 * u), 0), tf))
    return w0, jnp.where(fin, w1, jnp.where(c1 >= 0, 0.0, jnp.inf))


def stretch_bound(prog, rec, choice, x, d, t, tau) -> Along:
    """Error bounds from one recorded ``along`` pass (see the module docstring).

    ``rec``: the environment recorded by ``prog._walk(x, d, t, ..., record=rec)``; ``choice``: its
    pattern (one array per switch); ``tau``: ``None`` for the rounding at ``t`` alone (frozen program),
    else the stretch length (scalar ``>= 0``, may be ``inf``) for bounds against the true program.
    Returns an :class:`Along` of non-negative arrays (logits ``out``/``dout``, deciding quantities
    ``q``/``dq`` per switch in ``switches[i].q_shape``; 0 at pooling padding and at the chosen element
    of a window, whose margin is 0 by definition)."""
    s = prog._s
    dtype = jnp.dtype(prog.in_dtype)
    u = float(np.finfo(dtype).eps) / 2
    tiny = float(np.finfo(dtype).tiny)          # XLA's CPU kernels flush subnormals to zero
    x = jnp.asarray(x, dtype)
    d = jnp.asarray(d, dtype)
    t = jnp.asarray(t, dtype)
    stretch = tau is not None
    if stretch:
        tau = jnp.asarray(tau, dtype)
        deps = _cmp_deps(prog)
        cmp_out = {op.outs[0]: op.switch for op in s.ops if op.kind == "cmp"}
    unsure = {}                                  # cmp switch -> (uncertain mask, w0, w1)
    exact_point = (t == 0) | (d == 0)            # x + t d computed exactly
    E = [None] * s.n_vars                        # (value error, slope error) of affine vars
    E[0] = (jnp.where(exact_point, 0.0, _gamma(2, u) * (jnp.abs(x) + jnp.abs(t * d)) + 2 * tiny),  # (t d may flush)
            jnp.zeros_like(d))

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
        # (2n + 2) tiny: the n products may flush, and so may the bound's own products |A| E_in
        return e * (1 + 2 * _gamma(n + 4, u)) + (2 * n + 2) * tiny

    def inflate_sub(e, mag):
        """A difference of two values whose magnitudes sum to ``mag``: it underflows (or its rounding
        bound ``u |q|`` does) only where ``0 < mag < 2^60 tiny``. Above, an inexact difference is at least
        ``mag / 4`` and an exact one (Sterbenz) 0 or a multiple of an ulp of at least ``2^5 tiny``."""
        return e * (1 + 2 * _gamma(5, u)) + jnp.where((mag > 0) & (mag < 2.0**60 * tiny), 3 * tiny, 0.0)

    def tainted(op):
        """Whether a piecewise-constant operand comes from a comparison whose sign is uncertain."""
        if not stretch:
            return False
        flag = False
        for i, (r, l) in enumerate(zip(op.ins, op.lin)):
            if l or r < 0:
                continue
            if op.kind == "bind" and op.prim.name == "select_n" and i == 0 and r in cmp_out:
                continue                                      # handled by the select gap
            for sw in deps.get(r, ()):
                flag = flag | jnp.any(unsure[sw][0])
        return flag

    qs = [[], []]
    for op in s.ops:
        if op.kind == "pwc":
            continue
        name = op.prim.name
        args2 = []                               # per operand: (value, slope) (slope 0 for constants)
        errs2 = []
        for r, l in zip(op.ins, op.lin):
            v0, v1 = val(r, 0), val(r, 1 if l else 0)
            if not l and _is_float(v0):
                v1 = jnp.zeros_like(v0)
            args2.append((v0, v1))
            errs2.append((err(r, l, 0, v0), err(r, l, 1, v0)))
        if op.kind == "bind":
            pair = _bind_errors(op, args2, errs2, rec, u, inflate)
            if stretch and name == "select_n" and op.ins[0] in cmp_out:
                mask, w0, w1 = unsure[cmp_out[op.ins[0]]]
                pair = _select_gap(pair, mask, w0, w1, args2[1:], errs2[1:], tau, u)
            bad = tainted(op)
            for j, o in enumerate(op.outs):
                if o >= 0:
                    E[o] = tuple(jnp.where(bad, jnp.inf, pair[k][j]) for k in (0, 1))
            continue
        sw = s.switches[op.switch]
        c = choice[op.switch]
        (a, da), (ea, eda) = args2[0], errs2[0]
        if op.kind in ("max", "min", "cmp"):
            (b, db), (eb, edb) = args2[1], errs2[1]
            sign = -1 if (op.kind == "min" or (op.kind == "cmp" and op.sign < 0)) else 1
            q = jnp.broadcast_to(a - b if sign > 0 else b - a, sw.shape)
            dq = jnp.broadcast_to(da - db if sign > 0 else db - da, sw.shape)
            mag, dmag = jnp.abs(a) + jnp.abs(b), jnp.abs(da) + jnp.abs(db)
            eq = jnp.broadcast_to(inflate_sub(ea + eb + u * jnp.abs(q), mag), sw.shape)
            edq = jnp.broadcast_to(inflate_sub(eda + edb + u * jnp.abs(dq), dmag), sw.shape)
            cb = jnp.asarray(c, bool)
            if op.kind == "cmp":
                if stretch:
                    g, dg = jnp.where(cb, q, -q), jnp.where(cb, dq, -dq)
                    w0, w1 = _window(g, dg, eq, edq, tau, u)
                    unsure[op.switch] = (~_nonneg(g, dg, eq, edq, tau, u, strict=True), w0, w1)
            else:
                e_out, ed_out = jnp.where(cb, ea, eb), jnp.where(cb, eda, edb)
                if stretch:
                    g, dg = jnp.where(cb, q, -q), jnp.where(cb, dq, -dq)
                    sure = _nonneg(g, dg, eq, edq, tau, u)
                    viol = _violation(g, dg, tau, u, tiny)
                    e_out = jnp.where(sure, e_out, jnp.maximum(ea, eb) + viol)
                    ed_out = jnp.where(sure, ed_out, jnp.maximum(eda, edb))
                E[op.outs[0]] = (e_out, ed_out)
        elif op.kind == "abs":
            q, dq, eq, edq = a, da, ea, eda
            e_out = ea
            if stretch:
                cb = jnp.asarray(c, bool)
                g, dg = jnp.where(cb, q, -q), jnp.where(cb, dq, -dq)
                sure = _nonneg(g, dg, eq, edq, tau, u)
                e_out = jnp.where(sure, ea, ea + 2 * _violation(g, dg, tau, u, tiny))
            E[op.outs[0]] = (e_out, eda)
        else:                                                  # pooling window
            pad = -jnp.inf if op.sign > 0 else jnp.inf
            P, dP = _patches(a, op.idx, pad), _patches(da, op.idx, 0)
            EP, EdP = _patches(ea, op.idx, 0), _patches(eda, op.idx, 0)
            cc = jnp.asarray(c, jnp.int32)
            vc, dvc, ec, edc = _pick(P, cc), _pick(dP, cc), _pick(EP, cc), _pick(EdP, cc)
            ispad = jnp.asarray(op.idx == a.size)
            own = jnp.arange(op.idx.shape[-1]) == cc[..., None]
            skip = ispad | own
            q = op.sign * (vc[..., None] - P)
            dq = op.sign * (dvc[..., None] - dP)
            absP, absdP = jnp.where(ispad, 0, jnp.abs(P)), jnp.abs(dP)
            eq = inflate_sub(ec[..., None] + EP + u * jnp.abs(jnp.where(ispad, 0, q)), jnp.abs(vc)[..., None] + absP)
            edq = inflate_sub(edc[..., None] + EdP + u * jnp.abs(dq), jnp.abs(dvc)[..., None] + absdP)
            eq, edq = jnp.where(skip, 0, eq), jnp.where(skip, 0, edq)
            e_out, ed_out = ec, edc
            if stretch:
                g, dg = jnp.where(ispad, 0, q), jnp.where(ispad, 0, dq)
                sure = jnp.all(_nonneg(g, dg, eq, edq, tau, u) | skip, axis=-1)
                viol = jnp.max(jnp.where(skip, 0, _violation(g, dg, tau, u, tiny)), axis=-1)
                e_out = jnp.where(sure, ec, jnp.max(EP, axis=-1) + viol)
                ed_out = jnp.where(sure, edc, jnp.max(EdP, axis=-1))
            E[op.outs[0]] = (e_out, ed_out)
        bad = tainted(op)
        if op.kind != "cmp":
            E[op.outs[0]] = tuple(jnp.where(bad, jnp.inf, e) for e in E[op.outs[0]])
        eq, edq = jnp.where(bad, jnp.inf, eq), jnp.where(bad, jnp.inf, edq)
        qs[0].append(eq)
        qs[1].append(edq)
    eo, edo = E[s.out]
    return Along(eo, edo, tuple(qs[0]), tuple(qs[1]))


def _bind_errors(op, args2, errs2, rec, u, inflate):
    """``(value errors, slope errors)`` of an affine operation's outputs (lists, one per output)."""
    name = op.prim.name
    mult = name in ("mul", "div", "dot_general", "conv_general_dilated")
    pair = []
    for k in (0, 1):                        # values, then slopes
        # Operands: affine ones at pass k; constants keep their value where they multiply (and when
        # not floating: predicates, indices), else count as 0 in the slope pass.
        args = []
        for (v0, v1), l in zip(args2, op.lin):
            v = v1 if (l and k == 1) else v0
            if not l and k == 1 and not mult and _is_float(v):
                v = jnp.zeros_like(v)
            args.append(v)
        absargs = [jnp.abs(a) if _is_float(a) else a for a in args]
        errs = [e[k] if _is_float(a) else a for e, a in zip(errs2, args)]
        errs = [e if l or not _is_float(a) else jnp.zeros_like(a) for e, a, l in zip(errs, args, op.lin)]
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
                low = 0.0                                   # the narrower format's smallest normal
                if name == "reduce_precision":
                    uo = max(uo, 2.0 ** -(op.params["mantissa_bits"] + 1))
                    low = 2.0 ** (2 - 2 ** (op.params["exponent_bits"] - 1))
                res = [inflate(prop[0] + (uo if uo > u else 0.0) * jnp.abs(outs[0]) + low, 1)]
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
    return pair


def _select_gap(pair, mask, w0, w1, cases, case_errs, tau, u):
    """Add, where the predicate's sign is uncertain (``mask``), the spread of the selected values over
    the stretch's uncertain windows ``[0, w0]`` and ``[tau - w1, tau]`` plus every case's error."""
    v = jnp.stack([jnp.broadcast_to(c[0], pair[0][0].shape) for c in cases])
    dv = jnp.stack([jnp.broadcast_to(c[1], pair[0][0].shape) for c in cases])
    spread0 = jnp.max(v, 0) - jnp.min(v, 0)
    dspread = jnp.max(dv, 0) - jnp.min(dv, 0)
    tf = jnp.where(jnp.isfinite(tau), tau, 0)
    vend = v + tf * dv
    spread1 = jnp.max(vend, 0) - jnp.min(vend, 0)
    grow0 = jnp.where(dspread > 0, w0 * dspread, 0)
    grow1 = jnp.where(dspread > 0, w1 * dspread, 0)
    gap = jnp.maximum(jnp.where(w0 > 0, spread0 + grow0, 0), jnp.where(w1 > 0, spread1 + grow1, 0))
    gap = jnp.where(jnp.isfinite(tau) | (w1 == 0), gap, jnp.inf)
    gap = gap * (1 + 8 * u) + 4 * u * (jnp.max(jnp.abs(v), 0) + jnp.max(jnp.abs(vend), 0))
    emax = jnp.max(jnp.stack([jnp.broadcast_to(e[0], v.shape[1:]) for e in case_errs]), 0)
    edmax = jnp.max(jnp.stack([jnp.broadcast_to(e[1], v.shape[1:]) for e in case_errs]), 0)
    mask = jnp.broadcast_to(mask, v.shape[1:])
    return [[jnp.where(mask, emax + gap, pair[0][0])], [jnp.where(mask, edmax, pair[1][0])]]


_round_jit = jax.jit(_rounding)
