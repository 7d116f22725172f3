"""Tests for relu_regions.training (tiny data and nets, CPU-fast)."""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from relu_regions._flax import params_from_flax
from relu_regions.training import (
    MLP,
    TrainConfig,
    cache_key,
    load_checkpoint,
    load_result,
    save_checkpoint,
    train_mlp,
    train_or_load,
    uniform_bound,
)

TOY = TrainConfig(widths=(16, 16), batch_size=8, max_epochs=200, seed=0)


@pytest.fixture(scope="module")
def blobs():
    """40 points in 2-D: two well separated Gaussian blobs."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 0.5, (20, 2)), rng.normal(2, 0.5, (20, 2))])
    y = np.repeat([0, 1], 20)
    return X.astype(np.float32), y


def accuracy(params, X, y):
    h = X
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np.maximum(h, 0)
    return np.mean(h.argmax(axis=1) == y)


def all_equal(p, q):
    return len(p) == len(q) and all(
        np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(p, q)
    )


def test_reaches_target_and_records_history(blobs):
    X, y = blobs
    config = TrainConfig(widths=(16, 16), batch_size=8, max_epochs=200, seed=0, eval_every=2)
    res = train_mlp(X, y, config, X_val=X[::2], y_val=y[::2], progress=False)
    assert res.reached_target and res.epochs_run < config.max_epochs
    h = res.history
    assert len(h.train_loss) == len(h.train_acc) == res.epochs_run
    assert h.train_acc[-1] == 1.0 and all(a < 1.0 for a in h.train_acc[:-1])
    expected_val = [e for e in range(2, res.epochs_run + 1, 2)]
    if res.epochs_run % 2:
        expected_val.append(res.epochs_run)
    assert h.val_epochs == expected_val and len(h.val_acc) == len(expected_val)
    assert [(W.shape, b.shape) for W, b in res.params] == [
        ((2, 16), (16,)), ((16, 16), (16,)), ((16, 2), (2,))
    ]
    assert all(W.dtype == np.float32 and isinstance(W, np.ndarray) for W, _ in res.params)
    assert accuracy(res.params, X, y) == 1.0  # the returned (W, b) list is the trained net
    assert res.config == config and res.wall_time_s > 0 and not res.from_cache


def test_stops_at_cap(blobs):
    X, y = blobs
    config = TrainConfig(widths=(4,), learning_rate=1e-6, max_epochs=3, batch_size=8)
    res = train_mlp(X, np.random.default_rng(1).permutation(y), config, progress=False)
    assert res.epochs_run == 3 and not res.reached_target
    assert len(res.history.train_acc) == 3 and res.history.val_epochs == []


def test_progress_bar_shows_metrics(blobs, capsys):
    X, y = blobs
    train_mlp(X, y, TOY, progress=True)
    err = capsys.readouterr().err
    assert "train_loss" in err and "train_acc" in err and "epoch" in err


def test_seed_determinism(blobs):
    X, y = blobs
    a = train_mlp(X, y, TOY, progress=False)
    b = train_mlp(X, y, TOY, progress=False)
    c = train_mlp(X, y, TrainConfig(widths=(16, 16), batch_size=8, max_epochs=200, seed=1),
                  progress=False)
    assert all_equal(a.params, b.params) and a.history == b.history
    assert not np.array_equal(a.params[0][0], c.params[0][0])


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_other_optimizers_train(blobs, optimizer):
    X, y = blobs
    config = TrainConfig(widths=(16,), batch_size=8, max_epochs=200, optimizer=optimizer)
    assert train_mlp(X, y, config, progress=False).reached_target


def test_uniform_init_bounds():
    model = MLP((64, 32), 5)
    variables = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 20)))
    for W, b in params_from_flax(variables):
        bound = uniform_bound(W.shape[0])
        assert bound == pytest.approx(1 / np.sqrt(W.shape[0]))
        for arr in (W, b):
            assert np.abs(arr).max() <= bound
            assert arr.min() < 0 < arr.max()
        assert np.abs(W).max() > 0.9 * bound  # fills the range, not a narrower one
    lecun = MLP((64, 32), 5, init_scheme="lecun_normal")
    W, b = params_from_flax(jax.jit(lecun.init)(jax.random.PRNGKey(0), jnp.zeros((1, 20))))[0]
    assert np.abs(W).max() > uniform_bound(20) and not b.any()


def test_callback_and_snapshots(blobs, tmp_path):
    X, y = blobs
    calls = []
    res = train_mlp(
        X, y, TOY, progress=False, checkpoint_dir=tmp_path,
        on_epoch=lambda e, p, m: calls.append((e, p, dict(m))),
        snapshot_epochs=[0, 2, 10_000],
    )
    assert [c[0] for c in calls] == list(range(1, res.epochs_run + 1))
    assert all_equal(calls[-1][1], res.params)
    assert calls[0][2]["train_acc"] == res.history.train_acc[0]
    assert sorted(res.snapshots) == [0, 2]
    assert all_equal(res.snapshots[2], calls[1][1])
    init = MLP(TOY.widths, 2).init(jax.random.PRNGKey(TOY.seed), jnp.asarray(X[:1]))
    assert all_equal(res.snapshots[0], params_from_flax(init))
    assert sorted(os.listdir(tmp_path)) == ["epoch_00000.npz", "epoch_00002.npz", "final.npz"]
    loaded = load_result(tmp_path)
    assert loaded.from_cache and all_equal(loaded.params, res.params)
    assert loaded.history == res.history and loaded.config == res.config
    assert all_equal(loaded.snapshots[2], res.snapshots[2])


def test_checkpoint_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    params = [
        (rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)),
        (rng.normal(size=(5, 2)), rng.normal(size=2)),
    ]
    meta = {"name": "toy", "acc": [0.5, 1.0], "nested": {"k": 1}}
    path = save_checkpoint(tmp_path / "sub" / "net.npz", params, meta)
    loaded, loaded_meta = load_checkpoint(path)
    assert all_equal(loaded, params) and loaded_meta == meta
    assert [W.dtype for W, _ in loaded] == [np.float32, np.float64]
    assert os.listdir(tmp_path / "sub") == ["net.npz"]  # no temp files left


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    old = [(np.ones((2, 2)), np.zeros(2))]
    save_checkpoint(path, old, {"v": 1})

    def interrupted_savez(f, **arrays):
        f.write(b"partial garbage")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, [(np.full((2, 2), 7.0), np.ones(2))], {"v": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["net.npz"]
    params, meta = load_checkpoint(path)
    assert meta == {"v": 1} and all_equal(params, old)


def test_train_or_load_trains_once(blobs, tmp_path):
    X, y = blobs
    calls = []
    count = lambda e, p, m: calls.append(e)  # noqa: E731
    key = {"dataset": "blobs", "labels": "real"}
    first = train_or_load(tmp_path, key, X, y, TOY, progress=False, on_epoch=count)
    n_calls = len(calls)
    assert n_calls == first.epochs_run > 0 and not first.from_cache
    second = train_or_load(tmp_path, key, X, y, TOY, progress=False, on_epoch=count)
    assert len(calls) == n_calls and second.from_cache  # loaded, not trained
    assert all_equal(second.params, first.params) and second.history == first.history
    assert second.config == first.config and second.epochs_run == first.epochs_run
    # a different key or different data is a different cache entry
    assert cache_key({"dataset": "other"}, X, y, TOY) != cache_key(key, X, y, TOY)
    X2 = X.copy()
    X2[0, 0] += 1e-3
    assert cache_key(key, X2, y, TOY) != cache_key(key, X, y, TOY)
    assert cache_key(key, X, y, TOY) == cache_key(dict(reversed(key.items())), X, y, TOY)
    third = train_or_load(tmp_path, {"dataset": "other"}, X, y, TOY, progress=False)
    assert not third.from_cache
    assert len(list(tmp_path.glob("*/final.npz"))) == 2


def test_interrupt_leaves_no_checkpoint(blobs, tmp_path):
    X, y = blobs

    def interrupt(epoch, params, metrics):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_or_load(tmp_path, {"k": 1}, X, y, TOY, progress=False, on_epoch=interrupt)
    assert [p for p in Path(tmp_path).rglob("*") if p.is_file()] == []
    res = train_or_load(tmp_path, {"k": 1}, X, y, TOY, progress=False)
    assert not res.from_cache and res.reached_target


def test_random_labels_memorized():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 10)).astype(np.float32)
    y = rng.permutation(np.arange(30) % 3)  # random labels, 10 per class
    config = TrainConfig(widths=(64, 64), batch_size=6, max_epochs=2000)  # paper's SGD, lr 0.01
    res = train_mlp(X, y, config, progress=False)
    assert res.reached_target and res.history.train_acc[-1] == 1.0
    assert accuracy(res.params, X, y) == 1.0


def test_config_validation():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="init_scheme"):
        TrainConfig(init_scheme="orthogonal")
    assert TrainConfig.from_dict(TOY.to_dict()) == TOY
    assert TrainConfig(widths=[8, 8]).widths == (8, 8)


def test_last_smaller_batch_is_padded_with_weight_zero_rows(blobs):
    """An epoch of 40 samples in batches of 16: two full batches and one of 8 (padded to 16 rows of weight 0
    in the compiled step); the parameters equal those of plain optax steps on the real batches."""
    import optax

    from relu_regions.training._train import _epoch_batches

    idx, w = _epoch_batches(np.arange(40, dtype=np.int32)[::-1], 16)
    assert idx.shape == w.shape == (3, 16) and w.sum() == 40 and np.all(w[:2] == 1)
    assert sorted(idx[w > 0].tolist()) == list(range(40)) and np.all(w[2, 8:] == 0)

    X, y = blobs
    config = TrainConfig(widths=(8,), batch_size=16, max_epochs=2, seed=3, optimizer="adam",
                         learning_rate=1e-2, target_train_acc=1.0)
    got = train_mlp(X, y, config, progress=False)
    model = MLP(config.widths, 2)
    params = model.init(jax.random.PRNGKey(config.seed), X[:1])["params"]
    tx = optax.adam(config.learning_rate)
    state = tx.init(params)
    rng = np.random.default_rng(config.seed)

    def loss(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, xb), yb).mean()

    for _ in range(got.epochs_run):
        perm = rng.permutation(len(X))
        for start in range(0, len(X), 16):
            rows = perm[start:start + 16]
            updates, state = tx.update(jax.grad(loss)(params, X[rows], y[rows]), state, params)
            params = optax.apply_updates(params, updates)
    for (a, b), (c, d) in zip(got.params, params_from_flax(params)):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, d, rtol=1e-5, atol=1e-6)
