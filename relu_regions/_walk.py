"""The exact region walker: one ray ``x + t d``, ``t`` from 0 up to ``T``, one linear region per step.

Inside a region the activation pattern is fixed, so every pre-activation and every logit is affine in
``t``: the walker carries values and slopes at the current ``t`` through the layers, finds the nearest
root of a pre-activation whose unit is about to switch (the region's exit) and the nearest point where
another logit overtakes the label (a class change), and moves on.

Floating-point ties. The pattern of the region *after* the current ``t`` is decided lexicographically:
a unit is active when ``z(t) > 0``, or when ``z(t) == 0`` and its slope is positive. A unit that has just
triggered the exit sits on its root, where ``z(t)`` is a rounding residual of either sign; its state is
decided by the slope alone ("pinned"), never by that residual. This keeps every unit's state consistent
with the region ahead: a unit either moves away from its root or its root lies at or after ``t``.
Steps of zero length (several roots within one rounding error) pin the new trigger units too, so the
walk always progresses; ``max_steps`` bounds it regardless and the result is flagged if reached.

All functions here are pure, for one ray, and jit/vmap-able; they compute in the dtype of ``params``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


MARGIN_RTOL = 2.0**-44
"""Relative size (about 5.7e-14) below which a logit margin or slope difference is a tie."""


class Region(NamedTuple):
    """The linear region ahead of ``t``: per hidden layer its mask, pre-activations and their slopes
    ``dz/dt`` at ``t``; logits ``f`` and their slopes ``g`` at ``t``, each ``(n_L,)``."""

    masks: tuple[Array, ...]
    z: tuple[Array, ...]
    s: tuple[Array, ...]
    f: Array
    g: Array


def region_ahead(params, z1: Array, s1: Array, pinned: tuple[Array, ...]) -> Region:
    """Propagate first-layer values ``z1`` and slopes ``s1`` ``(n_1,)`` through the net, deciding each
    hidden layer's pattern lexicographically (value, then slope; pinned units by slope alone)."""
    masks, zs, ss = [], [], []
    z, s = z1, s1
    for l, (W, b) in enumerate(params[1:]):
        m = jnp.where(pinned[l] | (z == 0), s > 0, z > 0)
        masks.append(m)
        zs.append(z)
        ss.append(s)
        zs_next = jnp.stack([jnp.where(m, z, 0), jnp.where(m, s, 0)]) @ W
        z, s = zs_next[0] + b, zs_next[1]
    return Region(tuple(masks), tuple(zs), tuple(ss), z, s)


def exit_step(region: Region) -> tuple[Array, tuple[Array, ...]]:
    """Distance ``dt >= 0`` to the region's exit (``inf`` if unbounded) and, per layer, the units whose
    root is at that distance (the trigger set)."""
    dts = []
    for m, z, s in zip(region.masks, region.z, region.s):
        leaving = (m & (s < 0)) | (~m & (s > 0))
        dt = jnp.where(leaving, jnp.maximum(-z / jnp.where(leaving, s, 1), 0), jnp.inf)
        dts.append(dt)
    if not dts:  # no hidden layer: one affine region
        return jnp.asarray(jnp.inf, region.f.dtype), ()
    dt_exit = jnp.min(jnp.stack([jnp.min(dt) for dt in dts]))
    triggers = tuple((dt == dt_exit) & jnp.isfinite(dt) for dt in dts)
    return dt_exit, triggers


def class_change_step(f: Array, g: Array, label: Array, dt_exit: Array) -> tuple[Array, Array]:
    """Distance ``dt`` in ``[0, dt_exit]`` at which some logit ``j != label`` first strictly exceeds the
    label's logit inside the current region (``f + dt g`` affine); ``(dt, j)``, or ``(inf, -1)`` if none.

    Ties are broken by slope: a logit equal to the label's overtakes only if it rises faster. A logit that
    merely reaches the label's at the region's exit is left to the next region, whose slopes decide
    (a touch at a boundary is not a change). Margins and slope differences within ``MARGIN_RTOL`` of the
    largest logit (slope) count as ties, so that rounding residuals of logits that are equal in exact
    arithmetic neither end nor extend a GI (the error this allows in ``t`` is that tolerance divided by the
    slope difference).
    """
    margin = f[label] - f
    dmargin = g[label] - g
    tol_f = MARGIN_RTOL * jnp.max(jnp.abs(f))
    tol_g = MARGIN_RTOL * jnp.max(jnp.abs(g))
    other = jnp.arange(f.shape[0]) != label
    falling = dmargin < -tol_g
    now = (margin < -tol_f) | ((margin <= tol_f) & falling)
    later = (margin > tol_f) & falling
    at_exit = jnp.where(jnp.isfinite(dt_exit), margin + jnp.where(jnp.isfinite(dt_exit), dt_exit, 0) * dmargin,
                        jnp.where(falling, -jnp.inf, margin))
    strict = now | (later & (at_exit < -tol_f))
    dt = jnp.where(now, 0.0, jnp.where(later, margin / jnp.where(later, -dmargin, 1), jnp.inf))
    dt = jnp.where(other & strict, jnp.minimum(dt, dt_exit), jnp.inf)
    j = jnp.argmin(dt)
    return dt[j], jnp.where(jnp.isfinite(dt[j]), j, -1)


def no_pins(params) -> tuple[Array, ...]:
    """No unit pinned: one all-False mask per hidden layer."""
    return tuple(jnp.zeros(W.shape[1], dtype=bool) for W, _ in params[:-1])


