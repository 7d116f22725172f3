"""Every example's ``main()`` runs at tiny size and produces what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import relu_regions as rr

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quickstart(tmp_path):
    out = tmp_path / "gi.png"
    gi = load("quickstart").main(str(out), widths=(2, 6, 3), seed=3)
    assert out.stat().st_size > 1000
    assert isinstance(gi, rr.Interval) and gi.lo <= 0 <= gi.hi and gi.exact


def test_cnn_mnist(tmp_path):
    out = tmp_path / "cnn.png"
    res = load("cnn_mnist").main(str(out), n_per_class=3, channels=(2, 2), epochs=1, n_pairs=3)
    assert out.stat().st_size > 1000
    for r in res.values():
        assert r["exact"].all() and np.all((r["lengths"] >= 0) & (r["lengths"] <= 3))
