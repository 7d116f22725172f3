"""Rays in chunks through the lane queue of :mod:`relu_regions._engine`, on one device or a mesh.

Each call takes one chunk of ``chunk`` rays (``2 chunk`` side problems) into the queue and returns the
previous chunk's results; unfinished lanes are handed over, so no call waits for its slowest ray. A last
call with no new rays drains the lanes. With a mesh (:mod:`relu_regions._sharding`) every device runs
this on its own contiguous share of each chunk, with its own lanes; there is no communication. On one CPU
device, a batch is split into streams, one per core, each run by its own thread with its own lanes
(``EngineConfig.streams``).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from relu_regions._config import EngineConfig
from relu_regions._engine import Problems, Sides, advance, empty_sides, idle_lanes, side_rays, with_caps
from relu_regions._sharding import per_device, shard_rows
from relu_regions._walk import first_layer, label_of, walk_to_class_change

def side_problems(params, xs, ds, t_min, t_max, accurate: bool = False, resume=None) -> tuple[jax.Array, Problems]:
    """Labels ``(B,)`` and the ``2B`` side problems of rays ``xs + t ds`` (``(B, n_0)``): forwards to
    ``t_max`` first, then backwards to ``-t_min``; the first layer is computed once per ray
    (``accurate``: with compensated dot products). ``resume = (fwd, bwd, label)``, each ``(B,)``: the
    sides start at ``fwd``/``bwd`` (certified free of class change up to there) for the given, certified
    label where it is ``>= 0`` (else from 0, for the label computed here)."""
    ray = jax.vmap(first_layer, in_axes=(None, 0, 0, None))(params, xs, ds, accurate)
    label = jax.vmap(label_of, in_axes=(None, 0))(params, ray)
    start = None
    if resume is not None:
        fwd, bwd, given = resume
        label = jnp.where(given >= 0, given, label).astype(label.dtype)
        start = jnp.where(jnp.concatenate([given, given]) >= 0, jnp.concatenate([fwd, bwd]), 0.0)
    problems = Problems(ray, jnp.concatenate([t_max, -t_min]), jnp.concatenate([label, label]), start=start)
    return label, problems


def _problems_local(params, cp, xs, ds, t_min, t_max, *resume, accurate):
    label, problems = side_problems(params, xs, ds, t_min, t_max, accurate, resume or None)
    return label, (problems if cp is None else with_caps(cp, problems))


@partial(jax.jit, static_argnames=("mesh", "accurate"))
def _problems(params, cp, xs, ds, t_min, t_max, *resume, mesh=None, accurate=False):
    """Labels ``(B,)`` and the side problems of one chunk (with certification caps if ``cp``), computed
    once per chunk: the call that drains the lanes reuses them."""
    fn = partial(_problems_local, accurate=accurate)
    if mesh is not None:
        fn = per_device(fn, mesh, n_replicated=2, n_out=2)
    return fn(params, cp, xs, ds, t_min, t_max, *resume)


def _start_local(params, cp, problems, *, n_lanes):
    return idle_lanes(params, problems, n_lanes, cp is not None), empty_sides(problems.T.shape[0], problems.T.dtype)


def _advance_local(params, cp, problems, n_new, lanes, carried, *, walk_lanes, max_steps):
    done, lanes, carried = advance(params, cp, problems, lanes, carried, n_new[0], walk_lanes=walk_lanes,
                                   max_steps=max_steps)
    per_ray = jax.tree.map(lambda a: a.reshape(2, -1).T, done)  # (chunk, 2): forwards, backwards
    return per_ray, lanes, carried


@partial(jax.jit, static_argnames=("max_steps", "accurate"))
def _walk_small(params, xs, ds, t_min, t_max, max_steps, accurate=False):
    label, problems = side_problems(params, xs, ds, t_min, t_max, accurate)
    walk = jax.vmap(walk_to_class_change, in_axes=(None, 0, 0, 0, None))
    rays = side_rays(problems, jnp.arange(problems.T.shape[0]))
    sides = Sides(*walk(params, rays, problems.T, problems.label, max_steps))
    return jax.tree.map(lambda a: a.reshape(2, -1).T, sides), label


ALIGN = 64
"""Byte alignment under which XLA's CPU client uses a numpy array in place instead of copying it."""