def _repin(pinned, triggers, progressed):
    return tuple(jnp.where(progressed, t, p | t) for p, t in zip(pinned, triggers))


class OneSided(NamedTuple):
    """Result of a one-sided walk: ``end`` in ``[0, T]``, the class taking over there (-1 if none),
    the number of region boundaries crossed before ``end`` and whether the walk finished."""

    end: Array
    overtaker: Array
    crossings: Array
    finished: Array


class Step(NamedTuple):
    """State of a class-change walk after one region: the next region's entry ``t`` (unchanged once
    ``done``), the pinned units, boundaries crossed so far, whether the walk ended, and if so where
    (``end``) and which class took over there (``who``, -1 at the range end)."""

    t: Array
    pinned: tuple[Array, ...]
    crossings: Array
    done: Array
    end: Array
    who: Array


def walk_step(params, a1: Array, s1: Array, T: Array, label: Array, t: Array, pinned: tuple[Array, ...],
              crossings: Array) -> Step:
    """One region of the walk along first-layer pre-activations ``a1 + t s1`` (``(n_1,)``) towards ``T``:
    look for a class change inside the region entered at ``t`` (with ``pinned`` units decided by slope),
    else move to its exit."""
    region = region_ahead(params, a1 + t * s1, s1, pinned)
    dt_exit, triggers = exit_step(region)
    dt_change, who = class_change_step(region.f, region.g, label, dt_exit)
    t_exit = t + dt_exit
    t_change = t + dt_change
    changed = jnp.isfinite(dt_change) & (t_change <= T)
    at_end = (~changed) & (t_exit >= T)
    done = changed | at_end
    end = jnp.where(changed, t_change, T)
    who = jnp.where(changed, who, -1).astype(jnp.int32)
    t_next = jnp.where(done, t, t_exit)
    progressed = t_next > t
    pinned = _repin(pinned, triggers, progressed)
    # A change right at a boundary ends the GI there: the region just entered is not counted.
    crossings = crossings + progressed.astype(jnp.int32) - (changed & (dt_change == 0) & (crossings > 0))
    return Step(t_next, pinned, crossings, done, end, who)


def walk_to_class_change(params, a1: Array, s1: Array, T: Array, label: Array, max_steps: int) -> OneSided:
    """Walk the ray with first-layer pre-activations ``a1 + t s1`` (``(n_1,)``: ``x @ W1 + b1`` and
    ``d @ W1``) for ``t`` in ``[0, T]`` (``T`` may be ``inf``) until ``label`` stops being a (weak) argmax."""

    def cond(state):
        step, steps = state
        return (~step.done) & (steps < max_steps)

    def body(state):
        step, steps = state
        return walk_step(params, a1, s1, T, label, step.t, step.pinned, step.crossings), steps + 1

    zero = jnp.zeros((), dtype=a1.dtype)
    init = Step(zero, no_pins(params), jnp.int32(0), jnp.bool_(False), zero, jnp.int32(-1))
    step, _ = jax.lax.while_loop(cond, body, (init, jnp.int32(0)))
    return OneSided(step.end, step.who, step.crossings, step.done)


class Trace(NamedTuple):
    """Regions met by a one-sided walk over ``[0, T]``, in order, in buffers of ``capacity`` rows:
    ``starts`` ``(capacity,)`` entry distances, ``f``/``g`` ``(capacity, n_L)`` logits and slopes at entry,
    ``patterns`` ``(capacity, n_hidden)``; ``count`` regions filled; ``complete`` False if more remained."""

    starts: Array
    f: Array
    g: Array
    patterns: Array
    count: Array
    complete: Array


def walk_regions(params, x: Array, d: Array, T: Array, capacity: int) -> Trace:
    """Record every linear region of ``x + t d`` for ``t`` in ``[0, T]`` (``T`` may be ``inf``)."""
    W1, b1 = params[0]
    a1 = x @ W1 + b1
    s1 = d @ W1
    n_out = params[-1][0].shape[1]
    n_hidden = sum(W.shape[1] for W, _ in params[:-1])
    dtype = a1.dtype

    def cond(state):
        return (~state[2]) & (state[3] < capacity)

    def body(state):
        t, pinned, done, k, buf = state
        region = region_ahead(params, a1 + t * s1, s1, pinned)
        dt_exit, triggers = exit_step(region)
        pattern = jnp.concatenate(region.masks) if region.masks else jnp.zeros((0,), bool)
        buf = (buf[0].at[k].set(t), buf[1].at[k].set(region.f), buf[2].at[k].set(region.g),
               buf[3].at[k].set(pattern))
        t_exit = t + dt_exit
        done = t_exit >= T
        t_next = jnp.where(done, t, t_exit)
        # A zero-length step revisits the same t with more units pinned; it overwrites its own row.
        progressed = t_next > t
        pinned = _repin(pinned, triggers, progressed)
        return t_next, pinned, done, k + jnp.where(progressed | done, 1, 0).astype(jnp.int32), buf

    buf = (jnp.zeros((capacity,), dtype), jnp.zeros((capacity, n_out), dtype),
           jnp.zeros((capacity, n_out), dtype), jnp.zeros((capacity, n_hidden), bool))
    init = (jnp.zeros((), dtype), no_pins(params), jnp.bool_(False), jnp.int32(0), buf)
    _, _, done, count, buf = jax.lax.while_loop(cond, body, init)
    return Trace(*buf, count, done)
