"""Tests for relu_regions._flax.params_from_flax."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

from relu_regions._flax import params_from_flax


def np_forward(params, x):
    """Reference forward pass in the project convention, in float64."""
    h = np.asarray(x, dtype=np.float64)
    for i, (W, b) in enumerate(params):
        h = h @ W.astype(np.float64) + b.astype(np.float64)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


class DeepDense(nn.Module):
    """12 Dense layers of distinct widths, auto-named Dense_0 ... Dense_11."""

    widths: tuple

    @nn.compact
    def __call__(self, x):
        for i, w in enumerate(self.widths):
            x = nn.Dense(w)(x)
            if i < len(self.widths) - 1:
                x = nn.relu(x)
        return x


WIDTHS = (7, 5, 6, 4, 8, 3, 5, 6, 7, 4, 5, 3)  # distinct neighbours: wrong order breaks


@pytest.fixture(scope="module")
def deep_linen():
    model = DeepDense(WIDTHS)
    x = jax.random.normal(jax.random.PRNGKey(1), (9, 4))
    variables = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    return model, variables, x


def test_linen_deep_mlp_reproduces_apply(deep_linen):
    model, variables, x = deep_linen
    params = params_from_flax(variables)
    assert len(params) == 12
    for i, (W, b) in enumerate(params):
        layer = variables["params"][f"Dense_{i}"]
        assert isinstance(W, np.ndarray) and W.dtype == np.float32 and W.flags.writeable
        np.testing.assert_array_equal(W, layer["kernel"])
        np.testing.assert_array_equal(b, layer["bias"])
    expected = np.asarray(jax.jit(model.apply)(variables, x))
    np.testing.assert_allclose(np_forward(params, x), expected, rtol=1e-5, atol=1e-6)


def test_linen_order_numeric_not_lexicographic(deep_linen):
    _, variables, _ = deep_linen
    # jax tree utilities sort dict keys: Dense_10, Dense_11 come before Dense_2.
    shuffled = jax.tree.map(np.asarray, variables["params"])
    assert list(shuffled)[2] == "Dense_10"
    params = params_from_flax(shuffled)  # also: without the outer "params" key
    assert [W.shape[1] for W, _ in params] == list(WIDTHS)
    np.testing.assert_array_equal(params[2][0], shuffled["Dense_2"]["kernel"])
    np.testing.assert_array_equal(params[10][0], shuffled["Dense_10"]["kernel"])


def test_linen_custom_names_keep_insertion_order():
    rng = np.random.default_rng(0)
    tree = {
        "input": {"kernel": rng.normal(size=(3, 4)), "bias": rng.normal(size=4)},
        "hidden": {"kernel": rng.normal(size=(4, 5)), "bias": rng.normal(size=5)},
        "out": {"kernel": rng.normal(size=(5, 2)), "bias": rng.normal(size=2)},
    }
    params = params_from_flax({"params": tree})
    assert [W.shape for W, _ in params] == [(3, 4), (4, 5), (5, 2)]
    assert params[0][0].dtype == np.float64  # dtype kept


def test_linen_nested_submodule_and_no_bias():
    class Inner(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.relu(nn.Dense(6, use_bias=False)(x))

    class Outer(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = Inner()(x)
            return nn.Dense(3)(x)

    model = Outer()
    x = jax.random.normal(jax.random.PRNGKey(2), (5, 4))
    variables = model.init(jax.random.PRNGKey(0), x)
    params = params_from_flax(variables)
    assert [W.shape for W, _ in params] == [(4, 6), (6, 3)]
    np.testing.assert_array_equal(params[0][1], np.zeros(6, np.float32))
    assert params[0][1].dtype == np.float32
    np.testing.assert_allclose(
        np_forward(params, x), model.apply(variables, x), rtol=1e-5, atol=1e-6
    )


class NnxMLP(nnx.Module):
    """Attribute names sort as head < hidden, but hidden layers are defined first."""

    def __init__(self, rngs):
        sizes = [3, 6, 4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5]  # 12 hidden layers
        self.hidden = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])]
        )
        self.drop = nnx.Dropout(0.5, rngs=rngs)  # parameter-free: ignored
        self.head = nnx.Linear(sizes[-1], 2, use_bias=False, rngs=rngs)

    def __call__(self, x):
        for layer in self.hidden:
            x = nnx.relu(layer(x))
        return self.head(x)


def test_nnx_module_definition_order():
    model = NnxMLP(nnx.Rngs(0))
    x = jax.random.normal(jax.random.PRNGKey(3), (7, 3))
    params = params_from_flax(model)
    assert len(params) == 13
    np.testing.assert_array_equal(params[10][0], model.hidden[10].kernel[...])
    np.testing.assert_array_equal(params[12][1], np.zeros(2, np.float32))
    expected = nnx.jit(lambda m, v: m(v))(model, x)
    np.testing.assert_allclose(np_forward(params, x), expected, rtol=1e-5, atol=1e-6)


def test_nnx_linear_list():
    rngs = nnx.Rngs(1)
    layers = [nnx.Linear(3, 8, rngs=rngs), nnx.Linear(8, 8, rngs=rngs), nnx.Linear(8, 4, rngs=rngs)]
    x = jax.random.normal(jax.random.PRNGKey(4), (6, 3))
    h = x
    for i, layer in enumerate(layers):
        h = layer(h)
        if i < len(layers) - 1:
            h = jax.nn.relu(h)
    params = params_from_flax(tuple(layers))
    assert [W.shape for W, _ in params] == [(3, 8), (8, 8), (8, 4)]
    np.testing.assert_allclose(np_forward(params, x), h, rtol=1e-5, atol=1e-6)


def test_nnx_sequential_matches():
    rngs = nnx.Rngs(2)
    model = nnx.Sequential(nnx.Linear(2, 5, rngs=rngs), nnx.relu, nnx.Linear(5, 3, rngs=rngs))
    x = jax.random.normal(jax.random.PRNGKey(5), (4, 2))
    np.testing.assert_allclose(
        np_forward(params_from_flax(model), x), model(x), rtol=1e-5, atol=1e-6
    )


def test_linen_conv_rejected_with_layer_name():
    class ConvNet(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(4, (3, 3))(x)
            return nn.Dense(2)(x.reshape(x.shape[0], -1))

    variables = ConvNet().init(jax.random.PRNGKey(0), jnp.zeros((1, 5, 5, 1)))
    with pytest.raises(TypeError, match=r"Conv_0.*rank 4"):
        params_from_flax(variables)


def test_linen_batchnorm_rejected():
    class BNNet(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(4)(x)
            x = nn.BatchNorm(use_running_average=True)(x)
            return nn.Dense(2)(x)

    variables = BNNet().init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="batch_stats"):
        params_from_flax(variables)
    with pytest.raises(TypeError, match="BatchNorm_0"):
        params_from_flax(variables["params"])


def test_nnx_batchnorm_rejected():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(3, 4, rngs=rngs)
            self.norm = nnx.BatchNorm(4, rngs=rngs)

    with pytest.raises(TypeError, match=r"'norm' is BatchNorm"):
        params_from_flax(Net(nnx.Rngs(0)))
    with pytest.raises(TypeError, match="element 1 of the sequence is BatchNorm"):
        params_from_flax([nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.BatchNorm(4, rngs=nnx.Rngs(0))])


@pytest.mark.parametrize("empty", [{}, {"params": {}}, [], nnx.Dropout(0.1)])
def test_nothing_found_raises(empty):
    with pytest.raises(ValueError, match="no Dense/Linear layer"):
        params_from_flax(empty)


def test_unsupported_type_raises():
    with pytest.raises(TypeError, match="ndarray"):
        params_from_flax(np.zeros((2, 2)))
