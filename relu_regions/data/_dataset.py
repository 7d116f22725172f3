"""The :class:`Dataset` container returned by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set held as numpy arrays.

    Attributes:
        X: ``(n, d)`` float32 features; images are flattened with pixels in ``[0, 1]``.
        y: ``(n,)`` int64 class labels.
        source: where the data came from: ``"local"``, ``"tfds"``, ``"embedded"`` or ``"sklearn"``.
        name: data set name, e.g. ``"mnist"``, ``"mnist14"``, ``"cifar10"``, ``"moons"``.
        image_shape: ``(height, width, channels)`` of one image, or ``None`` for non-image data.
            MNIST rows are row-major ``(H, W, C)``; CIFAR-10 rows keep the channel-major
            ``(C, H, W)`` order of the original release (see :func:`cifar10_to_hwc`).
    """

    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    source: str
    name: str
    image_shape: tuple[int, int, int] | None
