"""Mini-batch training of the paper's MLPs with optax, until a target accuracy."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from .._flax import params_from_flax
from ._checkpoint import load_checkpoint, save_checkpoint
from ._config import TrainConfig
from ._model import MLP

__all__ = ["TrainHistory", "TrainResult", "train_mlp", "load_result"]

Params = list[tuple[np.ndarray, np.ndarray]]
EpochCallback = Callable[[int, Params, dict[str, float]], Any]

FINAL_NAME = "final.npz"


def _snapshot_name(epoch: int) -> str:
    """File name of the parameter snapshot taken after ``epoch`` epochs."""
    return f"epoch_{epoch:05d}.npz"


@dataclass
class TrainHistory:
    """Per-epoch metrics, measured on the full set after each epoch.

    ``train_loss[i]`` / ``train_acc[i]`` belong to epoch ``i + 1``; the
    validation accuracy ``val_acc[j]`` was measured after epoch
    ``val_epochs[j]`` (every ``eval_every`` epochs and at the last one; both
    lists are empty without validation data).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_epochs: list[int] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


@dataclass
class TrainResult:
    """Outcome of :func:`train_mlp` (or of a cache hit in ``train_or_load``).

    ``params`` is the trained network as ``[(W, b), ...]`` numpy arrays,
    ``W`` of shape ``(in, out)``; ``snapshots`` maps an epoch (0 = at
    initialisation) to the parameters after that epoch; ``wall_time_s`` is the
    time the training loop took (including compilation); ``from_cache`` is
    True when the result was loaded instead of trained.
    """

    params: Params
    config: TrainConfig
    history: TrainHistory
    epochs_run: int
    reached_target: bool
    wall_time_s: float
    snapshots: dict[int, Params] = field(default_factory=dict)
    from_cache: bool = False


def train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    config: TrainConfig = TrainConfig(),
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    on_epoch: EpochCallback | None = None,
    snapshot_epochs: Iterable[int] = (),
) -> TrainResult:
    """Train ``MLP(config.widths, n_classes)`` on ``X`` (n, d) with integer labels ``y`` (n,).

    Each epoch shuffles the data (``numpy`` generator seeded with
    ``config.seed``; the same seed also draws the initialisation) and takes one
    jitted optax step per mini-batch on the mean softmax cross-entropy.
    Afterwards the loss and accuracy on the whole training set are recorded;
    training stops once that accuracy reaches ``config.target_train_acc`` or
    after ``config.max_epochs`` epochs.

    Args:
        X: training inputs (cast to ``config.dtype``).
        y: training labels in ``[0, n_classes)``.
        X_val: optional validation inputs, evaluated every
            ``config.eval_every`` epochs and at the last epoch.
        y_val: the validation labels.
        progress: show a tqdm bar (epochs, loss, train/val accuracy).
        checkpoint_dir: if given, each snapshot is saved there as
            ``epoch_NNNNN.npz`` and, once training finishes, the result as
            ``final.npz`` (atomic writes; reload with :func:`load_result`). An
            interrupted run never writes ``final.npz``.
        on_epoch: ``on_epoch(epoch, params, metrics)`` called after every
            epoch (1-based) with the current ``[(W, b), ...]`` and a dict with
            ``train_loss``, ``train_acc`` and, when measured, ``val_acc``.
        snapshot_epochs: epochs after which to keep a copy of the parameters
            in ``TrainResult.snapshots`` (0 = initialisation). Epochs beyond
            the one where training stops are skipped.
    """
    X, y = _inputs(X, y, config.dtype)
    n_classes = config.n_classes or int(y.max()) + 1
    _check_labels(y, n_classes, "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _inputs(X_val, y_val, config.dtype)
        _check_labels(y_val, n_classes, "y_val")
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(f"X_val has {X_val.shape[1]} features, X has {X.shape[1]}")
    wanted = sorted({int(e) for e in snapshot_epochs})
    if wanted and wanted[0] < 0:
        raise ValueError("snapshot_epochs must be >= 0")
    out_dir = None if checkpoint_dir is None else Path(checkpoint_dir)

    model = MLP(config.widths, n_classes, config.init_scheme, jnp.dtype(config.dtype))
    tx, run_batches, evaluate = _compiled(
        model, config.optimizer, config.learning_rate, config.momentum
    )
    params = model.init(jax.random.PRNGKey(config.seed), X[:1])["params"]
    opt_state = tx.init(params)

    Xd, yd = jnp.asarray(X), jnp.asarray(y)
    if has_val:
        Xv, yv = jnp.asarray(X_val), jnp.asarray(y_val)
    rng = np.random.default_rng(config.seed)
    n, bs = len(X), config.batch_size
    history = TrainHistory()
    snapshots: dict[int, Params] = {}

    def take_snapshot(epoch: int, plist: Params) -> None:
        snapshots[epoch] = plist
        if out_dir is not None:
            save_checkpoint(out_dir / _snapshot_name(epoch), plist, {"epoch": epoch})

    if 0 in wanted:
        take_snapshot(0, params_from_flax(params))
    epoch, reached = 0, False
    start = time.perf_counter()
    with tqdm(total=config.max_epochs, desc="train", unit="epoch", disable=not progress) as bar:
        while epoch < config.max_epochs and not reached:
            epoch += 1
            batches, weights = _epoch_batches(rng.permutation(n).astype(np.int32), bs)
            params, opt_state = run_batches(params, opt_state, Xd, yd, batches, weights)
            loss, correct = evaluate(params, Xd, yd)
            loss, acc = float(loss), int(correct) / n
            reached = acc >= config.target_train_acc
            history.train_loss.append(loss)
            history.train_acc.append(acc)
            metrics = {"train_loss": loss, "train_acc": acc}
            last = reached or epoch == config.max_epochs
            if has_val and (epoch % config.eval_every == 0 or last):
                metrics["val_acc"] = int(evaluate(params, Xv, yv)[1]) / len(X_val)
                history.val_epochs.append(epoch)
                history.val_acc.append(metrics["val_acc"])
            bar.update(1)
            bar.set_postfix({k: f"{v:.4f}" for k, v in metrics.items()})
            if on_epoch is not None or epoch in wanted:
                plist = params_from_flax(params)
                if epoch in wanted:
                    take_snapshot(epoch, plist)
                if on_epoch is not None:
                    on_epoch(epoch, plist, metrics)
    result = TrainResult(
        params=params_from_flax(params),
        config=config,
        history=history,
        epochs_run=epoch,
        reached_target=reached,
        wall_time_s=time.perf_counter() - start,
        snapshots=snapshots,
    )
    if out_dir is not None:
        save_checkpoint(out_dir / FINAL_NAME, result.params, _result_metadata(result))
    return result


def load_result(checkpoint_dir: str | os.PathLike) -> TrainResult:
    """Rebuild the :class:`TrainResult` that ``train_mlp(..., checkpoint_dir=...)`` saved.

    Raises ``FileNotFoundError`` when the run did not finish (no ``final.npz``).
    The returned result has ``from_cache=True``.
    """
    out_dir = Path(checkpoint_dir)
    params, meta = load_checkpoint(out_dir / FINAL_NAME)
    snapshots = {
        e: load_checkpoint(out_dir / _snapshot_name(e))[0] for e in meta["snapshot_epochs"]
    }
    return TrainResult(
        params=params,
        config=TrainConfig.from_dict(meta["config"]),
        history=TrainHistory(**meta["history"]),
        epochs_run=meta["epochs_run"],
        reached_target=meta["reached_target"],
        wall_time_s=meta["wall_time_s"],
        snapshots=snapshots,
        from_cache=True,
    )


def _result_metadata(result: TrainResult) -> dict[str, Any]:
    return {
        "config": result.config.to_dict(),
        "history": asdict(result.history),
        "epochs_run": result.epochs_run,
        "reached_target": result.reached_target,
        "wall_time_s": result.wall_time_s,
        "snapshot_epochs": sorted(result.snapshots),
    }


def _inputs(X: Any, y: Any, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(
            "dtype='float64' needs jax.config.update('jax_enable_x64', True) first"
        )
    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(
            f"X must have shape (n, d), got {X.shape}; flatten with X.reshape(len(X), -1)"
        )
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({len(X)},), got {y.dtype} {y.shape}"
        )
    if len(X) == 0:
        raise ValueError("empty data set")
    return X, y.astype(np.int32)


def _check_labels(y: np.ndarray, n_classes: int, name: str) -> None:
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"{name} has labels outside [0, {n_classes})")


