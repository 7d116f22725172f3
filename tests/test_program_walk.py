"""The certified walker over traced programs: JAX callables and Programs in the public routines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import relu_regions as rr
from relu_regions._trace import TraceError

REL = 1e-9


def _close(a, b):
    return abs(float(a) - float(b)) <= REL * max(1.0, abs(float(b)))


def _pool2(h):
    """2x2 max pooling, stride 2, of ``(H, W, C)``."""
    return lax.reduce_window(h, -jnp.inf, lax.max, (2, 2, 1), (2, 2, 1), "VALID")


def test_maxpool_argmax_changes_inside_the_ray():
    # logits [max(1 - t, t, 0, 0), 0.6] along x = (1, 0, 0, 0), d = (-1, 1, 0, 0): the window's argmax
    # moves at t = 1/2, the label is lost at 1 - t = 0.6 and not regained inside the GI.
    f = lambda x: jnp.stack([_pool2(x).reshape(()), jnp.asarray(0.6)])  # noqa: E731
    x = np.array([1.0, 0, 0, 0]).reshape(2, 2, 1)
    d = np.array([-1.0, 1, 0, 0]).reshape(2, 2, 1)
    gi = rr.exact_interval(f, x, d, -1.0, 2.0, count_regions=True)
    assert gi.label == 0 and gi.exact and gi.hi_class == 1 and gi.lo_class == -1
    assert _close(gi.hi, Fraction(1) - Fraction(0.6)) and gi.lo == -1.0
    assert gi.n_regions == 1
    p = rr.linear_pieces(f, x, d, -1.0, 2.0)
    np.testing.assert_allclose(p.breakpoints, [-1.0, 0.5, 2.0], rtol=REL)
    np.testing.assert_allclose(p.slopes[:, 0], [-1.0, 1.0])
    assert p.patterns.shape == (2, 1) and list(p.patterns[:, 0]) == [0, 1]


def test_ties_between_pooled_values():
    # The window holds x0, x0, x1, x1 (exact ties) and the zeros of inactive ReLUs.
    def f(x):
        img = jnp.stack([x[0], x[0], x[1], x[1]]).reshape(2, 2, 1)
        z = jnp.concatenate([_pool2(img).reshape(1), jax.nn.relu(-x[:1])])
        return jnp.stack([z[0] + z[1], jnp.asarray(0.25)])
    x, d = np.array([1.0, 0.0]), np.array([-1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gi = rr.exact_interval(f, x, d, -1.0, 2.0, count_regions=True)
    # max(1 - t, t) + relu(t - 1) >= 1/2 > 0.25 on [-1, 2]: no change
    assert (gi.lo, gi.hi, gi.hi_class, gi.exact) == (-1.0, 2.0, -1, True)
    assert gi.n_regions in (3, -1)      # duplicate units switch together: counted exactly, or flagged
    pat = rr.activation_pattern(f, np.array([0.5, 0.5]))     # a tie at the window: lowest index
    assert [int(np.ravel(c)[0]) for c in pat] == [0, 0]


def test_residual_block_matches_its_mlp():
    rng = np.random.default_rng(3)
    W, b, V, c = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 4)), rng.normal(size=4)

    def f(x):                                               # a residual block, then max over 2 heads
        h = x + jax.nn.relu(x @ W + b)
        z = h @ V + c
        return jnp.maximum(z, z[::-1] * 0.5)
    # the same function as an MLP is not available with the max head, so check the residual part alone
    g = lambda x: (x + jax.nn.relu(x @ W + b)) @ V + c      # noqa: E731
    eye = np.eye(3)
    mlp = [(np.concatenate([eye, -eye, W], 1), np.concatenate([np.zeros(6), b])), (np.concatenate([V, -V, V]), c)]
    xs, ds = rng.normal(size=(16, 3)), rng.normal(size=(16, 3))
    a = rr.exact_intervals(mlp, xs, ds, -2.0, 3.0)
    b_ = rr.exact_intervals(g, xs, ds, -2.0, 3.0)
    assert b_.exact.all() and np.array_equal(a.label, b_.label)
    np.testing.assert_allclose(b_.lo, a.lo, rtol=REL, atol=REL)
    np.testing.assert_allclose(b_.hi, a.hi, rtol=REL, atol=REL)
    assert np.array_equal(a.lo_class, b_.lo_class) and np.array_equal(a.hi_class, b_.hi_class)
    assert rr.exact_intervals(f, xs, ds, -2.0, 3.0).exact.all()


def test_leaky_relu_slope():
    # f0 = leaky(1 - t) = 0.1 (1 - t) past t = 1; f1 = -0.05: the label is lost at t = 3/2
    f = lambda x: jnp.stack([jax.nn.leaky_relu(x[0], 0.1), jnp.asarray(-0.05)])  # noqa: E731
    gi = rr.exact_interval(f, np.array([1.0]), np.array([-1.0]), -1.0, 2.0)
    exact_hi = 1 + Fraction(0.05) / Fraction(np.float64(0.1).item())
    assert gi.exact and gi.hi_class == 1 and _close(gi.hi, exact_hi) and gi.lo == -1.0


def test_batch_norm_with_tiny_variance():
    var, eps, mean, gamma, beta = 1e-14, 1e-12, -1e-7, 2.0, -1e-6

    def f(x):
        h = (x - mean) * lax.rsqrt(var + eps) * gamma + beta            # inference mode: affine
        return jnp.stack([jnp.max(jax.nn.relu(h)), jnp.asarray(5e-7)])
    x, d = np.array([0.0, -0.2]), np.array([-1e-7, 0.0])
    gi = rr.exact_interval(f, x, d, -1.0, 2.0)
    with jax.enable_x64(True):
        s = Fraction(float(lax.rsqrt(jnp.float64(var) + jnp.float64(eps))))
    # relu((-1e-7 t + 1e-7) s gamma + beta) falls to 5e-7 just before t = 1
    t_star = 1 + (Fraction(5e-7) - Fraction(beta)) / (Fraction(-1e-7) * s * Fraction(gamma))
    assert gi.exact and gi.label == 0 and gi.lo == -1.0 and gi.hi_class == 1 and _close(gi.hi, t_star)


def _cnn(seed=0, c=3):
    rng = np.random.default_rng(seed)
    k1, k2 = rng.normal(size=(3, 3, 1, c)) / 3, rng.normal(size=(3, 3, c, c)) / 3
    Wd = rng.normal(size=(2 * 2 * c, 4)) / 2

    def f(x):                                               # x: (8, 8, 1)
        conv = lambda h, k: lax.conv_general_dilated(h[None], k, (1, 1), "SAME",  # noqa: E731
                                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
        h = _pool2(jax.nn.relu(conv(x, k1) + 0.05))
        h = h + jax.nn.relu(conv(h, k2))                    # residual
        return _pool2(h).reshape(-1) @ Wd
    return f


def test_dense_sampling_finds_no_missed_change():
    f = _cnn()
    rng = np.random.default_rng(1)
    xs, ds = rng.normal(size=(6, 8, 8, 1)), rng.normal(size=(6, 8, 8, 1))
    iv = rr.exact_intervals(f, xs, ds, -1.0, 2.0)
    assert iv.exact.all()
    with jax.enable_x64(True):
        for x, d, lo, hi, lab in zip(xs, ds, iv.lo, iv.hi, iv.label):
            ts = np.linspace(lo, hi, 2001)
            out = np.asarray(jax.vmap(lambda t: f(jnp.asarray(x) + t * jnp.asarray(d)))(ts))
            assert np.all(out[:, lab] >= out.max(1) - 1e-9 * (1 + np.abs(out).max()))
            for end, lim, step in ((hi, 2.0, 1), (lo, -1.0, -1)):
                if end != lim:                              # the class really changes just beyond
                    t = end + step * 1e-7 * max(1, abs(end))
                    o = np.asarray(f(jnp.asarray(x) + t * jnp.asarray(d)))
                    assert o.max() > o[lab]


def test_default_call_skips_certified_stretches():
    # The default call clears whole stretches at once (bounds on the true program, whatever its pattern):
    # it needs fewer steps than the rays have regions, and answers as the region-by-region count walk.
    rng = np.random.default_rng(0)
    k1, Wd = rng.normal(size=(3, 3, 1, 4)) / 3, rng.normal(size=(8 * 8 * 4, 3)) / 8

    def f(x):
        h = lax.conv_general_dilated(x[None], k1, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]
        return jax.nn.relu(h + 0.05).reshape(-1) @ Wd

    xs, ds = rng.normal(size=(6, 8, 8, 1)), rng.normal(size=(6, 8, 8, 1)) * 0.3
    walked = rr.exact_intervals(f, xs, ds, -1.0, 2.0, count_regions=True)
    assert walked.exact.all() and walked.n_regions.min() > 40
    skipped = rr.exact_intervals(f, xs, ds, -1.0, 2.0, max_steps=20)
    assert skipped.exact.all() and np.any(skipped.hi < 2.0)
    _same_gis(skipped, walked)


@pytest.mark.parametrize("t_range", [(-1.0, 2.0), (-np.inf, np.inf)])
def test_skips_and_region_walk_agree_on_a_residual_cnn(t_range):
    f = _cnn()
    rng = np.random.default_rng(7)
    xs, ds = rng.normal(size=(8, 8, 8, 1)), rng.normal(size=(8, 8, 8, 1))
    a = rr.exact_intervals(f, xs, ds, *t_range)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)               # uncertified counts (n_regions -1)
        b = rr.exact_intervals(f, xs, ds, *t_range, count_regions=True)
    assert a.exact.all() and b.exact.all()
    _same_gis(a, b)


def _same_gis(a, b):
    """Same labels and overtaking classes; ends equal to the contract's 1e-9 (relative)."""
    for field in ("label", "lo_class", "hi_class"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for field in ("lo", "hi"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-9, atol=0)


def test_mlp_callables_are_bit_for_bit_the_mlp_engine():
    rng = np.random.default_rng(5)
    net = [(rng.normal(size=(4, 6)), rng.normal(size=6)), (rng.normal(size=(6, 3)), rng.normal(size=3))]
    f = lambda x: jax.nn.relu(x @ net[0][0] + net[0][1]) @ net[1][0] + net[1][1]  # noqa: E731
    xs, ds = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    for count in (False, True):
        a, b = rr.exact_intervals(net, xs, ds, count_regions=count), rr.exact_intervals(f, xs, ds, count_regions=count)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    assert rr.exact_interval(f, xs[0], ds[0]) == rr.exact_interval(net, xs[0], ds[0])
    np.testing.assert_array_equal(rr.linear_pieces(f, xs[0], ds[0]).breakpoints,
                                  rr.linear_pieces(net, xs[0], ds[0]).breakpoints)
    np.testing.assert_array_equal(rr.effective_weights(f, xs[0])[0], rr.effective_weights(net, xs[0])[0])


def test_point_routines_on_a_cnn():
    f = _cnn(seed=2)
    x = np.random.default_rng(2).normal(size=(8, 8, 1))
    A, c = rr.local_linear_map(f, x)
    assert A.shape == (8, 8, 1, 4) and c.shape == (4,)
    with jax.enable_x64(True):
        np.testing.assert_allclose(np.tensordot(x, A, 3) + c, np.asarray(f(jnp.asarray(x))), rtol=1e-10, atol=1e-12)
    pat = rr.activation_pattern(f, x)
    assert len(pat) == 4 and pat[0].dtype == bool and pat[1].dtype == np.int32
    with pytest.raises(TypeError, match="local_linear_map"):
        rr.effective_weights(f, x)


def test_uncertifiable_answers_are_flagged_not_wrong():
    # Logits shifted by 2^60: their rounding error (~256) swamps the margin, so nothing can be certified.
    f = lambda x: jnp.stack([jnp.max(x), jnp.asarray(0.5)]) + 2.0**60  # noqa: E731
    with pytest.warns(RuntimeWarning, match="no certified answer"):
        iv = rr.exact_intervals(f, np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]]))
    assert not iv.exact[0] and np.isnan(iv.lo[0]) and np.isnan(iv.hi[0])
    with pytest.raises(RuntimeError, match="exact_interval"):
        rr.exact_interval(f, np.array([1.0, 0.0]), np.array([-1.0, 0.0]))


