"""Exact arithmetic on the given float64 numbers: the reference semantics, and the fallback of the
float64 walker for the few rays whose decisions float64 cannot certify.

Every float64 is a dyadic rational ``m 2^e``, so inside a linear region every pre-activation along a ray
is exactly ``alpha + beta t`` with dyadic ``alpha, beta``: a vector of them is held as Python integers
times one power of two (:class:`Dyadic`), products and sums stay exact, and only roots ``-alpha / beta``
are rationals (``fractions.Fraction``). Nothing here rounds: matrix products run as float64 products of
small integer digits that are exact by construction (:mod:`relu_regions._limbs`).

Semantics (shared with the float64 walker, which must agree with them):

* The pattern of the region *ahead of* ``t`` (just after ``t`` in the walking direction): a unit is active
  when ``z(t) > 0``, or ``z(t) == 0`` and its slope is positive. Every unit about to switch then has its
  root strictly after ``t``, so each region has positive length and the walk ends.
* The label is ``argmax f(x)`` (lowest index on ties). The GI's end on one side is the first ``t > 0`` after
  which another logit is strictly larger than the label's (inside the range; a change exactly at the range
  end does not count); the overtaking class is the one with the largest logit just after that point
  (steepest; lowest index on ties), or -1 at the range end.
* Regions met on one side: the regions whose open interval meets ``(0, end)``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

from relu_regions._limbs import LimbMatrix, int_matmul, limb_matrix


class Dyadic(NamedTuple):
    """Exact vector or matrix ``ints * 2**exp``: ``ints`` an object array of Python ints."""

    ints: np.ndarray
    exp: int


def dyadic(a) -> Dyadic:
    """The exact value of a float64 array (finite values only)."""
    a = np.asarray(a, dtype=np.float64)
    m, e = np.frexp(a)
    mant = (m * 2.0**53).astype(np.int64)
    e = e.astype(np.int64) - 53
    nz = mant != 0
    base = int(e[nz].min()) if nz.any() else 0
    shift = np.where(nz, e - base, 0)
    return Dyadic(mant.astype(object) * (2 ** shift.astype(object)), base)


def fractions(a: Dyadic) -> list[Fraction]:
    """The entries of ``a`` as exact rationals."""
    scale = Fraction(2) ** a.exp
    return [Fraction(int(v)) * scale for v in a.ints.ravel()]


def _align(a: Dyadic, b: Dyadic) -> tuple[np.ndarray, np.ndarray, int]:
    e = min(a.exp, b.exp)
    return a.ints * (1 << (a.exp - e)), b.ints * (1 << (b.exp - e)), e


def _add(a: Dyadic, b: Dyadic) -> Dyadic:
    x, y, e = _align(a, b)
    return Dyadic(x + y, e)


def _matmul(a: Dyadic, W: LimbMatrix) -> Dyadic:
    return Dyadic(int_matmul(a.ints, W), a.exp + W.exp)


def _matmul_pair(a: Dyadic, b: Dyadic, W: LimbMatrix) -> tuple[Dyadic, Dyadic]:
    """``(a @ W, b @ W)`` for vectors ``a, b`` in one product."""
    ints = np.empty((2, a.ints.shape[-1]), dtype=object)
    ints[0], ints[1] = a.ints, b.ints
    out = int_matmul(ints, W)
    return Dyadic(out[0], a.exp + W.exp), Dyadic(out[1], b.exp + W.exp)


def _where(mask: np.ndarray, a: Dyadic) -> Dyadic:
    return Dyadic(np.where(mask, a.ints, 0).astype(object), a.exp)


def _sign_at(alpha: Dyadic, beta: Dyadic, t: Fraction) -> np.ndarray:
    """Signs of ``alpha + beta t`` (int array of -1, 0, 1)."""
    a, b, _ = _align(alpha, beta)
    return _int_sign(a * t.denominator + b * t.numerator)


def _int_sign(v: np.ndarray) -> np.ndarray:
    return np.array([(x > 0) - (x < 0) for x in v.ravel()], np.int64).reshape(v.shape)


def _roots(alpha: Dyadic, beta: Dyadic, which: np.ndarray) -> list[tuple[Fraction, int]]:
    """Exact roots ``-alpha / beta`` of the units selected by ``which``, with their indices."""
    a, b, _ = _align(alpha, beta)
    return [(Fraction(-int(a[i]), int(b[i])), int(i)) for i in np.flatnonzero(which)]


def _first(roots: list[tuple[Fraction, int]]) -> tuple[Fraction | None, list[int]]:
    """Smallest root and every index attaining it."""
    if not roots:
        return None, []
    best = min(r for r, _ in roots)
    return best, [i for r, i in roots if r == best]


class ExactNet(NamedTuple):
    """A network's weights, exactly: ``layers[l] = (W, b)``, ``W`` cut into digits for exact products
    through float64 (:mod:`relu_regions._limbs`), ``b`` dyadic."""

    layers: list[tuple[LimbMatrix, Dyadic]]

    @classmethod
    def of(cls, params) -> "ExactNet":
        return cls([(limb_matrix(W), dyadic(b)) for W, b in params])


class ExactRegion(NamedTuple):
    """The region ahead of ``t``: patterns per hidden layer and the logits ``alpha + beta t`` on it."""

    masks: list[np.ndarray]
    alphas: list[Dyadic]
    betas: list[Dyadic]
    f_alpha: Dyadic
    f_beta: Dyadic


def region_ahead(net: ExactNet, a1: Dyadic, s1: Dyadic, t: Fraction) -> ExactRegion:
    """Pattern and affine forms of the region just after ``t`` (``a1 + t s1``: the first layer's input
    quantities, i.e. the first-layer pre-activations, or the input itself without hidden layers)."""
    layers = net.layers
    alpha, beta = a1, s1
    masks, alphas, betas = [], [], []
    for W, b in layers[1:] if len(layers) > 1 else []:
        sign = _sign_at(alpha, beta, t)
        slope = _int_sign(beta.ints)
        m = (sign > 0) | ((sign == 0) & (slope > 0))
        masks.append(m)
        alphas.append(alpha)
        betas.append(beta)
        alpha, beta = _matmul_pair(_where(m, alpha), _where(m, beta), W)
        alpha = _add(alpha, b)
    if len(layers) == 1:
        W, b = layers[0]
        alpha, beta = _matmul_pair(alpha, beta, W)
        alpha = _add(alpha, b)
    return ExactRegion(masks, alphas, betas, alpha, beta)


def first_quantities(net: ExactNet, x, d) -> tuple[Dyadic, Dyadic]:
    """``(alpha, beta)`` of the first layer along ``x + t d`` (the input itself without hidden layers)."""
    X, D = dyadic(x), dyadic(d)
    if len(net.layers) == 1:
        return X, D
    W, b = net.layers[0]
    alpha, beta = _matmul_pair(X, D, W)
    return _add(alpha, b), beta


def label_at_zero(region: ExactRegion) -> int:
    """``argmax f(0)``, lowest index on ties (``f(0) = alpha`` of the region ahead of 0)."""
    v = region.f_alpha.ints
    best = max(v)
    return int(next(i for i, x in enumerate(v) if x == best))


def _exit(region: ExactRegion, t: Fraction) -> tuple[Fraction | None, list[tuple[int, int]]]:
    """The region's exit (None: unbounded) and the units ``(layer, index)`` switching there."""
    found = []
    for l, (m, alpha, beta) in enumerate(zip(region.masks, region.alphas, region.betas)):
        slope = _int_sign(beta.ints)
        leaving = (m & (slope < 0)) | (~m & (slope > 0))
        found += [(r, (l, i)) for r, i in _roots(alpha, beta, leaving)]
    best, who = _first(found)
    if best is not None:
        assert best > t, "exact walk: a leaving unit's root must lie ahead"
    return best, who


