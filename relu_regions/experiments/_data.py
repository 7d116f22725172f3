"""The paper's training subsets and validation sets, per data set name."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from relu_regions.data import DatasetNotFoundError, class_subset, load_dataset, load_two_moons

#: Data set names the experiments use (``relu_regions.data.load_dataset`` names).
SPLIT_NAMES = ("mnist", "mnist14", "mnist7", "cifar10", "moons")
MOONS_TRAIN, MOONS_VAL = 300, 100


@dataclass(frozen=True, eq=False)
class SplitData:
    """A training subset with its real labels and a validation set.

    ``X`` ``(n, d)`` float32 in ``[0, 1]`` and ``y`` ``(n,)`` int64 are the training samples (for images
    ``n_per_class`` per class, picked by ``class_subset(..., seed)``); ``X_val``, ``y_val`` the validation
    set; ``source``/``val_source`` say where each came from; ``notes`` collect loader warnings (e.g. a
    partial CIFAR-10 copy).
    """

    name: str
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    X_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    image_shape: tuple[int, int, int] | None
    source: str
    val_source: str
    n_available: int
    notes: tuple[str, ...] = ()

    def info(self) -> dict:
        """JSON-able description (no arrays)."""
        return {"dataset": self.name, "n_train": int(len(self.y)), "n_val": int(len(self.y_val)),
                "input_dim": int(self.X.shape[1]), "image_shape": self.image_shape, "source": self.source,
                "val_source": self.val_source, "n_available": self.n_available, "notes": list(self.notes)}


def load_split(name: str, data_dir: str | os.PathLike | None, source: str, n_per_class: int,
               n_val_per_class: int, seed: int) -> SplitData:
    """Load the training subset and validation set of ``name`` (one of :data:`SPLIT_NAMES`).

    Images: ``n_per_class`` training images per class from the training split and ``n_val_per_class``
    per class from the test split (both ``class_subset(..., seed)``). When the test split is unavailable
    but the training images come from the embedded MNIST subset (no test images there), the validation
    images are drawn from the embedded images not used for training. ``"moons"``: the paper's 300
    training and 100 validation points (``load_two_moons(seed=seed)``). Raises
    :class:`~relu_regions.data.DatasetNotFoundError` (saying where it looked) when the data are missing.
    """
    if name not in SPLIT_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {list(SPLIT_NAMES)}")
    if name == "moons":
        train, val = load_two_moons(MOONS_TRAIN, MOONS_VAL, seed=seed)
        return SplitData(name, train.X, train.y, val.X, val.y, None, train.source,
                         f"{MOONS_VAL} further points of the same draw", MOONS_TRAIN + MOONS_VAL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = load_dataset(name, "train", data_dir=data_dir, source=source)
        index, y = class_subset(np.arange(len(train.y)), train.y, n_per_class, seed)
        try:
            test = load_dataset(name, "test", data_dir=data_dir, source=source)
        except DatasetNotFoundError:
            if train.source != "embedded":
                raise
            rest = np.setdiff1d(np.arange(len(train.y)), index)
            val_index, y_val = class_subset(rest, train.y[rest], n_val_per_class, seed)
            X_val, val_source = train.X[val_index], "embedded MNIST images not used for training"
        else:
            val_index, y_val = class_subset(np.arange(len(test.y)), test.y, n_val_per_class, seed)
            X_val, val_source = test.X[val_index], f"{test.source} test split"
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    return SplitData(name, train.X[index], y, X_val, y_val, train.image_shape, train.source, val_source,
                     int(len(train.y)), notes)
