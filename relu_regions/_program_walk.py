"""The certified region walker over a traced :class:`~relu_regions._trace.Program` (any input shape).

One ray ``x + t d``, ``t`` from 0 up to ``T`` (backwards: the same walk on ``-d``), one region (or one
certified skip, in the default GI mode) per step; a batch's side walks run on lanes of a work queue
(:mod:`relu_regions._queue`), one compilation per program and batch shape, in the program's dtype
(float64: trace inside ``jax.enable_x64(True)``). Semantics are those of the MLP
engine (:mod:`relu_regions._walk`): label = argmax at ``x`` (lowest index on ties), a change is
another logit strictly larger, the overtaker is the largest logit just beyond (lowest index on ties),
-1 at a range end.

One step, from ``t`` with the pattern ``c`` of the region just after ``t``::

    a, c = prog._walk(x, d, t, fixed=pins)          # values and slopes at t; c by the (value, slope) rule
    g, dg = prog.margins(c, a.q, a.dq)             # (n_constraints,): g >= 0 inside the region
    exit = min over dg < 0 of g / -dg              # the region's exit (pinned units excluded)
    change = class_change_step(label margins)      # a class change before the exit?
    E = stretch_bound(prog, rec, c, x, d, t, tau)  # |true program - computed affine| on [t, t + tau]
    certify_gi(...)                                # the MLP engine's certifier, on these margins

Certification. ``stretch_bound`` bounds the difference between the computed affine functions and the
*true* program on the whole stretch, whatever the exact pattern is (frozen choices that may be wrong
near a boundary add their violation, by continuity of max/min/abs/pooling; comparisons feeding
``select_n`` add the gap between the selected values); the GI decision is then certified exactly as
for MLPs (:func:`relu_regions._walk.certify_gi`: every margin certainly positive, or one class
certainly negative in a window of relative width ``REL_TOL`` that no other class can enter).

Skips (GI mode). Where no class change is in sight and the next skip length ``h`` reaches well past the
region's exit, the same bound is asked to clear all of ``[t, t + h]`` (it holds for the true program
whatever its pattern); on success the walk moves there, on failure it stays and ``h`` is quartered, so
after a few attempts the region is walked normally (``h`` doubles after every advance).

Units that triggered an exit sit on their roots, where their deciding quantities are rounding
residuals: they are *pinned* (forced to their new choice, never triggering again at the same ``t``),
so at most ``n_units + 1`` steps stay at one ``t`` and every iteration advances or ends; a wrongly
pinned unit shows up as a violation, so the stretch fails to certify instead of going wrong.

Region counts and patterns (``count`` mode) are certified when every constraint keeps a certain sign
on each stretch except: the one constraint that makes each boundary (its exact root in a window
disjoint from the previous boundary's and, for pieces, narrower than ``REL_TOL``), and constraints
that were identically zero (exactly, error 0) in the previous region, such as pooled zeros of
inactive ReLUs: for a continuous program (no comparisons) they are zero at the exact boundary too,
so they switch exactly there and are decided by their slope. When such a constraint's computed slope
says the walker's choice is wrong (a residual's sign), a zero-length correction step switches it.
Everything uncertain is flagged: the caller returns ``exact=False`` (GI) or ``n_regions = -1``
(counts) with the reason, or raises (pieces).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from relu_regions._queue import Lanes, run_queue
from relu_regions._trace import _fixed
from relu_regions._trace_round import stretch_bound
from relu_regions._walk import (ETA, U, Bounds, Margins, _guard_up, _interval, _lower_root, _upper_root,
                                certify_gi, class_change_step, step_plan)


class _Layout(NamedTuple):
    """Static index arrays of a program's flat constraints ``(n_constraints,)``: the flat unit and
    window element of each, whether it belongs to a pooling window; ``continuous``: no comparisons."""

    unit: np.ndarray
    elem: np.ndarray
    pool: np.ndarray
    continuous: bool


def _layout(prog) -> _Layout:
    pool = [np.full(sw.size * (1 if sw.binary else sw.k), not sw.binary) for sw in prog.switches]
    return _Layout(prog.constraint_unit, prog.constraint_element,
                   np.concatenate(pool) if pool else np.zeros(0, bool),
                   all(sw.kind != "cmp" for sw in prog.switches))


def _per_switch(prog, flat, dtype=None) -> tuple:
    """Split a flat unit vector ``(n_units,)`` into one array per switch (``switches[i].shape``)."""
    return tuple(flat[sw.offset:sw.offset + sw.size].reshape(sw.shape).astype(dtype or flat.dtype)
                 for sw in prog.switches)


def _flat_units(parts) -> jax.Array:
    return jnp.concatenate([jnp.ravel(p) for p in parts]) if parts else jnp.zeros((0,), jnp.int32)


class Walk(NamedTuple):
    """State of one side's walk: the next entry ``t``; pins (flat ``(n_units,)`` mask and forced
    choices); regions met; ``done``, ``end``, ``who``; certification flags ``cert`` (GI) and
    ``cert_count``; ``prev_hi`` (the last boundary's upper window end); ``exc`` and ``tie``
    ``(n_constraints,)``: the constraints excused at the next start (the last boundary's) and those
    identically zero in the last region; ``h``: the length of the next skip attempt (GI mode)."""

    t: jax.Array
    pin_mask: jax.Array
    pin_forced: jax.Array
    regions: jax.Array
    done: jax.Array
    end: jax.Array
    who: jax.Array
    cert: jax.Array
    cert_count: jax.Array
    prev_hi: jax.Array
    exc: jax.Array
    tie: jax.Array
    h: jax.Array


H0 = 2.0**-2
"""First skip attempt: ``H0 * min(T, 1)``; then doubled after every step that advanced, quartered after
a failed attempt."""


def _start(prog, dtype, T=1.0) -> Walk:
    n_u, n_c = prog.n_units, prog.n_constraints
    zero, true = jnp.zeros((), dtype), jnp.bool_(True)
    h = H0 * jnp.minimum(jnp.asarray(T, dtype), 1.0)
    return Walk(zero, jnp.zeros(n_u, bool), jnp.zeros(n_u, jnp.int32), jnp.int32(0), jnp.bool_(False), zero,
                jnp.int32(-1), true, true, zero, jnp.zeros(n_c, bool), jnp.zeros(n_c, bool), h)


def _lower_bound_positive(c0, c1, tau):
    """``c0 + s c1 > 0`` at ``s = tau`` (reals; ``tau`` may be ``inf``: for all large ``s``)."""
    fin = jnp.isfinite(tau)
    tf = jnp.where(fin, tau, 0)
    val = c0 + tf * c1
    slack = 4 * U * (jnp.abs(c0) + tf * jnp.abs(c1))
    return jnp.where(fin, val - slack > 0, (c1 > 0) | ((c1 == 0) & (c0 > 0)))


class StepOut(NamedTuple):
    """What one step saw, for the pieces recorder: entry ``t``, logits and slopes at entry (flat),
    the pattern (flat choices), and whether this step opens a new region row."""

    t: jax.Array
    f: jax.Array
    g: jax.Array
    pattern: jax.Array
    new_row: jax.Array


def step(prog, lay: _Layout, x, d, T, label, st: Walk, mode: str) -> tuple[Walk, StepOut]:
    """One region of the walk towards ``T``. ``mode``: ``'gi'`` (GI only), ``'count'`` (GI and
    certified region count), ``'pieces'`` (no class changes; certified pattern and breakpoints)."""
    t = st.t
    count = mode != "gi"
    pins = (_per_switch(prog, st.pin_mask, bool), _per_switch(prog, st.pin_forced))
    rec: list = []
    a, c = prog._walk(x, d, t, None, _fixed(prog, pins), record=rec)
    g, dg = prog.margins(c, a.q, a.dq)
    flat_c = prog.flatten_choice(c)
    own = jnp.asarray(lay.pool) & (jnp.asarray(lay.elem) == flat_c[lay.unit])
    pinned = st.pin_mask[lay.unit]
    leaving = (dg < 0) & ~pinned & ~own
    ratio = jnp.where(leaving, jnp.maximum(g, 0) / jnp.where(leaving, -dg, 1), jnp.inf)
    dt_exit = jnp.min(ratio, initial=jnp.inf)
    hit = leaving & (ratio == dt_exit) & jnp.isfinite(ratio)
    correction = jnp.bool_(False)
    if count and lay.continuous:
        # Constraints tied identically with the chosen element in the last region are zero at the
        # boundary; a falling one means the choice read a residual's sign: switch it, same t.
        tie_c = st.tie & st.tie[_own_index(lay, flat_c)]
        fix = tie_c & (dg < 0) & ~pinned & ~own & (t > 0)
        correction = jnp.any(fix)
        dt_exit = jnp.where(correction, 0.0, dt_exit)
        hit = jnp.where(correction, fix, hit)
    else:
        tie_c = jnp.zeros_like(own)
    out, dout = jnp.ravel(a.out), jnp.ravel(a.dout)
    mg = Margins(out[label] - out, dout[label] - dout, None, None, None)
    if mode == "pieces":
        dt_change, who = jnp.asarray(jnp.inf, t.dtype), jnp.int32(-1)
    else:
        dt_change, who = class_change_step(mg, label, dt_exit)
    changed, done, t_next, tau = step_plan(t, T, dt_exit, dt_change)
    # GI mode: where no change is in sight and the next skip reaches well past the region's exit, the
    # same bounds are asked to clear the whole skip [t, t + h] instead (they hold for the true program
    # whatever its pattern); a failed attempt only shortens the next one, and after a few the region is
    # walked: every iteration advances, or shrinks h towards a normal step.
    skip = (mode == "gi") & ~changed & ~done & (dt_exit > 0) & (st.h > 2 * dt_exit)
    to_end = t + st.h >= T
    t_skip = jnp.where(to_end, t, t + st.h)
    tau_skip = jnp.where(to_end, _guard_up(T - t), _guard_up(jnp.maximum(st.h, t_skip - t)))
    tau_use = jnp.where(skip, tau_skip, tau)
    E = stretch_bound(prog, rec, c, x, d, t, tau_use)
    eo, edo = jnp.ravel(E.out), jnp.ravel(E.dout)
    Am = (eo[label] + eo + U * jnp.abs(mg.m)) * (1 + 8 * U) + ETA
    Bm = (edo[label] + edo + U * jnp.abs(mg.dm)) * (1 + 8 * U)
    gi = certify_gi(mg, Bounds((), (), Am, Bm), t, tau_use, dt_change, who, changed, label, T)
    skipped = skip & gi.ok
    failed = skip & ~gi.ok
    done = done | (skipped & to_end)
    t_next = jnp.where(skipped, t_skip, jnp.where(failed, t, t_next))
    gi_ok = jnp.where(skip, True, gi.ok) if mode != "pieces" else jnp.bool_(True)
    moving_on = ~done
    progressed = t_next > t
    # Pins: units hit at this t stay forced while the walk stays at t.
    masks, forced = prog.after_exit(c, hit, dg)
    m_flat, f_flat = _flat_units(masks).astype(bool), _flat_units(forced).astype(jnp.int32)
    m_flat = m_flat & ~skip                    # a skip lands inside a region (nothing to pin); a failed
    keep = failed                              # attempt stays where it is, pins unchanged
    pin_mask = jnp.where(keep, st.pin_mask, jnp.where(progressed, m_flat, st.pin_mask | m_flat))
    pin_forced = jnp.where(keep, st.pin_forced, jnp.where(m_flat, f_flat, jnp.where(progressed, 0, st.pin_forced)))
    count_ok, prev_hi, exc, tie = jnp.bool_(True), st.prev_hi, st.exc, st.tie
    if count:
        eg, edg = prog.flatten(E.q), prog.flatten(E.dq)
        c0, c1 = g - eg, dg - edg
        # The boundary's window: where the hit constraint's exact root can lie.
        w_lo = jnp.where(c0 > 0, _lower_root(c0, c1), 0.0)
        w_hi = _upper_root(g + eg, dg + edg)
        r_lo = jnp.min(jnp.where(hit, w_lo, jnp.inf), initial=jnp.inf)
        r_hi = jnp.max(jnp.where(hit, w_hi, -jnp.inf), initial=-jnp.inf)
        # Inside the region (before the hit's window) the hit unit is certainly on its side: bounds there
        # carry no violation from it, so margins it feeds can be proven identically zero.
        tau_in = jnp.minimum(r_lo * (1 - 8 * U), tau)
        E_in = stretch_bound(prog, rec, c, x, d, t, tau_in)
        eg_in, edg_in = prog.flatten(E_in.q), prog.flatten(E_in.dq)
        plateau = own | ((g == 0) & (dg == 0) & (eg_in == 0) & (edg_in == 0) & (tau_in > 0))
        excused = (st.exc | tie_c) & ((dg - edg_in > 0) | plateau)
        start_ok = (g - eg_in > 0) | plateau | excused
        end_ok = _lower_bound_positive(c0, c1, tau) | plateau | hit
        units_ok = jnp.all(start_ok & end_ok)
        one = (jnp.sum(hit) == 1) & (r_hi < jnp.inf) & ((t + r_hi) * (1 + 4 * U) < T)
        ordered = (t == 0) | (t + r_lo > st.prev_hi)
        boundary = one & ordered & progressed
        if mode == "pieces":
            boundary = boundary & _interval(t, r_lo, r_hi)
        after_start = (t == 0) | (jnp.where(changed, t + gi.lo, T) > st.prev_hi)
        r_next = jnp.min(jnp.where(hit, w_lo, jnp.inf), initial=jnp.inf)
        before_exit = jnp.where(changed, gi.hi < r_next, (t + r_next) * (1 - 4 * U) >= T)
        count_ok = jnp.where(correction, True,
                             gi_ok & units_ok & jnp.where(moving_on, boundary, after_start & before_exit))
        real = moving_on & ~correction
        prev_hi = jnp.where(real & progressed, (t + r_hi) * (1 + 4 * U), st.prev_hi)
        new_exc = _excused_after(prog, lay, c, hit, flat_c)
        exc = jnp.where(correction, st.exc, jnp.where(progressed, new_exc, st.exc | new_exc))
        tie = jnp.where(real & progressed, plateau, st.tie)
    end = jnp.where(changed, t + dt_change, T)
    met = jnp.where(done, jnp.where(end > t, 1, 0), progressed.astype(jnp.int32))
    h = jnp.where(failed, st.h / 4, jnp.where(progressed, 2 * st.h, st.h))
    new = Walk(t_next, pin_mask, pin_forced, st.regions + met, done, end,
               jnp.where(changed, who, -1).astype(jnp.int32), st.cert & gi_ok, st.cert_count & count_ok,
               prev_hi, exc, tie, h)
    return new, StepOut(t, out, dout, flat_c, progressed | done)


def _own_index(lay: _Layout, flat_c):
    """For each constraint, the index of its window's chosen-element constraint (itself if binary)."""
    idx = np.arange(len(lay.unit))
    first = idx - lay.elem                                     # a window's constraints are contiguous
    return jnp.where(jnp.asarray(lay.pool), jnp.asarray(first) + flat_c[lay.unit], jnp.asarray(idx))


def _excused_after(prog, lay: _Layout, c, hit, flat_c):
    """The constraints (in the next region's terms) whose margin is ~0 right after a boundary where
    ``hit`` reached 0: a binary unit's own margin; for a window that switched, the margin against the
    element it left."""
    win_hit = jax.ops.segment_max(hit.astype(jnp.int32), jnp.asarray(lay.unit), num_segments=prog.n_units) > 0
    old = jnp.asarray(lay.elem) == flat_c[lay.unit]
    return jnp.where(jnp.asarray(lay.pool), win_hit[lay.unit] & old, hit)


class Side(NamedTuple):
    """One side's result: ``end`` in ``[0, T]``, the overtaker there (-1 if none), regions met in
    ``(0, end)``, whether the walk finished within its step budget, and whether the GI end
    (``cert``) and the region count (``cert_count``) are certified."""

    end: jax.Array
    who: jax.Array
    regions: jax.Array
    finished: jax.Array
    cert: jax.Array
    cert_count: jax.Array


def label_at(prog, x) -> jax.Array:
    """``argmax f(x)`` (flat logits, lowest index on ties); certified by the walk's first stretch."""
    a, _ = prog._walk(x, jnp.zeros_like(x), jnp.zeros((), x.dtype), None, _fixed(prog))
    return jnp.argmax(jnp.ravel(a.out)).astype(jnp.int32)


def lane_count(n_sides: int) -> int:
    """Side walks stepping together for ``n_sides`` problems: a quarter of them (8 to 64), so that the
    loop runs about the total work over the lanes, not the slowest side's steps times all sides."""
    return min(n_sides, max(8, min(64, n_sides // 4)))


class _Lane(NamedTuple):
    """One lane's problem (``x``, ``d`` in the input shape, range end ``T``, ``label``), walk and steps."""

    x: jax.Array
    d: jax.Array
    T: jax.Array
    label: jax.Array
    walk: Walk
    n: jax.Array


@partial(jax.jit, static_argnames=("max_steps", "count", "n_lanes"))
def intervals(prog, xs, ds, lo, hi, max_steps: int, count: bool, n_lanes: int | None = None):
    """GIs of a batch: ``xs, ds`` ``(B,) + in_shape``, ``lo, hi`` ``(B,)``. Returns ``(sides, label)``:
    :class:`Side` of ``(B, 2)`` arrays (forwards, backwards) and labels ``(B,)``.

    The ``2 B`` side walks run on ``n_lanes`` lanes (default :func:`lane_count`) refilled as walks end
    (:func:`relu_regions._queue.run_queue`)."""
    B = xs.shape[0]
    lay = _layout(prog)
    mode = "count" if count else "gi"
    label = jax.vmap(label_at, in_axes=(None, 0))(prog, xs)
    px = jnp.concatenate([xs, xs])
    pd = jnp.concatenate([ds, -ds])
    pT = jnp.concatenate([hi, -lo])
    plabel = jnp.concatenate([label, label])
    n_lanes = n_lanes or lane_count(2 * B)

    def init(i):
        T = pT[i]
        walk = jax.vmap(lambda T: _start(prog, xs.dtype, T))(T)
        return _Lane(px[i], pd[i], T, plabel[i], walk, jnp.zeros(i.shape, jnp.int32))

    def one_step(lane: _Lane):
        walk = step(prog, lay, lane.x, lane.d, lane.T, lane.label, lane.walk, mode)[0]
        return lane._replace(walk=walk, n=lane.n + 1)

    def advance(lanes: _Lane, active):
        lanes = jax.vmap(one_step)(lanes)
        return lanes, lanes.walk.done | (lanes.n >= max_steps)

    def emit(lane: _Lane) -> Side:
        st = lane.walk
        return Side(st.end, st.who, st.regions, st.done, st.cert & st.done, st.cert_count & st.done)

    dtype = xs.dtype
    outputs = Side(jnp.zeros(2 * B, dtype), jnp.full(2 * B, -1, jnp.int32), jnp.zeros(2 * B, jnp.int32),
                   *(jnp.zeros(2 * B, bool) for _ in range(3)))
    idle = Lanes(jnp.full(n_lanes, -1, jnp.int32), init(jnp.zeros(n_lanes, jnp.int32)))
    _, sides = run_queue(idle, outputs, n_new=jnp.int32(2 * B), offset=0, finish_below=2 * B, init=init,
                         step=advance, emit=emit)
    return jax.tree.map(lambda a: a.reshape(2, B).T, sides), label


class Record(NamedTuple):
    """Regions met by a one-sided walk over ``[0, T]`` in buffers of ``capacity`` rows: entry
    distances ``(capacity,)``, logits and slopes at entry ``(capacity, n_out)``, patterns
    ``(capacity, n_units)``; ``count`` rows filled; ``complete``; ``cert``."""

    starts: jax.Array
    f: jax.Array
    g: jax.Array
    patterns: jax.Array
    count: jax.Array
    complete: jax.Array
    cert: jax.Array


def record_side(prog, x, d, T, capacity: int) -> Record:
    """Record every linear region of ``x + t d`` for ``t`` in ``[0, T]``."""
    lay = _layout(prog)
    n_out = int(np.prod(prog.out_shape, dtype=np.int64))
    dtype = x.dtype
    label = jnp.int32(0)

    def cond(state):
        st, k, _ = state
        return (~st.done) & (k < capacity)

    def body(state):
        st, k, buf = state
        st2, o = step(prog, lay, x, d, T, label, st, "pieces")
        buf = (buf[0].at[k].set(o.t), buf[1].at[k].set(o.f), buf[2].at[k].set(o.g), buf[3].at[k].set(o.pattern))
        return st2, k + o.new_row.astype(jnp.int32), buf

    buf = (jnp.zeros((capacity,), dtype), jnp.zeros((capacity, n_out), dtype), jnp.zeros((capacity, n_out), dtype),
           jnp.zeros((capacity, prog.n_units), jnp.int32))
    st, k, buf = jax.lax.while_loop(cond, body, (_start(prog, dtype), jnp.int32(0), buf))
    return Record(*buf, k, st.done, st.cert_count & st.done)


@partial(jax.jit, static_argnames=("capacity",))
def two_sided(prog, x, d, lo, hi, capacity: int) -> Record:
    """:class:`Record` of both sides (leading axis 2: forwards to ``hi``, backwards to ``-lo``)."""
    return jax.vmap(record_side, in_axes=(None, None, 0, 0, None))(prog, x, jnp.stack([d, -d]),
                                                                    jnp.stack([hi, -lo]), capacity)


@jax.jit
def point_pattern(prog, x):
    """The pattern at ``x`` (``d = 0``: a ReLU at exactly 0 is off, a tie goes to the lowest index) and
    whether it is certified: ``(choice, ok)``, ``ok`` a bool scalar."""
    d = jnp.zeros_like(x)
    t = jnp.zeros((), x.dtype)
    rec: list = []
    a, c = prog._walk(x, d, t, None, _fixed(prog), record=rec)
    E = stretch_bound(prog, rec, c, x, d, t, t)
    g, _ = prog.margins(c, a.q, a.dq)
    lay = _layout(prog)
    flat_c = prog.flatten_choice(c)
    own = jnp.asarray(lay.pool) & (jnp.asarray(lay.elem) == flat_c[lay.unit])
    lb = g - prog.flatten(E.q)
    ok = jnp.all(own | jnp.where(_strict(prog, lay, flat_c), lb > 0, lb >= 0))
    return c, ok


def _strict(prog, lay: _Layout, flat_c):
    """Which margins must be strictly positive for the pattern at a point: a binary unit's True choice
    of a strict unit (``q > 0``) and its False choice of a non-strict one (``q < 0``); a window's
    elements before the chosen one (lowest index wins ties)."""
    strict_sw = np.concatenate([np.full(sw.size, sw.strict) for sw in prog.switches]) if prog.switches \
        else np.zeros(0, bool)
    choice_true = flat_c[lay.unit] > 0
    binary = jnp.where(choice_true, jnp.asarray(strict_sw)[lay.unit], ~jnp.asarray(strict_sw)[lay.unit])
    return jnp.where(jnp.asarray(lay.pool), jnp.asarray(lay.elem) < flat_c[lay.unit], binary)
