"""Shared pieces of the benchmark scripts: data, trained networks, rays, timing and atomic JSON output.

Run the scripts from the repository root, e.g. ``python benchmarks/speed.py``; each prints a table and
writes ``benchmarks/results/<name>.json``. Nothing here is part of the test suite.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from relu_regions._atomic import write_text_atomic
from relu_regions._settings import default_cache_dir
from relu_regions.data import DatasetNotFoundError, class_subset, downsample, load_mnist, permute_labels
from relu_regions.results import package_versions
from relu_regions.training import TrainConfig, train_or_load

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"
CACHE_DIR = default_cache_dir().expanduser()

# Epoch caps: SGD at lr 0.01 reaches 100 % on the real labels within a few hundred epochs; on random
# labels it needs far more, so the cap is higher (both are recorded with the reached accuracy).
MAX_EPOCHS = {"real": 2000, "random": 6000}


def mnist_subset(n_per_class: int = 100, seed: int = 0):
    """The paper's training subset (``n_per_class`` per class of MNIST train) and the MNIST test set
    (``None`` when only the embedded training subset is available); returns ``(X, y, X_val, y_val, source)``."""
    try:
        train = load_mnist("train", data_dir=SHARED_DATA)
    except DatasetNotFoundError:
        train = load_mnist("train", source="embedded")
    X, y = class_subset(train.X, train.y, n_per_class, seed=seed)
    try:
        test = load_mnist("test", data_dir=SHARED_DATA)
        X_val, y_val = test.X, test.y
    except DatasetNotFoundError:
        X_val = y_val = None
    return X, y, X_val, y_val, train.source


def trained_net(labels: str = "real", widths=(128, 128, 128), optimizer: str = "sgd", progress: bool = True,
                factor: int = 1):
    """Train (once; cached in ``~/.cache/relu_regions/networks``) the paper's MLP on the 1000-image
    MNIST subset with real or randomly permuted labels, images average-pooled by ``factor`` (1: 28x28,
    2: 14x14, 4: 7x7). Returns ``(params, info dict, X, y)``."""
    if labels not in MAX_EPOCHS:
        raise ValueError(f"labels must be one of {sorted(MAX_EPOCHS)}, got {labels!r}")
    X, y, X_val, y_val, source = mnist_subset()
    if factor > 1:
        X, _ = downsample(X, (28, 28, 1), factor)
        X_val = None if X_val is None else downsample(X_val, (28, 28, 1), factor)[0]
    y_train = y if labels == "real" else permute_labels(y, seed=0)
    config = TrainConfig(widths=tuple(widths), optimizer=optimizer, learning_rate=0.01,
                         max_epochs=MAX_EPOCHS[labels], eval_every=50, seed=0)
    key = {"dataset": "mnist", "n_per_class": 100, "subset_seed": 0, "labels": labels, "source": source}
    if factor > 1:
        key["downsample"] = factor
    res = train_or_load(CACHE_DIR, key, X, y_train, config, X_val, y_val, progress=progress)
    info = {"labels": labels, "widths": list(widths), "input_dim": int(X.shape[1]), "optimizer": optimizer,
            "learning_rate": 0.01,
            "batch_size": config.batch_size, "epochs": res.epochs_run,
            "train_acc": res.history.train_acc[-1] if res.history.train_acc else None,
            "val_acc": res.history.val_acc[-1] if res.history.val_acc else None,
            "reached_100pct": bool(res.reached_target), "train_wall_s": res.wall_time_s, "data_source": source}
    return res.params, info, X, y_train


def pairwise_rays(X: np.ndarray, y: np.ndarray, ordered: bool = True):
    """All same-label pairs ``(i, j)``, ``i != j`` (``ordered=False``: ``i < j`` only, each line once): rays
    ``x_i + t (x_j - x_i)``; ``(xs, ds)`` of shape ``(P, n_0)`` float64, in class order."""
    xs, ds = [], []
    for c in np.unique(y):
        Xc = X[y == c].astype(np.float64)
        i, j = np.nonzero(~np.eye(len(Xc), dtype=bool) if ordered else np.triu(np.ones((len(Xc),) * 2, bool), 1))
        xs.append(Xc[i])
        ds.append(Xc[j] - Xc[i])
    return np.concatenate(xs), np.concatenate(ds)


def sample_rays(X, y, n: int, seed: int = 0):
    """``n`` random ordered same-label pairwise rays (float64)."""
    xs, ds = pairwise_rays(X, y)
    idx = np.random.default_rng(seed).choice(len(xs), size=n, replace=False)
    return xs[idx], ds[idx]


def timed(fn, repeats: int = 3):
    """Run ``fn()`` (which must block until its result is ready) ``repeats`` times; returns
    ``(median seconds, all seconds, last result)``."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def environment() -> dict:
    """What the numbers were measured on (load average included: the machine is shared)."""
    return {"loadavg": list(os.getloadavg()), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()], "versions": package_versions(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def write_json(name: str, payload: dict) -> Path:
    """Write ``payload`` (plus the environment) to ``benchmarks/results/<name>.json`` atomically."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {**payload, "environment": environment()}
    return write_text_atomic(path, json.dumps(payload, indent=1, default=_jsonable))


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON-serialisable: {type(v).__name__}")


def print_table(rows: list[dict], columns: list[str], title: str = "") -> None:
    """Print ``rows`` as an aligned text table (also valid Markdown)."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"
        return str(v)
    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |")
