"""Data loading for experiments.

All loaders return a :class:`Dataset` of numpy arrays: ``X`` ``(n, d)`` float32 (images flattened,
pixels in ``[0, 1]``) and ``y`` ``(n,)`` int64, plus the ``source`` used, the ``name`` and the
``image_shape`` ``(H, W, C)`` (``None`` for non-image data) and the ``origin`` actually read. Local files
are looked up in ``data_dir`` and under the directory named by the ``RELU_REGIONS_DATA`` environment
variable; a ``data_dir`` given explicitly must exist (:class:`DataDirNotFoundError`, never a fallback).
"""

from ._cifar10 import cifar10_to_hwc, load_cifar10
from ._dataset import Dataset
from ._errors import DataDirNotFoundError, DatasetNotFoundError
from ._idx import read_idx
from ._locate import DATA_ENV_VAR
from ._mnist import load_mnist
from ._moons import load_two_moons
from ._registry import DATASET_NAMES, load_dataset
from ._subsets import class_subset, permute_labels
from ._transforms import downsample

__all__ = [
    "DATASET_NAMES",
    "DATA_ENV_VAR",
    "DataDirNotFoundError",
    "Dataset",
    "DatasetNotFoundError",
    "cifar10_to_hwc",
    "class_subset",
    "downsample",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "load_two_moons",
    "permute_labels",
    "read_idx",
]
