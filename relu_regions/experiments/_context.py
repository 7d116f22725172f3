"""Shared state of an experiment run: where to write, which sizes, the data and the trained networks."""

from __future__ import annotations

import dataclasses
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import relu_regions as rr
from relu_regions.data import permute_labels
from relu_regions.experiments._data import SplitData, load_split
from relu_regions.experiments._gi import exact_gis, gi_summary
from relu_regions.experiments._rays import RayBlock, pair_rays, same_label_pairs
from relu_regions.experiments._sizes import MAIN_WIDTHS, Sizes
from relu_regions.training import TrainConfig, TrainResult, cache_key, train_or_load

DEFAULT_CACHE_DIR = Path("~/.cache/relu_regions/networks")
LABELS = ("real", "random")
PAIR_RANGE = (-1.0, 2.0)


@dataclass(eq=False)
class TrainedNet:
    """A trained network with the data it was trained on.

    ``params`` is ``[(W, b), ...]`` (``W`` of shape ``(in, out)``); ``y`` the labels it was trained on
    (the real labels ``y_true`` or their permutation); ``X_val``, ``y_val`` the validation set (real
    labels); ``result`` the training run; ``record`` its JSON-able description.
    """

    key: str
    data: SplitData
    labels: str
    params: list = field(repr=False)
    y: np.ndarray = field(repr=False)
    result: TrainResult = field(repr=False)
    record: dict = field(repr=False)

    @property
    def X(self) -> np.ndarray:
        return self.data.X

    @property
    def y_true(self) -> np.ndarray:
        return self.data.y

    @property
    def X_val(self) -> np.ndarray:
        return self.data.X_val

    @property
    def y_val(self) -> np.ndarray:
        return self.data.y_val


