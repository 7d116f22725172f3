"""relu_regions.trace: JAX callables as flat piecewise-linear programs (issue 10, front end)."""

from __future__ import annotations

import functools
import inspect
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import relu_regions as rr
from relu_regions._trace import Program, TraceError, trace


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _conv(x, k):
    """(H, W, C) x (kh, kw, C, O) -> (H, W, O), SAME padding."""
    y = lax.conv_general_dilated(x[None], k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y[0]


def _maxpool(x, w=2, s=2, padding="VALID"):
    return lax.reduce_window(x, -jnp.inf, lax.max, (w, w, 1), (s, s, 1), padding)


def _plain_cnn(rng, c=3):
    """conv + batch norm (inference) + leaky ReLU + max pool + residual + avg pool + dense, plain jax."""
    k1 = jnp.asarray(rng.normal(size=(3, 3, 1, c)) / 3)
    k2 = jnp.asarray(rng.normal(size=(3, 3, c, c)) / 5)
    mean, var = jnp.asarray(rng.normal(size=c)), jnp.asarray(rng.random(c) + 0.5)
    gamma, beta = jnp.asarray(rng.normal(size=c)), jnp.asarray(rng.normal(size=c))
    W = jnp.asarray(rng.normal(size=(2 * 2 * c, 5)) / 3)
    b = jnp.asarray(rng.normal(size=5))

    def f(x):                                                     # x: (8, 8, 1)
        h = _conv(x, k1)
        h = (h - mean) * lax.rsqrt(var + 1e-5) * gamma + beta     # batch norm, inference mode
        h = jax.nn.leaky_relu(h, 0.1)
        h = _maxpool(h)                                           # (4, 4, c)
        h = h + jax.nn.relu(_conv(h, k2))                         # residual
        h = lax.reduce_window(h, 0.0, lax.add, (2, 2, 1), (2, 2, 1), "VALID") / 4.0   # avg pool (2, 2, c)
        return h.reshape(-1) @ W + b

    return f


def _flax_cnn():
    import flax.linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.Conv(4, (3, 3))(x)
            h = nn.BatchNorm(use_running_average=True)(h)
            h = nn.leaky_relu(h)
            h = nn.max_pool(h, (2, 2), strides=(2, 2))
            h = h + nn.relu(nn.Conv(4, (3, 3))(h))
            h = nn.avg_pool(h, (2, 2), strides=(2, 2))
            h = nn.Dense(6)(h.reshape(-1))
            return jnp.clip(h, -2.0, 2.0) + jnp.abs(h)

    return Net(), _random_variables(Net(), jnp.zeros((8, 8, 1)))


def _random_variables(net, x, seed=0):
    """Flax variables of the right structure, filled with random numbers without running ``init``
    (which compiles a lot: slow on a shared machine). Batch-norm variances are positive."""
    shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), x)
    rng = np.random.default_rng(seed)
    paths, tree = jax.tree_util.tree_flatten_with_path(shapes)
    leaves = []
    for path, sd in paths:
        name = jax.tree_util.keystr(path)
        a = rng.normal(size=sd.shape) / np.sqrt(max(np.prod(sd.shape[:-1]), 1))
        leaves.append(jnp.asarray(np.abs(a) + 0.5 if "var" in name else a, sd.dtype))
    return jax.tree_util.tree_unflatten(tree, leaves)


def _flax_cnn_fn():
    net, v = _flax_cnn()
    return functools.partial(net.apply, v)


@pytest.fixture(scope="module")
def plain():
    with jax.enable_x64(True):
        f = _plain_cnn(np.random.default_rng(0))
        return f, trace(f, jnp.zeros((8, 8, 1)))


@pytest.fixture(scope="module")
def flax_net():
    with jax.enable_x64(True):
        f = _flax_cnn_fn()
        return f, trace(f, jnp.zeros((8, 8, 1)))


@pytest.fixture
def net(request, plain, flax_net):
    return plain if request.param == "plain" else flax_net


def _mlp(rng, sizes):
    return [(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.3) for a, b in zip(sizes[:-1], sizes[1:])]


def _mlp_fn(params, act=jax.nn.relu):
    def f(x):
        h = x
        for W, b in params[:-1]:
            h = act(h @ W + b)
        W, b = params[-1]
        return h @ W + b
    return f


