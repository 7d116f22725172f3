"""Batched one-sided GI walks on a work queue: the plain region walk, and the certified fast path.

A *side problem* is one side of a ray: first-layer pre-activations ``a1 + t s1`` for ``t`` in ``[0, T]``
and the label to keep. Problems run on a fixed number of lanes that are refilled as they finish, and unfinished
lanes are handed over from one chunk of rays to the next (:func:`relu_regions._queue.run_queue`).

* Counting walk (``certify=False``): every lane walks region by region (:func:`walk_step`), counting the
  regions it meets, exactly as :func:`relu_regions._walk.walk_to_class_change`; every decision is
  certified or flagged (``Sides.cert``, ``Sides.cert_count``) for the caller to resolve.
* Certified walk (``certify=True``): a lane first certifies stretches ``[t, t + h]`` free of class change
  with float32 bounds (:mod:`relu_regions._certify`); a partly certified stretch still advances ``t`` to
  where its bound stays positive. The next ``h`` is predicted from the room the bounds left: their radius
  grows about quadratically with the stretch length, so ``h`` is scaled by ``sqrt(THETA * room)``
  (``room``: the smallest centre-to-radius ratio of a margin), within ``[STEP_MIN, STEP_MAX]``.
  Once ``h`` falls below ``h_min``, or a failed stretch holds at most ``ROOTS_WALK`` first-layer roots
  (a class change is near or the bounds are too loose), the lane walks
  region by region from the certified frontier, like the plain walk, until the class change, the range
  end, or a step of positive length past the end of the stretch that failed (so every bout advances:
  no livelock); then it certifies again. Only the float64 walk decides where
  a GI ends (the certificate only skips stretches proven free of change), so ends, overtaking classes and
  tie handling are the walker's; the regions inside certified stretches are not visited, so the number of
  boundaries crossed is not known (reported as -1). Each step gathers up to ``walk_lanes`` walking lanes
  and up to ``n_lanes - walk_lanes`` certifying lanes into two sub-batches, so no work is spent on a lane
  for the other kind of step (the rest wait a step).

Infinite ``T``: the unbounded end is certified once per problem, before the walk, in the variable
``u = 1 / t`` (``margin_bounds(..., tail=True)``): a certified ``u`` in ``[0, U]`` clears every
``t >= 1 / U``, and certification in ``t`` then stops there. Where the tail cannot be certified,
certification stops at the last root of a first-layer unit and the walk finds the unbounded last region.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from relu_regions._certify import CertParams, certified_fraction, certified_ray, margin_bounds
from relu_regions._queue import Lanes, run_queue, select
from relu_regions._walk import Ray, Step, start_step, walk_step

THETA = 0.5
"""Next stretch length: the last one times ``sqrt(THETA * room)``, clipped to ``[STEP_MIN, STEP_MAX]``.
A failed attempt has ``room <= 1``, so with ``THETA < 1`` it shrinks the stretch by at least
``sqrt(THETA)``: failed attempts reach ``h_min`` (and a walk bout) in a bounded number of steps. (With
``THETA >= 1`` a failing stretch could keep its length and the lane spin until ``max_steps``.)"""
STEP_MIN, STEP_MAX = 0.25, 2.0
H_MIN_REL = 2.0**-8
"""``h_min`` relative to the scale of a finite side: ``Tc``, or the last first-layer root if that comes
first (not below ``H_MIN_REL * Tc``); ``H_MIN_REL_INF`` relative to ``Tc`` for an infinite side, whose cap
lies far beyond the region where classes change. A region step costs about four certification attempts
(float64, with error bounds; hand-timed on 2 CPU cores), so certification goes on close to a class change
(what that saved on 2,000 MNIST rays: the main README, "Benchmarks")."""
H_MIN_REL_INF = 2.0**-19
ROOTS_WALK = 0
"""After a failed attempt, a stretch where at most this many first-layer units switch is walked."""
H_FIRST = 0.5
"""A side's first stretch is this fraction of its certification cap. The bounds' radius grows much faster
than the stretch, so the whole side rarely certifies at once where half of it might (counted on 2,000
MNIST rays, [-1, 2]: certification attempts -8% on random labels, -6% on real ones)."""
NARROW, NARROW_MIN = 4, 16
"""Once at most ``1 / NARROW`` of a call's lanes still have to finish, they go on in that many lanes
(where that leaves at least ``NARROW_MIN``), half of them walking: the tail of a call, mostly walks,
stops paying for idle lanes."""


class Problems(NamedTuple):
    """Side problems, ``P = 2 B`` of them, of ``B`` rays: ``ray`` (:class:`Ray` of ``(B, n_1)`` float64
    arrays; problem ``i < B`` walks ray ``i`` forwards, problem ``B + i`` backwards, see :func:`side_rays`:
    not stored twice, which would copy every first layer), ``T`` ``(P,)``,
    ``label`` ``(P,)`` int32; for the certified walk (:func:`with_caps`) ``Tc`` ``(P,)``, how far
    certification goes, and ``tail`` ``(P,)``, whether ``[Tc, T]`` is already certified; ``start`` ``(P,)``
    (certified walk only; None: 0) where the walk starts, ``[0, start]`` being certified free of class
    change for ``label`` already (by an earlier, less accurate pass); ``h_min`` ``(P,)`` (certified walk only)
    the shortest stretch certification tries before it walks (see ``H_MIN_REL``); ``ray32`` (certified walk
    only) the rays' float32 copy that certification reads (:func:`relu_regions._certify.certified_ray`)."""

    ray: Ray
    T: Array
    label: Array
    Tc: Array | None = None
    tail: Array | None = None
    start: Array | None = None
    h_min: Array | None = None
    ray32: Ray | None = None


