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
        origin: exactly what was read, for reports: the file paths of a local load, the
            tensorflow-datasets name, or the embedded/generated source.
    """

    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    source: str
    name: str
    image_shape: tuple[int, int, int] | None
    origin: str = ""

    @classmethod
    def from_pixels(cls, images, labels, source: str, name: str, image_shape, origin: str = "") -> "Dataset":
        """A dataset from ``(n, ...)`` pixel values in 0..255 (flattened, scaled to ``[0, 1]`` float32)
        and ``(n,)`` labels (int64)."""
        return cls(X=np.asarray(images, dtype=np.float32).reshape(len(images), -1) / np.float32(255.0),
                   y=np.asarray(labels, dtype=np.int64).reshape(-1), source=source, name=name,
                   image_shape=image_shape, origin=origin)
