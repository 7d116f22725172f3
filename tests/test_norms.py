"""The matrix-norm checks (relu_regions._norms) against independent numpy computations.

Convention under test: ``||M||_inf`` of ``y -> y @ M`` for an ``(in, out)`` matrix is the largest absolute
column sum, ``numpy.linalg.norm(M.T, inf)``.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SHARED_DATA, numpy_masks, random_net

import relu_regions as rr
import relu_regions._norms as norms_mod
from relu_regions._norms import (SegmentBoundViolation, check_segment_bounds, inf_norm, masked_product,
                                 norm_assumption, norms_at_points, point_norms, product_matrix, segment_norms)


def np_inf(M):
    return np.linalg.norm(np.asarray(M).T, np.inf)


def np_norms(net, masks):
    """(layer_tilde, layer_raw, ||A||, ||W_1...W_L||) from W~ built with numpy, A multiplied left to right."""
    tilde = [W * m[None, :] for (W, _), m in zip(net[:-1], masks)] + [net[-1][0]]
    A, P = np.eye(net[0][0].shape[0]), np.eye(net[0][0].shape[0])
    for Wt, (W, _) in zip(tilde, net):
        A, P = A @ Wt, P @ W
    return (np.array([np_inf(Wt) for Wt in tilde]), np.array([np_inf(W) for W, _ in net]), np_inf(A), np_inf(P), A)


def test_inf_norm_is_largest_column_sum_on_non_square_matrix():
    M = np.array([[1.0, -2.0, 0.5, 0.0, 3.0],
                  [4.0, 0.0, -0.5, 1.0, 0.0],
                  [0.0, 1.0, 0.0, -1.0, 0.0]])  # (in=3, out=5): y -> y @ M
    with jax.enable_x64(True):
        got = float(inf_norm(jnp.asarray(M)))
    assert got == pytest.approx(np_inf(M)) == 5.0          # column 0: |1| + |4| + |0|
    assert np.linalg.norm(M, np.inf) == 6.5                # the row orientation differs
    y = np.array([1.0, 1.0, -1.0])                          # the maximiser over ||y||_inf <= 1 for column 0
    assert np.max(np.abs(y @ M)) == pytest.approx(got)


@pytest.mark.parametrize("sizes", [[7, 6, 5, 4], [5, 9, 3]])
def test_point_norms_match_numpy(rng, sizes):
    net = random_net(rng, sizes)
    X = rng.normal(size=(40, sizes[0]))
    got = norms_at_points(net, X)
    with jax.enable_x64(True):
        p64 = [(jnp.asarray(W), jnp.asarray(b)) for W, b in net]
        one = jax.jit(point_norms)(p64, jnp.asarray(X[3]))
        A_fast = masked_product(p64, rr.activation_pattern(p64, jnp.asarray(X[3])))
        A_ref, _ = rr.local_linear_map(p64, jnp.asarray(X[3]))
        P = product_matrix(p64)
    for i, x in enumerate(X):
        tilde, raw, a, p, A = np_norms(net, numpy_masks(net, x))
        np.testing.assert_allclose(got.layer_tilde[i], tilde, rtol=1e-12)
        np.testing.assert_allclose(got.layer_raw[i], raw, rtol=1e-12)
        assert got.composed[i] == pytest.approx(a, rel=1e-12)
        assert got.product[i] == pytest.approx(p, rel=1e-12)
        if i == 3:
            np.testing.assert_allclose(A_fast, A, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(A_ref, A, rtol=1e-10, atol=1e-12)
            assert float(one.composed) == pytest.approx(a, rel=1e-12)
    np.testing.assert_allclose(P, np.linalg.multi_dot([W for W, _ in net]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.composed_ratio, got.composed / got.product)


def test_layer_ratio_never_exceeds_one(rng):
    for sizes in ([6, 12, 12, 3], [3, 20, 20, 20, 4]):
        net = random_net(rng, sizes)
        X = rng.normal(size=(3000, sizes[0])) * 3.0
        out = norms_at_points(net, X)
        r = out.layer_ratio
        assert np.all(r <= 1.0) and np.all(r >= 0.0)
        assert r[:, :-1].min() < 1.0                         # masking does lower some hidden norms
        np.testing.assert_array_equal(r[:, -1], 1.0)         # the output layer is unmasked


def test_batched_10000_points_in_one_jitted_call_matches_single(rng, monkeypatch):
    net = random_net(rng, [10, 8, 8, 3])
    X = rng.uniform(size=(10_000, 10))
    calls = []
    kernel = norms_mod._points_kernel
    monkeypatch.setattr(norms_mod, "_points_kernel", lambda p, xs: calls.append(xs.shape) or kernel(p, xs))
    out = norms_at_points(net, X, batch_size=10_000)
    assert calls == [(10_000, 10)]
    assert out.composed.shape == (10_000,) and out.layer_tilde.shape == (10_000, 3)
    with jax.enable_x64(True):
        p64 = [(jnp.asarray(W), jnp.asarray(b)) for W, b in net]
        for i in (0, 4321, 9999):
            one = point_norms(p64, jnp.asarray(X[i]))
            np.testing.assert_array_equal(out.layer_tilde[i], np.asarray(one.layer_tilde))
            assert out.composed[i] == pytest.approx(float(one.composed), rel=1e-13)


def test_segment_norms_match_exact_pieces_and_numpy(rng):
    net = random_net(rng, [5, 8, 8, 3])
    x0s, x1s = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    seg = segment_norms(net, x0s, x1s, capacity=4)      # capacity 4 forces the regrow path
    for s in range(len(x0s)):
        d = x1s[s] - x0s[s]
        p = rr.linear_pieces(net, x0s[s], d, 0.0, 1.0, capacity=64)
        assert seg.n_pieces[s] == p.n_pieces
        np.testing.assert_allclose(seg.max_change[s], np.abs(p.logits - p.logits[0]).max(axis=0), rtol=1e-9,
                                   atol=1e-12)
        rows = seg.piece_segment == s
        np.testing.assert_allclose(seg.piece_dt[rows], np.diff(p.breakpoints), rtol=1e-9, atol=1e-12)
        widths = np.cumsum([W.shape[1] for W, _ in net[:-1]])[:-1]
        bound = 0.0
        for k, (pat, dt, got) in enumerate(zip(p.patterns, np.diff(p.breakpoints), seg.pieces.composed[rows])):
            _, _, a, _, A = np_norms(net, np.split(pat, widths))
            assert got == pytest.approx(a, rel=1e-12)
            np.testing.assert_allclose(d @ A, p.slopes[k], rtol=1e-9, atol=1e-12)   # A is the piece's map
            bound += a * abs(dt) * np.abs(d).max()
            mid = x0s[s] + (p.breakpoints[k] + dt / 2) * d
            assert np.array_equal(np.concatenate(numpy_masks(net, mid)), pat)
        assert seg.bound[s] == pytest.approx(bound, rel=1e-12)
        assert seg.bound[s] >= seg.max_change[s].max()
    assert seg.midpoint_agrees.all()
    assert np.all(seg.tightness >= 1.0)


def test_segment_norms_resolve_uncertified_walks(monkeypatch):
    """Two units switch at the same t (coincident roots): the float walk cannot certify its pieces, so
    the segment's pieces come from the certified/exact partition, and equal it."""
    net = [(np.array([[1.0, 1.0, -1.0]]), np.array([-0.5, -0.5, 0.2])),
           (np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]]), np.array([0.0, 0.1]))]
    calls = []
    real = norms_mod.certified_pieces
    monkeypatch.setattr(norms_mod, "certified_pieces", lambda *a, **k: calls.append(1) or real(*a, **k))
    seg = segment_norms(net, np.array([[0.0], [0.1]]), np.array([[1.0], [0.4]]))
    assert len(calls) == 1  # only the segment through the coincident roots
    p = rr.linear_pieces(net, np.array([0.0]), np.array([1.0]), 0.0, 1.0)
    assert seg.n_pieces[0] == p.n_pieces == 3
    np.testing.assert_array_equal(seg.piece_dt[seg.piece_segment == 0], np.diff(p.breakpoints))
    np.testing.assert_allclose(seg.max_change[0], np.abs(p.logits - p.logits[0]).max(axis=0), rtol=1e-12)