class Sides(NamedTuple):
    """Results per side problem ``(P,)``: ``end``, ``who`` (overtaking class or -1), ``regions`` (met in
    ``(0, end)``, -1 if not counted), ``finished`` (False if ``max_steps`` stopped it), ``cert`` (the end and
    class are certified), ``cert_count`` (the region count too) and ``safe``: ``[0, safe]`` is certified
    free of class change (where an exact resolution may start)."""

    end: Array
    who: Array
    regions: Array
    finished: Array
    cert: Array
    cert_count: Array
    safe: Array


class Lane(NamedTuple):
    """State of one lane (leading axis: lanes): its problem (``ray32`` None on the counting walk); the
    certification frontier ``step.t`` with stretch ``h`` (certifying) or the walk's state ``step`` (walking;
    ``step.done`` once solved)."""

    ray: Ray
    ray32: Ray | None
    T: Array
    Tc: Array  # certification cap
    tail: Array  # [Tc, T] is certified
    label: Array
    walking: Array
    h: Array
    h_min: Array
    limit: Array  # a walk bout goes back to certifying once it has advanced to t >= limit
    step: Step
    n: Array  # certification attempts and region steps so far


def side_rays(problems: Problems, idx: Array, f32: bool = False) -> Ray:
    """The rays of side problems ``idx`` ``(k,)`` (rows ``(k, n_1)``), walked backwards for ``idx >= B``;
    ``f32``: their float32 copies ``problems.ray32``."""
    B = problems.ray.a.shape[0]
    back = idx >= B
    ray = jax.tree.map(lambda x: x[jnp.where(back, idx - B, idx)], problems.ray32 if f32 else problems.ray)
    return ray._replace(s=jnp.where(back[:, None], -ray.s, ray.s))


def _roots(ray: Ray) -> Array:
    """Where each first-layer unit switches along the ray, ``(..., n_1)`` (NaN for a constant unit)."""
    return jnp.where(ray.s != 0, -ray.a / jnp.where(ray.s != 0, ray.s, 1), jnp.nan)


def _last_root(ray: Ray) -> Array:
    """The last root ahead of a first-layer unit (0 if none)."""
    root = _roots(ray)
    return jnp.maximum(jnp.max(jnp.where(jnp.isfinite(root), root, -jnp.inf)), 0.0)


