"""Rays sharded over several JAX devices (GPUs, hosts, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), in one process or in several processes joined
by ``jax.distributed``.

One process: every device gets a contiguous share of each chunk of rays and runs its own lane queue on
it (``jax.shard_map`` over a one-axis mesh ``"rays"``); the network is replicated and the devices never
communicate, so the results equal the single-device ones.

Several processes (after ``jax.distributed.initialize``; see :func:`init_distributed`): every process
is given the same rays, takes its share - rays ``p, p + P, p + 2P, ...`` for process ``p`` of ``P``, so
that hard rays clustered in the input are spread over the processes - and walks it on its own local
devices as above. The per-ray results are then gathered (one all-gather of their bytes, so nothing is
rounded) and every process returns the full :class:`~relu_regions.Interval`, the same, bit for bit, as
one process computing all rays with this function. Before any work the processes check that they were given the same
network and rays (a hash of the bytes), and a failure in one process is reported by all of them
instead of leaving the others waiting.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from relu_regions._digest import array_digest

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


def init_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None, **kwargs) -> tuple[int, int]:
    """Join this process to a multi-process JAX run (``jax.distributed.initialize``), before anything
    else touches JAX. Arguments left ``None`` are read from the environment variables
    ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0), ``JAX_NUM_PROCESSES`` and
    ``JAX_PROCESS_ID``; what is still missing is detected by JAX on SLURM, Open MPI and TPU pods.
    ``kwargs`` go to ``jax.distributed.initialize`` (e.g. ``local_device_ids``). On CPU the processes
    talk through gloo (``jax_cpu_collectives_implementation``, JAX's default). Does nothing if already
    initialized. Returns ``(process_index, process_count)``."""
    import os

    if not jax.distributed.is_initialized():
        def env_int(name):
            value = os.environ.get(name)
            if value is None or value == "":
                return None
            try:
                return int(value)
            except ValueError:
                raise ValueError(f"${name} must be an integer, got {value!r}") from None

        coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS") or None
        num_processes = env_int("JAX_NUM_PROCESSES") if num_processes is None else num_processes
        process_id = env_int("JAX_PROCESS_ID") if process_id is None else process_id
        if getattr(jax.config, "jax_cpu_collectives_implementation", "gloo") is None:
            jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes need collectives
        jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)
    return jax.process_index(), jax.process_count()


def process_share(n: int, process_index: int | None = None, process_count: int | None = None) -> np.ndarray:
    """The rays of ``0 .. n-1`` that process ``process_index`` of ``process_count`` (default: this
    process of this run) walks: ``process_index, process_index + process_count, ...``."""
    p = jax.process_index() if process_index is None else int(process_index)
    count = jax.process_count() if process_count is None else int(process_count)
    return np.arange(p, int(n), count)


def _local(devices) -> list:
    """The devices of this process among ``devices`` (default: all its local devices)."""
    me = jax.process_index()
    if devices is None:
        return list(jax.local_devices())
    local = [d for d in devices if d.process_index == me]
    if not local:
        raise ValueError(f"devices: none of the {len(list(devices))} devices given belongs to process {me}")
    return local


_ERROR_BYTES = 1024  # room for one process's error message in the status exchange


def allgather_bytes(buf: np.ndarray) -> np.ndarray:
    """``(P,) + buf.shape`` uint8: every process's ``buf`` (same shape everywhere), bit for bit."""
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(np.ascontiguousarray(buf, dtype=np.uint8)))


def exchange_status(error: BaseException | None, what: str = "exact_intervals_sharded") -> None:
    """All processes learn whether any failed (a collective); if one did, all raise - the failed one its
    own error, the others a ``RuntimeError`` naming it - instead of waiting forever in the next
    exchange."""
    text = b"" if error is None else f"{type(error).__name__}: {error}".encode()[: _ERROR_BYTES - 1]
    buf = np.zeros(_ERROR_BYTES, np.uint8)
    buf[0] = error is not None
    buf[1: 1 + len(text)] = np.frombuffer(text, np.uint8)
    status = allgather_bytes(buf)
    failed = [(p, bytes(row[1:]).rstrip(b"\0").decode(errors="replace")) for p, row in enumerate(status) if row[0]]
    if failed:
        if error is not None:
            raise error
        raise RuntimeError(f"{what}: " + "; ".join(f"process {p} failed: {m}" for p, m in failed))


def _fingerprint(arrays) -> np.ndarray:
    """The content hash of ``arrays`` (:func:`relu_regions._digest.array_digest`) as 32 bytes."""
    return np.frombuffer(bytes.fromhex(array_digest(*arrays)), np.uint8)


_FIELDS = np.dtype([("lo", "<f8"), ("hi", "<f8"), ("length", "<f8"), ("label", "<i8"), ("lo_class", "<i8"),
                    ("hi_class", "<i8"), ("n_regions", "<i8"), ("exact", "?"), ("fallback", "?")])