def test_flushed_subnormal_results_are_not_certified():
    # |x 1e-200| 1e-120 is 1e-320 in real arithmetic, which XLA's CPU kernels flush to zero; times 1e300 it
    # is 1e-20 > 1e-21, so label 1 (a change at t = -0.9 only). Bounds counting only the smallest subnormal
    # per operation certified label 0 on the whole range.
    f = lambda x: jnp.stack([jnp.asarray(1e-21), jnp.abs(x[0] * 1e-200) * 1e-120 * 1e300])  # noqa: E731
    for t_min, t_max in [(-0.5, 2.0), (-np.inf, np.inf)]:
        with pytest.warns(RuntimeWarning, match="no certified answer"):
            iv = rr.exact_intervals(f, np.array([[1.0]]), np.array([[1.0]]), t_min, t_max)
        assert not iv.exact[0] or iv.label[0] == 1


def test_flushed_products_inside_sums_and_at_the_point_are_covered():
    # A hundred products just below the smallest normal flush to zero (and so do the bound's own products):
    # the exact logit 0 is 2.596e-6 > 2.45e-6, label 0; charging (n + 2) tiny per sum certified label 1.
    tiny, ulp, n = np.finfo(float).tiny, 2.0**-52, 100
    x0, x1 = 1.0, 1 - 1.5 * ulp
    b = (x0 + x1) - 3 * ulp
    w = np.full(n, np.nextafter(tiny / 3.000000000000004 / ulp, 0))
    f = lambda x: jnp.stack([((x[:n] + x[n:2 * n] - b) @ w) * 1e300, 2.45e-6 + 0.0 * jnp.abs(x[2 * n])])  # noqa: E731
    x, d = np.r_[np.full(n, x0), np.full(n, x1), 0.0], np.r_[np.zeros(2 * n), 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        iv = rr.exact_intervals(f, x[None], d[None], -0.01, 0.01)
    assert not iv.exact[0] or iv.label[0] == 0
    # x + t d with x_1 = 0 and t d_1 below the smallest normal: flushed at the point itself. Exact end 1.5.
    g = lambda x: jnp.stack([1e300 * x[1] + 0.0 * jnp.abs(x[0]), jnp.asarray(4.5e-8)])  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        iv = rr.exact_intervals(g, np.array([[-0.5, 0.0]]), np.array([[1.0, 3e-308]]), -1.0, 3.0)
    assert not iv.exact[0] or abs(iv.hi[0] - 1.5) <= 1.5e-9


def test_models_that_float64_bounds_cannot_cover_are_refused():
    x, d = np.array([3e-9, 0.0]), np.array([1.0, 0.0])
    in_f32 = lambda x: jnp.stack([jnp.asarray(1e-12), (jnp.abs(x[0].astype(jnp.float32) + 1) - 1).astype(x.dtype)])  # noqa: E731
    with pytest.raises(TypeError, match="depend on x in float32"):
        rr.exact_interval(in_f32, x, d)
    w = np.array([1e-310, 1.0])                     # a subnormal weight: read as zero
    with pytest.raises(ValueError, match="subnormal"):
        rr.exact_interval(lambda x: jnp.stack([jnp.max(x * w), jnp.asarray(0.5)]), x, d)
    w32 = jnp.array([1e-40, 1.0], jnp.float32)      # subnormal in float32 (normal once promoted)
    with pytest.raises(ValueError, match="subnormal"):
        rr.exact_interval(lambda x: jnp.stack([jnp.max(x * w32), jnp.asarray(0.5)]), x, d)
    W1, W2 = jnp.eye(2), jnp.array([[0.0, 1e-40], [0.0, 0.0]], jnp.float32)   # MLP-shaped: the same check
    with pytest.raises(ValueError, match="subnormal"):
        rr.exact_interval(lambda x: jax.nn.relu(x @ W1) @ (W2 * jnp.float32(2)), x, d)
    def tiny_fold(scale):                             # folded at trace time, in float64: [1e-10, 1] * scale * 1e10
        return lambda x: jnp.stack([jnp.max(x * ((jnp.asarray([1e-10, 1.0]) * scale) * 1e10)), jnp.asarray(0.5)])
    with pytest.raises(ValueError, match="may be subnormal"):   # 1e-310: flushed to 0 on a CPU, kept on a GPU
        rr.exact_interval(tiny_fold(1e-300), x, d)
    with pytest.raises(ValueError, match="may be subnormal"):   # a matrix product of constants, the same
        rr.exact_interval(lambda x: jnp.stack([jnp.max(x * (jnp.diag(jnp.asarray([1e-160, 1.0]))
                                                            @ jnp.asarray([1e-160, 1.0]))), jnp.asarray(0.5)]), x, d)
    assert rr.exact_interval(tiny_fold(1e-200), x, d).exact    # 1e-210: normal, no error
    key_weights = lambda x: jnp.stack([jnp.max(x * jax.random.normal(jax.random.PRNGKey(0), (2,))),  # noqa: E731
                                       jnp.asarray(0.5)])   # a PRNG key folded at trace time is no error
    assert rr.exact_interval(key_weights, x, d).exact


def _f64(v):
    return jnp.asarray(np.asarray(v, np.float64))


@pytest.mark.parametrize("const", [
    lambda: jnp.var(_f64([1e-160, -1e-160])),                 # folds inside jnp's own jit calls
    lambda: jnp.kron(_f64([1e-160, 1.0]), _f64([1e-160])),
    lambda: jax.jit(lambda a: a * a)(_f64([1e-160, 1.0])),     # inside a user's jit
    lambda: jnp.square(_f64([1e-160, 1.0])),
    lambda: _f64([1e160, 1.0]) ** -2,
    lambda: jnp.prod(_f64([[1e-160, 1e-160]]), axis=1),
    lambda: jnp.cumprod(_f64([1e-160, 1e-160])),
    lambda: jnp.exp(_f64([-720.0, 0.0])),
    lambda: jnp.power(_f64([1e-206, 1.0]), 1.5),
    lambda: _f64([1e-39, 1.0]).astype(jnp.float32).astype(jnp.float64),
], ids=["var", "kron", "jit", "square", "pow-2", "prod", "cumprod", "exp", "power", "narrowing"])
def test_folds_that_may_underflow_are_refused(const):
    """Each constant here folds, on a CPU, to a flushed 0 where the exact value is subnormal."""
    x, d = np.array([3e-9, 0.0]), np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="may be subnormal"):
        rr.exact_interval(lambda x: jnp.stack([jnp.max(x * const()), jnp.asarray(0.5)]), x, d)


