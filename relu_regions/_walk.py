"""The float64 region walker with certified decisions: one ray ``x + t d``, ``t`` from 0 up to ``T``.

Inside a region the activation pattern is fixed, so every pre-activation and the label's margins
``f_c - f_j`` are affine in ``t``: the walker carries values and slopes at the region's entry through the
layers, finds the nearest root of a unit about to switch (the region's exit) and the nearest point where
a margin turns negative (a class change), and moves on. The semantics are those of
:mod:`relu_regions._exact` (exact arithmetic on the given floats); this module decides in float64 and
*certifies* each decision, or says it cannot:

* Error bounds. On a stretch ``[t, t + tau]`` with the walker's pattern ``P``, the exact network and the
  computed affine functions ``Z(t + s) = z + s dz`` differ by at most ``ez + s es`` per unit, whatever
  the exact pattern is: a ReLU applied with a frozen pattern errs by at most the unit's own error plus its
  pattern violation ``max(-sigma Z, 0)`` (largest at the stretch's ends), and a unit certainly off on the
  whole stretch errs by nothing (its output is exactly 0). Bounds are propagated through ``|W|`` from the
  quantities that enter each value (first-layer values, bias; the first layer's own from norms of the
  inputs and of ``W1``'s columns), margins through the label's own ``|W[:, c] - W[:, j]|``, never from the
  largest logit.
* A stretch is certified free of change when every margin's lower bound (affine minus an error growing
  linearly in ``s``) is positive at both ends. A change is certified when one class's margin is certainly
  negative inside the stretch, every margin certainly positive before a window of relative width at most
  ``REL_TOL`` around the claimed end, and no other class can turn negative inside that window.
* Region counts and patterns (``cert_count``) are certified when every unit keeps a certain sign on each
  stretch except one switching unit per boundary, whose exact root lies in a window that is disjoint from
  the previous boundary's, the GI's end and the range end (for breakpoints: also narrower than ``REL_TOL``).

Floating-point ties. Units that triggered the last exit sit on their roots, where ``z`` is a rounding
residual: they are "pinned" and decided by their slope alone. A step that does not advance ``t`` pins the
new trigger units too; pinned units never trigger again, so at most ``n_units + 1`` steps stay at one
``t`` and the walk always progresses or ends. Uncertified rays are resolved in exact arithmetic by the
caller. All functions here are pure, for one ray, jit/vmap-able, in float64; every product requests
full precision (accelerators default to reduced-precision matmuls).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

U = 2.0**-53
"""Unit roundoff of float64."""
ETA = 2.0**-1021
"""Absolute slack per operation (underflow, flush-to-zero of subnormals)."""
REL_TOL = 1e-9 * (1 - 2.0**-20)
"""Certified GI ends and breakpoints: the exact point lies in a window of this relative width (the
contract's tolerance; region counts only need the windows of successive boundaries to be disjoint)."""


def mm(a: Array, b: Array) -> Array:
    """Matrix product at full precision."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


def _gamma(n: int | Array) -> float | Array:
    """Bound on the relative error of a length-``n`` dot product, with room for the bound's own rounding."""
    return (n + 4) * U * 1.001


class Ray(NamedTuple):
    """A ray's first quantities, affine in ``t``: ``a + t s``, off the exact values by at most
    ``ea + |t| es``. With hidden layers: first-layer pre-activations ``(n_1,)``; without: the input."""

    a: Array
    s: Array
    ea: Array
    es: Array


def first_layer(params, x: Array, d: Array, accurate: bool = False) -> Ray:
    """The :class:`Ray` of ``x + t d`` (``(n_0,)`` each). ``accurate``: compensated dot products (error
    about one rounding instead of one per nonzero input), for the rays plain float64 cannot certify."""
    if len(params) == 1:
        zero = jnp.zeros_like(x)
        return Ray(x, d, zero, zero)
    W1, b1 = params[0]
    if accurate:
        a, ea = _dot2(x, W1, b1)
        s, es = _dot2(d, W1, jnp.zeros_like(b1))
        return Ray(a, s, ea, es)
    n = W1.shape[0]
    # The classical bound gamma_k (|x| @ |W1| + |b1|), with two savings. A sum rounds only where both
    # addends are nonzero: in any order, a product meets at most k - 1 inexact additions when k products
    # are nonzero, so k counts x's (d's) nonzero entries (sparse inputs such as images gain most). And
    # |x| @ |W1| is bounded from norms (_abs_product_bound): no matrix product of |x| and |d|, which took
    # half the first layer's time.
    cols = _norm(W1, axis=0)[0], jnp.sum(jnp.abs(W1), axis=0)
    ea = _gamma(jnp.sum(x != 0) + 1) * (_abs_product_bound(x, *cols) + jnp.abs(b1)) + _underflow((x, b1), n + 2)
    es = _gamma(jnp.sum(d != 0)) * _abs_product_bound(d, *cols) + _underflow(d, n + 2)
    return Ray(mm(x, W1) + b1, mm(d, W1), ea, es)


def _norm(v: Array, axis: int = -1) -> tuple[Array, Array]:
    """The 2-norm and the largest magnitude of ``v`` along ``axis``; the 2-norm to a relative error of about
    ``(n + 8) U`` (``_gamma``'s room covers it) and scaled by the largest entry: the scaled squares never
    overflow, and those that underflow (entries below ``2^-511`` of the largest) lose less than
    ``n 2^-1022`` of it."""
    top = jnp.max(jnp.abs(v), axis=axis)
    m = jnp.expand_dims(jnp.where(top > 0, top, 1.0), axis)
    return jnp.squeeze(m, axis) * jnp.sqrt(jnp.sum(jnp.square(v / m), axis=axis)), top


def _abs_product_bound(v: Array, col_two: Array, col_one: Array) -> Array:
    """A bound ``>= |v| @ |W|`` ``(m,)`` (to ``_gamma``'s room) from ``v`` ``(n,)`` and the 2- and 1-norms of
    ``W``'s columns ``(m,)``: the lesser of ``|v|_2 |W_j|_2`` (Cauchy-Schwarz) and ``|v|_inf |W_j|_1``. A
    product with a zero factor is 0, also against an infinite one (NaN stays NaN)."""
    two, top = _norm(v)
    bounds = [jnp.where((p == 0) | (q == 0), 0.0, p * q) for p, q in ((two, col_two), (top, col_one))]
    return jnp.minimum(*bounds)


def _underflow(inputs: Array | tuple[Array, ...], n: int, axis=None) -> Array:
    """Slack for underflow in a sum of ``n`` products: none where every input (an array, or a tuple of
    them: not concatenated, which batched would copy them) is zero (exact zeros stay exact, so a zero
    direction keeps exactly zero slopes)."""
    first, *rest = inputs if isinstance(inputs, tuple) else (inputs,)
    nonzero = jnp.any(first != 0, axis=axis)
    for part in rest:
        nonzero = nonzero | jnp.any(part != 0, axis=axis)
    return jnp.where(nonzero, ETA * n, 0.0)


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    s = a + b
    z = s - a
    return s, (a - (s - z)) + (b - z)


SLICES = 3
"""Slices per operand of the compensated first layer; products of slices ``i + j <= SLICES + 1`` are kept."""


def _pow2(k: Array) -> Array:
    """``2.0 ** k`` for integers ``-1022 <= k <= 1023``, built from its bits: exact on every device
    (``jnp.ldexp`` goes through ``pow``, which on GPUs may be an ulp off: the slices' units then were not
    powers of two, and the "exact" slice products were not exact)."""
    return jax.lax.bitcast_convert_type((k.astype(jnp.int64) + 1023) << 52, jnp.float64)


def _slices(v: Array, axis: int, beta: int) -> tuple[list[Array], list[Array]]:
    """``v`` cut into ``SLICES`` parts along ``axis``: part ``i`` is ``v``'s rest rounded to a multiple of
    ``2^(E - i beta)``, ``2^E > max |v|`` along ``axis``, so a part is at most ``2^beta`` of its units.
    Returns the parts and ``rest_i`` ``>= |v - parts_1 - ... - parts_i|`` (half the unit)."""
    _, E = jnp.frexp(jnp.max(jnp.abs(v), axis=axis, keepdims=True))
    parts, rests, rem = [], [], v
    for i in range(1, SLICES + 1):
        unit = _pow2(jnp.maximum(E - i * beta, -1000))
        q = jnp.round(rem / unit) * unit
        parts.append(q)
        rem = rem - q
        rests.append(unit * 0.5)
    return parts, rests


def _dot2(x: Array, W: Array, b: Array) -> tuple[Array, Array]:
    """``x @ W + b`` ``(m,)`` to about one rounding, with a rigorous error bound (Ozaki's scheme).

    ``x`` and each column of ``W`` are cut into ``SLICES`` parts on fixed grids (:func:`_slices`) with
    ``2 beta + log2 n <= 52``: a product of parts sums ``n`` integer multiples of one unit below
    ``2^53`` units, so the six matrix products ``x_i @ W_j``, ``i + j <= 4``, are exact. The dropped
    products are bounded by the parts' rests; the six results and ``b`` are summed by error-free additions."""
    n = x.shape[-1]
    beta = (52 - max(n - 1, 1).bit_length()) // 2
    xs, rx = _slices(x, -1, beta)
    ws, rw = _slices(W, 0, beta)
    terms = [mm(xs[i], ws[j]) for i in range(SLICES) for j in range(SLICES) if i + j <= SLICES - 1]
    # Dropped: x W - sum_{i+j<=S+1} x_i W_j = sum_j (x - x_1..x_{S+1-j}) W_j + x (W - W_1..W_S).
    colabs = [jnp.sum(jnp.abs(w), axis=0) for w in ws]
    dropped = sum(rx[SLICES - 1 - j] * colabs[j] for j in range(SLICES)) + jnp.sum(jnp.abs(x)) * rw[-1][0]
    terms = jnp.stack(terms + [jnp.broadcast_to(b, terms[0].shape)])
    errs, levels = [], 0
    while terms.shape[0] > 1:
        if terms.shape[0] % 2:
            terms = jnp.concatenate([terms, jnp.zeros_like(terms[:1])])
        terms, q = _two_sum(terms[0::2], terms[1::2])
        errs.append(q)
        levels += 1
    E = jnp.concatenate(errs)
    mag = jnp.sum(jnp.abs(E), axis=0)
    total = terms[0] + jnp.sum(E, axis=0)
    g = _gamma(E.shape[0])
    # The error terms sum to within g * mag; the last addition rounds once. Products of parts may
    # underflow (tiny units): a slack per product.
    err = (U * jnp.abs(total) + g * mag + dropped * (1 + 2 * _gamma(n))  # (the sums of |.| rounded down)
           + _underflow((x, b), len(E) * (n + 8)))
    return total, err * (1 + 8 * U)


def reverse(ray: Ray) -> Ray:
    """The same ray walked backwards (``t -> -t``)."""
    return ray._replace(s=-ray.s)


class Region(NamedTuple):
    """The region ahead of ``t``: per hidden layer its mask, pre-activations ``z`` and slopes ``dz/dt`` at
    ``t``; the last layer's inputs ``h`` and their slopes ``hs`` (masked)."""

    masks: tuple[Array, ...]
    z: tuple[Array, ...]
    s: tuple[Array, ...]
    h: Array
    hs: Array


def region_ahead(params, ray: Ray, t: Array, pinned: tuple[Array, ...]) -> Region:
    """Values and slopes of the region just after ``t``: each hidden layer's pattern is decided
    lexicographically (value, then slope; pinned units by slope alone)."""
    z, s = ray.a + t * ray.s, ray.s
    masks, zs, ss = [], [], []
    n_hidden = len(params) - 1
    for l in range(n_hidden):
        m = jnp.where(pinned[l] | (z == 0), s > 0, z > 0)
        masks.append(m)
        zs.append(z)
        ss.append(s)
        z, s = jnp.where(m, z, 0), jnp.where(m, s, 0)
        if l + 1 < n_hidden:
            W, b = params[l + 1]
            zz = mm(jnp.stack([z, s]), W)
            z, s = zz[0] + b, zz[1]
    return Region(tuple(masks), tuple(zs), tuple(ss), z, s)


def exit_step(region: Region) -> tuple[Array, tuple[Array, ...]]:
    """Distance ``dt >= 0`` to the region's exit (``inf`` if unbounded) and, per layer, the units whose
    root is at that distance (the trigger set)."""
    if not region.masks:
        return jnp.asarray(jnp.inf, region.h.dtype), ()
    dts = []
    for m, z, s in zip(region.masks, region.z, region.s):
        leaving = (m & (s < 0)) | (~m & (s > 0))
        dts.append(jnp.where(leaving, jnp.maximum(-z / jnp.where(leaving, s, 1), 0), jnp.inf))
    dt_exit = jnp.min(jnp.stack([jnp.min(dt) for dt in dts]))
    return dt_exit, tuple((dt == dt_exit) & jnp.isfinite(dt) for dt in dts)


ALL_LABELS_MAX = 16
"""Up to this many classes the difference weights of every label are formed at once (``n_L^2`` columns,
from the weights alone) and rays' products with them are one dense product; beyond, each ray forms its
own label's ``n_L`` columns, so memory and time stay linear in the number of classes."""


def label_differences(W: Array, label: Array | None = None) -> Array:
    """Difference weights ``W_L[:, c] - W_L[:, j]`` of the last layer ``W`` ``(n_{L-1}, n_L)``: for the given
    label ``c``, ``(n_{L-1}, n_L)`` (column ``j``); without one, every label's, ``(n_{L-1}, n_L^2)`` (column
    ``c n_L + j``)."""
    if label is None:
        n, k = W.shape
        return (W[:, :, None] - W[:, None, :]).reshape(n, k * k)
    return W[:, label][:, None] - W


class Margins(NamedTuple):
    """The label's margins ``f_c - f_j`` on the region: ``m + s dm`` at ``t + s``, ``(n_L,)`` each, with the
    difference weights ``D`` and ``db = b_L[c] - b_L``: ``D[:, cols]`` ``= W_L[:, c] - W_L`` (``D`` holds
    every label's columns with few classes, see ``ALL_LABELS_MAX``, else the label's own)."""

    m: Array
    dm: Array
    D: Array
    db: Array
    cols: Array


def margins(params, region: Region, label: Array) -> Margins:
    """Margins of ``label`` over every class, computed from column differences of the last layer's weights."""
    W, b = params[-1]
    n, k = W.shape
    if k <= ALL_LABELS_MAX:
        D, cols = label_differences(W), label * k + jnp.arange(k)
    else:
        D, cols = label_differences(W, label), jnp.arange(k)
    db = b[label] - b
    mm2 = mm(jnp.stack([region.h, region.hs]), D)[:, cols]
    return Margins(mm2[0] + db, mm2[1], D, db, cols)


class Bounds(NamedTuple):
    """Error bounds on a stretch ``[t, t + tau]``: per hidden layer ``ez``, ``es`` (value at ``t`` and slope)
    of the pre-activations; ``Am``, ``Bm`` of the margins (``(n_L,)``): the exact margin at ``t + s`` is
    within ``Am + s Bm`` of ``m + s dm``."""

    ez: tuple[Array, ...]
    es: tuple[Array, ...]
    Am: Array
    Bm: Array


def _at(z: Array, s: Array, tau: Array) -> Array:
    """``z + tau s`` (``tau`` finite) or ``z`` (``tau`` infinite: only used where ``sigma s >= 0``)."""
    return jnp.where(jnp.isfinite(tau), z + jnp.where(jnp.isfinite(tau), tau, 0) * s, z)


def error_bounds(params, ray: Ray, t: Array, region: Region, mg: Margins, tau: Array) -> Bounds:
    """Rigorous error bounds of the region's computed affine functions on ``[t, t + tau]``."""
    ez = ray.ea + jnp.abs(t) * ray.es + 2.001 * U * (jnp.abs(ray.a) + jnp.abs(t * ray.s)) + ETA
    es = ray.es
    ezs, ess = [], []
    n_hidden = len(params) - 1
    eh, ehs = ez, es
    for l in range(n_hidden):
        m, z, s = region.masks[l], region.z[l], region.s[l]
        ezs.append(ez)
        ess.append(es)
        sigma = jnp.where(m, 1.0, -1.0)
        z_end = _at(z, s, tau)
        slack = 2.001 * U * (jnp.abs(z) + jnp.abs(z_end))
        v = jnp.maximum(jnp.maximum(-sigma * z, 0), jnp.maximum(-sigma * z_end, 0)) + slack
        # A unit certainly off on the whole stretch has ReLU output exactly 0, as computed: no error.
        e0, e1 = -z - ez, -s - es
        off = ~m & (e0 > 0) & _certainly_positive(e0, e1, tau)
        eh, ehs = jnp.where(off, 0.0, ez + v), jnp.where(off, 0.0, es)
        if l + 1 < n_hidden:
            W, b = params[l + 1]
            n = W.shape[0]
            g = _gamma(n + 1)
            hz, hs = jnp.where(m, z, 0), jnp.where(m, s, 0)
            rows = jnp.stack([eh + g * jnp.abs(hz), ehs + g * jnp.abs(hs)])
            E = mm(rows, jnp.abs(W)) * (1 + g) + _underflow(rows, n + 2, axis=1)[:, None]
            ez, es = E[0] + g * jnp.abs(b) + ETA, E[1]
    n = mg.D.shape[0]
    g = _gamma(n + 2)
    rows = jnp.stack([eh + g * jnp.abs(region.h), ehs + g * jnp.abs(region.hs)])
    E = mm(rows, jnp.abs(mg.D))[:, mg.cols] * (1 + g) + _underflow(rows, n + 3, axis=1)[:, None]
    Am = E[0] + g * jnp.abs(mg.db) + 8 * U * jnp.abs(mg.m) + ETA
    Bm = E[1] + 8 * U * jnp.abs(mg.dm)
    return Bounds(tuple(ezs), tuple(ess), Am * (1 + 8 * U), Bm * (1 + 8 * U))


def _certainly_positive(c0: Array, c1: Array, tau: Array) -> Array:
    """Whether ``c0 + s c1 > 0`` (reals) for ``s = tau`` (``tau`` may be ``inf``: then for all large ``s``),
    given floats that are exact differences (``fl(a - b) > 0`` iff ``a > b``)."""
    val = c0 + jnp.where(jnp.isfinite(tau), tau, 0) * c1
    slack = 4 * U * (jnp.abs(c0) + jnp.where(jnp.isfinite(tau), tau, 0) * jnp.abs(c1))
    return jnp.where(jnp.isfinite(tau), val - slack > 0, (c1 > 0) | ((c1 == 0) & (c0 > 0)))


def _lower_root(c0: Array, c1: Array) -> Array:
    """A float ``<=`` the root of ``c0 + s c1`` (``c0 > 0 > c1``); ``inf`` where it has none ahead."""
    r = c0 / jnp.where(c1 < 0, -c1, 1) * (1 - 8 * U)
    return jnp.where(c1 < 0, r, jnp.inf)


def _upper_root(c0: Array, c1: Array) -> Array:
    """A float ``>=`` the root of ``c0 + s c1`` (``c1 < 0``); ``inf`` where it has none ahead."""
    r = c0 / jnp.where(c1 < 0, -c1, 1) * (1 + 8 * U)
    return jnp.where(c1 < 0, jnp.maximum(r, 0), jnp.inf)


def _interval(t: Array, a: Array, b: Array) -> Array:
    """Whether the window ``[t + a, t + b]`` is positive and narrow (relative width ``REL_TOL``)."""
    lo = t + a
    return (lo > 0) & ((b - a) <= REL_TOL * lo * (1 - 4 * U))


class GIVerdict(NamedTuple):
    """The GI decision on one stretch: ``ok`` if certified; ``lo`` a float ``<=`` the exact change point
    minus ``t`` (where a change is claimed); ``hi`` one ``>=`` it."""

    ok: Array
    lo: Array
    hi: Array


def certify_gi(mg: Margins, bounds: Bounds, t: Array, tau: Array, dt_change: Array, who: Array,
               changed: Array, label: Array, T: Array) -> GIVerdict:
    """Certify one stretch ``[t, t + tau]``: no change on it (every margin's lower bound positive at both
    ends), or the change at ``t + dt_change`` by ``who``: every margin certainly positive before ``t + lo``,
    margin ``who`` certainly negative at ``t + hi`` (inside the stretch and the range), the window narrow,
    and no other class able to turn negative inside it."""
    k = jnp.arange(mg.m.shape[0])
    other = k != label
    c0 = mg.m - bounds.Am  # lower bound of each margin: c0 + s c1
    c1 = mg.dm - bounds.Bm
    clear = jnp.all(((c0 > 0) & _certainly_positive(c0, c1, tau)) | ~other)
    lo_j = jnp.where(other, jnp.where(c0 > 0, _lower_root(c0, c1), 0.0), jnp.inf)
    lo = jnp.min(lo_j)
    wj = jnp.maximum(who, 0)
    hi = _upper_root(mg.m[wj] + bounds.Am[wj], mg.dm[wj] + bounds.Bm[wj])
    lo_others = jnp.min(jnp.where(k == wj, jnp.inf, lo_j))
    inside = (hi <= tau) & ((t + hi) * (1 + 4 * U) < T) & (lo <= dt_change) & (dt_change <= hi)
    change_ok = inside & _interval(t, lo, hi) & (lo_others > hi)
    return GIVerdict(jnp.where(changed, change_ok, clear), lo, hi)


class PatternVerdict(NamedTuple):
    """The pattern decision on one stretch: ``ok`` if its pattern is the exact one and, when moving on,
    exactly one unit switches at its end; ``r_lo``, ``r_hi`` floats around that switch's exact position
    minus ``t``."""

    ok: Array
    r_lo: Array
    r_hi: Array


def certify_pattern(region: Region, bounds: Bounds, t: Array, tau: Array, triggers: tuple[Array, ...],
                    pinned: tuple[Array, ...], moving_on: Array, T: Array) -> PatternVerdict:
    """Every unit keeps a certain sign on ``[t, t + tau]``, except the pinned units at its start (they
    switched at ``t``) and the triggers at its exit (the caller checks where their window lies); when
    ``moving_on`` there is exactly one trigger, whose exact root lies in a bounded window before ``T``."""
    ok_units, n_trig = [], 0
    r_lo, r_hi = jnp.asarray(jnp.inf, t.dtype), jnp.asarray(-jnp.inf, t.dtype)
    for l, (m, z, s) in enumerate(zip(region.masks, region.z, region.s)):
        sigma = jnp.where(m, 1.0, -1.0)
        e0, e1 = sigma * z - bounds.ez[l], sigma * s - bounds.es[l]
        start_ok = (e0 > 0) | pinned[l]
        end_ok = _certainly_positive(e0, e1, tau) | triggers[l]
        ok_units.append(jnp.all(start_ok & end_ok))
        n_trig = n_trig + jnp.sum(triggers[l])
        # The trigger's exact root lies where sigma z -/+ its error bound crosses 0.
        wlo = jnp.where(triggers[l] & (e0 > 0), _lower_root(e0, e1), jnp.where(triggers[l], 0.0, jnp.inf))
        whi = _upper_root(sigma * z + bounds.ez[l], sigma * s + bounds.es[l])
        r_lo = jnp.minimum(r_lo, jnp.min(wlo))
        r_hi = jnp.maximum(r_hi, jnp.max(jnp.where(triggers[l], whi, -jnp.inf)))
    units = jnp.all(jnp.stack(ok_units)) if ok_units else jnp.bool_(True)
    boundary = (n_trig == 1) & (r_hi < jnp.inf) & ((t + r_hi) * (1 + 4 * U) < T)
    return PatternVerdict(units & jnp.where(moving_on, boundary, True), r_lo, r_hi)


def class_change_step(mg: Margins, label: Array, dt_exit: Array) -> tuple[Array, Array]:
    """Distance ``dt`` in ``[0, dt_exit)`` at which a margin first turns negative on the region (float
    decision, certified separately), with the overtaking class (steepest, then lowest index);
    ``(inf, -1)`` if none. A margin reaching 0 exactly at the exit is left to the next region."""
    m, dm = mg.m, mg.dm
    other = jnp.arange(m.shape[0]) != label
    falling = other & (dm < 0)
    dt = jnp.where(falling, jnp.maximum(m, 0) / jnp.where(falling, -dm, 1), jnp.inf)
    dt = jnp.where(dt < dt_exit, dt, jnp.inf)
    best = jnp.min(dt)
    key = jnp.where((dt == best) & jnp.isfinite(dt), dm, jnp.inf)
    j = jnp.argmin(key)
    return best, jnp.where(jnp.isfinite(best), j, -1).astype(jnp.int32)


def no_pins(params) -> tuple[Array, ...]:
    """No unit pinned: one all-False mask per hidden layer."""
    return tuple(jnp.zeros(W.shape[1], dtype=bool) for W, _ in params[:-1])


def _repin(pinned, triggers, progressed):
    return tuple(jnp.where(progressed, t, p | t) for p, t in zip(pinned, triggers))


class Step(NamedTuple):
    """State of a class-change walk after one region: the next region's entry ``t`` (unchanged once
    ``done``), the pinned units, regions met so far, whether the walk ended and where (``end``), which
    class took over there (``who``, -1 at the range end), whether every decision so far is certified
    (``cert``: the GI end; ``cert_count``: also the regions met), the last boundary's upper position,
    and ``safe``: how far from 0 the walk has certified that no class change occurs (``[0, safe]``; an
    exact resolution of an uncertified ray may start there)."""

    t: Array
    pinned: tuple[Array, ...]
    regions: Array
    done: Array
    end: Array
    who: Array
    cert: Array
    cert_count: Array
    prev_hi: Array
    safe: Array


def start_step(params, dtype) -> Step:
    """The walk's state before its first region."""
    zero = jnp.zeros((), dtype)
    true = jnp.bool_(True)
    return Step(zero, no_pins(params), jnp.int32(0), jnp.bool_(False), zero, jnp.int32(-1), true, true, zero,
                zero)


def _guard_up(x: Array) -> Array:
    return x * (1 + 4 * U) + ETA


def step_plan(t: Array, T: Array, dt_exit: Array, dt_change: Array) -> tuple[Array, Array, Array, Array]:
    """What one region step does, from its entry ``t``, the distance to its exit and to a class change:
    ``(changed, done, t_next, tau)``, ``tau`` the stretch the error bounds must cover (up to the next
    entry, rounding of ``t + dt_exit`` included; the range end; or the whole region when a change is
    claimed, whose window may reach past the claim)."""
    changed = jnp.isfinite(dt_change) & (t + dt_change < T)
    t_exit = t + dt_exit
    done = changed | ((~changed) & (t_exit >= T))
    t_next = jnp.where(done, t, t_exit)
    tau = jnp.where(~done, _guard_up(jnp.maximum(dt_exit, t_next - t)),
                    jnp.where(changed, dt_exit, _guard_up(T - t)))
    return changed, done, t_next, jnp.where(jnp.isnan(tau), jnp.inf, tau)


def walk_step(params, ray: Ray, T: Array, label: Array, step: Step) -> Step:
    """One region of the walk towards ``T``: a class change inside the region entered at ``step.t``, else
    a move to its exit; every decision certified or flagged."""
    t = step.t
    region = region_ahead(params, ray, t, step.pinned)
    dt_exit, triggers = exit_step(region)
    mg = margins(params, region, label)
    dt_change, who = class_change_step(mg, label, dt_exit)
    changed, done, t_next, tau = step_plan(t, T, dt_exit, dt_change)
    moving_on = ~done
    bounds = error_bounds(params, ray, t, region, mg, tau)
    gi = certify_gi(mg, bounds, t, tau, dt_change, who, changed, label, T)
    pat = certify_pattern(region, bounds, t, tau, triggers, step.pinned, moving_on, T)
    # Counts also need the GI's end on the right side of the boundaries around it.
    after_start = (t == 0) | (jnp.where(changed, t + gi.lo, T) > step.prev_hi)
    before_exit = jnp.where(changed, gi.hi < pat.r_lo, (t + pat.r_lo) * (1 - 4 * U) >= T)
    # A boundary is counted once, in order: its window lies after the previous one, and the step advances.
    ordered = (t == 0) | (t + pat.r_lo > step.prev_hi)
    count_ok = gi.ok & pat.ok & jnp.where(moving_on, ordered & (t_next > t), after_start & before_exit)
    prev_hi = jnp.where(moving_on, (t + pat.r_hi) * (1 + 4 * U), step.prev_hi)
    end = jnp.where(changed, t + dt_change, T)
    who = jnp.where(changed, who, -1).astype(jnp.int32)
    progressed = t_next > t
    pinned = _repin(step.pinned, triggers, progressed)
    met = jnp.where(done, jnp.where(end > t, 1, 0), progressed.astype(jnp.int32))
    # [0, t] was certified free of change if every step so far was; this one extends that to t_next.
    safe = jnp.where(step.cert, jnp.where(gi.ok & moving_on, t_next, t), step.safe)
    return Step(t_next, pinned, step.regions + met, done, end, who, step.cert & gi.ok,
                step.cert_count & count_ok, prev_hi, safe)


class OneSided(NamedTuple):
    """Result of a one-sided walk: ``end`` in ``[0, T]``, the class taking over there (-1 if none), the
    regions met in ``(0, end)``, whether the walk finished within its step budget, whether its GI end
    (``cert``) and region count (``cert_count``) are certified, and the certified frontier ``safe``
    (:class:`Step`)."""

    end: Array
    overtaker: Array
    regions: Array
    finished: Array
    cert: Array
    cert_count: Array
    safe: Array


def walk_to_class_change(params, ray: Ray, T: Array, label: Array, max_steps: int) -> OneSided:
    """Walk ``ray`` for ``t`` in ``[0, T]`` (``T`` may be ``inf``) until ``label`` stops being a maximum."""

    def cond(state):
        step, n = state
        return (~step.done) & (n < max_steps)

    def body(state):
        step, n = state
        return walk_step(params, ray, T, label, step), n + 1

    step, _ = jax.lax.while_loop(cond, body, (start_step(params, ray.a.dtype), jnp.int32(0)))
    return OneSided(step.end, step.who, step.regions, step.done, step.cert & step.done,
                    step.cert_count & step.done, step.safe)


def label_of(params, ray: Ray) -> Array:
    """``argmax f(x)`` from the ray at ``t = 0`` (lowest index on ties; certified by the walk's first
    stretch, where every margin must be certainly positive)."""
    region = region_ahead(params, ray, jnp.zeros((), ray.a.dtype), no_pins(params))
    W, b = params[-1]
    return jnp.argmax(mm(region.h, W) + b).astype(jnp.int32)


class Trace(NamedTuple):
    """Regions met by a one-sided walk over ``[0, T]``, in order, in buffers of ``capacity`` rows:
    ``starts`` ``(capacity,)`` entry distances, ``f``/``g`` ``(capacity, n_L)`` logits and slopes at entry,
    ``patterns`` ``(capacity, n_hidden)``; ``count`` regions filled; ``complete`` False if more remained;
    ``cert`` whether the patterns and boundaries are certified (else: resolve exactly)."""

    starts: Array
    f: Array
    g: Array
    patterns: Array
    count: Array
    complete: Array
    cert: Array


def walk_regions(params, ray: Ray, T: Array, capacity: int) -> Trace:
    """Record every linear region of the ray for ``t`` in ``[0, T]`` (``T`` may be ``inf``)."""
    W, b = params[-1]
    n_out = W.shape[1]
    n_hidden = sum(Wl.shape[1] for Wl, _ in params[:-1])
    dtype = ray.a.dtype

    def cond(state):
        return (~state[2]) & (state[3] < capacity)

    def body(state):
        t, pinned, done, k, cert, prev_hi, buf = state
        region = region_ahead(params, ray, t, pinned)
        dt_exit, triggers = exit_step(region)
        fg = mm(jnp.stack([region.h, region.hs]), W)
        logits = Margins(fg[0] + b, fg[1], W, b, jnp.arange(n_out))
        pattern = jnp.concatenate(region.masks) if region.masks else jnp.zeros((0,), bool)
        buf = (buf[0].at[k].set(t), buf[1].at[k].set(logits.m), buf[2].at[k].set(logits.dm),
               buf[3].at[k].set(pattern))
        t_exit = t + dt_exit
        done = t_exit >= T
        t_next = jnp.where(done, t, t_exit)
        moving_on = ~done
        tau = jnp.where(moving_on, _guard_up(jnp.maximum(dt_exit, t_next - t)), _guard_up(T - t))
        tau = jnp.where(jnp.isnan(tau), jnp.inf, tau)
        pat = certify_pattern(region, error_bounds(params, ray, t, region, logits, tau), t, tau, triggers,
                              pinned, moving_on, T)
        ordered = (t == 0) | (t + pat.r_lo > prev_hi)
        at_end = ((t == 0) | (T > prev_hi)) & ((t + pat.r_lo) * (1 - 4 * U) >= T)
        narrow = _interval(t, pat.r_lo, pat.r_hi)  # breakpoints to the contract's tolerance
        ok = pat.ok & jnp.where(moving_on, ordered & narrow & (t_next > t), at_end)
        prev_hi = jnp.where(moving_on, (t + pat.r_hi) * (1 + 4 * U), prev_hi)
        # A zero-length step revisits the same t with more units pinned; it overwrites its own row.
        progressed = t_next > t
        pinned = _repin(pinned, triggers, progressed)
        k = k + jnp.where(progressed | done, 1, 0).astype(jnp.int32)
        return t_next, pinned, done, k, cert & ok, prev_hi, buf

    buf = (jnp.zeros((capacity,), dtype), jnp.zeros((capacity, n_out), dtype),
           jnp.zeros((capacity, n_out), dtype), jnp.zeros((capacity, n_hidden), bool))
    zero = jnp.zeros((), dtype)
    init = (zero, no_pins(params), jnp.bool_(False), jnp.int32(0), jnp.bool_(True), zero, buf)
    _, _, done, count, cert, _, buf = jax.lax.while_loop(cond, body, init)
    return Trace(*buf, count, done, cert & done)