def test_segment_bound_violation_fails_loudly(rng, monkeypatch):
    with pytest.raises(SegmentBoundViolation) as err:
        check_segment_bounds(np.array([[0.1, 0.2], [0.5, 2.0], [0.3, 0.0]]), np.array([1.0, 1.5, 1.0]), np.ones(3))
    assert err.value.segment == 1 and err.value.actual == 2.0 and err.value.bound == 1.5
    assert "segment 1" in str(err.value) and "column sum" in str(err.value)
    assert isinstance(err.value, AssertionError)
    check_segment_bounds(np.array([[1.0 + 1e-12]]), np.array([1.0]), np.ones(1))      # within rtol: fine

    net = random_net(rng, [4, 6, 6, 3])
    x0s, x1s = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    kernel = norms_mod._pieces_kernel

    def forged(*args):  # piece norms shrunk 100x: the bound must now fail
        norms, agrees = kernel(*args)
        return norms._replace(composed=norms.composed / 100), agrees

    monkeypatch.setattr(norms_mod, "_pieces_kernel", forged)
    with pytest.raises(SegmentBoundViolation, match="segment 0"):
        segment_norms(net, x0s, x1s)


def test_norm_assumption_quantile_statement():
    inside = np.geomspace(0.1, 10.0, 995)                     # both ends count as the same magnitude
    holds, frac = norm_assumption(np.concatenate([inside, [0.099, 10.01, 1e3, 1e-3, 50.0]]))
    assert holds and frac == pytest.approx(0.995)
    holds, frac = norm_assumption(np.concatenate([inside[:980], np.full(20, 11.0)]))
    assert not holds and frac == pytest.approx(0.98)
    with pytest.raises(ValueError):
        norm_assumption(np.zeros(0))


