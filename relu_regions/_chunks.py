"""Run a jitted batch kernel over many rays in fixed-size chunks (one compilation, interruptible)."""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import numpy as np
from tqdm.auto import tqdm


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with zero rows appended along the leading axis up to ``rows`` (``a`` itself if it has them):
    the one padding rule of every fixed-shape batch kernel (one compilation per chunk size)."""
    a = np.asarray(a)
    if len(a) >= rows:
        return a
    return np.pad(a, ((0, rows - len(a)),) + ((0, 0),) * (a.ndim - 1))


def map_in_chunks(kernel: Callable, arrays: Sequence[np.ndarray], batch_size: int, dtype,
                  progress: bool = False, desc: str = "rays"):
    """Apply ``kernel(*chunk_arrays)`` to consecutive chunks of the leading axis of ``arrays``.

    The last chunk is zero-padded to ``batch_size`` rows so that the kernel compiles once; the outputs
    (a pytree of arrays with a leading batch axis) are trimmed and concatenated as numpy arrays.
    Returns ``None`` for an empty batch.
    """
    n = arrays[0].shape[0]
    if n == 0:
        return None
    chunk = min(batch_size, n)
    parts = []
    for start in tqdm(range(0, n, chunk), disable=not progress, desc=desc, unit="chunk"):
        stop = min(start + chunk, n)
        args = [pad_rows(a[start:stop].astype(dtype), chunk) for a in arrays]
        out = jax.device_get(kernel(*args))
        parts.append(jax.tree.map(lambda a: a[: stop - start], out))
    return jax.tree.map(lambda *xs: np.concatenate(xs), *parts)
