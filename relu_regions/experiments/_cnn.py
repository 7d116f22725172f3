"""A small CNN on MNIST-1k: does the paper's claim (real labels give longer pairwise GIs than random labels)
hold for a small CNN? Two 3x3 convolutions with ReLU, 2x2 max pooling and a dense layer, trained on
MNIST-1k with real and with random labels; exact pairwise same-label GIs (``t`` in [-1, 2]) through
the traced-program walker (any JAX callable goes to ``relu_regions.exact_intervals``).

``cnn_gis(X, y, image_shape, ...)`` is the computation, used by ``examples/cnn_mnist.py``. It is not in
the reproduction report yet: the program walker has no certified skips, so a CNN ray costs seconds
(about 0.2 rays/s on 2 cores against 5.7 for the n = 1000 sampler).
"""

from __future__ import annotations

import functools
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import relu_regions as rr
from relu_regions.data import permute_labels
from relu_regions.experiments._rays import same_label_pairs

CHANNELS = (8, 8)
EPOCHS = 60
BATCH = 128
LEARNING_RATE = 3e-3
T_RANGE = (-1.0, 2.0)


class SmallCNN(nn.Module):
    """conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max pool 2x2 -> dense; one example ``(H, W, C)``."""

    channels: tuple = CHANNELS
    n_classes: int = 10

    @nn.compact
    def __call__(self, x):
        h = nn.relu(nn.Conv(self.channels[0], (3, 3))(x))
        h = nn.relu(nn.Conv(self.channels[1], (3, 3))(h))
        h = nn.max_pool(h, (2, 2), strides=(2, 2))
        return nn.Dense(self.n_classes)(h.reshape(-1))


def train_cnn(X, y, image_shape, *, channels=CHANNELS, epochs: int = EPOCHS, seed: int = 0,
              learning_rate: float = LEARNING_RATE, batch: int = BATCH):
    """Train :class:`SmallCNN` with Adam on ``X`` ``(n, H*W*C)``, ``y`` ``(n,)``; returns the callable
    ``f(x) -> logits`` for one image ``(H, W, C)`` and its training accuracy."""
    model = SmallCNN(tuple(channels), int(np.max(y)) + 1)
    imgs = jnp.asarray(np.asarray(X, np.float32).reshape((-1,) + tuple(image_shape)))
    labels = jnp.asarray(y)
    params = model.init(jax.random.PRNGKey(seed), imgs[0])
    opt = optax.adam(learning_rate)
    state = opt.init(params)
    batched = jax.vmap(model.apply, in_axes=(None, 0))

    @jax.jit
    def update(params, state, xb, yb):
        def loss(p):
            return optax.softmax_cross_entropy_with_integer_labels(batched(p, xb), yb).mean()
        grads = jax.grad(loss)(params)
        upd, state = opt.update(grads, state, params)
        return optax.apply_updates(params, upd), state

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(imgs))
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            params, state = update(params, state, imgs[idx], labels[idx])
    acc = float(np.mean(np.argmax(np.asarray(batched(params, imgs)), 1) == np.asarray(y)))
    return functools.partial(model.apply, params), acc


def cnn_gis(X, y, image_shape, *, n_pairs: int, channels=CHANNELS, epochs: int = EPOCHS, seed: int = 0,
            count_regions: bool = False) -> dict:
    """Train the CNN on real and on permuted labels and compute exact GIs on the same ``n_pairs`` pairs
    (same label under the *real* labels for the real net, under the permuted ones for the other).

    Returns ``{"real": {...}, "random": {...}}``, each with ``lengths`` ``(n_pairs,)``, ``exact``
    ``(n_pairs,)``, ``n_regions`` ``(n_pairs,)`` (-1 unless counted and certified), ``train_acc`` and
    ``seconds`` (the GI computation)."""
    out = {}
    y_random = permute_labels(y, seed + 1)
    for name, labels in (("real", np.asarray(y)), ("random", y_random)):
        f, acc = train_cnn(X, labels, image_shape, channels=channels, epochs=epochs, seed=seed)
        I, J, _ = same_label_pairs(labels, n_pairs, np.random.default_rng(seed + 2), ordered=False)
        imgs = np.asarray(X, np.float64).reshape((-1,) + tuple(image_shape))
        t0 = time.perf_counter()
        iv = rr.exact_intervals(f, imgs[I], imgs[J] - imgs[I], *T_RANGE, count_regions=count_regions)
        out[name] = {"lengths": np.asarray(iv.length), "exact": np.asarray(iv.exact),
                     "n_regions": np.asarray(iv.n_regions), "train_acc": acc,
                     "seconds": time.perf_counter() - t0}
    return out
