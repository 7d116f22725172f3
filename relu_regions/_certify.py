"""Sound certificates that no class change happens on a stretch ``[a, b]`` of a ray, in float32.

Along a ray the first layer's pre-activations are affine in ``t``. On a stretch every later quantity is
enclosed between two affine functions of ``t``, kept as their values at the two ends (affine functions
are determined by them, and their extremes over the stretch are at the ends):

* ReLU of a unit bounded by ``L(t) <= z(t) <= U(t)``: ``relu(z) <= relu(U)``, and since ``relu(U(t))`` is
  convex in ``t`` it lies below the chord through its end values, i.e. the upper bound's end values are
  ``relu(U(a)), relu(U(b))``. Below, ``relu(z) >= L`` or ``>= 0`` (whichever loses less area). Both are
  exact operations in floating point.
* An affine layer maps the enclosure's centre and radius: ``c @ W + b`` and ``r @ |W|``.
* The last layer maps straight to the margins ``f_label - f_j``: the radius through the label's own
  ``|W[:, label] - W[:, j]|``, which keeps the correlation between logits. With few classes
  (``ALL_LABELS_MAX``) every label's matrix is formed once and one product serves all lanes; beyond, each
  ray forms its own label's, so memory and time stay linear in the number of classes.

Rounding is accounted for so that the bounds hold for the exact real-arithmetic network with the float64 weights
and inputs given (the first layer's float64 values come with their own error bounds, which :func:`certified_ray`
carries over to its float32 copy): the float32 rounding of weights, biases, products and sums is covered by
inflating each radius by ``gamma * (|c| + r)`` with ``gamma = (fan_in + 8) 2^-23`` (about twice the classical
``fan_in * u`` error bound of a dot product) before the product, and the result by a relative ``gamma``
afterwards (float32 subnormals read as zero: ``FLUSH``); infinities or NaN from overflow never certify. A
stretch is certified when every margin's lower bound is positive at both ends (then on the whole stretch, the
bound being affine).

Functions here are for one stretch of one ray (vmap them); they take parameters from :func:`prepare`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from relu_regions._walk import ALL_LABELS_MAX, Ray, label_differences

F32 = jnp.float32


def _mm(a: Array, b: Array) -> Array:
    """Float32 matrix product at full precision (accelerators default to reduced precision)."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


TINY = 1e-30
"""Absolute slack (covers float32 underflow and flushed subnormals in results)."""
FLUSH = 2.0**-124
"""XLA's CPU kernels read float32 subnormals (below ``2^-126``) as zero: a weight or an enclosure entry
that small may count as zero in a product, an error of at most ``2^-126`` times the other factor. Inputs
read as zero: each layer's radius also takes ``FLUSH`` times the largest column sum of ``|W|`` (room for
centre and radius). Weights read as zero: every entry of the ``|W|`` that multiplies the radius is raised
by ``FLUSH (1 + 1 / gamma)`` (a normal float32), which adds at least ``FLUSH`` times the sum of
``|c| + r`` over the inputs, since the radius that enters the product is at least ``r`` and
``gamma |c|``; no reduction is needed at run time."""


class CertParams(NamedTuple):
    """Float32 copies for certification: hidden layers 2..L-1 as ``(W, |W|, b, gamma, flush)`` (``|W|``
    raised, and ``flush``, ``FLUSH`` times the largest column sum of ``|W|``: see ``FLUSH``); the last
    layer's ``W_L``, ``|W_L|``, ``b_L`` in float32, ``W_L`` in float64 (``W64``, for the label's margin
    weights), the layer's ``gamma`` and ``flush``; for at most ``ALL_LABELS_MAX`` classes ``absD_all``
    ``(n_{L-1}, n_L^2)``, column ``c n_L + j`` holding ``|W_L[:, c] - W_L[:, j]|`` rounded up to float32 (else None)."""

    hidden: tuple[tuple[Array, Array, Array, Array, Array], ...]
    W: Array
    absW: Array
    b: Array
    W64: Array
    gamma_last: Array
    flush_last: Array
    absD_all: Array | None = None


def _gamma(fan_in: int) -> Array:
    return jnp.asarray((fan_in + 8) * 2.0**-23, F32)


@jax.jit
def prepare(params) -> CertParams:
    """Float32 certification parameters of a float64 network with at least one hidden layer."""
    hidden = []
    for W, b in params[1:-1]:
        gamma = _gamma(W.shape[0])
        hidden.append((W.astype(F32), _raised(jnp.abs(W), gamma), b.astype(F32), gamma, _flush_slack(W)))
    W, b = params[-1]
    gamma = _gamma(W.shape[0])
    absD_all = _label_abs_diff(W, gamma=gamma) if W.shape[1] <= ALL_LABELS_MAX else None
    return CertParams(tuple(hidden), W.astype(F32), jnp.abs(W).astype(F32), b.astype(F32), W,
                      gamma, _flush_slack(W), absD_all)