@dataclass(eq=False)
class ExperimentContext:
    """Everything an experiment function needs.

    Attributes:
        out_dir: figures (PNG) go here.
        data_dir: root of local data (MNIST IDX files, CIFAR-10 batches); ``None`` = the loaders'
            other sources (``$RELU_REGIONS_DATA``, tensorflow-datasets, the embedded MNIST subset).
        quick: use :meth:`Sizes.quick` instead of the paper's sizes (ignored when ``sizes`` is given).
        seed: seeds subsets, label permutations, initialisation and every sampled ray family.
        cache_dir: trained networks (``train_or_load``), so that reruns of the analysis never retrain.
        progress: print steps and show progress bars (on stderr).
        sizes: explicit workload sizes.
        source: loader source for MNIST/CIFAR-10 (``"auto"``, ``"local"``, ``"tfds"``, ``"embedded"``).
    """

    out_dir: Path
    data_dir: Path | None = None
    quick: bool = False
    seed: int = 0
    cache_dir: Path = DEFAULT_CACHE_DIR
    progress: bool = True
    sizes: Sizes | None = None
    source: str = "auto"
    _data: dict = field(default_factory=dict, init=False, repr=False)
    _nets: dict = field(default_factory=dict, init=False, repr=False)
    _pairwise: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.data_dir = None if self.data_dir is None else Path(self.data_dir).expanduser()
        self.cache_dir = Path(self.cache_dir).expanduser()
        if self.sizes is None:
            self.sizes = Sizes.quick() if self.quick else Sizes.full()
        self.out_dir.mkdir(parents=True, exist_ok=True)

    # --- bookkeeping -----------------------------------------------------------------------------
    def say(self, message: str) -> None:
        """A progress line on stderr (when ``progress``)."""
        if self.progress:
            print(message, file=sys.stderr, flush=True)

    def rng(self, tag: str) -> np.random.Generator:
        """A generator determined by ``seed`` and ``tag`` alone (independent of what ran before)."""
        return np.random.default_rng([self.seed, zlib.crc32(tag.encode())])

    def figure_path(self, name: str) -> Path:
        return self.out_dir / name

    def networks(self) -> dict[str, dict]:
        """Records of the networks this context trained or loaded so far, by key."""
        return {key: net.record for key, net in self._nets.items()}

    # --- data and networks -----------------------------------------------------------------------
    def dataset(self, name: str) -> SplitData:
        """The training subset and validation set of ``name`` (loaded once)."""
        if name not in self._data:
            data = load_split(name, self.data_dir, self.source if name != "moons" else "auto",
                              self.sizes.n_per_class, self.sizes.n_val_per_class, self.seed)
            for note in data.notes:
                self.say(f"note: {note}")
            self._data[name] = data
        return self._data[name]

    def network(self, dataset: str = "mnist", widths=MAIN_WIDTHS, labels: str = "real") -> TrainedNet:
        """The network of ``widths`` trained on ``dataset`` with ``labels`` ``"real"`` or ``"random"``.

        Training follows the paper: random-uniform initialisation, plain SGD with learning rate 0.01
        (mini-batches of 32), until 100 % training accuracy or ``sizes.max_epochs``; random labels are
        ``permute_labels(y, seed)``. If SGD misses 100 % and ``sizes.fallback`` is set, the network is
        trained again with ``sizes.fallback_optimizer`` and that run is used; the record keeps both.
        Runs are cached in ``cache_dir`` (a rerun loads them instead of training).
        """
        if labels not in LABELS:
            raise ValueError(f"labels must be one of {LABELS}, got {labels!r}")
        widths = tuple(int(w) for w in widths)
        key = f"{dataset}/{'x'.join(map(str, widths))}/{labels}"
        if key in self._nets:
            return self._nets[key]
        data = self.dataset(dataset)
        y = data.y if labels == "real" else permute_labels(data.y, self.seed)
        s = self.sizes
        config = TrainConfig(widths=widths, n_classes=int(data.y.max()) + 1, max_epochs=s.max_epochs,
                             seed=self.seed)
        attempts = [self._train(key, data, labels, y, config)]
        if not attempts[-1][0].reached_target and s.fallback:
            self.say(f"{key}: {config.optimizer} (lr {config.learning_rate}) reached "
                     f"{attempts[-1][0].history.train_acc[-1]:.3f} training accuracy in {config.max_epochs} "
                     f"epochs; training again with {s.fallback_optimizer}")
            config = dataclasses.replace(config, optimizer=s.fallback_optimizer,
                                         learning_rate=s.fallback_learning_rate,
                                         max_epochs=s.fallback_max_epochs,
                                         batch_size=s.fallback_batch_size or len(y))
            attempts.append(self._train(key, data, labels, y, config))
        result = attempts[-1][0]
        record = self._record(key, data, labels, result) | {
            "cache_key": attempts[-1][1],
            "attempts": [self._record(key, data, labels, r) for r, _ in attempts],
        }
        net = TrainedNet(key, data, labels, result.params, y, result, record)
        self._nets[key] = net
        return net

    def _train(self, key, data, labels, y, config) -> tuple[TrainResult, str]:
        key_dict = {"dataset": data.name, "labels": labels, "data_source": data.source,
                    "n_per_class": self.sizes.n_per_class}
        snaps = self.sizes.snapshot_epochs
        ck = cache_key(key_dict, data.X, y, config, data.X_val, data.y_val, snaps)
        self.say(f"network {key} ({config.optimizer}, lr {config.learning_rate}, <= {config.max_epochs} "
                 f"epochs): {'loading from cache' if (self.cache_dir / ck / 'final.npz').is_file() else 'training'}")
        result = train_or_load(self.cache_dir, key_dict, data.X, y, config, data.X_val, data.y_val,
                               progress=self.progress, snapshot_epochs=snaps)
        return result, ck

    @staticmethod
    def _record(key, data, labels, result: TrainResult) -> dict:
        c, h = result.config, result.history
        return {
            "key": key, "labels": labels, **data.info(), "widths": list(c.widths),
            "optimizer": c.optimizer, "learning_rate": c.learning_rate, "batch_size": c.batch_size,
            "init": c.init_scheme, "max_epochs": c.max_epochs, "seed": c.seed,
            "reached_100pct": bool(result.reached_target), "epochs": int(result.epochs_run),
            "final_train_acc": h.train_acc[-1] if h.train_acc else None,
            "final_val_acc": h.val_acc[-1] if h.val_acc else None,
            "train_wall_s": result.wall_time_s, "from_cache": bool(result.from_cache),
        }

    # --- generalization intervals ----------------------------------------------------------------
    def gis(self, params, rays: RayBlock, n: int, t_min: float, t_max: float, desc: str) -> rr.Interval:
        """Exact GIs of ``n`` rays (see :func:`exact_gis`), with this run's batch size and progress."""
        return exact_gis(params, rays, n, t_min, t_max, batch=self.sizes.gi_batch, progress=self.progress,
                         desc=desc)

    def pairwise(self, net: TrainedNet, n_pairs: int | None = None) -> tuple[rr.Interval, dict]:
        """Exact GIs along same-label pairwise rays of ``net``'s training set (labels it was trained on).

        Ray ``k`` starts at training point ``i`` and points to training point ``j`` of the same label
        (``d = x_j - x_i``), over ``t`` in ``[-1, 2]`` (largest GI 3). ``n_pairs`` (default
        ``sizes.n_pairs``; ``None`` = all ordered pairs) are drawn with a generator fixed by the seed and
        the network. Returns the :class:`~relu_regions.Interval` and its :func:`gi_summary` (plus
        ``n_pairs_total``, ``n_pairs_used``). Computed once per context.
        """
        n_pairs = self.sizes.n_pairs if n_pairs is None else n_pairs
        memo = (net.key, n_pairs)
        if memo not in self._pairwise:
            I, J, total = same_label_pairs(net.y, n_pairs, self.rng(f"pairs/{net.key}"))
            iv = self.gis(net.params, pair_rays(net.X, I, J), len(I), *PAIR_RANGE, desc=f"GIs {net.key}")
            summary = gi_summary(iv, *PAIR_RANGE, expected_label=net.y[I])
            summary |= {"n_pairs_total": total, "n_pairs_used": int(len(I))}
            self._pairwise[memo] = (iv, summary)
        return self._pairwise[memo]

