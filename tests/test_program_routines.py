"""Every exact routine takes JAX callables and traced programs, and none of its options is silently
ignored there: ``exact_intervals`` options on the program path (``devices``, ``config``, ``batch_size``,
``progress``, ``max_steps``, ``count_regions``), ``exact_intervals_sharded`` (one process here and on
four CPU devices in a subprocess; two processes in ``tests/test_distributed.py``), and the norm checks
(``point_norms``, ``norms_at_points``, ``segment_norms``: ``||A(x)||_inf`` for any model, the numbers of
the list for MLP callables, ``TypeError`` naming the routine for per-layer quantities of other models).

The CNN is tiny (5x5 input, one 2x2 convolution, 2x2 max pooling, ReLU, dense) so that its kernels
compile in seconds; its rays and segments are ones the certified walker certifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import relu_regions as rr
import relu_regions._program_api as api
import relu_regions._program_walk as walker
from relu_regions._norms import (ProgramPointNorms, inf_norm, masked_product, pattern_norms, product_matrix,
                                 segment_norms)
from relu_regions._sharding import _checked_model, _fingerprint

REL = 1e-9


def _pool2(h):
    return lax.reduce_window(h, -jnp.inf, lax.max, (2, 2, 1), (2, 2, 1), "VALID")


def make_cnn(seed=0):
    """``f(x)`` for one ``(5, 5, 1)`` image: conv 2x2 (VALID) + bias, max pool 2x2, ReLU, dense to 3."""
    rng = np.random.default_rng(seed)
    k1, b1, Wd = rng.normal(size=(2, 2, 1, 2)) / 2, rng.normal(size=2) * 0.1, rng.normal(size=(8, 3)) / 2

    def f(x):
        h = lax.conv_general_dilated(x[None], k1, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
        return jax.nn.relu(_pool2(h + b1)).reshape(-1) @ Wd
    return f


CNN = make_cnn()
IMAGES = np.random.default_rng(0).normal(size=(8, 5, 5, 1))
SEGMENTS = np.array([0, 1, 3])          # segments IMAGES[i] -> IMAGES[i + 1] that float64 certifies


def _mlp():
    rng = np.random.default_rng(5)
    net = [(rng.normal(size=(4, 6)), rng.normal(size=6)), (rng.normal(size=(6, 5)), rng.normal(size=5)),
           (rng.normal(size=(5, 3)), rng.normal(size=3))]

    # f closes over copies: with JAX 0.10.2 a numpy array closed over in a trace under enable_x64 keeps a
    # float64 device buffer that a later float32 use of the same array object trips over.
    (W1, b1), (W2, b2), (W3, b3) = [(W.copy(), b.copy()) for W, b in net]

    def f(x):
        return jax.nn.relu(jax.nn.relu(x @ W1 + b1) @ W2 + b2) @ W3 + b3
    return net, f


def _rays(n=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5, 5, 1)), rng.normal(size=(n, 5, 5, 1))


def _same(a, b, ends_rtol=0.0):
    """Two ``Interval``s agree: integer fields and flags exactly, ends to ``ends_rtol`` (NaN = NaN)."""
    for name in ("label", "lo_class", "hi_class", "n_regions", "exact"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("lo", "hi"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=ends_rtol, atol=0, err_msg=name)


# ------------------------------------------------------------------ exact_intervals on programs


def test_program_batches_follow_batch_size_and_config_lanes(monkeypatch, capsys):
    xs, ds = _rays()
    plain = rr.exact_intervals(CNN, xs, ds)
    assert plain.exact.all()
    calls = []
    real = walker.intervals
    spy = lambda prog, xs, *a: calls.append((len(xs),) + a[3:]) or real(prog, xs, *a)   # noqa: E731
    monkeypatch.setattr(walker, "intervals", spy)
    by_batch = rr.exact_intervals(CNN, xs, ds, batch_size=2, progress=True, max_steps=777)
    assert calls == [(2, 777, False, None)] * 3         # batch_size rays per compiled batch, last one padded
    assert "exact GIs" in capsys.readouterr().err       # progress: a bar over the batches
    calls.clear()
    by_lanes = rr.exact_intervals(CNN, xs, ds, config=rr.EngineConfig(lanes=4), max_steps=777)
    assert calls == [(8, 777, False, 4)]                # lanes: side walks stepping together on the queue
    calls.clear()
    rr.exact_intervals(CNN, xs, ds, config=rr.EngineConfig())   # the defaults: nothing to apply, accepted
    assert calls == [(8, 100_000, False, None)]
    for other in (by_batch, by_lanes):                  # the batch shape may move the last bits only
        _same(plain, other, ends_rtol=1e-12)


def test_program_config_that_cannot_apply_is_an_error():
    xs, ds = _rays(2)
    for config, what in ((rr.EngineConfig(walk_lanes=8), "walk_lanes=8"), (rr.EngineConfig(small=0), "small=0"),
                         (rr.EngineConfig(streams=2), "streams=2")):
        with pytest.raises(ValueError, match=f"exact_intervals: config sets {what}.*traced program"):
            rr.exact_intervals(CNN, xs, ds, config=config)
    with pytest.raises(TypeError, match="config must be a relu_regions.EngineConfig"):
        rr.exact_intervals(CNN, xs, ds, config={"lanes": 8})
    with pytest.raises(ValueError, match="devices: need at least one device"):
        rr.exact_intervals(CNN, xs, ds, devices=[])
    with pytest.raises(ValueError, match="batch_size"):
        rr.exact_intervals(CNN, xs, ds, batch_size=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batch_size'"):
        rr.exact_interval(CNN, xs[0], ds[0], batch_size=4)   # not an option of exact_interval: refused


def test_program_on_a_device_mesh_and_sharded_equal_unsharded(monkeypatch):
    xs, ds = _rays()
    plain = rr.exact_intervals(CNN, xs, ds)
    meshes, kernel = [], api._intervals_sharded

    def spy(*args, mesh, **kwargs):
        meshes.append(mesh.devices.size)
        return kernel(*args, mesh=mesh, **kwargs)

    monkeypatch.setattr(api, "_intervals_sharded", spy)
    mesh = rr.exact_intervals(CNN, xs, ds, devices=jax.devices())        # shard_map over this process's devices
    sharded = rr.exact_intervals_sharded(CNN, xs, ds)
    with jax.enable_x64(True):
        prog = rr.trace(CNN, jnp.zeros((5, 5, 1), jnp.float64))
    from_program = rr.exact_intervals_sharded(prog, xs, ds, devices=jax.devices()[:1])
    assert meshes == [len(jax.devices())] * 2 + [1]
    for other in (mesh, sharded, from_program):
        _same(plain, other, ends_rtol=1e-12)


def test_program_max_steps_and_count_regions_are_honoured():
    xs, ds = _rays()
    with pytest.warns(RuntimeWarning):                  # some counts float64 cannot certify: -1, with a warning
        counted = rr.exact_intervals(CNN, xs, ds, count_regions=True)
    plain = rr.exact_intervals(CNN, xs, ds)
    assert counted.exact.all() and (counted.n_regions > 1).any() and (plain.n_regions == -1).all()
    _same(plain, counted._replace(n_regions=plain.n_regions), ends_rtol=1e-12)   # the same GIs
    with pytest.warns(RuntimeWarning, match="more than max_steps=1 regions"):
        short = rr.exact_intervals(CNN, xs, ds, max_steps=1)
    assert not short.exact.any() and np.isnan(short.lo).all()     # every side needs more than one step


def test_processes_fingerprint_the_program_structure_and_constants():
    """What each process of a multi-process ``exact_intervals_sharded`` hashes before any work."""
    xs, ds = _rays(2)
    ys, es = xs.reshape(2, -1)[:, :4], ds.reshape(2, -1)[:, :4]      # rays of the MLP's input shape

    def digest(model, rays=(xs, ds)):
        m, x, d, lo, hi, identity = _checked_model(model, *rays, -1.0, 2.0)
        return m, bytes(_fingerprint(identity + [x, d, lo, hi]))

    prog, one = digest(CNN)
    assert isinstance(prog, rr.Program) and prog.in_shape == (5, 5, 1)
    assert digest(make_cnn(0))[1] == one                 # traced again, same weights: the same run
    assert digest(make_cnn(1))[1] != one                 # other weights
    shifted = lambda x: CNN(x) + 1.0                     # noqa: E731 - other structure, same weights
    assert digest(shifted)[1] != one
    net, f = _mlp()
    got, mlp_digest = digest(f, (ys, es))
    assert isinstance(got, list) and mlp_digest == digest(net, (ys, es))[1]   # MLP callables: their list
    with pytest.raises(ValueError, match="input shape"):
        _checked_model(CNN, xs, ds[:, :4], -1.0, 2.0)


# ------------------------------------------------------------------ norms


def _map_norm(f, x):
    A, _ = rr.local_linear_map(f, x)
    return np.abs(A.reshape(x.size, -1)).sum(axis=0).max()


def test_point_norms_of_a_cnn_are_its_local_map_norm(capsys):
    x = IMAGES[0]
    pn = rr.point_norms(CNN, x)
    assert isinstance(pn, ProgramPointNorms) and isinstance(pn, rr.PointNorms)
    assert pn.composed.dtype == np.float64 and pn.composed == _map_norm(CNN, x)
    at = rr.norms_at_points(CNN, IMAGES[:5], batch_size=2, progress=True)     # batches of 2, the last padded
    assert "norms at points" in capsys.readouterr().err
    assert isinstance(at, ProgramPointNorms) and at.composed.shape == (5,)
    np.testing.assert_array_equal(at.composed, [_map_norm(CNN, x) for x in IMAGES[:5]])
    # ||A(x)||_inf bounds every directional slope: |f_k(x + h e) - f_k(x)| <= ||A|| h ||e||_inf in the region
    e = np.random.default_rng(3).uniform(-1, 1, size=x.shape)
    with jax.enable_x64(True):
        change = np.abs(np.asarray(CNN(jnp.asarray(x + 1e-6 * e))) - np.asarray(CNN(jnp.asarray(x))))
    assert change.max() <= pn.composed * 1e-6 * np.abs(e).max() * (1 + 1e-6)
    for name in ("layer_tilde", "layer_raw", "product", "layer_ratio", "composed_ratio"):
        with pytest.raises(TypeError, match="need a dense \\(W, b\\) layer list.*point_norms"):
            getattr(pn, name)


def test_segment_norms_of_a_cnn_match_its_pieces_and_local_maps(capsys):
    x0s, x1s = IMAGES[SEGMENTS], IMAGES[SEGMENTS + 1]
    seg = segment_norms(CNN, x0s, x1s, capacity=16, batch_size=2, piece_batch=8, progress=True)
    assert "segments" in capsys.readouterr().err
    assert isinstance(seg.pieces, ProgramPointNorms) and seg.midpoint_agrees.all()
    for s in range(len(x0s)):
        d = x1s[s] - x0s[s]
        p = rr.linear_pieces(CNN, x0s[s], d, 0.0, 1.0)
        rows = seg.piece_segment == s
        assert seg.n_pieces[s] == p.n_pieces == rows.sum()
        np.testing.assert_array_equal(seg.piece_dt[rows], np.diff(p.breakpoints))
        np.testing.assert_allclose(seg.max_change[s], np.abs(p.logits - p.logits[0]).max(axis=0), rtol=1e-12)
        mids = p.breakpoints[:-1] + np.diff(p.breakpoints) / 2
        norms = np.array([_map_norm(CNN, x0s[s] + t * d) for t in mids])
        np.testing.assert_allclose(seg.pieces.composed[rows], norms, rtol=1e-12)
        assert seg.d_inf[s] == np.abs(d).max()
        assert seg.bound[s] == pytest.approx((norms * np.diff(p.breakpoints)).sum() * seg.d_inf[s], rel=1e-12)
    assert np.all(seg.tightness >= 1.0)


def test_segment_norms_of_a_program_regrow_capacity_and_flag_uncertified_segments(monkeypatch):
    import relu_regions._norms as norms_mod

    real, capacities = norms_mod.program_segment_sides, []

    def room_for_16(prog, x0s, ds, capacity, **kwargs):   # as if the segments had 9 to 16 pieces a side
        capacities.append(capacity)
        return (None, False) if capacity < 16 else real(prog, x0s, ds, capacity, **kwargs)

    monkeypatch.setattr(norms_mod, "program_segment_sides", room_for_16)
    x0s, x1s = IMAGES[SEGMENTS], IMAGES[SEGMENTS + 1]
    seg = segment_norms(CNN, x0s, x1s, capacity=1, batch_size=2, piece_batch=8)
    assert capacities == [1, 4, 16, 16]                   # regrown 4x, kept for the next chunk
    np.testing.assert_array_equal(seg.n_pieces, segment_norms(CNN, x0s, x1s, capacity=16, batch_size=2,
                                                              piece_batch=8).n_pieces)
    with pytest.raises(rr.PieceCapacityError, match="more than 4 linear pieces"):
        segment_norms(CNN, x0s, x1s, capacity=1, max_capacity=8)

    kernel, calls = api._segments_kernel, []

    def second_chunk_uncertified(*args, **kwargs):
        rec = kernel(*args, **kwargs)
        calls.append(len(args[1]))
        return rec._replace(cert=rec.cert.at[0].set(False)) if len(calls) > 1 else rec

    monkeypatch.setattr(norms_mod, "program_segment_sides", real)
    monkeypatch.setattr(api, "_segments_kernel", second_chunk_uncertified)
    with pytest.raises(RuntimeError, match="segment_norms: segment 2: float64 cannot certify"):
        segment_norms(CNN, x0s, x1s, capacity=16, batch_size=2)
    assert calls == [2, 2]                               # chunks of batch_size segments (the last padded)


def test_norms_of_mlp_callables_are_the_lists_bit_for_bit():
    net, f = _mlp()
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    with jax.enable_x64(True):
        prog = rr.trace(f, jnp.zeros(4, jnp.float64))
    for model in (f, prog):
        for a, b in zip(rr.point_norms(net, X[0]), rr.point_norms(model, X[0])):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(rr.norms_at_points(net, X), rr.norms_at_points(model, X)):
            np.testing.assert_array_equal(a, b)
        a, b = rr.segment_norms(net, X, Y), rr.segment_norms(model, X, Y)
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            np.testing.assert_array_equal(u, v)
        with jax.enable_x64(True):                      # pure and jit-able on the MLP path, callables too
            np.testing.assert_array_equal(jax.jit(lambda x: rr.point_norms(model, x))(X[1]).composed,
                                          rr.point_norms(net, X[1]).composed)
        np.testing.assert_array_equal(product_matrix(prog), product_matrix(net))


def test_layer_norms_of_programs_take_the_same_refusals():
    """The per-layer routines read a program's layers through the exact routines' checks: a weight
    folded to a flushed 0 is refused here too, not multiplied."""
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    with jax.enable_x64(True):
        flushed = rr.trace(lambda x: jax.nn.relu(x @ W) @ (jnp.asarray(W) * 1e-300 * 1e-10), jnp.zeros(2))
        plain = rr.trace(lambda x: jax.nn.relu(x @ W) @ W, jnp.zeros(2))
    with pytest.raises(ValueError, match="may be subnormal"):
        product_matrix(flushed)
    np.testing.assert_array_equal(product_matrix(plain), W @ W)


def test_norm_routines_name_themselves_where_a_model_has_no_layers():
    with jax.enable_x64(True):
        prog = rr.trace(CNN, jnp.zeros((5, 5, 1), jnp.float64))
    masks = [np.ones(2, bool)]
    for call, name in ((lambda: pattern_norms(prog, masks), "pattern_norms"),
                       (lambda: product_matrix(prog), "product_matrix"),
                       (lambda: masked_product(prog, masks), "masked_product")):
        with pytest.raises(TypeError, match=f"{name}: per-layer norms .* dense \\(W, b\\) layer list"):
            call()
    with pytest.raises(TypeError, match="product_matrix: takes a \\(W, b\\) layer list, not a callable"):
        product_matrix(CNN)
    with pytest.raises(TypeError, match="inf_norm: takes a matrix"):
        inf_norm(CNN)
    with pytest.raises(TypeError, match="point_norms: the local map of a traced program"):
        jax.jit(lambda x: rr.point_norms(prog, x).composed)(IMAGES[0])
    with pytest.raises(ValueError, match="x: expected shape \\(5, 5, 1\\)"):
        rr.point_norms(prog, np.zeros(25))


# ------------------------------------------------------------------ four devices, no jax_enable_x64

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    sys.path.insert(0, sys.argv[1])
    import relu_regions as rr
    from test_program_routines import CNN, IMAGES, _rays, _map_norm

    import relu_regions._program_api as api

    assert len(jax.devices()) == 4 and not jax.config.jax_enable_x64
    xs, ds = _rays()
    calls, kernel = [], api._intervals_sharded
    def spy(prog, xs, *a, mesh, **k):
        calls.append([mesh.devices.size, xs.shape[0], len(xs.sharding.device_set)])
        return kernel(prog, xs, *a, mesh=mesh, **k)
    api._intervals_sharded = spy
    # 5 rays, 1 per device per batch: two batches of 4 (the second padded), the same kernel for both calls
    runs = {"devices": rr.exact_intervals(CNN, xs, ds, devices=jax.devices(), batch_size=1),
            "sharded": rr.exact_intervals_sharded(CNN, xs, ds, batch_size=1)}
    out = {key: {name: np.asarray(v).tolist() for name, v in iv._asdict().items()} for key, iv in runs.items()}
    out["calls"] = calls
    pn = rr.point_norms(CNN, IMAGES[0])
    out["norm"] = [str(pn.composed.dtype), float(pn.composed), float(_map_norm(CNN, IMAGES[0]))]
    print(json.dumps(out))
""")