def _line(fn):
    """The line number of ``fn``'s ``def``."""
    return inspect.getsourcelines(fn)[1]


# ----------------------------------------------------------------------------------------------------
# 1./2. tracing and the forward pass


@pytest.mark.parametrize("net", ["plain", "flax"], indirect=True)
def test_evaluate_equals_f_bit_for_bit(net):
    rng = np.random.default_rng(0)
    f, p = net
    assert p.in_shape == (8, 8, 1) and p.out_shape in ((5,), (6,))
    assert p.in_dtype == jnp.float64
    for _ in range(2):
        x = jnp.asarray(rng.normal(size=(8, 8, 1)))
        np.testing.assert_array_equal(np.asarray(p.evaluate(x)), np.asarray(f(x)))
    if p.out_shape == (6,):
        return
    # jitted (XLA may fuse differently: equal to rounding)
    x = jnp.asarray(rng.normal(size=(8, 8, 1)))
    np.testing.assert_allclose(jax.jit(lambda q, x: q.evaluate(x))(p, x), f(x), rtol=1e-12, atol=1e-12)


def test_switch_inventory(plain):
    p = plain[1]
    assert isinstance(p, Program)
    kinds = [(sw.kind, sw.shape, sw.k) for sw in p.switches]
    assert kinds == [("cmp", (8, 8, 3), 2), ("pool_max", (4, 4, 3), 4), ("max", (4, 4, 3), 2)]
    assert p.n_units == 8 * 8 * 3 + 16 * 3 + 16 * 3
    assert p.units_per_switch == (192, 48, 48)
    assert p.n_constraints == 192 + 48 * 4 + 48
    assert [sw.offset for sw in p.switches] == [0, 192, 240]
    assert all("test_trace.py" in sw.source for sw in p.switches)
    assert "pool_max" in repr(p)
    # clamp (hard tanh) is a max then a min
    q = trace(lambda x: lax.clamp(-1.0, x, 1.0) * 2.0, jnp.zeros(3))
    assert [sw.kind for sw in q.switches] == ["max", "min"] and q.n_units == 6


def test_inlining_and_folding():
    W = jnp.arange(6.0).reshape(2, 3)

    @jax.jit
    def inner(h):
        return jnp.maximum(h, 0.0)

    @jax.custom_vjp
    def cv(h):
        return jnp.minimum(h, 1.0)

    cv.defvjp(lambda h: (cv(h), None), lambda _, g: (g,))

    def f(x):
        scale = jnp.exp(jnp.zeros(3)) * jnp.sqrt(4.0)              # constant: folded, exp allowed
        y = jax.checkpoint(lambda z: z @ W)(x) * scale
        y = lax.cond(True, lambda a: a + 1.0, lambda a: a - 1.0, y)  # constant predicate: inlined
        return cv(inner(y))

    p = trace(f, jnp.zeros(2))
    assert [sw.kind for sw in p.switches] == ["max", "min"]
    x = jnp.array([0.3, -0.2])
    np.testing.assert_array_equal(p.evaluate(x), f(x))


# ----------------------------------------------------------------------------------------------------
# 3. along / choice_at


def _fd(f, x, d, t, h=1e-6):
    return (f(x + (t + h) * d) - f(x + (t - h) * d)) / (2 * h)


