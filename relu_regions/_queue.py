"""A work queue for lanes of a batched ``while_loop``: a lane that finishes its problem takes the next one.

A ``vmap``-ed ``while_loop`` runs every lane until the slowest finishes; here a fixed number of lanes
step together and a free lane is refilled from the queue at once, so the loop costs about the total
work divided by the lane count. Lanes may also be handed over, unfinished, from one call to the next
(a stream of chunks), so that no call waits for its slowest problem.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


class Lanes(NamedTuple):
    """Lanes between calls: ``slot`` ``(n_lanes,)`` the output slot of each lane's problem (-1: free),
    ``state`` the lane states (a pytree with leading axis ``n_lanes``)."""

    slot: Array
    state: object


def select(mask: Array, new, old):
    """Per lane (``mask`` ``(n_lanes,)``): ``new`` where set, else ``old`` (pytrees of lane arrays)."""
    return jax.tree.map(lambda n, o: jnp.where(mask.reshape(mask.shape + (1,) * (n.ndim - 1)), n, o), new, old)


def run_queue(lanes: Lanes, outputs, *, n_new: Array, offset: int, finish_below: int, init: Callable,
              step: Callable, emit: Callable, narrow: tuple[int, Callable] | None = None) -> tuple[Lanes, object]:
    """Work through new problems ``0 .. n_new - 1`` (their results go to output slots ``offset + i``).

    ``init(i)`` gives lane states (leading axis ``n_lanes``) for problem indices ``i`` ``(n_lanes,)`` (always
    valid indices); ``step(state, active)`` advances every lane once and returns ``(state, done)``;
    ``emit(state)`` gives each lane's result (a pytree with leading axis ``n_lanes``), written into
    ``outputs`` (leading axis: slots) at the lane's slot when it is done. Stops once every new problem has
    been taken and no lane holds a problem with slot ``< finish_below``: lanes still busy with later slots
    are returned unfinished. Call under ``jit``; ``offset`` and ``finish_below`` are static.

    ``narrow = (width, narrow_step)``: once every new problem is taken and at most ``width`` lanes still
    have to finish, those are gathered into ``width`` lanes stepped by ``narrow_step`` (the same step for
    that many lanes), so the tail of a call does not pay for the idle lanes at every step.
    """
    n_slots = jax.tree.leaves(outputs)[0].shape[0]
    last = jnp.maximum(n_new - 1, 0)
    owed = lambda slot: (slot >= 0) & (slot < finish_below)  # lanes this call has to finish
    width = narrow[0] if narrow is not None else 0

    def advance(fn, slot, state, outs):
        active = slot >= 0
        state, done = fn(state, active)
        done = done & active
        where = jnp.where(done, slot, n_slots)  # out of range: dropped
        outs = jax.tree.map(lambda o, v: o.at[where].set(v, mode="drop"), outs, emit(state))
        return jnp.where(done, -1, slot), state, outs

    def cond(carry):
        slot, ptr, _, _ = carry
        return (ptr < n_new) | (jnp.sum(owed(slot)) > width)

    def body(carry):
        slot, ptr, state, outs = carry
        free = slot < 0
        new = ptr + jnp.cumsum(free, dtype=jnp.int32) - 1
        take = free & (new < n_new)
        state = select(take, init(jnp.clip(new, 0, last)), state)
        slot = jnp.where(take, offset + new, slot)
        ptr = jnp.minimum(ptr + jnp.sum(free, dtype=jnp.int32), n_new)
        slot, state, outs = advance(step, slot, state, outs)
        return slot, ptr, state, outs

    slot, _, state, outputs = jax.lax.while_loop(cond, body, (lanes.slot, jnp.int32(0), lanes.state, outputs))
    if narrow is None:
        return Lanes(slot, state), outputs
    n = slot.shape[0]
    sel = jnp.nonzero(owed(slot), size=width, fill_value=n)[0]
    pick = jnp.minimum(sel, n - 1)
    sub = (jnp.where(sel < n, slot[pick], -1), jax.tree.map(lambda x: x[pick], state), outputs)
    sub_slot, sub_state, outputs = jax.lax.while_loop(lambda c: jnp.any(c[0] >= 0),
                                                      lambda c: advance(narrow[1], *c), sub)
    slot = slot.at[sel].set(sub_slot, mode="drop")
    state = jax.tree.map(lambda o, v: o.at[sel].set(v, mode="drop"), state, sub_state)
    return Lanes(slot, state), outputs