def test_programs_on_four_devices_without_x64_subprocess():
    tests_dir = Path(__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env.update(XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tests_dir)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    plain = rr.exact_intervals(CNN, *_rays())
    assert plain.exact.all()
    for key in ("devices", "sharded"):
        got = rr.Interval(**{name: np.asarray(v) for name, v in out[key].items()})
        assert got.lo.dtype == np.float64
        _same(plain, got, ends_rtol=1e-12)
    assert out["calls"] == [[4, 4, 4]] * 4              # 2 calls x 2 batches of 4 rays split over 4 devices
    dtype, norm, want = out["norm"]
    assert dtype == "float64" and norm == want


def test_stream_intervals_takes_a_cnn_and_resumes(tmp_path):
    from relu_regions.results import stream_intervals

    xs, ds = _rays()
    direct = rr.exact_intervals(CNN, xs, ds)
    first = stream_intervals(tmp_path / "run", CNN, xs, ds, chunk_size=2, progress=False)
    again = stream_intervals(tmp_path / "run", CNN, xs, ds, chunk_size=2, progress=False)   # all chunks done
    for res in (first, again):
        np.testing.assert_allclose(res["hi"], direct.hi, rtol=1e-9, atol=0)   # batches: last bits only
        np.testing.assert_array_equal(res["hi_class"], direct.hi_class)
    with pytest.raises(Exception, match="fingerprint|settings|differ"):
        stream_intervals(tmp_path / "run", make_cnn(seed=1), xs, ds, chunk_size=2, progress=False)