@pytest.mark.parametrize("net", ["plain", "flax"], indirect=True)
def test_along_values_and_slopes(net):
    rng = np.random.default_rng(1)
    f, p = net
    x, d = jnp.asarray(rng.normal(size=(8, 8, 1))), jnp.asarray(rng.normal(size=(8, 8, 1)))
    t = 0.37
    c = p.choice_at(x, d, t)
    a = p.along(x, d, t, c)
    np.testing.assert_allclose(a.out, f(x + t * d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.dout, _fd(f, x, d, t), rtol=1e-5, atol=1e-6)
    # inside the region every margin is >= 0, and the frozen program is affine in t
    g, dg = p.margins(c, a.q, a.dq)
    assert g.shape == dg.shape == (p.n_constraints,)
    assert float(g.min()) >= 0.0
    pos = dg < 0
    room = float(jnp.min(jnp.where(pos, -g / jnp.where(pos, dg, 1.0), jnp.inf)))
    s = min(room, 1.0) * 0.5
    a2 = p.along(x, d, t + s, c)
    np.testing.assert_allclose(a2.out, a.out + s * a.dout, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a2.out, f(x + (t + s) * d), rtol=1e-9, atol=1e-9)
    c2 = p.choice_at(x, d, t + s)
    for u, v in zip(c, c2):
        np.testing.assert_array_equal(u, v)
    # the along values at t=0 are the affine coefficients: extrapolation of a frozen program
    a0 = p.along(x, d, 0.0, c)
    np.testing.assert_allclose(a0.out + t * a0.dout, a.out, rtol=1e-9, atol=1e-9)
    for q0, dq0, q1 in zip(a0.q, a0.dq, a.q):
        fin = np.isfinite(np.asarray(q1))
        np.testing.assert_allclose(np.asarray(q0 + t * dq0)[fin], np.asarray(q1)[fin], rtol=1e-9, atol=1e-9)


def test_relu_units_match_pre_activations():
    rng = np.random.default_rng(2)
    params = _mlp(rng, [5, 7, 6, 3])
    f = _mlp_fn(params)
    p = trace(f, jnp.zeros(5))
    x, d = rng.normal(size=5), rng.normal(size=5)
    t = 0.25
    c = p.choice_at(x, d, t)
    a = p.along(x, d, t, c)
    h, zs, dzs, dh = x + t * d, [], [], d
    for W, b in params[:-1]:
        z, dz = h @ W + b, dh @ W
        zs.append(z)
        dzs.append(dz)
        h, dh = np.maximum(z, 0), np.where(z > 0, dz, 0)
    for i in range(2):
        np.testing.assert_allclose(a.q[i], zs[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.dq[i], dzs[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(c[i], zs[i] > 0)
    flat = p.flatten_choice(c)
    assert flat.shape == (p.n_units,) and flat.dtype == jnp.int32
    for u, v in zip(p.unflatten_choice(flat), c):
        np.testing.assert_array_equal(u, v)


def test_choice_at_ties():
    # relu on a boundary: decided by the slope; a zero slope means off
    p = trace(jax.nn.relu, jnp.zeros(3))
    (c,) = p.choice_at(jnp.zeros(3), jnp.array([1.0, -1.0, 0.0]), 0.0)
    np.testing.assert_array_equal(c, [True, False, False])
    # leaky relu writes select(x >= 0, ...): non-strict, a flat tie counts as True
    p = trace(lambda x: jax.nn.leaky_relu(x, 0.2), jnp.zeros(3))
    assert p.switches[0].kind == "cmp" and not p.switches[0].strict
    (c,) = p.choice_at(jnp.zeros(3), jnp.array([1.0, -1.0, 0.0]), 0.0)
    np.testing.assert_array_equal(c, [True, False, True])
    a = p.along(jnp.zeros(3), jnp.array([1.0, -1.0, 0.0]), 0.0, (c,))
    np.testing.assert_array_equal(a.dout, [1.0, -0.2, 0.0])
    # max pooling: largest value, then larger slope, then the lowest index
    p = trace(lambda x: jnp.max(x, axis=1), jnp.zeros((3, 3)))
    x = jnp.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    d = jnp.array([[9.0, 1.0, 3.0], [0.0, 2.0, 2.0], [1.0, 1.0, 1.0]])
    (c,) = p.choice_at(x, d, 0.0)
    np.testing.assert_array_equal(c, [2, 1, 0])
    a = p.along(x, d, 0.0, (c,))
    np.testing.assert_array_equal(a.out, [2.0, 0.0, 5.0])
    np.testing.assert_array_equal(a.dout, [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(a.q[0][0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(a.dq[0][0], [-6.0, 2.0, 0.0])


def test_maxpool_padding_and_strides():
    def f(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (3, 2), (2, 1), "SAME").sum(axis=1)

    p = trace(f, jnp.zeros((5, 4)))
    rng = np.random.default_rng(3)
    x, d = jnp.asarray(rng.normal(size=(5, 4))), jnp.asarray(rng.normal(size=(5, 4)))
    np.testing.assert_array_equal(p.evaluate(x), f(x))
    c = p.choice_at(x, d, 0.1)
    a = p.along(x, d, 0.1, c)
    np.testing.assert_allclose(a.out, f(x + 0.1 * d), rtol=1e-13)
    np.testing.assert_allclose(a.dout, _fd(f, x, d, 0.1), rtol=1e-5, atol=1e-6)
    q = np.asarray(a.q[0])
    assert np.isinf(q).any() and (q >= 0).all()          # padding elements: +inf, never binding
    assert np.all(np.asarray(a.dq[0])[np.isinf(q)] == 0)


def test_jit_and_vmap(plain):
    rng = np.random.default_rng(4)
    f, p = plain
    xs = jnp.asarray(rng.normal(size=(4, 8, 8, 1)))
    ds = jnp.asarray(rng.normal(size=(4, 8, 8, 1)))
    ts = jnp.linspace(-0.5, 0.5, 4)
    # Program is a pytree (its constants are the leaves): pass it through jit; vmap over rays
    a, cs = jax.jit(jax.vmap(lambda q, x, d, t: q.along_at(x, d, t), (None, 0, 0, 0)))(p, xs, ds, ts)
    c0 = p.choice_at(xs[0], ds[0], ts[0])
    for u, v in zip(c0, cs):
        np.testing.assert_array_equal(u, v[0])
    a0 = p.along(xs[0], ds[0], ts[0], c0)
    np.testing.assert_allclose(a.out[0], a0.out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.dout[0], a0.dout, rtol=1e-12, atol=1e-12)
    for i in range(4):
        np.testing.assert_allclose(a.out[i], f(xs[i] + ts[i] * ds[i]), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------------
# 4. abs_propagate


def test_abs_propagate_bounds_linear_part(plain):
    rng = np.random.default_rng(5)
    f, p = plain
    x, d = jnp.asarray(rng.normal(size=(8, 8, 1))), jnp.asarray(rng.normal(size=(8, 8, 1)))
    c = p.choice_at(x, d, 0.0)
    r = jnp.asarray(rng.random(size=(8, 8, 1)))
    r_out, rq = p.abs_propagate(c, r)
    assert r_out.shape == p.out_shape and [a.shape for a in rq] == [sw.q_shape for sw in p.switches]
    es = r * jnp.asarray(rng.choice([-1.0, 1.0], size=(4,) + r.shape) * rng.random(size=(4,) + r.shape) ** 0.1)
    es = es.at[0].set(r * jnp.sign(jnp.asarray(rng.normal(size=r.shape))))
    a = jax.jit(jax.vmap(p.along, (None, 0, None, None)))(x, es, 0.0, c)   # slopes along e = the linear part L e
    assert np.all(np.abs(a.dout) <= r_out * (1 + 1e-12) + 1e-300)
    for dq, b in zip(a.dq, rq):
        assert np.all(np.abs(dq) <= b * (1 + 1e-12) + 1e-300)
    # consts=True with r = |x| bounds every value of the frozen program at x
    m_out, mq = p.abs_propagate(c, jnp.abs(x), consts=True)
    a = p.along(x, d, 0.0, c)
    assert np.all(np.abs(a.out) <= m_out * (1 + 1e-12))
    for q, b in zip(a.q, mq):
        fin = np.isfinite(np.asarray(q))
        assert np.all(np.abs(np.asarray(q))[fin] <= np.asarray(b)[fin] * (1 + 1e-12))


def test_abs_propagate_is_abs_W_for_dense():
    rng = np.random.default_rng(6)
    params = _mlp(rng, [4, 5, 3])
    p = trace(_mlp_fn(params), jnp.zeros(4))
    r = jnp.asarray(rng.random(4))
    c = (jnp.array([True, False, True, True, False]),)
    r_out, (rz,) = p.abs_propagate(c, r)
    (W1, b1), (W2, b2) = params
    np.testing.assert_allclose(rz, r @ np.abs(W1), rtol=1e-14)
    np.testing.assert_allclose(r_out, (np.asarray(r @ np.abs(W1)) * np.asarray(c[0])) @ np.abs(W2), rtol=1e-14)
    m_out, (mz,) = p.abs_propagate(c, r, consts=True)
    np.testing.assert_allclose(mz, r @ np.abs(W1) + np.abs(b1), rtol=1e-14)


# ----------------------------------------------------------------------------------------------------
# 5. as_mlp


@pytest.mark.parametrize("act", ["relu", "maximum", "maximum_left", "where"])
def test_as_mlp_recognises_mlps(act):
    rng = np.random.default_rng(7)
    params = _mlp(rng, [6, 8, 7, 4])
    acts = {"relu": jax.nn.relu, "maximum": lambda z: jnp.maximum(z, 0.0),
            "maximum_left": lambda z: jnp.maximum(0.0, z), "where": lambda z: jnp.where(z > 0, z, 0.0)}
    p = trace(_mlp_fn(params, acts[act]), jnp.zeros(6))
    got = p.as_mlp()
    if act == "where":                                 # a cmp + select is not recognised as a dense+relu chain
        assert got is None
        return
    assert got is not None and len(got) == 3
    for (W, b), (W0, b0) in zip(got, params):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_as_mlp_flax_and_negatives(plain):
    import flax.linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            for n in (8, 8):
                x = nn.relu(nn.Dense(n)(x))
            return nn.Dense(3)(x)

    v = _random_variables(MLP(), jnp.zeros(5))
    p = trace(functools.partial(MLP().apply, v), jnp.zeros(5))
    got = p.as_mlp()
    assert got is not None
    for (W, b), layer in zip(got, ["Dense_0", "Dense_1", "Dense_2"]):
        np.testing.assert_array_equal(W, v["params"][layer]["kernel"])
        np.testing.assert_array_equal(b, v["params"][layer]["bias"])
    rng = np.random.default_rng(8)
    params = _mlp(rng, [4, 4, 4, 2])
    (W1, b1), (W2, b2), (W3, b3) = params

    def skip(x):
        h1 = jax.nn.relu(x @ W1 + b1)
        h2 = jax.nn.relu(h1 @ W2 + b2) + h1
        return h2 @ W3 + b3

    assert trace(skip, jnp.zeros(4)).as_mlp() is None
    assert trace(_mlp_fn(params, lambda z: jax.nn.leaky_relu(z, 0.1)), jnp.zeros(4)).as_mlp() is None
    assert trace(_mlp_fn(params, lambda z: jnp.maximum(z, 1.0)), jnp.zeros(4)).as_mlp() is None
    assert plain[1].as_mlp() is None
    lin = trace(lambda x: x @ W1 + b1, jnp.zeros(4)).as_mlp()
    np.testing.assert_array_equal(lin[0][0], W1)


def test_as_mlp_reads_mixed_dtype_layers_in_float64():
    """``lax.dot_general`` takes an integer (or float32) kernel with a float64 input: the layer list is
    float64, and the bias is not cast to the kernel's dtype (it was: [0.5, 0] became [0, 0], and
    the GI end -0.2 came back certified; exact: -0.45)."""
    dn = (((0,), (0,)), ((), ()))
    f = lambda x: lax.dot_general(jnp.maximum(lax.dot_general(x, np.array([[1, -1]]), dn) + np.array([0.5, 0.0]), 0),
                                  np.eye(2), dn)
    with jax.enable_x64(True):
        layers = trace(f, jnp.zeros(1)).as_mlp()
    assert all(W.dtype == b.dtype == np.float64 for W, b in layers)
    np.testing.assert_array_equal(layers[0][1], [0.5, 0.0])
    r = rr.exact_interval(f, np.array([0.2]), np.array([1.0]))
    assert r.lo == pytest.approx(-0.45, rel=1e-12) and r.lo_class == 1


def test_as_mlp_only_where_read_off_exactly():
    """A block read off its Jacobian must be the exact one: ``(h @ W) * 0.1`` would give ``fl(W * 0.1)``,
    which the program never forms. Here the exact logits tie for every ``t`` (label 0 throughout), while
    the rounded weights give class 1 a lead of ``h / 2^55``: the MLP engine certified hi = 1, class 1."""
    W1, W2 = np.array([[1.0, 1.0]]), np.array([[1.0, 2.0], [4.0, 3.0]])
    J = W2 * 0.1
    assert Fraction(J[0, 1]) - Fraction(J[0, 0]) + Fraction(J[1, 1]) - Fraction(J[1, 0]) > 0  # the trap is set
    scaled = lambda x: (jax.nn.relu(x @ W1) @ W2) * 0.1
    with jax.enable_x64(True):
        assert trace(scaled, jnp.zeros(1)).as_mlp() is None
        assert trace(lambda x: (jax.nn.relu(x @ W1) @ W2 + 1.0) - 0.5, jnp.zeros(1)).as_mlp() is None  # b rounded
        assert trace(lambda x: (x @ W1) @ W2, jnp.zeros(1)).as_mlp() is None  # W1 @ W2 rounded
        shaped = trace(lambda x: 1.0 - (jax.nn.relu(x[None] @ W1) @ W2)[0], jnp.zeros(1)).as_mlp()
    np.testing.assert_array_equal(shaped[0][0], W1)  # rearranged, negated, one offset: still read off exactly
    np.testing.assert_array_equal(shaped[1][0], -W2)
    np.testing.assert_array_equal(shaped[1][1], [1.0, 1.0])
    with pytest.warns(RuntimeWarning):
        r = rr.exact_intervals(scaled, np.array([[-1.0]]), np.array([[1.0]]))
    assert not r.exact[0] or (r.hi[0] == 2.0 and r.hi_class[0] == -1)


# ----------------------------------------------------------------------------------------------------
# errors


def _raises_at(f, x, primitive):
    with pytest.raises(TraceError) as e:
        trace(f, x)
    msg = str(e.value)
    assert f"'{primitive}'" in msg, msg
    assert "test_trace.py:" in msg, msg
    return msg


def test_errors_name_primitive_and_line():
    x = jnp.zeros(3)

    def tanh_net(x):
        return jnp.tanh(x) * 2.0

    msg = _raises_at(tanh_net, x, "tanh")
    assert f"test_trace.py:{_line(tanh_net) + 1}" in msg
    _raises_at(lambda x: jax.nn.softmax(x), x, "exp")
    _raises_at(lambda x: jax.nn.sigmoid(x), x, "logistic")
    _raises_at(lambda x: 1.0 / (jnp.abs(x) + 1.0), x, "div")
    _raises_at(lambda x: x ** 2, x, "integer_pow")
    _raises_at(lambda x: x * x, x, "mul")
    _raises_at(lambda x: lax.cond(x[0] > 0, lambda a: a, lambda a: -a, x), x, "cond")
    _raises_at(lambda x: lax.while_loop(lambda c: c[0] < 3.0, lambda c: c + 1.0, x), x, "while")
    _raises_at(lambda x: jnp.argmax(x) * 1.0 + x, x, "argmax")
    _raises_at(lambda x: x.astype(jnp.int32).astype(x.dtype), x, "convert_element_type")
    assert issubclass(TraceError, ValueError)
    with pytest.raises(TraceError):
        trace(lambda x: jnp.ones(2), x)                    # does not depend on x
    with pytest.raises(TraceError):
        trace(lambda x: (x, x), x)
    with pytest.raises(TraceError):
        trace(lambda x: x, jnp.zeros(3, jnp.int32))
    p = trace(lambda x: x * 2.0, x)
    with pytest.raises(ValueError, match="shape"):
        p.evaluate(jnp.zeros(4))


def test_piecewise_constant_masks_are_fine():
    # x * (x > 0) and a shared mask: the mask is fixed by the pattern, the product stays affine
    def f(x):
        m = (x > 0).astype(x.dtype)
        return x * m + 0.5 * x * m

    p = trace(f, jnp.zeros(4))
    assert [sw.kind for sw in p.switches] == ["cmp"]
    x, d = jnp.array([1.0, -1.0, 0.0, 0.0]), jnp.array([0.0, 0.0, 1.0, -1.0])
    c = p.choice_at(x, d, 0.0)
    np.testing.assert_array_equal(c[0], [True, False, True, False])
    a = p.along(x, d, 0.0, c)
    np.testing.assert_array_equal(a.dout, [0.0, 0.0, 1.5, 0.0])
    np.testing.assert_array_equal(p.evaluate(x), f(x))


# ----------------------------------------------------------------------------------------------------
# the walker interface, end to end (reference walker)


def test_reference_walk_matches_linear_pieces_on_mlp():
    import relu_regions as rr
    from trace_reference import walk_pieces

    rng = np.random.default_rng(9)
    params = _mlp(rng, [5, 12, 12, 3])
    p = trace(_mlp_fn(params), jnp.zeros(5))
    total = 0
    for _ in range(3):
        x, d = rng.normal(size=5), rng.normal(size=5)
        ref = rr.linear_pieces(params, x, d, -2.0, 3.0)
        got = walk_pieces(p, x, d, -2.0, 3.0, max_pieces=500)
        total += ref.n_pieces
        assert got.breakpoints.shape == ref.breakpoints.shape
        np.testing.assert_allclose(got.breakpoints, ref.breakpoints, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(got.slopes, ref.slopes, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(got.logits, ref.logits, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(got.patterns.astype(bool), np.asarray(ref.patterns, bool))
    assert total > 8


def test_reference_walk_on_cnn(plain):
    from trace_reference import walk_pieces

    f, p = plain
    rng = np.random.default_rng(10)
    x, d = jnp.asarray(rng.normal(size=(8, 8, 1))), jnp.asarray(rng.normal(size=(8, 8, 1)))
    got = walk_pieces(p, x, d, 0.0, 0.5, max_pieces=500)
    k = len(got.slopes)
    assert k > 3
    assert np.all(np.diff(got.breakpoints) >= 0)
    mids = (got.breakpoints[:-1] + got.breakpoints[1:]) / 2
    want = jax.jit(jax.vmap(lambda t: f(x + t * d)))(jnp.asarray(mids))
    lin = got.logits[:-1] + (mids - got.breakpoints[:-1])[:, None] * got.slopes
    np.testing.assert_allclose(lin, want, rtol=1e-9, atol=1e-9)
    # consecutive pieces differ in their pattern and the logits are continuous
    assert all(np.any(a != b) for a, b in zip(got.patterns[:-1], got.patterns[1:]))
    ends = got.logits[:-1] + np.diff(got.breakpoints)[:, None] * got.slopes
    np.testing.assert_allclose(ends, got.logits[1:], rtol=1e-9, atol=1e-9)


def test_python_control_flow_and_float32():
    def branchy(x):
        if x[0] > 0:                                   # Python control flow on x
            return x
        return -x

    with pytest.raises(TraceError, match="Python"):
        trace(branchy, jnp.zeros(3))
    with jax.enable_x64(False):
        p = trace(lambda x: jax.nn.relu(x @ jnp.ones((3, 2))), np.zeros(3, np.float32))
        assert p.in_dtype == jnp.float32
        x = jnp.array([1.0, -2.0, 0.5], jnp.float32)
        np.testing.assert_array_equal(p.evaluate(x), jax.nn.relu(x @ jnp.ones((3, 2))))
        a, c = p.along_at(x, jnp.ones(3, jnp.float32), 0.0)
        assert a.out.dtype == jnp.float32 and c[0].dtype == jnp.bool_


def test_after_exit_pooling_and_binary():
    p = trace(lambda x: jnp.max(jax.nn.relu(x), axis=1), jnp.zeros((2, 3)))
    c = (jnp.array([[True, True, False], [True, True, True]]), jnp.array([0, 2], jnp.int32))
    hit = jnp.zeros(p.n_constraints, bool)
    dg = jnp.zeros(p.n_constraints)
    # binary unit (0, 2) and window 1's elements 0 and 1 reach 0; element 1 grows faster
    hit = hit.at[2].set(True).at[6 + 3].set(True).at[6 + 4].set(True)
    dg = dg.at[6 + 3].set(-1.0).at[6 + 4].set(-2.0)
    mask, forced = p.after_exit(c, hit, dg)
    np.testing.assert_array_equal(mask[0], [[False, False, True], [False, False, False]])
    np.testing.assert_array_equal(forced[0][0, 2], True)
    np.testing.assert_array_equal(mask[1], [False, True])
    np.testing.assert_array_equal(forced[1], [0, 1])
    np.testing.assert_array_equal(p.constraint_unit[[2, 9, 10]], [2, 7, 7])
    np.testing.assert_array_equal(p.constraint_element[[2, 9, 10]], [0, 0, 1])


def test_scan_and_fori_loop_are_unrolled():
    Ws = jnp.asarray(np.random.default_rng(11).normal(size=(3, 4, 4)))

    def f(x):
        h, _ = lax.scan(lambda h, W: (jax.nn.relu(h @ W), None), x, Ws[:2])
        h = lax.fori_loop(0, 2, lambda i, c: jnp.maximum(c * 0.5, -1.0), h)
        return h @ Ws[2]

    p = trace(f, jnp.zeros(4))
    assert [sw.kind for sw in p.switches] == ["max"] * 4
    x = jnp.asarray(np.random.default_rng(12).normal(size=4))
    np.testing.assert_array_equal(p.evaluate(x), f(x))
    assert p.as_mlp() is None                                # max(., -1) is not a ReLU
    g = lambda x: lax.scan(lambda h, W: (jax.nn.relu(h @ W), None), x, Ws[:2])[0] @ Ws[2]  # noqa: E731
    layers = trace(g, jnp.zeros(4)).as_mlp()
    assert len(layers) == 3
    np.testing.assert_array_equal(layers[1][0], Ws[1])
    with pytest.raises(TraceError, match="'tanh'.*test_trace.py"):
        trace(lambda x: lax.scan(lambda c, _: (jnp.tanh(c), None), x, None, length=2)[0], jnp.zeros(4))


def test_rounding_bound_covers_float32_errors():
    """The float32 program's along() against the same program in float64 (constants exactly
    representable in float32, so the difference is float32 rounding, up to float64's own)."""
    rng = np.random.default_rng(13)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    k1, k2 = f32(rng.normal(size=(3, 3, 1, 3)) / 3), f32(rng.normal(size=(3, 3, 3, 3)) / 5)
    sc, bi = f32(rng.normal(size=3)), f32(rng.normal(size=3))
    W, b = f32(rng.normal(size=(12, 5)) / 3), f32(rng.normal(size=5))

    def net(x):
        dt = x.dtype
        h = _conv(x, jnp.asarray(k1, dt)) * jnp.asarray(sc, dt) + jnp.asarray(bi, dt)
        h = _maxpool(jax.nn.leaky_relu(h, 0.125))
        h = h + jax.nn.relu(_conv(h, jnp.asarray(k2, dt)))
        h = lax.reduce_window(h, 0.0, lax.add, (2, 2, 1), (2, 2, 1), "VALID") / 4.0
        z = h.reshape(-1) @ jnp.asarray(W, dt) + jnp.asarray(b, dt)
        return jnp.abs(z) - jnp.clip(z, -1.0, 1.0)

    x, d = f32(rng.normal(size=(8, 8, 1))), f32(rng.normal(size=(8, 8, 1)))
    p64, p32 = trace(net, x.astype(np.float64)), trace(net, x)
    assert p32.in_dtype == jnp.float32
    for t in (0.0, 0.375):
        a64, c = p64.along_at(x.astype(np.float64), d.astype(np.float64), t)
        a32 = p32.along(x, d, t, c)
        e32 = p32.rounding_bound(x, d, t, c)
        pairs = [(a32.out, a64.out, e32.out), (a32.dout, a64.dout, e32.dout)]
        pairs += list(zip(a32.q, a64.q, e32.q)) + list(zip(a32.dq, a64.dq, e32.dq))
        worst = 0.0
        for v32, v64, b32 in pairs:
            v32, v64, b32 = (np.asarray(v, np.float64) for v in (v32, v64, b32))
            fin = np.isfinite(v64)
            gap = np.abs(v32 - v64)[fin]
            slack = 1e-12 * (1 + np.abs(v64[fin]))                 # float64's own rounding
            assert np.all(gap <= b32[fin] + slack), (gap - b32[fin]).max()
            assert np.all(b32 >= 0)
            worst = max(worst, float(np.max(b32[fin] / (1 + np.abs(v64[fin])), initial=0)))
        assert worst < 1e-4                                   # and not vacuous


def test_flax_nnx_module_is_a_callable():
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(4, 6, rngs=rngs)
            self.l2 = nnx.Linear(6, 3, rngs=rngs)

        def __call__(self, x):
            return self.l2(nnx.relu(self.l1(x)))

    m = MLP(nnx.Rngs(0))
    p = trace(m, jnp.zeros(4))
    layers = p.as_mlp()
    np.testing.assert_array_equal(layers[0][0], m.l1.kernel[...])
    np.testing.assert_array_equal(layers[1][1], m.l2.bias[...])
    x = jnp.arange(4.0)
    np.testing.assert_array_equal(p.evaluate(x), m(x))
