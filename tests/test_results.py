"""Per-ray results as data: relu_regions.results (tables, Parquet/CSV, sidecars, resumable streaming)."""

from __future__ import annotations

import json
from importlib.metadata import version

import numpy as np
import pytest
from conftest import random_net

import relu_regions as rr
from relu_regions.results import (
    COLUMNS,
    ResultsError,
    ResultWriter,
    intervals_table,
    load_intervals,
    parquet_available,
    save_intervals,
)

FORMATS = ["csv", pytest.param("parquet", marks=pytest.mark.skipif(not parquet_available(),
                                                                    reason="pyarrow is not installed"))]


@pytest.fixture(scope="module")
def rays():
    rng = np.random.default_rng(5)
    params = random_net(rng, [6, 8, 8, 3])
    xs, ds = rng.normal(size=(23, 6)), rng.normal(size=(23, 6))
    ds[0] = 0.0  # d = 0: the whole range
    return params, xs, ds


def assert_same_interval(table, interval):
    for name in ("lo", "hi", "length", "label", "lo_class", "hi_class", "n_regions", "exact"):
        np.testing.assert_array_equal(table[name], np.asarray(getattr(interval, name)), err_msg=name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_and_load_round_trip_exact_and_sampled(tmp_path, rays, fmt):
    params, xs, ds = rays
    exact = rr.exact_intervals(params, xs, ds, t_min=-np.inf, t_max=2.0)
    path = save_intervals(tmp_path / f"exact.{fmt}", exact, x_index=np.arange(100, 123), direction="random",
                          extra={"y_index": np.arange(23) % 5, "note": ["a"] * 23},
                          meta={"t_range": (-np.inf, 2.0), "network": "random 6-8-8-3"})
    assert path == tmp_path / f"exact.{fmt}"
    back = load_intervals(path)
    assert len(back) == 23 and back.complete
    assert list(back.columns)[:len(COLUMNS)] == list(COLUMNS)
    assert_same_interval(back, exact)
    assert np.isneginf(back["lo"]).any()  # unbounded ends survive both formats
    np.testing.assert_array_equal(back["x_index"], np.arange(100, 123))
    assert list(back["direction"]) == ["random"] * 23 and list(back["note"]) == ["a"] * 23
    np.testing.assert_array_equal(back["y_index"], np.arange(23) % 5)
    assert back["exact"].dtype == bool and back["label"].dtype == np.int64
    assert_same_interval(back, back.interval())

    sidecar = json.loads((tmp_path / f"exact.{fmt}.json").read_text())
    assert sidecar["n_rays"] == 23 and sidecar["format"] == fmt
    assert sidecar["settings"]["network"] == "random 6-8-8-3" and sidecar["settings"]["t_range"] == [None, 2.0]
    assert sidecar["versions"]["jax"] == version("jax") and sidecar["versions"]["numpy"] == version("numpy")
    assert sidecar["versions"]["relu_regions"] == version("relu_regions")
    assert sidecar["columns"]["lo"]["dtype"] == "float64" and "meaning" in sidecar["columns"]["hi"]

    sampled = rr.sampled_intervals(params, xs, ds, n=50)
    back = load_intervals(save_intervals(tmp_path / f"sampled.{fmt}", sampled, direction="random"))
    assert_same_interval(back, sampled)
    assert not back["exact"].any()
    np.testing.assert_array_equal(back["x_index"], -1)


def test_format_from_name_and_errors(tmp_path, rays):
    params, xs, ds = rays
    iv = rr.exact_intervals(params, xs[:3], ds[:3])
    path = save_intervals(tmp_path / "noext", iv)
    assert path.suffix == (".parquet" if parquet_available() else ".csv")
    with pytest.raises(ResultsError, match="the name says csv"):
        save_intervals(tmp_path / "a.csv", iv, format="parquet")
    with pytest.raises(ResultsError, match="format must be"):
        save_intervals(tmp_path / "a.csv", iv, format="xlsx")
    with pytest.raises(ResultsError, match="3 rays"):
        intervals_table(iv, x_index=[1, 2])
    with pytest.raises(ResultsError, match="clashes"):
        intervals_table(iv, extra={"lo": [0, 0, 0]})
    with pytest.raises(ResultsError, match="no such results"):
        load_intervals(tmp_path / "missing.csv")
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


@pytest.mark.parametrize("fmt", FORMATS)
def test_streaming_writer_resumes_after_interruption(tmp_path, rays, fmt):
    params, xs, ds = rays
    full = rr.exact_intervals(params, xs, ds)
    calls = []

    def compute(start, stop):
        calls.append(start)
        if len(calls) == 3 and fail[0]:
            raise KeyboardInterrupt  # interrupted during the third chunk
        return rr.exact_intervals(params, xs[start:stop], ds[start:stop]), {
            "x_index": np.arange(start, stop), "direction": "pair", "y_index": np.arange(start, stop) + 1}

    meta = {"t_range": [-1, 2]}
    fail = [True]
    with pytest.raises(KeyboardInterrupt):
        ResultWriter(tmp_path / "run", meta, format=fmt).run(compute, n=23, chunk_size=5, progress=False)
    partial = load_intervals(tmp_path / "run")
    assert not partial.complete and len(partial) == 10
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "manifest.json", f"part-00000.{fmt}", f"part-00001.{fmt}"]

    fail[0], calls[:] = False, []
    result = ResultWriter(tmp_path / "run", meta, format=fmt).run(compute, n=23, chunk_size=5, progress=False)
    assert calls == [10, 15, 20]  # finished chunks skipped
    assert result.complete and len(result) == 23
    assert_same_interval(result, full)
    np.testing.assert_array_equal(result["x_index"], np.arange(23))
    np.testing.assert_array_equal(result["y_index"], np.arange(23) + 1)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["layout"] == {"n_rays": 23, "chunk_size": 5}
    assert manifest["versions"]["jaxlib"] == version("jaxlib")

    calls[:] = []
    again = ResultWriter(tmp_path / "run", meta, format=fmt).run(compute, n=23, chunk_size=5, progress=False)
    assert calls == [] and len(again) == 23

    with pytest.raises(ResultsError, match="other settings"):
        ResultWriter(tmp_path / "run", {"t_range": [-1, 3]}, format=fmt)
    with pytest.raises(ResultsError, match="chunk_size"):
        ResultWriter(tmp_path / "run", meta, format=fmt).run(compute, n=23, chunk_size=4, progress=False)
    fresh = ResultWriter(tmp_path / "run", {"t_range": [-1, 3]}, format=fmt, resume=False)
    assert fresh.done == set() and not list((tmp_path / "run").glob("part-*"))