def gather_intervals(local, n: int):
    """The full :class:`~relu_regions.Interval` of ``n`` rays from every process's ``local`` results
    for its :func:`process_share` (a collective: every process calls it, and every process gets it)."""
    from relu_regions._interval import Interval

    count = jax.process_count()
    width = -(-int(n) // count)
    rec = np.zeros(width, _FIELDS)
    m = len(np.asarray(local.lo))
    for name in _FIELDS.names:
        value = getattr(local, name)
        rec[name][:m] = np.zeros(m, bool) if value is None else np.asarray(value).reshape(-1)
    everyone = allgather_bytes(rec.view(np.uint8).reshape(width, _FIELDS.itemsize))
    full = np.zeros(int(n), _FIELDS)
    for p in range(count):
        rows = process_share(n, p, count)
        full[rows] = everyone[p].copy().view(_FIELDS).reshape(-1)[: len(rows)]
    return Interval(**{name: np.ascontiguousarray(full[name]) for name in _FIELDS.names})


def _checked_model(params, xs, ds, t_min, t_max):
    """``(model, xs, ds, lo, hi, identity)``: the model as a checked ``(W, b)`` list or, for a callable or
    program that is not a dense ReLU chain, a traced :class:`~relu_regions.Program` (a callable is traced
    once, here); the validated rays and ``(B,)`` range ends; and what identifies the model in the
    processes' fingerprint (its arrays, and a program's structure)."""
    from relu_regions._model import model_identity, resolve
    from relu_regions._trace import Program
    from relu_regions._validate import check_range, check_ray_batch

    if isinstance(params, Program) or callable(params):
        prog, net = resolve(params, xs, batched=True)
        if prog is not None:
            from relu_regions._program_api import _points

            xs, ds = _points(prog, xs, "xs", True), _points(prog, ds, "ds", True)
            if xs.shape != ds.shape:
                raise ValueError(f"xs and ds must have the same shape, got {xs.shape} and {ds.shape}")
            lo, hi = check_range(t_min, t_max, xs.shape[0])
            return prog, xs, ds, lo, hi, model_identity(prog, xs)[1]
        params = net
    net, xs, ds, lo, hi = check_ray_batch(params, xs, ds, t_min, t_max)
    return net, xs, ds, lo, hi, model_identity(net, xs)[1]


def exact_intervals_sharded(params, xs, ds, t_min=-1.0, t_max=2.0, *, devices: Sequence | None = None,
                            progress: bool = False, **kwargs):
    """:func:`relu_regions.exact_intervals` with the rays sharded over devices and, in a multi-process
    run (``jax.distributed``, see :func:`init_distributed`), over processes. The results are the same,
    bit for bit, whatever the number of processes and devices (the unsharded
    :func:`~relu_regions.exact_intervals` may differ from them in the last bits of the GI ends; regions,
    classes and flags are the same).

    ``params``: anything :func:`~relu_regions.exact_intervals` takes: a ``(W, b)`` list, a JAX callable
    ``f(x) -> logits`` for one unbatched example, or a traced program (``xs, ds``: ``(B,) + input
    shape``). Models that are not dense ReLU chains go to the program walker with the program replicated
    on every device; their compiled batch per device is ``batch_size`` rays capped as in
    :func:`~relu_regions.exact_intervals`, and only the total number of devices sets its size, so their
    GI ends may differ in the last bits between runs over different numbers of devices (batches of
    other sizes round differently); labels, classes, counts and flags do not, and every certified
    answer is exact to 1e-9 relative.

    One process: ``devices`` defaults to all JAX devices. Several processes: every process must call
    this with the same network, rays and options; it walks its share (rays ``p, p + P, ...``, see
    :func:`process_share`) on its local devices (those of ``devices`` that belong to it; default all of
    them), and every process returns the full :class:`~relu_regions.Interval` of all rays. ``batch_size``
    counts rays per device. ``progress`` shows a bar (on process 0 only)."""
    from relu_regions._interval import exact_intervals

    if jax.process_count() == 1:
        return exact_intervals(params, xs, ds, t_min, t_max, devices=list(jax.devices() if devices is None else devices),
                               progress=progress, **kwargs)
    error, share = None, None
    try:
        model, xs, ds, lo, hi, identity = _checked_model(params, xs, ds, t_min, t_max)
        local_devices = _local(devices)
        n = xs.shape[0]
        digest = _fingerprint(identity + [xs, ds, lo, hi, repr(sorted(kwargs.items()))])
    except Exception as exc:  # noqa: BLE001 - reported to every process below
        error, digest = exc, np.zeros(32, np.uint8)
    exchange_status(error)
    digests = allgather_bytes(digest)
    differ = [p for p in range(len(digests)) if not np.array_equal(digests[p], digests[0])]
    if differ:
        raise ValueError(f"exact_intervals_sharded: processes {differ} were given other network, rays or options "
                         "than process 0 (every process must pass the same ones)")
    rows = process_share(n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # reported below with global ray numbers
            share = exact_intervals(model, xs[rows], ds[rows], lo[rows], hi[rows], devices=local_devices,
                                    progress=progress and jax.process_index() == 0, **kwargs)
    except Exception as exc:  # noqa: BLE001
        error = exc
    exchange_status(error)
    if n == 0:
        return share
    result = gather_intervals(share, n)
    bad = np.flatnonzero(~result.exact)
    if len(bad):
        warnings.warn(f"{len(bad)} of {n} rays have no exact float64 answer (more than max_steps regions, an end "
                      f"beyond float64, or for a traced program no certified answer); their lo/hi are NaN: rays "
                      f"{bad[:10].tolist()}", RuntimeWarning, stacklevel=2)
    return result