@pytest.mark.parametrize("const", [
    lambda: jax.nn.relu(_f64([0.5, -1.0])),                   # a custom_jvp call folded (a KeyError before)
    lambda: (_f64([0.3, 0.7]) - 0.1) / jnp.sqrt(_f64([0.2, 0.5]) + 1e-5),   # a batch norm's constants
    lambda: (jnp.asarray([0.5, 0.25], jnp.float16) * 2 + jnp.asarray([0.5, 0.25], jnp.float16)).astype(jnp.float64),
    lambda: jnp.minimum(_f64([1e200, 1e200]) ** 2, 2.0),     # overflows to inf (no OverflowError in the check)
], ids=["relu", "batchnorm", "float16", "overflow"])
def test_ordinary_folds_are_not_refused(const):
    x, d = np.array([3e-9, 0.0]), np.array([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rr.exact_intervals(lambda x: jnp.stack([jnp.max(x * const()), jnp.asarray(0.5)]), x[None], d[None])


def test_errors_name_primitive_and_line():
    with pytest.raises(TraceError, match="'tanh'.*test_program_walk.py"):
        rr.exact_interval(lambda x: jnp.tanh(x), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="input shape"):
        rr.exact_intervals(_cnn(), np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8)))
    with pytest.raises(TypeError, match="float64"):
        rr.exact_interval(rr.trace(lambda x: jnp.max(x) * jnp.ones(2), np.zeros(2, np.float32)), np.zeros(2),
                          np.ones(2))


