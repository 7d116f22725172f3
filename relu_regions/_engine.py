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
  Once ``h`` falls below ``h_min`` (a class change is near or the bounds are too loose) the lane walks
  region by region from the certified frontier, like the plain walk, until the class change, the range
  end, or a step of positive length past the end of the stretch that failed (so every bout advances:
  no livelock); then it certifies again. Only the float64 walk decides where
  a GI ends (the certificate only skips stretches proven free of change), so ends, overtaking classes and
  tie handling are the walker's; the regions inside certified stretches are not visited, so the number of
  boundaries crossed is not known (reported as -1). Walking lanes are gathered into a sub-batch of
  ``walk_lanes`` per step, so the float64 work is spent only on them.

Infinite ``T``: certification stops at the last root of a first-layer unit (beyond it the walk is needed
to find the unbounded last region).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from relu_regions._certify import CertParams, certified_fraction, margin_bounds
from relu_regions._queue import Lanes, run_queue, select
from relu_regions._walk import Ray, Step, start_step, walk_step

THETA = 0.5
"""Next stretch length: the last one times ``sqrt(THETA * room)``, clipped to ``[STEP_MIN, STEP_MAX]``."""
STEP_MIN, STEP_MAX = 0.25, 2.0
H_MIN_REL = 2.0**-6
"""``h_min`` relative to the certifiable length of a side (``T``, or the last first-layer root)."""


class Problems(NamedTuple):
    """Side problems, ``P`` of them: ``ray`` (:class:`Ray` of ``(P, n_1)`` float64 arrays), ``T`` ``(P,)``,
    ``label`` ``(P,)`` int32."""

    ray: Ray
    T: Array
    label: Array


class Sides(NamedTuple):
    """Results per side problem ``(P,)``: ``end``, ``who`` (overtaking class or -1), ``regions`` (met in
    ``(0, end)``, -1 if not counted), ``finished`` (False if ``max_steps`` stopped it), ``cert`` (the end and
    class are certified) and ``cert_count`` (the region count too)."""

    end: Array
    who: Array
    regions: Array
    finished: Array
    cert: Array
    cert_count: Array


class Lane(NamedTuple):
    """State of one lane (leading axis: lanes): its problem; the certification frontier ``step.t`` with
    stretch ``h`` (certifying) or the walk's state ``step`` (walking; ``step.done`` once solved)."""

    ray: Ray
    T: Array
    Tc: Array  # certification cap
    label: Array
    walking: Array
    h: Array
    h_min: Array
    limit: Array  # a walk bout goes back to certifying once it has advanced to t >= limit
    step: Step
    n: Array  # certification attempts and region steps so far


def _cert_cap(ray: Ray, T: Array) -> Array:
    """``T`` if finite, else the last first-layer root ahead (0 if none)."""
    a1, s1 = ray.a, ray.s
    root = jnp.where(s1 != 0, -a1 / jnp.where(s1 != 0, s1, 1), -jnp.inf)
    last = jnp.maximum(jnp.max(jnp.where(jnp.isfinite(root), root, -jnp.inf)), 0.0)
    return jnp.where(jnp.isfinite(T), T, last)


def _init(params, problems: Problems, idx: Array, certify: bool) -> Lane:
    ray, T, label = jax.tree.map(lambda x: x[idx], (problems.ray, problems.T, problems.label))
    n = idx.shape[0]
    dtype = ray.a.dtype
    zero = jnp.zeros(n, dtype)
    Tc = jax.vmap(_cert_cap)(ray, T) if certify else zero
    step = jax.tree.map(lambda v: jnp.broadcast_to(v, (n,) + v.shape), start_step(params, dtype))
    return Lane(ray, T, Tc, label, walking=~(Tc > 0), h=Tc, h_min=Tc * H_MIN_REL,
                limit=jnp.full(n, jnp.inf, dtype), step=step, n=jnp.zeros(n, jnp.int32))


def _walk(params, lane: Lane) -> tuple[Lane, Array]:
    """One float64 region step for every lane given; returns the lanes and whether their walk ended."""
    st = jax.vmap(walk_step, in_axes=(None, 0, 0, 0, 0))(params, lane.ray, lane.T, lane.label, lane.step)
    # Back to certifying only after a step that advanced past the stretch that failed: every bout moves.
    back = (~st.done) & (st.t >= lane.limit) & (st.t > lane.step.t)
    lane = lane._replace(step=st, walking=~back, h=jnp.where(back, lane.h_min / STEP_MIN, lane.h),
                         n=lane.n + 1)
    return lane, st.done