@functools.lru_cache(maxsize=16)
def _compiled(model: MLP, optimizer: str, learning_rate: float, momentum: float):
    """Optimizer plus jitted epoch and evaluation functions, shared by equal setups."""
    tx = _optimizer(optimizer, learning_rate, momentum)

    def mean_loss(p, xb, yb):
        logits = model.apply({"params": p}, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), logits

    def weighted_loss(p, xb, yb, wb):
        """Mean loss over the rows of weight 1 (padding rows have weight 0 and no effect)."""
        losses = optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, xb), yb)
        return jnp.sum(wb * losses) / jnp.sum(wb)

    def step(p, state, xs, ys, idx, w):
        grads = jax.grad(weighted_loss)(p, xs[idx], ys[idx], w)
        updates, state = tx.update(grads, state, p)
        return optax.apply_updates(p, updates), state

    @jax.jit
    def run_batches(p, state, xs, ys, batches, weights):
        """One optax step per row of ``batches`` (index rows of equal size; ``weights`` 0 marks padding)."""

        def body(carry, row):
            return step(*carry, xs, ys, *row), None

        return jax.lax.scan(body, (p, state), (batches, weights))[0]

    @jax.jit
    def evaluate(p, xs, ys):
        loss, logits = mean_loss(p, xs, ys)
        return loss, jnp.sum(jnp.argmax(logits, axis=-1) == ys)

    return tx, run_batches, evaluate


def _epoch_batches(perm: np.ndarray, bs: int) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's mini-batches from the permutation ``perm``: index rows ``(k, bs)`` and weights ``(k, bs)``.

    Consecutive slices of ``bs`` samples; when ``bs`` does not divide ``len(perm)`` the last batch holds
    the ``len(perm) % bs`` remaining samples, padded to ``bs`` rows of weight 0 (so that every step of
    every epoch has one shape: one compilation per data and network shape)."""
    n = len(perm)
    k = -(-n // bs)
    idx = np.zeros(k * bs, np.int32)
    idx[:n] = perm
    w = np.zeros(k * bs, np.float32)
    w[:n] = 1.0
    return idx.reshape(k, bs), w.reshape(k, bs)


def _optimizer(
    name: str, learning_rate: float, momentum: float
) -> optax.GradientTransformation:
    if name == "sgd":
        return optax.sgd(learning_rate)
    if name == "momentum":
        return optax.sgd(learning_rate, momentum=momentum)
    return optax.adam(learning_rate)