def _tail_cap(cp: CertParams, ray: Ray, label: Array, last: Array) -> tuple[Array, Array]:
    """``(Tc, tail)`` for an infinite side (``ray``: its float32 copy) whose last first-layer root ahead is
    ``last`` (0 if none): with ``R = last`` (1 if none), ``u = 1 / t`` in ``[0, 1 / R]`` is certified as far
    as the bounds allow, ``[0, s / R]``; then ``Tc = R / s`` (rounded up) and ``tail`` is True. Else
    ``Tc = last``, ``tail`` False."""
    R = jnp.where(last > 0, last, 1.0)
    U0 = 1.0 / R
    s = certified_fraction(margin_bounds(cp, ray, jnp.zeros_like(U0), U0, label, tail=True).low).astype(R.dtype)
    tail = s > 0
    # (1 / (s U0)) carries two roundings; the factor makes Tc an upper bound of the exact quotient.
    Tc = jnp.where(tail, 1.0 / (jnp.where(tail, s, 1.0) * U0) * (1 + 2.0**-40), last)
    return Tc, tail


def with_caps(cp: CertParams, problems: Problems) -> Problems:
    """``problems`` with the certification caps ``Tc``, ``tail`` and ``h_min`` (:class:`Problems`); the tail
    bound is computed only when some side is infinite."""
    T = problems.T
    inf = jnp.isinf(T)
    problems = problems._replace(ray32=jax.vmap(certified_ray)(problems.ray))
    idx = jnp.arange(T.shape[0])
    last = jax.vmap(_last_root)(side_rays(problems, idx))
    tail_cap = lambda: jax.vmap(_tail_cap, in_axes=(None, 0, 0, 0))(cp, side_rays(problems, idx, f32=True),
                                                                    problems.label, last)
    Tc, tail = jax.lax.cond(jnp.any(inf), tail_cap, lambda: (T, jnp.zeros(T.shape, bool)))
    Tc = jnp.where(inf, Tc, T)
    # A finite side's scale is where its first layer stops switching, if that comes before Tc: a range far
    # longer than the ray's switching (t in [-1e3, 1e3]) must not walk stretches longer than a GI.
    scale = jnp.clip(last, Tc * H_MIN_REL, Tc)
    h_min = jnp.where(inf, Tc * H_MIN_REL_INF, scale * H_MIN_REL)
    return problems._replace(Tc=Tc, tail=jnp.where(inf, tail, False), h_min=h_min)


def _init(params, problems: Problems, idx: Array, certify: bool) -> Lane:
    ray = side_rays(problems, idx)
    ray32 = side_rays(problems, idx, f32=True) if certify else None
    T, label = problems.T[idx], problems.label[idx]
    n = idx.shape[0]
    dtype = ray.a.dtype
    zero = jnp.zeros(n, dtype)
    Tc = problems.Tc[idx] if certify else zero
    tail = problems.tail[idx] if certify else jnp.zeros(n, bool)
    step = jax.tree.map(lambda v: jnp.broadcast_to(v, (n,) + v.shape), start_step(params, dtype))
    if certify and problems.start is not None:
        start = problems.start[idx]
        step = step._replace(t=start, safe=start)
    h_min = problems.h_min[idx] if certify else zero
    return Lane(ray, ray32, T, Tc, tail, label, walking=~(Tc > 0), h=Tc * H_FIRST, h_min=h_min,
                limit=jnp.full(n, jnp.inf, dtype), step=step, n=jnp.zeros(n, jnp.int32))


def _walk(params, lane: Lane) -> tuple[Lane, Array]:
    """One float64 region step for every lane given; returns the lanes and whether their walk ended."""
    st = jax.vmap(walk_step, in_axes=(None, 0, 0, 0, 0))(params, lane.ray, lane.T, lane.label, lane.step)
    # Back to certifying only after a step that advanced past the stretch that failed: every bout moves.
    back = (~st.done) & (st.t >= lane.limit) & (st.t > lane.step.t)
    h = jnp.where(back, jnp.maximum(lane.h, lane.h_min / STEP_MIN), lane.h)
    lane = lane._replace(step=st, walking=~back, h=h, n=lane.n + 1)
    return lane, st.done