def _certify(params, cp: CertParams, lane: Lane) -> tuple[Lane, Array]:
    """One certification attempt on ``[t, min(t + h, Tc)]`` for every lane; returns the lanes and whether
    the whole range is certified (no class change up to ``T``)."""
    t, Tc = lane.step.t, lane.Tc
    b = jnp.minimum(t + lane.h, Tc)
    mb = jax.vmap(margin_bounds, in_axes=(None, 0, 0, 0, 0))(cp, lane.ray, t, b, lane.label)
    s = jax.vmap(certified_fraction)(mb.low).astype(t.dtype)
    full = s == 1
    adv = s * (b - t)
    # A partial advance must be large against the rounding of t + adv (its safety factor is 2^-12).
    partial = (~full) & (adv > 2.0**-30 * jnp.abs(t))
    t_new = jnp.where(full, b, jnp.where(partial, t + adv, t))
    room = jnp.nan_to_num(mb.room.astype(t.dtype), nan=0.0)
    grow = jnp.sqrt(jnp.maximum(THETA * room, 0))
    h_new = (b - t) * jnp.clip(grow, STEP_MIN, STEP_MAX)
    reached = full & (b >= Tc)
    finished = reached & (Tc >= lane.T)
    walk = ~finished & (reached | (h_new < lane.h_min))
    limit = jnp.where(reached, jnp.inf, b)
    # The walk restarts at the frontier with nothing pinned (its own bounds certify what it decides);
    # whether every decision so far was certified carries over.
    n = t.shape[0]
    fresh = jax.tree.map(lambda v: jnp.broadcast_to(v, (n,) + v.shape), start_step(params, t.dtype))
    step = fresh._replace(t=t_new, done=finished, end=jnp.where(finished, lane.T, 0.0), cert=lane.step.cert)
    lane = lane._replace(step=step, h=h_new, walking=walk, limit=jnp.where(walk, limit, lane.limit),
                         n=lane.n + 1)
    return lane, finished


def _step_counting(params, max_steps: int):
    def step(lane: Lane, active: Array):
        lane, done = _walk(params, lane)
        lane = lane._replace(walking=jnp.ones_like(lane.walking))
        return lane, done | (lane.n >= max_steps)
    return step


def _step_certified(params, cp: CertParams, max_steps: int, walk_lanes: int):
    def step(lane: Lane, active: Array):
        n = lane.walking.shape[0]
        certifying = active & ~lane.walking
        walking = active & lane.walking
        c_lane, c_done = _certify(params, cp, lane)
        out = select(certifying, c_lane, lane)
        done = certifying & c_done
        if walk_lanes >= n:
            w_lane, w_done = _walk(params, lane)
            out = select(walking, w_lane, out)
            done = done | (walking & w_done)
        else:
            sel = jnp.nonzero(walking, size=walk_lanes, fill_value=n)[0]
            take = jnp.minimum(sel, n - 1)
            w_lane, w_done = _walk(params, jax.tree.map(lambda x: x[take], lane))
            out = jax.tree.map(lambda o, w: o.at[sel].set(w, mode="drop"), out, w_lane)
            done = done.at[sel].set(w_done, mode="drop")
        return out, done | (active & (out.n >= max_steps))
    return step


def _emit(lane: Lane, count: bool) -> Sides:
    st = lane.step
    regions = st.regions if count else jnp.full_like(st.regions, -1)
    return Sides(st.end, st.who, regions, st.done, st.cert & st.done, st.cert_count & st.done & count)


def empty_sides(n: int, dtype) -> Sides:
    """Placeholder results for ``n`` side problems."""
    false = jnp.zeros(n, bool)
    return Sides(jnp.zeros(n, dtype), jnp.full(n, -1, jnp.int32), jnp.zeros(n, jnp.int32), false, false, false)


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
    step = _step_certified(params, cp, max_steps, walk_lanes) if certify else _step_counting(params, max_steps)
    outputs = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), carried, empty_sides(P, problems.ray.a.dtype))
    lanes, outputs = run_queue(lanes, outputs, n_new=n_new, offset=P, finish_below=P,
                               init=lambda i: _init(params, problems, i, certify), step=step,
                               emit=lambda lane: _emit(lane, not certify))
    lanes = lanes._replace(slot=jnp.where(lanes.slot >= P, lanes.slot - P, -1))
    done = jax.tree.map(lambda a: a[:P], outputs)
    return done, lanes, jax.tree.map(lambda a: a[P:], outputs)
