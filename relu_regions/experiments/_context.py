"""Shared state of an experiment run: where to write, which sizes, the data and the trained networks."""

from __future__ import annotations

import dataclasses
import re
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

#: Networks that keep the Fig. 9 snapshots (the others keep none: snapshots are part of the cache key and
#: take disk space).
_SNAPSHOT_NETS = {("mnist", MAIN_WIDTHS, "real"), ("mnist", MAIN_WIDTHS, "random")}
from relu_regions.training import TrainConfig, TrainResult, cache_key, train_or_load

DEFAULT_CACHE_DIR = Path("~/.cache/relu_regions/networks")
LABELS = ("real", "random")
PAIR_RANGE = (-1.0, 2.0)


def noise_labels(fraction: float) -> str:
    """Name of a labelling with a ``fraction`` of permuted labels: ``"real"`` (0), ``"random"`` (1) or
    ``"noise0.25"``."""
    fraction = float(fraction)
    return "real" if fraction == 0 else "random" if fraction == 1 else f"noise{fraction:g}"


def noisy_labels(y: np.ndarray, labels: str, seed: int) -> np.ndarray:
    """The training labels of ``labels``: ``"real"`` = ``y``; ``"random"`` = ``permute_labels(y, seed)`` (a
    permutation of all labels); ``"noise<p>"`` = the labels of a random share ``p`` of the samples permuted
    among themselves (the class sizes stay the same; a permuted label may by chance equal the real one)."""
    if labels == "real":
        return np.asarray(y)
    if labels == "random":
        return permute_labels(y, seed)
    if not labels.startswith("noise"):
        raise ValueError(f"labels must be 'real', 'random' or 'noise<fraction>', got {labels!r}")
    p = float(labels[5:])
    if not 0 <= p <= 1:
        raise ValueError(f"label-noise fraction must lie in [0, 1], got {p}")
    y = np.array(y, copy=True)
    rng = np.random.default_rng([seed, 7919])
    chosen = rng.choice(len(y), size=int(round(p * len(y))), replace=False)
    y[chosen] = y[rng.permutation(chosen)]
    return y