def test_same_label_segments_pairs_distinct_points_of_one_label():
    from relu_regions.experiments._norms import same_label_segments

    X = np.arange(30, dtype=float)[:, None] * np.ones((1, 3))
    y = np.repeat([0, 1, 2], 10)
    x0, x1 = same_label_segments(X, y, 200, seed=1)
    assert x0.shape == x1.shape == (200, 3)
    i, j = x0[:, 0].astype(int), x1[:, 0].astype(int)
    assert np.all(i != j) and np.all(y[i] == y[j])
    assert len(set(zip(i, j))) == 200                        # without replacement


def test_cli_norms_quick_end_to_end(tmp_path):
    from relu_regions.cli import _norms as cli_norms
    from relu_regions.experiments._norms import norms_report_section

    parser = argparse.ArgumentParser()
    cli_norms.register(parser.add_subparsers(dest="command", required=True))
    data = ["--data-dir", str(SHARED_DATA)] if (SHARED_DATA / "mnist").is_dir() else []
    out = tmp_path / "out"
    args = parser.parse_args(["norms", "--quick", *data, "--out", str(out), "--n-points", "64", "--n-segments", "3",
                              "--max-epochs", "1", "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert args.func(args) == 0
    png = out / "norms_ratios.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    result = json.loads((out / "norms.json").read_text())
    assert result["figures"] == ["norms_ratios.png"]
    assert "column sum" in result["numbers"]["convention"]
    for net in ("real", "random"):
        nd = result["numbers"]["nets"][net]
        assert nd["sets"]["random"]["n"] == 64 and nd["segments"]["n"] == 3
        assert nd["sets"]["train"]["n"] == 1000 and nd["sets"]["val"]["n"] == 1000
        assert max(nd["sets"]["train"]["layer_ratio"]["max"]) <= 1.0
        assert result["training"][net]["epochs"] == 1 and not result["training"][net]["reached_100pct"]
    assert len(result["claims"]) == 12 and all(set(c) == {"claim", "measured", "holds"} for c in result["claims"])
    md = norms_report_section(result)
    assert "column sum" in md and "![matrix-norm ratios](norms_ratios.png)" in md
    assert "100% train accuracy not reached" in md


def test_point_norms_are_float64_without_the_x64_flag():
    # Users do not set jax_enable_x64: on concrete inputs the norms are still computed in float64.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import jax, numpy as np
        assert not jax.config.jax_enable_x64
        import relu_regions as rr
        rng = np.random.default_rng(0)
        net = [(rng.normal(size=(3, 5)), rng.normal(size=5)), (rng.normal(size=(5, 2)), rng.normal(size=2))]
        pn = rr.point_norms(net, rng.normal(size=3))
        assert all(np.asarray(v).dtype == np.float64 for v in pn), [np.asarray(v).dtype for v in pn]
        want = np.abs(net[0][0]).sum(axis=0).max()
        assert pn.layer_raw[0] == want, (pn.layer_raw[0], want)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
