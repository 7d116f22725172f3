"""Two local CPU processes joined by ``jax.distributed`` (gloo collectives) give the single-process exact
GIs: :func:`relu_regions.exact_intervals_sharded` across processes (for a ``(W, b)`` list, and for a CNN
callable through the program walker: the same classes, counts and flags, ends to 1e-12 relative; bit for
bit on some CPUs, while on others XLA's kernels round a few ulps differently for other per-device shapes), :func:`relu_regions.results.stream_intervals` writing from process 0 and resuming, and
:func:`relu_regions.gi_study` (``relu-regions gi --distributed``) writing its results from process 0.

Each worker is a subprocess (``jax.distributed.initialize`` must run before JAX starts) with two CPU
devices, so the rays are split over 2 processes x 2 devices. That test is in the slow run (25 s on an
idle 2-core machine, about a minute on a loaded one); the quick run checks the split and the byte-exact
gather in one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

WORKER = textwrap.dedent("""
    import json, sys, warnings
    from pathlib import Path
    pid, port, out, tests_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, tests_dir)
    from relu_regions._sharding import init_distributed
    assert init_distributed(f"127.0.0.1:{port}", 2, pid, initialization_timeout=60) == (pid, 2)
    import jax
    import numpy as np
    import relu_regions as rr
    from relu_regions.results import stream_intervals
    from conftest import random_net

    assert len(jax.devices()) == 4 and len(jax.local_devices()) == 2, jax.devices()
    rng = np.random.default_rng(11)
    params = random_net(rng, [6, 16, 16, 4])
    xs, ds = rng.normal(size=(37, 6)), rng.normal(size=(37, 6)) * 2
    t_min, t_max = -rng.random(37) * 2, rng.random(37) * 3
    report = {}
    # processes given different rays: every process refuses, none waits forever
    try:
        rr.exact_intervals_sharded(params, xs + pid, ds, t_min, t_max)
        report["mismatch"] = "no error"
    except ValueError as exc:
        report["mismatch"] = str(exc)
    for count in (False, True):
        iv = rr.exact_intervals_sharded(params, xs, ds, t_min, t_max, count_regions=count, batch_size=4)
        np.savez(out / f"p{pid}_count{count}.npz", **iv._asdict())
    # streamed: process 0 writes the chunks; a second call resumes (nothing left to compute)
    res = stream_intervals(out / "stream", params, xs, ds, t_min, t_max, chunk_size=16, progress=False,
                           batch_size=4)
    report["stream"] = None if res is None else len(res)
    again = stream_intervals(out / "stream", params, xs, ds, t_min, t_max, chunk_size=16, progress=False,
                             batch_size=4)
    report["stream_again"] = None if again is None else [len(again), again.complete]
    # a GI study (what `relu-regions gi --distributed` runs): process 0 writes out/, the others get None
    study = rr.gi_study(params, xs, pairs="random", n_rays=37, count_regions=False, batch_size=4, chunk_size=16,
                        out=out / "study", figure=False, progress=False)
    report["study"] = None if study.results is None else len(study.results)
    # a CNN (a JAX callable, the program walker): every process traces it and walks its share
    from test_program_routines import CNN, _rays, make_cnn
    cxs, cds = _rays()
    try:
        rr.exact_intervals_sharded(make_cnn(pid), cxs, cds, batch_size=1)   # other weights in process 1
        report["cnn_mismatch"] = "no error"
    except ValueError as exc:
        report["cnn_mismatch"] = str(exc)
    iv = rr.exact_intervals_sharded(CNN, cxs, cds, batch_size=1)
    np.savez(out / f"p{pid}_cnn.npz", **iv._asdict())
    print(json.dumps(report))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    import relu_regions as rr
    from relu_regions.results import load_intervals

    tests_dir = str(Path(__file__).resolve().parent)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COORDINATOR_ADDRESS", None)
    port = _free_port()
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(p), str(port), str(tmp_path), tests_dir],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for p in (0, 1)]
    outputs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            outputs.append((p.returncode, stdout, stderr))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for rc, stdout, stderr in outputs:
        assert rc == 0, stderr[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outputs]
    print(f"two workers: {time.perf_counter() - start:.1f} s")

    for r in reports:
        assert "processes [1] were given other" in r["mismatch"], r["mismatch"]
        assert "processes [1] were given other" in r["cnn_mismatch"], r["cnn_mismatch"]
    assert reports[0]["stream"] == 37 and reports[1]["stream"] is None
    assert reports[0]["stream_again"] == [37, True] and reports[1]["stream_again"] is None
    assert reports[0]["study"] == 37 and reports[1]["study"] is None
    assert load_intervals(tmp_path / "study" / "rays").complete

    sys.path.insert(0, tests_dir)
    from conftest import random_net

    rng = np.random.default_rng(11)
    params = random_net(rng, [6, 16, 16, 4])
    xs, ds = rng.normal(size=(37, 6)), rng.normal(size=(37, 6)) * 2
    t_min, t_max = -rng.random(37) * 2, rng.random(37) * 3
    for count in (False, True):
        # the single-process answer of the same function (a mesh of this process's devices) ...
        one = rr.exact_intervals_sharded(params, xs, ds, t_min, t_max, count_regions=count)
        # ... and of the unsharded call (same regions and classes; ends within a few ulps, see below)
        plain = rr.exact_intervals(params, xs, ds, t_min, t_max, count_regions=count)
        for pid in (0, 1):
            with np.load(tmp_path / f"p{pid}_count{count}.npz") as got:
                for name in one._fields:
                    want = np.asarray(getattr(one, name))
                    assert got[name].dtype == want.dtype, (name, count, pid)
                    if name in ("lo", "hi", "length"):
                        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=0, err_msg=f"{name} {count} {pid}")
                        # the sharded and unsharded kernels round GI ends differently (a few ulps)
                        np.testing.assert_allclose(got[name], getattr(plain, name), rtol=0, atol=1e-12)
                    else:
                        assert got[name].tobytes() == want.tobytes(), (name, count, pid)
                        assert np.array_equal(got[name], getattr(plain, name)), (name, count, pid)
        if not count:
            streamed = load_intervals(tmp_path / "stream")
            assert streamed.complete
            assert np.array_equal(streamed["x_index"], np.arange(37))
            for name in ("lo", "hi"):
                np.testing.assert_allclose(streamed[name], getattr(one, name), rtol=1e-12, atol=0, err_msg=name)
            for name in ("label", "lo_class", "hi_class", "exact"):
                assert streamed[name].tobytes() == np.asarray(getattr(one, name)).tobytes(), name
    # the CNN: the one-process answer (same rays per device per batch); ends may move in their last bits
    from test_program_routines import CNN, _rays

    one = rr.exact_intervals_sharded(CNN, *_rays(), batch_size=1)
    assert one.exact.all()
    for pid in (0, 1):
        with np.load(tmp_path / f"p{pid}_cnn.npz") as got:
            for name in one._fields:
                want = np.asarray(getattr(one, name))
                assert got[name].dtype == want.dtype, (name, pid)
                if name in ("lo", "hi", "length"):
                    np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=0, err_msg=f"{name} {pid}")
                else:
                    assert np.array_equal(got[name], want), (name, pid)


