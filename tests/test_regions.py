"""Activation patterns, W~ matrices and local affine maps against an independent numpy computation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import relu_regions as rr
from conftest import numpy_masks, random_net


@pytest.mark.parametrize("sizes", [[3, 5, 2], [7, 6, 5, 4, 3], [784, 128, 128, 128, 10]])
def test_local_map_matches_numpy_and_reproduces_the_network(rng, sizes):
    params = random_net(rng, sizes)
    x = rng.normal(size=sizes[0])
    masks = numpy_masks(params, x)
    # Independent: the product of numpy W~ matrices, and the bias by pushing 0 through the masked net.
    tilde = [W * m[None, :] for (W, _), m in zip(params[:-1], masks)] + [params[-1][0]]
    A_np = np.linalg.multi_dot(tilde) if len(tilde) > 1 else tilde[0]
    c_np = np.zeros(sizes[0])
    for (W, b), m in zip(params[:-1], masks):
        c_np = (c_np @ W + b) * m
    c_np = c_np @ params[-1][0] + params[-1][1]
    with jax.enable_x64(True):
        A, c = rr.local_linear_map(params, jnp.asarray(x))
        assert A.dtype == jnp.float64 and c.dtype == jnp.float64
        A, c = np.asarray(A), np.asarray(c)
        Wt = rr.effective_weights(params, jnp.asarray(x))
        pattern = rr.activation_pattern(params, jnp.asarray(x))
        f = np.asarray(rr.forward(params, jnp.asarray(x)))
    assert A.shape == (sizes[0], sizes[-1])
    np.testing.assert_allclose(A, A_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, c_np, rtol=1e-12, atol=1e-12)
    for got, want in zip(Wt, tilde):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(pattern, masks):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(x @ A + c, f, rtol=1e-10, atol=1e-10)
    # Same map anywhere in the region: a tiny step keeps the pattern.
    y = x + 1e-9 * rng.normal(size=sizes[0])
    if all(np.array_equal(a, b) for a, b in zip(numpy_masks(params, y), masks)):
        with jax.enable_x64(True):
            fy = np.asarray(rr.forward(params, jnp.asarray(y)))
        np.testing.assert_allclose(y @ A + c, fy, rtol=1e-10, atol=1e-10)
    else:
        pytest.fail("a 1e-9 step should stay inside the region of a random point")


def test_effective_weights_zero_exactly_the_inactive_columns(rng):
    params = random_net(rng, [4, 6, 6, 3])
    x = rng.normal(size=4)
    with jax.enable_x64(True):
        Wt = rr.effective_weights(params, x)
        masks = rr.activation_pattern(params, x)
    for l, m in enumerate(masks):
        m = np.asarray(m)
        assert np.all(np.asarray(Wt[l])[:, ~m] == 0)
        np.testing.assert_array_equal(np.asarray(Wt[l])[:, m], params[l][0][:, m])
    np.testing.assert_array_equal(Wt[-1], params[-1][0])


def test_vmap_over_points(rng):
    params = random_net(rng, [5, 8, 3])
    X = rng.normal(size=(32, 5))
    with jax.enable_x64(True):
        A, c = jax.jit(jax.vmap(rr.local_linear_map, in_axes=(None, 0)))(params, jnp.asarray(X))
        for i in (0, 17, 31):
            Ai, ci = rr.local_linear_map(params, jnp.asarray(X[i]))
            np.testing.assert_allclose(A[i], Ai, rtol=1e-13)
            np.testing.assert_allclose(c[i], ci, rtol=1e-13)