def _few_roots(ray: Ray, a: Array, b: Array) -> Array:
    """Whether at most ``ROOTS_WALK`` first-layer units switch on ``(a, b)`` (per lane; ``ray``: the float32
    copy, whose roots are close enough for a choice that only steers the work): the first layer's pattern
    then hardly changes there, and walking is likely cheaper than more certification attempts."""
    root = _roots(ray).astype(a.dtype)
    inside = (root > a[:, None]) & (root < b[:, None])  # NaN (constant units) is never inside
    return jnp.sum(inside, axis=-1) <= ROOTS_WALK


def _certify(params, cp: CertParams, lane: Lane) -> tuple[Lane, Array]:
    """One certification attempt on ``[t, min(t + h, Tc)]`` for every lane; returns the lanes and whether
    the whole range is certified (no class change up to ``T``)."""
    t, Tc = lane.step.t, lane.Tc
    beyond = t >= Tc  # a walk bout went past the cap: nothing left to certify
    b = jnp.maximum(jnp.minimum(t + lane.h, Tc), t)
    mb = jax.vmap(margin_bounds, in_axes=(None, 0, 0, 0, 0))(cp, lane.ray32, t, b, lane.label)
    s = jax.vmap(certified_fraction)(mb.low).astype(t.dtype)
    full = (s == 1) | beyond
    adv = s * (b - t)
    # A partial advance must be large against the rounding of t + adv (its safety factor is 2^-12).
    partial = (~full) & (adv > 2.0**-30 * jnp.abs(t))
    t_new = jnp.where(full, b, jnp.where(partial, t + adv, t))
    room = jnp.nan_to_num(mb.room.astype(t.dtype), nan=0.0)
    grow = jnp.sqrt(jnp.maximum(THETA * room, 0))
    h_new = (b - t) * jnp.clip(grow, STEP_MIN, STEP_MAX)
    reached = full & (b >= Tc)
    finished = reached & ((Tc >= lane.T) | lane.tail)
    walk = ~finished & (reached | (h_new < lane.h_min) | (~full & _few_roots(lane.ray32, t_new, b)))
    limit = jnp.where(reached, jnp.inf, b)
    # The walk restarts at the frontier with nothing pinned (its own bounds certify what it decides);
    # whether every decision so far was certified carries over.
    n = t.shape[0]
    fresh = jax.tree.map(lambda v: jnp.broadcast_to(v, (n,) + v.shape), start_step(params, t.dtype))
    step = fresh._replace(t=t_new, done=finished, end=jnp.where(finished, lane.T, 0.0), cert=lane.step.cert,
                          safe=jnp.where(lane.step.cert, t_new, lane.step.safe))
    lane = lane._replace(step=step, h=h_new, walking=walk, limit=jnp.where(walk, limit, lane.limit),
                         n=lane.n + 1)
    return lane, finished


def _step_counting(params, max_steps: int):
    def step(lane: Lane, active: Array):
        lane, done = _walk(params, lane)
        lane = lane._replace(walking=jnp.ones_like(lane.walking))
        return lane, done | (lane.n >= max_steps)
    return step


_FIXED = ("ray", "ray32", "T", "Tc", "tail", "label", "h_min")
"""The :class:`Lane` fields that hold the problem: no step changes them."""
_MOVING = tuple(f for f in Lane._fields if f not in _FIXED)
"""The fields a certification attempt or a region step may change (every field not listed as fixed)."""


