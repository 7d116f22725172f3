"""Rays sharded over several JAX devices (GPUs, hosts, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``).

Every device gets a contiguous share of each chunk of rays and runs its own lane queue on it
(``jax.shard_map`` over a one-axis mesh ``"rays"``); the network is replicated and the devices never
communicate, so the results equal the single-device ones.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "rays"


def ray_mesh(devices: Sequence | None = None) -> Mesh:
    """A one-axis mesh (axis ``"rays"``) over ``devices`` (default: all of ``jax.devices()``)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices: need at least one device")
    return Mesh(np.array(devices), (AXIS,))


def per_device(fn: Callable, mesh: Mesh, n_replicated: int, n_out: int) -> Callable:
    """``fn`` applied per device: its first ``n_replicated`` arguments are replicated, the others and all
    ``n_out`` outputs are split (concatenated) along their leading axis."""
    def wrapped(*args):
        specs = tuple(PartitionSpec() if i < n_replicated else PartitionSpec(AXIS) for i in range(len(args)))
        # Per-device work with no collectives: the varying-axis type checks are not needed.
        return jax.shard_map(fn, mesh=mesh, in_specs=specs, out_specs=(PartitionSpec(AXIS),) * n_out,
                             check_vma=False)(*args)
    return wrapped


def shard_rows(mesh: Mesh, arrays):
    """Place numpy arrays on the mesh, split along their leading axis."""
    sharding = NamedSharding(mesh, PartitionSpec(AXIS))
    return [jax.device_put(a, sharding) for a in arrays]


def exact_intervals_sharded(params, xs, ds, t_min=-1.0, t_max=2.0, *, devices: Sequence | None = None, **kwargs):
    """:func:`relu_regions.exact_intervals` with the rays sharded over ``devices`` (default: all JAX
    devices); ``batch_size`` counts rays per device. Same results as on one device."""
    from relu_regions._interval import exact_intervals

    return exact_intervals(params, xs, ds, t_min, t_max, devices=list(jax.devices() if devices is None else devices),
                           **kwargs)