def _raised(abs64: Array, gamma: Array, factor: int = 1) -> Array:
    """Float64 magnitudes ``|W|`` rounded up to float32 and raised by ``factor FLUSH (1 + 1 / gamma)``."""
    eps = factor * FLUSH * (1 + 1 / gamma.astype(abs64.dtype))
    return ((abs64 + eps) * (1 + 2.0**-22)).astype(F32)


def _flush_slack(W64: Array) -> Array:
    """``FLUSH`` times the largest column sum of ``|W|`` (float64 weights), rounded up to float32."""
    return (jnp.max(jnp.sum(jnp.abs(W64), axis=0)) * FLUSH * (1 + 2.0**-20)).astype(F32)


def _label_abs_diff(W64: Array, label: Array | None = None, *, gamma: Array) -> Array:
    """``|W_L[:, label] - W_L|`` ``(n_{L-1}, n_L)`` from the float64 ``W_L``, rounded up to float32 and raised
    for flushed weights (both columns of a margin: see ``FLUSH``); every label's without ``label``
    (:func:`relu_regions._walk.label_differences`)."""
    return _raised(jnp.abs(label_differences(W64, label)), gamma, factor=2)


def _affine(c: Array, r: Array, W: Array, absW: Array, b: Array, gamma: Array,
            flush: Array) -> tuple[Array, Array]:
    """Centre and radius ``(2, n)`` of ``h @ W + b`` for ``|h - c| <= r`` (rows: the stretch's two ends;
    ``b`` ``(n,)`` or ``(2, n)``)."""
    r = r + gamma * (jnp.abs(c) + r)
    zc = _mm(c, W) + b
    zr = _mm(r, absW) * (1 + gamma) + gamma * (jnp.abs(zc) + jnp.abs(b)) + flush + TINY
    return zc, zr


def _scaled(b: Array, u: Array) -> Array:
    """``u b`` ``(2, n)`` for the ends ``u`` ``(2, 1)`` rounded to float32. Rounding ``u`` to float32 and the product
    add ``2 * 2^-24 |u b|`` to the error of the float32 bias, which the ``gamma |b|`` terms cover (``gamma``
    is ``fan_in + 8`` units of ``2^-23``, twice a dot product's classical bound)."""
    return u * b


def _relu_enclosure(lo: Array, hi: Array) -> tuple[Array, Array]:
    """Centre and radius of affine bounds of ``relu(z)`` given affine ``lo <= z <= hi`` (end values ``(2, n)``)."""
    up = jnp.maximum(hi, 0)
    lmin, lmax = jnp.minimum(lo[0], lo[1]), jnp.maximum(lo[0], lo[1])  # (not reductions: slow on XLA's CPU)
    keep = (lmin >= 0) | (lmax > -lmin)  # lower bound L itself, else 0
    down = jnp.where(keep[None, :], lo, 0)
    return (up + down) * 0.5, (up - down) * 0.5


class MarginBounds(NamedTuple):
    """``low`` ``(2, n_L)``: lower bounds of the margins ``f_label - f_j`` at ``t = a`` and ``t = b`` (float32;
    ``+inf`` for ``j = label``), valid as an affine bound on all of ``[a, b]``. ``room``: the smallest ratio of
    a margin's enclosure centre to its radius (``low > 0`` where it exceeds 1), a guide to the next stretch."""

    low: Array
    room: Array


def certified_ray(ray: Ray) -> Ray:
    """The float32 copy of a first layer (:class:`Ray` of float64 arrays) that :func:`margin_bounds` reads,
    made once per ray: values rounded to nearest, their error bounds raised by that rounding and rounded
    up (values beyond float32's range become infinite: such a ray never certifies)."""
    a, s = ray.a.astype(F32), ray.s.astype(F32)
    return Ray(a, s, _up(ray.ea + jnp.abs(ray.a - a)), _up(ray.es + jnp.abs(ray.s - s)))


def _up(v64: Array) -> Array:
    """A float32 value ``>=`` the non-negative float64 ``v64``."""
    return (v64 * (1 + 2.0**-22) + TINY).astype(F32)


