"""CIFAR-10 loader: the "python version" pickles, then tensorflow-datasets."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np

from ._dataset import Dataset
from ._errors import DatasetNotFoundError, check_data_dir, check_option
from ._locate import DATA_ENV_VAR, candidate_dirs
from ._tfds import load_tfds_arrays

CIFAR10_IMAGE_SHAPE = (32, 32, 3)
_N_PIXELS = 32 * 32 * 3
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_SPLIT_BATCHES = {"train": _TRAIN_BATCHES, "test": ("test_batch",)}
_HINT = (
    "To get the data: download and extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
    f"(it unpacks to cifar-10-batches-py/) and pass data_dir=<dir> or set ${DATA_ENV_VAR}=<dir>; "
    "or `pip install relu_regions[tfds]` to use tensorflow-datasets. "
    "There is no embedded copy of CIFAR-10."
)


def cifar10_to_hwc(X: np.ndarray) -> np.ndarray:
    """Reshape channel-major CIFAR-10 rows ``(n, 3072)`` to images ``(n, 32, 32, 3)`` for plotting."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != _N_PIXELS:
        raise ValueError(f"expected CIFAR-10 rows of shape (n, {_N_PIXELS}), got {X.shape}")
    return X.reshape(len(X), 3, 32, 32).transpose(0, 2, 3, 1)


def _find_local(split: str, data_dir, looked: list[str]) -> tuple[Path, list[str]] | None:
    subdirs = ("cifar10/cifar-10-batches-py", "cifar-10-batches-py")
    for directory in candidate_dirs(data_dir, subdirs, looked):
        present = [b for b in _SPLIT_BATCHES[split] if (directory / b).is_file()]
        if present:
            return directory, present
        wanted = " / ".join(_SPLIT_BATCHES[split])
        reason = "directory does not exist" if not directory.is_dir() else f"no {wanted}"
        looked.append(f"local: {directory} ({reason})")
    return None


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: not a CIFAR-10 batch (expected a dict with keys b'data' and b'labels')")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _N_PIXELS or len(labels) != len(data):
        raise ValueError(
            f"{path}: expected uint8 data (n, {_N_PIXELS}) and n labels, "
            f"got data {data.dtype} {data.shape} and {len(labels)} labels"
        )
    return data, labels


def _read_local(split: str, directory: Path, present: list[str]) -> tuple[np.ndarray, np.ndarray]:
    batches = [_read_batch(directory / name) for name in present]
    data = np.concatenate([d for d, _ in batches])
    labels = np.concatenate([lab for _, lab in batches])
    missing = [b for b in _SPLIT_BATCHES[split] if b not in present]
    if missing:
        warnings.warn(
            f"CIFAR-10 in {directory} is incomplete: {', '.join(missing)} missing; "
            f"loaded {len(data)} {split} images from {', '.join(present)}",
            stacklevel=3,
        )
    return data, labels


def load_cifar10(
    split: str = "train", data_dir: str | os.PathLike | None = None, source: str = "auto"
) -> Dataset:
    """Load CIFAR-10 as a :class:`Dataset`: ``X`` ``(n, 3072)`` float32 in ``[0, 1]``, ``y`` ``(n,)``
    int64, ``image_shape`` ``(32, 32, 3)``.

    Rows keep the channel-major layout of the original release (1024 red, then 1024 green, then
    1024 blue values, each row by row); :func:`cifar10_to_hwc` gives ``(n, 32, 32, 3)`` images.

    Sources, tried in this order when ``source="auto"`` (or forced with ``"local"``, ``"tfds"``):

    * ``"local"``: the pickled batches ``data_batch_1``..``data_batch_5`` / ``test_batch`` in
      ``data_dir``, ``data_dir/cifar10/cifar-10-batches-py`` or ``data_dir/cifar-10-batches-py`` when
      given, else the same under ``$RELU_REGIONS_DATA``. Pickles can run code when loaded: use trusted
      files only.
      If some training batches are missing, the others are loaded with a ``UserWarning``.
    * ``"tfds"``: ``tfds.load("cifar10")`` if tensorflow-datasets is installed.

    ``data_dir``, when given, must be an existing directory (:class:`DataDirNotFoundError`
    otherwise, never a fallback); ``Dataset.origin`` names the files actually read.

    Raises :class:`DatasetNotFoundError` listing every place tried when no source provides the split.
    """
    check_option("split", split, ("train", "test"))
    check_option("source", source, ("auto", "local", "tfds"))
    check_data_dir(data_dir)
    looked: list[str] = []
    arrays, used, origin = None, "", ""
    if source in ("auto", "local") and (found := _find_local(split, data_dir, looked)):
        arrays, used = _read_local(split, *found), "local"
        origin = f"{found[0]} ({', '.join(found[1])})"
    if arrays is None and source in ("auto", "tfds"):
        hwc = load_tfds_arrays("cifar10", split, looked)
        if hwc is not None:  # tfds stores (n, 32, 32, 3); convert to the channel-major layout
            arrays, used = (np.asarray(hwc[0]).transpose(0, 3, 1, 2), hwc[1]), "tfds"
            origin = f"tensorflow-datasets 'cifar10' {split}"
    if arrays is None:
        raise DatasetNotFoundError(f"CIFAR-10 split={split!r} (source={source!r})", looked, _HINT)
    images, labels = arrays
    return Dataset.from_pixels(images, labels, used, "cifar10", CIFAR10_IMAGE_SHAPE, origin=origin)