def _aligned(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` itself if it has ``rows`` rows and is C-contiguous and ``ALIGN``-byte aligned, else an aligned
    copy zero-padded to ``rows`` rows: one host copy at most, so the device never copies the rays again
    (each fresh megabyte costs page faults, which dominated the first layer on small VMs)."""
    if rows == a.shape[0] and a.flags.c_contiguous and a.ctypes.data % ALIGN == 0:
        return a
    nbytes = rows * a.itemsize * math.prod(a.shape[1:])
    buf = np.empty(nbytes + ALIGN, np.uint8)
    off = -buf.ctypes.data % ALIGN
    out = buf[off:off + nbytes].view(a.dtype).reshape((rows,) + a.shape[1:])
    out[: a.shape[0]] = a
    out[a.shape[0]:] = 0
    return out


def lane_counts(chunk: int, certify: bool, config: EngineConfig, platform: str) -> tuple[int, int]:
    """``(n_lanes, walk_lanes)`` per device for ``chunk`` rays per device on devices of ``platform``. A chunk
    with fewer sides than lanes keeps the configured split between walking and certifying lanes."""
    lanes, walk_lanes = config.resolved(platform, chunk)
    n_lanes = min(lanes, 2 * chunk)
    if not certify:
        return n_lanes, n_lanes
    return n_lanes, max(1, walk_lanes * n_lanes // lanes)


@partial(jax.jit, static_argnames=("n_lanes", "mesh"))
def _lane_shapes(params, cp, problems, n_lanes, mesh=None):
    fn = partial(_start_local, n_lanes=n_lanes)
    if mesh is not None:
        fn = per_device(fn, mesh, n_replicated=2, n_out=2)
    return fn(params, cp, problems)


def _start(params, cp, problems, n_lanes, mesh=None):
    """Free lanes and empty carried results, built from their shapes only (nothing to compile; the shapes
    are traced once per network shape and chunk size)."""
    lanes, carried = _lane_shapes.eval_shape(params, cp, problems, n_lanes=n_lanes, mesh=mesh)
    fill = lambda s, v=0: np.full(s.shape, v, s.dtype)
    lanes = lanes._replace(slot=fill(lanes.slot, -1), state=jax.tree.map(fill, lanes.state))
    out = (lanes, jax.tree.map(fill, carried))
    return out if mesh is None else jax.tree.map(lambda a: shard_rows(mesh, [a])[0], out)


@partial(jax.jit, static_argnames=("walk_lanes", "max_steps", "mesh"), donate_argnames=("lanes", "carried"))
def _advance(params, cp, problems, n_new, lanes, carried, walk_lanes, max_steps, mesh=None):
    fn = partial(_advance_local, walk_lanes=walk_lanes, max_steps=max_steps)
    if mesh is not None:
        fn = per_device(fn, mesh, n_replicated=2, n_out=3)
    return fn(params, cp, problems, n_new, lanes, carried)


def solve_rays(params, cp, arrays, *, batch_size: int, max_steps: int, config: EngineConfig,
               progress: bool = False, desc: str = "rays", mesh=None, accurate: bool = False):
    """Side results ``Sides`` of ``(B, 2)`` numpy arrays (forwards, backwards) and labels ``(B,)`` for
    rays ``arrays = (xs, ds, t_min, t_max)`` (numpy, ``B`` rows, float64); ``cp`` None walks every region.
    With ``cp``, ``arrays`` may go on with ``(fwd, bwd, label)``: where the sides start (see
    :func:`side_problems`).

    ``batch_size`` rays per device go into each call (the last chunk is padded with empty rays: range
    ``[0, 0]``), so the kernels compile once per network shape and chunk size. Without a mesh the rays
    are split into ``config.stream_count`` contiguous parts run concurrently, each by its own thread with
    its own lanes (:func:`_run_stream`), in chunks of ``batch_size`` or of the power of two that holds a
    part; an error or an interrupt stops every stream after its current chunk. Call under
    ``jax.enable_x64(True)``. Returns ``None`` for ``B = 0``.
    """
    n = arrays[0].shape[0]
    if n == 0:
        return None
    if mesh is None and n <= config.small and (cp is None or not accurate) and len(arrays) == 4:  # one kernel
        sides, label = jax.device_get(_walk_small(params, *arrays, max_steps=max_steps, accurate=accurate))
        return sides, label
    if cp is not None and len(arrays) == 4:  # every side from 0: the same kernels as a resuming call
        arrays = [*arrays, np.zeros(n), np.zeros(n), np.full(n, -1, np.int32)]
    n_dev = 1 if mesh is None else mesh.devices.size
    platform = jax.default_backend() if mesh is None else mesh.devices.flat[0].platform
    streams = 1 if mesh is not None else config.stream_count(platform, n)
    share = -(-n // streams)  # rays per stream; every stream runs chunks of the same size (one compilation)
    per_dev = min(batch_size, -(-share // n_dev))
    if streams > 1:  # a power of two (padded): batches of other sizes reuse the kernels
        per_dev = min(batch_size, 1 << (per_dev - 1).bit_length())
    parts = [slice(k, min(k + share, n)) for k in range(0, n, share)]
    n_chunks = sum(-(-(p.stop - p.start) // (per_dev * n_dev)) for p in parts)
    run = partial(_run_stream, params, cp, per_dev=per_dev, max_steps=max_steps, config=config,
                  platform=platform, mesh=mesh, accurate=accurate)
    with tqdm(total=n_chunks, disable=not progress, desc=desc, unit="chunk") as bar:
        if len(parts) == 1:
            results = [run([a[parts[0]] for a in arrays], bar, None)]
        else:
            halt = threading.Event()
            with ThreadPoolExecutor(len(parts)) as pool:
                try:
                    futures = [pool.submit(_in_x64, run, [a[p] for a in arrays], bar, halt) for p in parts]
                    wait(futures, return_when=FIRST_EXCEPTION)
                    failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
                    if failed:
                        raise failed[0]
                    results = [f.result() for f in futures]
                except BaseException:  # (an interrupt too) the other streams stop after their current chunk
                    halt.set()
                    raise
    sides = jax.tree.map(lambda *pieces: np.concatenate(pieces), *[r[0] for r in results])
    return sides, np.concatenate([r[1] for r in results])


def _in_x64(fn, *args):
    """``fn(*args)`` under ``jax.enable_x64(True)``: the setting is per thread, and a worker's starts unset."""
    with jax.enable_x64(True):
        return fn(*args)


def _check(halt) -> None:
    """Raise once ``halt`` (a ``threading.Event`` or None) is set: another stream failed or was interrupted."""
    if halt is not None and halt.is_set():
        raise RuntimeError("stopped: another stream failed or was interrupted")


def _run_stream(params, cp, arrays, bar, halt, *, per_dev: int, max_steps: int, config: EngineConfig, platform: str,
                mesh, accurate: bool):
    """One stream of :func:`solve_rays`: its rays in chunks of ``per_dev`` rays per device through one set of
    lanes, handed over from chunk to chunk; ticks ``bar`` per chunk and stops between chunks once ``halt``
    (a ``threading.Event`` or None) is set."""
    n = arrays[0].shape[0]
    n_dev = 1 if mesh is None else mesh.devices.size
    chunk = per_dev * n_dev
    n_lanes, walk_lanes = lane_counts(per_dev, cp is not None, config, platform)

    def padded(start):  # a view of the rows where it is aligned, else one aligned copy
        stop = min(start + chunk, n)
        rows = [_aligned(a[start:stop], chunk) for a in arrays]
        return rows if mesh is None else shard_rows(mesh, rows)

    n_new = np.full(n_dev, 2 * per_dev, np.int32)
    run = partial(_advance, params, cp, walk_lanes=walk_lanes, max_steps=max_steps, mesh=mesh)
    lanes = carried = None
    sides, labels = [], []
    for k, start in enumerate(range(0, n, chunk)):
        _check(halt)
        label, problems = _problems(params, cp, *padded(start), mesh=mesh, accurate=accurate)
        if lanes is None:
            lanes, carried = _start(params, cp, problems, n_lanes=n_lanes, mesh=mesh)
        done, lanes, carried = run(problems, n_new, lanes, carried)
        labels.append(np.asarray(label)[: min(chunk, n - start)])
        if k:
            sides.append(jax.device_get(done))
        bar.update(1)
    _check(halt)
    done, _, _ = run(problems, np.zeros(n_dev, np.int32), lanes, carried)
    sides.append(jax.device_get(done))
    sides = jax.tree.map(lambda *parts: np.concatenate(parts)[:n], *sides)
    return sides, np.concatenate(labels)