def _change(region: ExactRegion, label: int, t: Fraction) -> tuple[Fraction | None, int]:
    """First point ``>= t`` after which a logit strictly exceeds the label's on this region's affine
    logits, with the overtaking class (steepest, then lowest index); ``(None, -1)`` if none."""
    ma, mb, _ = _align(region.f_alpha, region.f_beta)
    a = ma[label] - ma  # margins alpha + beta t
    b = mb[label] - mb
    cands = []
    for j in range(len(a)):
        if j == label or not b[j] < 0:
            continue
        r = Fraction(-int(a[j]), int(b[j]))
        cands.append((max(r, t), int(b[j]), j))
    if not cands:
        return None, -1
    end = min(c[0] for c in cands)
    slope, j = min((c[1], c[2]) for c in cands if c[0] == end)
    return end, j


class ExactSide(NamedTuple):
    """One side of a ray, exactly: ``end`` (``Fraction``, or None for an infinite range end reached),
    ``who`` (overtaking class, -1 at the range end), ``regions`` met in ``(0, end)``, the pattern ahead of 0
    and, when recorded, every region as ``(start, pattern, f_alpha, f_beta)``."""

    end: Fraction | None
    who: int
    regions: int
    first_pattern: np.ndarray
    record: list


def walk_side(net: ExactNet, a1: Dyadic, s1: Dyadic, T: float, label: int | None, *, max_regions: int,
              record: bool = False, stop_at_change: bool = True, start: float = 0.0) -> tuple[ExactSide, int]:
    """Walk ``t`` from ``start`` (default 0) to ``T`` (float, may be ``inf``) along ``a1 + t s1``; returns
    the side and the label.

    ``start > 0`` needs the label and a certificate that no class change occurs on ``[0, start]``; regions
    and patterns are then those met from ``start`` on. ``stop_at_change=False`` walks to ``T`` regardless
    (partitions). Raises :class:`RegionLimitError` after ``max_regions`` regions."""
    if start and label is None:
        raise ValueError("walk_side: a walk from start > 0 needs the label")
    t = Fraction(start)
    Tq = None if np.isinf(T) else Fraction(T)
    count = 0
    first_pattern = None
    rows = []
    while True:
        region = region_ahead(net, a1, s1, t)
        pattern = np.concatenate(region.masks) if region.masks else np.zeros(0, bool)
        if first_pattern is None:
            first_pattern = pattern
            if label is None:
                label = label_at_zero(region)
        if record:
            rows.append((t, pattern, region.f_alpha, region.f_beta))
        exit_t, _ = _exit(region, t)
        if stop_at_change:
            end, who = _change(region, label, t)
            if end is not None and (exit_t is None or end < exit_t) and (Tq is None or end < Tq):
                return ExactSide(end, who, count + (end > t), first_pattern, rows), label
        if exit_t is None or (Tq is not None and exit_t >= Tq):
            return ExactSide(Tq, -1, count + (Tq is None or Tq > t), first_pattern, rows), label
        t = exit_t
        count += 1
        if count >= max_regions:
            raise RegionLimitError(f"the ray crosses more than max_steps={max_regions} linear regions")