def margin_bounds(cp: CertParams, ray: Ray, a: Array, b: Array, label: Array, tail: bool = False) -> MarginBounds:
    """Bounds of the margins on the stretch ``[a, b]`` (``0 <= a <= b``, float64) of a ray (:func:`certified_ray`:
    first-layer pre-activations ``a1 + t s1`` in float32 with their error bounds against exact arithmetic).

    ``tail``: the stretch is one of ``u = 1 / t`` instead, ``u = 0`` standing for ``t = inf``. For
    ``t > 0`` every pre-activation is ``t`` times that of the same network at ``s1 + u a1`` with every
    later bias multiplied by ``u`` (ReLU is positively homogeneous), and so are the margins: their signs
    on ``u`` in ``[a, b]`` are those on ``t`` in ``[1 / b, 1 / a]``, an unbounded stretch made finite."""
    ends64 = jnp.stack([a, b])[:, None]
    ends = ends64.astype(F32)
    if tail:
        ray = Ray(ray.s, ray.a, ray.es, ray.ea)
        cp = cp._replace(hidden=tuple((W, aW, _scaled(bias, ends), g, fl) for W, aW, bias, g, fl in cp.hidden),
                         b=_scaled(cp.b, ends))
    # With t = e + de (e: the float32 end): |a1 + t s1 - (a + e s)| <= ea + |e| es + |de| (|s| + es); the
    # float32 products and sums round by less than 2^-22 of the magnitudes that enter them, the slack's
    # own sum by less than 2^-19 of it.
    de, e = _up(jnp.abs(ends64 - ends)), jnp.abs(ends)
    z = ray.a[None, :] + ends * ray.s[None, :]
    slop = (ray.ea[None, :] + e * ray.es[None, :] + de * (jnp.abs(ray.s) + ray.es)[None, :]
            + (jnp.abs(ray.a)[None, :] + e * jnp.abs(ray.s)[None, :] + jnp.abs(z)) * 2.0**-22)
    slop = slop * (1 + 2.0**-19) + TINY
    lo, hi = z - slop, z + slop
    for W, absW, bias, gamma, flush in cp.hidden:
        c, r = _relu_enclosure(lo, hi)
        zc, zr = _affine(c, r, W, absW, bias, gamma, flush)
        lo, hi = zc - zr, zc + zr
    c, r = _relu_enclosure(lo, hi)
    return _margins(cp, c, r, label)


def _margins(cp: CertParams, c: Array, r: Array, label: Array) -> MarginBounds:
    """Lower bounds of ``f_label - f_j`` for last-layer inputs ``|h - c| <= r`` (``(2, n_{L-1})``).

    The centre goes through ``W_L`` (logits, then differences: its rounding is bounded with ``|c| @ |W_L|``,
    each class with its own column, so a class with huge weights loosens only its own margin), the radius
    through the label's ``|W_L[:, label] - W_L[:, j]|`` (rounded up to float32)."""
    n = cp.b.shape[-1]
    gamma = cp.gamma_last
    r = r + gamma * (jnp.abs(c) + r)
    f = _mm(c, cp.W) + cp.b
    err = _mm(jnp.abs(c), cp.absW) + jnp.abs(cp.b)
    mc = f[:, label, None] - f
    if cp.absD_all is not None:  # few classes: one product against every label's matrix, then the label's block
        rad = _mm(r, cp.absD_all).reshape(r.shape[0], n, n)[:, label, :]
    else:
        rad = _mm(r, _label_abs_diff(cp.W64, label, gamma=gamma))
    mr = rad * (1 + gamma) + gamma * (err[:, label, None] + err + jnp.abs(mc)) + 2 * cp.flush_last + TINY
    other = jnp.arange(n) != label
    low = jnp.where(other, mc - mr, jnp.inf)
    return MarginBounds(low, jnp.min(jnp.where(other, mc / mr, jnp.inf)))


def certified_fraction(low: Array) -> Array:
    """From ``margin_bounds(...).low`` on ``[a, b]``: the fraction ``s`` in ``[0, 1]`` such that ``[a, a + s (b - a)]``
    is certified free of class change (1: all of it; 0: nothing). The affine bound's first root is taken
    with a small safety factor; NaN never certifies."""
    la, lb = low[0], low[1]
    ok_a = jnp.all(la > 0)
    ok_b = jnp.all(lb > 0)
    root = jnp.where(lb > 0, 1.0, la / jnp.where(lb > 0, 1.0, la - lb))
    s = jnp.min(root) * np.float32(1 - 2.0**-12)
    return jnp.where(ok_a & ok_b, 1.0, jnp.where(ok_a & (s > 0), s, 0.0)).astype(F32)