def test_writer_rejects_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ResultsError, match="is a file"):
        ResultWriter(tmp_path / "f")


def test_atomic_writer_keeps_the_old_file_on_error(tmp_path):
    import os
    import stat

    from relu_regions._atomic import atomic_open, write_json_atomic, write_text_atomic

    path = write_text_atomic(tmp_path / "sub" / "a.txt", "old")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    with pytest.raises(RuntimeError):
        with atomic_open(path) as f:
            f.write("half of the new")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old" and sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]
    write_json_atomic(path, {"x": np.float64(1.5), "inf": float("inf"), "arr": np.arange(2)})
    assert json.loads(path.read_text()) == {"x": 1.5, "inf": None, "arr": [0, 1]}
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(path, "a"):
            pass


def test_stream_intervals_resumes_and_checks_its_inputs(tmp_path, rays, monkeypatch):
    from relu_regions.results import stream_intervals

    params, xs, ds = rays
    full = rr.exact_intervals(params, xs, ds, -1.0, 2.0, count_regions=True)
    out = tmp_path / "s"
    first = stream_intervals(out, params, xs, ds, chunk_size=10, count_regions=True, direction="random",
                             format="csv", progress=False)
    assert first.complete and len(first) == 23
    np.testing.assert_array_equal(first["x_index"], np.arange(23))
    for name in ("lo", "hi"):
        np.testing.assert_allclose(first[name], getattr(full, name), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(first["n_regions"], full.n_regions)
    (out / "part-00001.csv").unlink()  # lost in an interruption
    calls = []
    real = rr.exact_intervals
    monkeypatch.setattr(rr, "exact_intervals", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    again = stream_intervals(out, params, xs, ds, chunk_size=10, count_regions=True, direction="random",
                             format="csv", progress=False)
    assert calls == [10] and len(again) == 23  # only the missing chunk was computed
    with pytest.raises(ResultsError, match="fingerprint"):
        stream_intervals(out, params, xs + 1, ds, chunk_size=10, count_regions=True, direction="random",
                         format="csv", progress=False)
    sampled = stream_intervals(tmp_path / "sm", params, xs, ds, method="sampled", n=64, format="csv",
                               progress=False)
    assert not sampled["exact"].any() and sampled.settings["options"] == {"n": 64}