class RegionLimitError(RuntimeError):
    """The exact walk met more regions than allowed."""


def exact_label(net: ExactNet, a1: Dyadic, s1: Dyadic) -> int:
    """``argmax f(x)`` exactly (lowest index on ties), from the ray's first quantities
    (:func:`first_quantities`)."""
    return label_at_zero(region_ahead(net, a1, s1, Fraction(0)))


def exact_ray(net: ExactNet, x, d, t_min: float, t_max: float, *, max_regions: int,
              starts: tuple[float | None, float | None] = (0.0, 0.0), label: int | None = None, first=None):
    """Both sides of ``x + t d``: ``(forward ExactSide, backward ExactSide, label)``.

    ``starts``: distances from 0 (forwards, backwards) up to which the ray is already certified free of
    class change for ``label`` (the exact label, :func:`exact_label`); each side's walk starts there, and
    its region count covers only what it walked. A start of None skips that side (already decided
    elsewhere): its result is None. ``first``: the ray's :func:`first_quantities`, if already computed."""
    if any(s != 0 for s in starts) and label is None:
        raise ValueError("exact_ray: starting beyond 0 or skipping a side needs the label")
    a1, s1 = first_quantities(net, x, d) if first is None else first
    neg = Dyadic(-s1.ints, s1.exp)
    sides = []
    for s, T, start in ((s1, t_max, starts[0]), (neg, -t_min, starts[1])):
        side = None
        if start is not None:
            side, label = walk_side(net, a1, s, T, label, max_regions=max_regions, start=start)
        sides.append(side)
    return sides[0], sides[1], label


def ray_regions(fwd: ExactSide, bwd: ExactSide) -> int:
    """Regions met by the GI ``(lo, hi)``: both sides' counts, the region around 0 counted once when 0 is
    inside one region (the patterns ahead of 0 agree on both sides) and both sides meet it."""
    shared = fwd.regions > 0 and bwd.regions > 0 and np.array_equal(fwd.first_pattern, bwd.first_pattern)
    return fwd.regions + bwd.regions - int(shared)


def exact_pattern(net: ExactNet, x) -> list[np.ndarray]:
    """Activation masks ``z_l > 0`` at the point ``x``, exactly."""
    h = dyadic(x)
    masks = []
    for W, b in net.layers[:-1]:
        z = _add(_matmul(h, W), b)
        m = _int_sign(z.ints) > 0
        masks.append(m)
        h = _where(m, z)
    return masks


def to_float(q: Fraction | None, sign: int = 1) -> float:
    """A rational as the nearest float64 (``None``: ``sign * inf``; beyond float64's range: ``+-inf``)."""
    if q is None:
        return sign * float("inf")
    try:
        return float(q)
    except OverflowError:
        return float("inf") if q > 0 else float("-inf")
