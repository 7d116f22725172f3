"""Image resolution reduction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def downsample(
    X: np.ndarray, image_shape: Sequence[int], factor: int, *, channel_major: bool = False
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Average-pool flattened images over non-overlapping ``factor x factor`` blocks.

    ``X`` is ``(n, H*W*C)`` and ``image_shape`` is ``(H, W, C)``; rows are row-major ``(H, W, C)``
    (MNIST) or, with ``channel_major=True``, ``(C, H, W)`` (CIFAR-10). Returns the pooled rows as
    ``(n, (H/f)*(W/f)*C)`` float32 in the same layout, and the new ``(H/f, W/f, C)``.
    E.g. MNIST 28x28 becomes 14x14 with ``factor=2`` and 7x7 with ``factor=4``.
    """
    X = np.asarray(X)
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {tuple(image_shape)}")
    h, w, c = (int(s) for s in image_shape)
    if X.ndim != 2 or X.shape[1] != h * w * c:
        raise ValueError(f"X must have shape (n, {h * w * c}) for image_shape {(h, w, c)}, got {X.shape}")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    for side, size in (("height", h), ("width", w)):
        if size % factor:
            raise ValueError(
                f"factor {factor} does not divide the image {side} {size} (image_shape {(h, w, c)})"
            )
    hf, wf, n = h // factor, w // factor, len(X)
    if channel_major:
        pooled = X.reshape(n, c, hf, factor, wf, factor).mean(axis=(3, 5), dtype=np.float64)
    else:
        pooled = X.reshape(n, hf, factor, wf, factor, c).mean(axis=(2, 4), dtype=np.float64)
    return pooled.reshape(n, -1).astype(np.float32), (hf, wf, c)