def test_public_call_without_x64_subprocess():
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np, relu_regions as rr
        assert not jax.config.jax_enable_x64
        f = lambda x: jnp.stack([jnp.max(x.reshape(2, 2), axis=1).sum(), jnp.asarray(1.0) / 3])
        gi = rr.exact_interval(f, np.array([0.5, 0.0, 0.0, 0.0]), np.array([-1.0, 0, 0, 1e-3]))
        print(repr(gi.hi), gi.exact, gi.hi_class, jax.config.jax_enable_x64)
        W = np.array([[1.0, -1.0], [0.5, 2.0]])    # an MLP whose blocks are read off their Jacobians
        x, d = np.array([1.0, 0.2]), np.array([-1.0, 1.0])
        print(rr.exact_interval(lambda x: (jax.nn.relu(x[None] @ W) @ W)[0], x, d).exact,
              rr.exact_interval(lambda x: (jax.nn.relu(x @ W) @ W) * 0.5, x, d).exact)  # (not an MLP: walked)
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    hi, exact, who, flag, mlp_exact, scaled_exact = out.stdout.split()
    assert mlp_exact == "True" and scaled_exact == "True"
    # 0.5 - t + max(0, 1e-3 t) = 1/3 at t = (0.5 - 1/3) / (1 - 1e-3), in float64's numbers
    t = (Fraction(0.5) - Fraction(np.float64(1.0) / 3)) / (1 - Fraction(1e-3))
    assert exact == "True" and who == "1" and flag == "False" and _close(float(hi), t)
