"""The lane work queue: every problem is solved once, in its own slot, however the lanes are narrowed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from relu_regions._queue import Lanes, run_queue



def _run(need, n_lanes, narrow_width, finish_below=None):
    """Problem ``i`` needs ``need[i]`` steps; each lane counts its steps, and its narrow-phase steps apart."""
    need = jnp.asarray(need, jnp.int32)
    P = need.shape[0]

    def init(i):
        return {"i": i, "left": need[i], "wide": jnp.zeros_like(i), "narrow": jnp.zeros_like(i)}

    def stepper(kind, width):
        def step(state, active):
            assert state["i"].shape == (width,)
            left = state["left"] - active
            state = {**state, "left": left, kind: state[kind] + active}
            return state, left <= 0
        return step

    outputs = {k: jnp.full(P, -1, jnp.int32) for k in ("i", "wide", "narrow")}
    lanes = Lanes(jnp.full(n_lanes, -1, jnp.int32), init(jnp.zeros(n_lanes, jnp.int32)))
    narrow = (narrow_width, stepper("narrow", narrow_width)) if narrow_width else None
    run = jax.jit(lambda lanes, outputs: run_queue(
        lanes, outputs, n_new=jnp.int32(P), offset=0, finish_below=P if finish_below is None else finish_below,
        init=init, step=stepper("wide", n_lanes), emit=lambda s: {k: s[k] for k in ("i", "wide", "narrow")},
        narrow=narrow))
    return jax.tree.map(np.asarray, run(lanes, outputs))


@pytest.mark.parametrize("narrow_width", [0, 1, 4])
@pytest.mark.parametrize("n_lanes", [4, 16])
def test_every_problem_is_solved_once_in_its_slot(rng, n_lanes, narrow_width):
    need = rng.integers(1, 30, size=57)
    lanes, out = _run(need, n_lanes, narrow_width)
    np.testing.assert_array_equal(out["i"], np.arange(57))
    np.testing.assert_array_equal(out["wide"] + out["narrow"], need)  # no step lost or repeated
    assert (lanes.slot == -1).all()
    if narrow_width:
        assert out["narrow"].sum() > 0  # the long tail ran narrow
    else:
        assert out["narrow"].sum() == 0


def test_narrow_phase_waits_for_slow_problems_in_few_lanes():
    need = np.ones(20, int)
    need[[3, 11]] = 50  # two slow problems: the rest finish at once
    _, out = _run(need, 16, 4)
    assert out["narrow"][3] > 40 and out["narrow"][11] > 40
    assert out["narrow"][need == 1].sum() == 0


def test_lanes_not_owed_are_handed_back_untouched_by_the_narrow_phase():
    need = np.array([50, 50, 50, 60, 60, 60, 60, 60])  # slots 0..2 must finish in this call
    lanes, out = _run(need, 8, 4, finish_below=3)
    np.testing.assert_array_equal(out["i"][:3], [0, 1, 2])
    np.testing.assert_array_equal(out["wide"][:3], 1)  # one wide step took every problem; then narrow
    np.testing.assert_array_equal(out["narrow"][:3], 49)
    busy = lanes.slot >= 0
    np.testing.assert_array_equal(np.sort(lanes.slot[busy]), [3, 4, 5, 6, 7])  # returned unfinished,
    assert (lanes.state["left"][busy] == 59).all() and (lanes.state["narrow"][busy] == 0).all()  # as they were
    assert (out["i"][3:] == -1).all()
