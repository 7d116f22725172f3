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
              step: Callable, emit: Callable) -> tuple[Lanes, object]:
    """Work through new problems ``0 .. n_new - 1`` (their results go to output slots ``offset + i``).

    ``init(i)`` gives lane states (leading axis ``n_lanes``) for problem indices ``i`` ``(n_lanes,)`` (always
    valid indices); ``step(state, active)`` advances every lane once and returns ``(state, done)``;
    ``emit(state)`` gives each lane's result (a pytree with leading axis ``n_lanes``), written into
    ``outputs`` (leading axis: slots) at the lane's slot when it is done. Stops once every new problem has
    been taken and no lane holds a problem with slot ``< finish_below``: lanes still busy with later slots
    are returned unfinished. Call under ``jit``; ``offset`` and ``finish_below`` are static.
    """
    n_slots = jax.tree.leaves(outputs)[0].shape[0]
    last = jnp.maximum(n_new - 1, 0)

    def cond(carry):
        slot, ptr, _, _ = carry
        return (ptr < n_new) | jnp.any((slot >= 0) & (slot < finish_below))

    def body(carry):
        slot, ptr, state, outs = carry
        free = slot < 0
        new = ptr + jnp.cumsum(free, dtype=jnp.int32) - 1
        take = free & (new < n_new)
        state = select(take, init(jnp.clip(new, 0, last)), state)
        slot = jnp.where(take, offset + new, slot)
        ptr = jnp.minimum(ptr + jnp.sum(free, dtype=jnp.int32), n_new)
        active = slot >= 0
        state, done = step(state, active)
        done = done & active
        where = jnp.where(done, slot, n_slots)  # out of range: dropped
        outs = jax.tree.map(lambda o, v: o.at[where].set(v, mode="drop"), outs, emit(state))
        slot = jnp.where(done, -1, slot)
        return slot, ptr, state, outs

    slot, _, state, outputs = jax.lax.while_loop(cond, body, (lanes.slot, jnp.int32(0), lanes.state, outputs))
    return Lanes(slot, state), outputs