def test_process_shares_partition_the_rays_and_the_gather_is_byte_exact():
    from relu_regions import Interval
    from relu_regions._sharding import gather_intervals, process_share

    for n, count in ((10, 3), (2, 4), (0, 2), (7, 1)):
        shares = [process_share(n, p, count) for p in range(count)]
        assert sorted(np.concatenate(shares).tolist()) == list(range(n))
        assert max(len(s) for s in shares) - min(len(s) for s in shares) <= 1
    rng = np.random.default_rng(0)
    n = 9
    lo = -rng.random(n)
    lo[[1, 4]] = [-np.inf, np.nan]
    hi = rng.random(n)
    hi[2] = 5e-324  # a subnormal survives too
    iv = Interval(lo=lo, hi=hi, length=hi - lo, label=rng.integers(0, 10, n), lo_class=np.full(n, -1),
                  hi_class=rng.integers(-1, 10, n), n_regions=rng.integers(-1, 10**12, n),
                  exact=rng.random(n) < 0.5, fallback=rng.random(n) < 0.5)
    got = gather_intervals(iv, n)  # one process: the all-gather of the packed bytes and back
    for name in Interval._fields:
        want = np.asarray(getattr(iv, name))
        assert np.asarray(getattr(got, name)).astype(want.dtype).tobytes() == want.tobytes(), name