def scrub(text: str, data_dir: Path | None = None) -> str:
    """``text`` without absolute paths: the data directory becomes ``<data-dir>``, the home directory ``~``,
    and any other absolute path keeps only its last component (``.../b``)."""
    import os

    text = str(text)
    if data_dir is not None:
        for d in {str(data_dir), str(Path(data_dir).resolve())}:
            text = text.replace(d, "<data-dir>")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = text.replace(home, "~")
    return re.sub(r"(?<![\w.~<>:/-])/(?:[^\s/'\"`]+/)+([^\s/'\"`,;:)]+)", lambda m: ".../" + m.group(1), text)


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
        seed: the first seed; a run uses ``seeds = (seed, ..., seed + sizes.n_seeds - 1)`` unless ``seeds``
            is given. One seed fixes the subsets, label permutations, initialisation, batch order and
            every sampled ray family; :meth:`for_seed` gives the context of one seed.
        seeds: explicit seeds (overrides ``seed`` and ``sizes.n_seeds``).
        cache_dir: trained networks (``train_or_load``), so that reruns of the analysis never retrain.
        progress: print steps and show progress bars (on stderr).
        sizes: explicit workload sizes.
        source: loader source for MNIST/CIFAR-10 (``"auto"``, ``"local"``, ``"tfds"``, ``"embedded"``).
        rays_dir: when given, every exact-GI set is also saved ray by ray under it
            (:mod:`relu_regions.results`, one directory per set, seed and network), resumably.
    """

    out_dir: Path
    data_dir: Path | None = None
    quick: bool = False
    seed: int = 0
    cache_dir: Path = DEFAULT_CACHE_DIR
    progress: bool = True
    sizes: Sizes | None = None
    source: str = "auto"
    seeds: tuple[int, ...] | None = None
    rays_dir: Path | None = None
    _children: dict = field(default_factory=dict, init=False, repr=False)
    _data: dict = field(default_factory=dict, init=False, repr=False)
    _nets: dict = field(default_factory=dict, init=False, repr=False)
    _pairwise: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.data_dir = None if self.data_dir is None else Path(self.data_dir).expanduser()
        self.cache_dir = Path(self.cache_dir).expanduser()
        if self.sizes is None:
            self.sizes = Sizes.quick() if self.quick else Sizes.full()
        if self.seeds is None:
            self.seeds = tuple(range(self.seed, self.seed + self.sizes.n_seeds))
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def for_seed(self, seed: int) -> "ExperimentContext":
        """The context of one seed (same output, data, cache and sizes; its networks and GIs are kept, so
        every experiment of a run shares them)."""
        seed = int(seed)
        if self.seeds == (seed,):
            return self
        if seed not in self._children:
            self._children[seed] = ExperimentContext(
                out_dir=self.out_dir, data_dir=self.data_dir, seed=seed, cache_dir=self.cache_dir,
                progress=self.progress, sizes=self.sizes, source=self.source, seeds=(seed,),
                rays_dir=self.rays_dir)
        return self._children[seed]

    def per_seed(self) -> list["ExperimentContext"]:
        """:meth:`for_seed` of every seed of the run, in order."""
        return [self.for_seed(s) for s in self.seeds]

    def scrub(self, text: str) -> str:
        """``text`` with the data directory, the home directory and other absolute paths shortened."""
        return scrub(text, self.data_dir)

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
        """Records of the networks this context (and its per-seed contexts) trained or loaded, by key."""
        out = {key: net.record for key, net in self._nets.items()}
        for child in self._children.values():
            out.update(child.networks())
        return out

    # --- data and networks -----------------------------------------------------------------------
    def dataset(self, name: str) -> SplitData:
        """The training subset and validation set of ``name`` (loaded once)."""
        if name not in self._data:
            data = load_split(name, self.data_dir, self.source if name != "moons" else "auto",
                              self.sizes.n_per_class, self.sizes.n_val_per_class, self.seed)
            for note in data.notes:
                self.say(f"note: {self.scrub(note)}")
            self._data[name] = data
        return self._data[name]

    def network(self, dataset: str = "mnist", widths=MAIN_WIDTHS, labels: str = "real") -> TrainedNet:
        """The network of ``widths`` trained on ``dataset`` with ``labels`` ``"real"``, ``"random"`` or
        ``"noise<p>"`` (see :func:`noisy_labels`), for this context's (first) seed.

        Training follows the paper: random-uniform initialisation, plain SGD with learning rate 0.01
        (mini-batches of 32; ``sizes.optimizer`` and ``sizes.learning_rate``, Adam at 1e-3 in ``quick``),
        until 100 % training accuracy or ``sizes.max_epochs``; random labels are
        ``permute_labels(y, seed)``. If SGD misses 100 % and ``sizes.fallback`` is set, the network is
        trained again with ``sizes.fallback_optimizer`` and that run is used; the record keeps both.
        Runs are cached in ``cache_dir`` (a rerun loads them instead of training).
        """
        if len(self.seeds) > 1:
            return self.for_seed(self.seeds[0]).network(dataset, widths, labels)
        if labels not in LABELS and not str(labels).startswith("noise"):
            raise ValueError(f"labels must be one of {LABELS} or 'noise<fraction>', got {labels!r}")
        widths = tuple(int(w) for w in widths)
        key = f"{dataset}/{'x'.join(map(str, widths))}/{labels}/seed{self.seed}"
        if key in self._nets:
            return self._nets[key]
        data = self.dataset(dataset)
        y = noisy_labels(data.y, labels, self.seed)
        s = self.sizes
        config = TrainConfig(widths=widths, n_classes=int(data.y.max()) + 1, optimizer=s.optimizer,
                             learning_rate=s.learning_rate, max_epochs=s.max_epochs, seed=self.seed,
                             eval_every=s.val_every)
        snaps = self.sizes.snapshot_epochs if (dataset, widths, labels) in _SNAPSHOT_NETS else ()
        attempts = [self._train(key, data, labels, y, config, snaps)]
        if not attempts[-1][0].reached_target and s.fallback:
            self.say(f"{key}: {config.optimizer} (lr {config.learning_rate}) reached "
                     f"{attempts[-1][0].history.train_acc[-1]:.3f} training accuracy in {config.max_epochs} "
                     f"epochs; training again with {s.fallback_optimizer}")
            config = dataclasses.replace(config, optimizer=s.fallback_optimizer,
                                         learning_rate=s.fallback_learning_rate,
                                         max_epochs=s.fallback_max_epochs,
                                         batch_size=s.fallback_batch_size or len(y))
            attempts.append(self._train(key, data, labels, y, config, snaps))
        result = attempts[-1][0]
        record = self._record(key, data, labels, result) | {
            "cache_key": attempts[-1][1],
            "attempts": [self._record(key, data, labels, r) for r, _ in attempts],
        }
        net = TrainedNet(key, data, labels, result.params, y, result, record)
        self._nets[key] = net
        return net

    def _train(self, key, data, labels, y, config, snaps) -> tuple[TrainResult, str]:
        key_dict = {"dataset": data.name, "labels": labels, "data_source": data.source,
                    "n_per_class": self.sizes.n_per_class}
        ck = cache_key(key_dict, data.X, y, config, data.X_val, data.y_val, snaps)
        self.say(f"network {key} ({config.optimizer}, lr {config.learning_rate}, <= {config.max_epochs} "
                 f"epochs): {'loading from cache' if (self.cache_dir / ck / 'final.npz').is_file() else 'training'}")
        result = train_or_load(self.cache_dir, key_dict, data.X, y, config, data.X_val, data.y_val,
                               progress=self.progress, snapshot_epochs=snaps)
        return result, ck

    def _record(self, key, data, labels, result: TrainResult) -> dict:
        c, h = result.config, result.history
        info = data.info()
        info["notes"] = [self.scrub(n) for n in info["notes"]]
        return {
            "key": key, "labels": labels, **info, "widths": list(c.widths),
            "optimizer": c.optimizer, "learning_rate": c.learning_rate, "batch_size": c.batch_size,
            "init": c.init_scheme, "max_epochs": c.max_epochs, "seed": c.seed,
            "reached_100pct": bool(result.reached_target), "epochs": int(result.epochs_run),
            "final_train_acc": h.train_acc[-1] if h.train_acc else None,
            "final_val_acc": h.val_acc[-1] if h.val_acc else None,
            "train_wall_s": result.wall_time_s, "from_cache": bool(result.from_cache),
        }

    # --- generalization intervals ----------------------------------------------------------------
    def gis(self, params, rays: RayBlock, n: int, t_min: float, t_max: float, desc: str, *,
            count_regions: bool) -> rr.Interval:
        """Exact GIs of ``n`` rays (see :func:`exact_gis`), with this run's batch size and progress;
        ``count_regions=False`` takes the certified fast path (no region counts)."""
        writer = None
        if self.rays_dir is not None:
            from relu_regions.results import ResultWriter
            from relu_regions.results._store import _fingerprint

            digest = _fingerprint(*(a for layer in params for a in layer))[:12]
            name = re.sub(r"[^A-Za-z0-9]+", "-", desc).strip("-").lower()
            writer = ResultWriter(Path(self.rays_dir) / f"{name}-seed{self.seed}-{digest}",
                                  meta={"set": desc, "seed": self.seed, "t_range": [float(t_min), float(t_max)],
                                        "count_regions": count_regions, "network_fingerprint": digest,
                                        "sizes": self.sizes.name})
        return exact_gis(params, rays, n, t_min, t_max, batch=self.sizes.gi_batch, progress=self.progress,
                         desc=desc, count_regions=count_regions, writer=writer)

    def pairwise(self, net: TrainedNet, n_pairs: int | None = None) -> tuple[rr.Interval, dict]:
        """Exact GIs along same-label pairwise rays of ``net``'s training set (labels it was trained on).

        Each unordered pair ``{i, j}`` of training points with the same label is used once, oriented at
        random: the ray starts at ``x_i`` and points to ``x_j`` (``d = x_j - x_i``), over ``t`` in
        ``[-1, 2]`` (largest GI 3). ``n_pairs`` (default ``sizes.n_pairs``; ``None`` = all unordered pairs,
        49,500 for 10 classes of 100) are drawn with a generator fixed by the seed and the network. Returns
        the :class:`~relu_regions.Interval` and its :func:`gi_summary` (plus ``n_pairs_total``,
        ``n_pairs_used``). Computed once per context.
        """
        n_pairs = self.sizes.n_pairs if n_pairs is None else n_pairs
        memo = (net.key, n_pairs)
        if memo not in self._pairwise:
            I, J, total = same_label_pairs(net.y, n_pairs, self.rng(f"pairs/{net.key}"), ordered=False)
            iv = self.gis(net.params, pair_rays(net.X, I, J), len(I), *PAIR_RANGE, desc=f"GIs {net.key}",
                          count_regions=False)
            summary = gi_summary(iv, *PAIR_RANGE, expected_label=net.y[I])
            summary |= {"n_pairs_total": total, "n_pairs_used": int(len(I))}
            self._pairwise[memo] = (iv, summary)
        return self._pairwise[memo]

