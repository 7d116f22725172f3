"""Shared fixtures. Exact routines switch to float64 themselves; tests of the pure functions enable
``jax_enable_x64`` explicitly with ``jax.enable_x64(True)``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def random_net(rng: np.random.Generator, sizes, scale=None):
    """Gaussian MLP with ``(in, out)`` weights scaled by ``1/sqrt(in)`` unless ``scale`` is given."""
    return [(rng.normal(size=(a, b)) * (scale if scale is not None else 1 / np.sqrt(a)),
             rng.normal(size=b) * 0.5) for a, b in zip(sizes[:-1], sizes[1:])]


def numpy_masks(params, x):
    """Activation masks ``z_l > 0`` of one input, computed independently in numpy."""
    masks, h = [], x
    for W, b in params[:-1]:
        z = h @ W + b
        masks.append(z > 0)
        h = np.maximum(z, 0)
    return masks


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def mnist_rays():
    """Same-label pairwise rays between real MNIST training images (skipped without ../shared/data)."""
    from relu_regions.data import load_mnist

    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip("../shared/data/mnist not present")
    ds = load_mnist("train", data_dir=SHARED_DATA, source="local")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(ds.y), size=2000, replace=False)
    X, y = ds.X[idx].astype(np.float64), ds.y[idx]
    xs, ds_ = [], []
    for c in range(10):
        Xc = X[y == c][:11]
        for i in range(len(Xc)):
            for j in range(len(Xc)):
                if i != j:
                    xs.append(Xc[i])
                    ds_.append(Xc[j] - Xc[i])
    return np.array(xs), np.array(ds_)