def _on_some(fn, lane: Lane, mask: Array, size: int, out: Lane, done: Array) -> tuple[Lane, Array]:
    """Apply ``fn`` (lanes -> (lanes, done)) to the first ``size`` lanes where ``mask``, gathered into a
    sub-batch so its work is spent only on them; their moving fields go into ``out`` and ``done``."""
    n = mask.shape[0]
    sel = jnp.nonzero(mask, size=size, fill_value=n)[0]
    new, new_done = fn(jax.tree.map(lambda x: x[jnp.minimum(sel, n - 1)], lane))
    moved = {f: jax.tree.map(lambda o, w: o.at[sel].set(w, mode="drop"), getattr(out, f), getattr(new, f))
             for f in _MOVING}
    return out._replace(**moved), done.at[sel].set(new_done, mode="drop")


def _step_certified(params, cp: CertParams, max_steps: int, walk_lanes: int):
    def step(lane: Lane, active: Array):
        n = lane.walking.shape[0]
        certifying = active & ~lane.walking
        walking = active & lane.walking
        if walk_lanes >= n:
            c_lane, c_done = _certify(params, cp, lane)
            out = select(certifying, c_lane, lane)
            w_lane, w_done = _walk(params, lane)
            out = select(walking, w_lane, out)
            done = (certifying & c_done) | (walking & w_done)
        else:
            done = jnp.zeros_like(active)
            out, done = _on_some(lambda l: _certify(params, cp, l), lane, certifying, n - walk_lanes, lane, done)
            out, done = _on_some(lambda l: _walk(params, l), lane, walking, walk_lanes, out, done)
        return out, done | (active & (out.n >= max_steps))
    return step


def _emit(lane: Lane, count: bool) -> Sides:
    st = lane.step
    regions = st.regions if count else jnp.full_like(st.regions, -1)
    return Sides(st.end, st.who, regions, st.done, st.cert & st.done, st.cert_count & st.done & count, st.safe)


def empty_sides(n: int, dtype) -> Sides:
    """Placeholder results for ``n`` side problems."""
    false = jnp.zeros(n, bool)
    zero = jnp.zeros(n, dtype)
    return Sides(zero, jnp.full(n, -1, jnp.int32), jnp.zeros(n, jnp.int32), false, false, false, zero)


def idle_lanes(params, problems: Problems, n_lanes: int, certify: bool) -> Lanes:
    """``n_lanes`` free lanes (their states are placeholders)."""
    state = _init(params, problems, jnp.zeros(n_lanes, jnp.int32), certify)
    return Lanes(jnp.full(n_lanes, -1, jnp.int32), state)


def advance(params, cp: CertParams | None, problems: Problems, lanes: Lanes, carried: Sides, n_new: Array, *,
            walk_lanes: int, max_steps: int) -> tuple[Sides, Lanes, Sides]:
    """Take the first ``n_new`` of ``P`` new side problems into the queue and run until all of them are
    taken and every problem handed over from the previous call is solved (call under ``jit``).

    ``cp`` None selects the counting walk, else the certified walk. Handed-over problems own slots
    ``0 .. P - 1`` of the results, whose values so far are ``carried``; new problems get slots ``P + i``.
    Returns the previous problems' results ``(P,)``, the lanes (slots renumbered for the next call) and
    the new problems' results so far ``(P,)``.
    """
    P = problems.T.shape[0]
    certify = cp is not None
    width = lanes.slot.shape[0] // NARROW
    if certify:
        step = _step_certified(params, cp, max_steps, walk_lanes)
        narrow = _step_certified(params, cp, max_steps, min(walk_lanes, width // 2))  # (the tail mostly walks)
    else:
        step = narrow = _step_counting(params, max_steps)
    outputs = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), carried, empty_sides(P, problems.ray.a.dtype))
    lanes, outputs = run_queue(lanes, outputs, n_new=n_new, offset=P, finish_below=P,
                               init=lambda i: _init(params, problems, i, certify), step=step,
                               emit=lambda lane: _emit(lane, not certify),
                               narrow=(width, narrow) if width >= NARROW_MIN else None)
    lanes = lanes._replace(slot=jnp.where(lanes.slot >= P, lanes.slot - P, -1))
    done = jax.tree.map(lambda a: a[:P], outputs)
    return done, lanes, jax.tree.map(lambda a: a[P:], outputs)
