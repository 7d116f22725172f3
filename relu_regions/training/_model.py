"""The paper's fully connected ReLU network as a ``flax.linen`` module."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

__all__ = ["MLP", "uniform_bound"]


def uniform_bound(fan_in: int) -> float:
    """Half-width ``1/sqrt(fan_in)`` of the ``"uniform"`` initialisation."""
    return float(fan_in) ** -0.5


def _uniform_bias_init(fan_in: int) -> nn.initializers.Initializer:
    bound = uniform_bound(fan_in)

    def init(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class MLP(nn.Module):
    """ReLU MLP: ``Dense(widths[0]) -> relu -> ... -> Dense(n_classes)``.

    Input ``x`` has shape ``(batch, n_features)``; the output is the logits,
    shape ``(batch, n_classes)`` (no softmax). Layers are auto-named
    ``Dense_0 ... Dense_L``, so :func:`relu_regions.params_from_flax` returns
    them in order.

    ``init_scheme="uniform"`` draws every kernel and bias entry from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (the classic "random uniform" scheme,
    also PyTorch's ``nn.Linear`` default); ``init_scheme="lecun_normal"`` uses Flax's
    default (LeCun-normal kernel, zero bias). ``dtype`` is the parameter and
    computation dtype.
    """

    widths: Sequence[int]
    n_classes: int
    init_scheme: str = "uniform"
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        sizes = [*self.widths, self.n_classes]
        for i, width in enumerate(sizes):
            inits = self._initializers(x.shape[-1])
            x = nn.Dense(width, dtype=self.dtype, param_dtype=self.dtype, **inits)(x)
            if i < len(sizes) - 1:
                x = nn.relu(x)
        return x

    def _initializers(self, fan_in: int) -> dict:
        if self.init_scheme == "uniform":
            # variance_scaling(1/3, fan_in, uniform) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            return {
                "kernel_init": nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
                "bias_init": _uniform_bias_init(fan_in),
            }
        if self.init_scheme == "lecun_normal":
            return {
                "kernel_init": nn.initializers.lecun_normal(),
                "bias_init": nn.initializers.zeros_init(),
            }
        raise ValueError(
            f"unknown init_scheme {self.init_scheme!r}; use 'uniform' or 'lecun_normal'"
        )
