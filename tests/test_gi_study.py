"""GI studies on one's own network and data: relu_regions.studies and ``relu-regions gi``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_net

import relu_regions as rr
from relu_regions.cli import main
from relu_regions.studies import StudyError, gi_study, load_arrays, load_model
from relu_regions.results import load_intervals


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    params = random_net(rng, [5, 12, 12, 3])
    X = rng.random((24, 5))
    y = np.arange(24) % 3
    return params, X, y


def test_same_label_pairs_match_exact_intervals(problem):
    params, X, y = problem
    study = gi_study(params, X, y, pairs="same-label", t_range=(-1, 2), n_rays=10_000, progress=False)
    t = study.results
    assert len(t) == 3 * 8 * 7  # every ordered same-label pair, each once
    I, J = t["x_index"], t["y_index"]
    assert np.all(y[I] == y[J]) and np.all(I != J)
    assert len(set(zip(I.tolist(), J.tolist()))) == len(t)
    ref = rr.exact_intervals(params, X[I], X[J] - X[I], -1.0, 2.0, count_regions=True)
    for name in ("lo", "hi"):  # the engine's ends agree across batchings to rounding (README: 2.4e-14)
        np.testing.assert_allclose(t[name], np.asarray(getattr(ref, name)), rtol=0, atol=1e-12, err_msg=name)
    for name in ("label", "lo_class", "hi_class", "n_regions"):
        np.testing.assert_array_equal(t[name], np.asarray(getattr(ref, name)), err_msg=name)
    assert t["exact"].all() and set(t["direction"]) == {"pair"}
    s = study.summary["pair"]
    assert s["n"] == len(t) and s["median"] == pytest.approx(np.median(t["length"]))
    assert study.out is None and study.figure is None


def test_subsampled_pairs_random_and_pca_directions(problem):
    params, X, y = problem
    study = gi_study(params, X, y, pairs=["any", "random", "pca"], n_rays=30, seed=1, progress=False,
                     count_regions=False)
    t = study.results
    kinds = t["direction"]
    assert [int(np.sum(kinds == k)) for k in ("pair", "random", "pca1", "pca-min")] == [30, 30, 30, 30]
    assert list(study.summary) == ["pair", "random", "pca1", "pca-min"]
    assert np.all(t["n_regions"] == -1)
    pair = kinds == "pair"
    assert np.all(t["x_index"][pair] != t["y_index"][pair]) and np.all(t["y_index"][~pair] == -1)
    again = gi_study(params, X, y, pairs=["any", "random", "pca"], n_rays=30, seed=1, progress=False,
                     count_regions=False)
    np.testing.assert_array_equal(again.results["lo"], t["lo"])  # seeded
    sampled = gi_study(params, X, y, pairs="random", n_rays=8, method="sampled", n_samples=200, progress=False)
    assert not sampled.results["exact"].any()


def test_labels_default_to_predictions_and_input_errors(problem):
    params, X, y = problem
    study = gi_study(params, X, pairs="same-label", n_rays=20, progress=False)
    assert study.settings["labels"] == "network predictions"
    assert study.summary["pair"]["frac_label_is_y"] == 1.0  # rays start at x, labelled by the network
    with pytest.raises(StudyError, match="4 features per row, the network.s input has 5"):
        gi_study(params, X[:, :4], y, progress=False)
    with pytest.raises(StudyError, match="unknown family"):
        gi_study(params, X, y, pairs="triangles", progress=False)
    with pytest.raises(StudyError, match="must contain 0"):
        gi_study(params, X, y, t_range=(0.5, 2), progress=False)
    with pytest.raises(StudyError, match="labels for"):
        gi_study(params, X, y[:3], progress=False)
    with pytest.raises(StudyError, match="only once"):
        gi_study(params, X[:3], np.arange(3), progress=False)


def test_out_writes_results_summary_figure_and_resumes(tmp_path, problem):
    params, X, y = problem
    out = tmp_path / "study"
    study = gi_study(params, X, y, pairs=["same-label", "random"], n_rays=40, chunk_size=16, out=out,
                     format="csv", progress=False, meta={"note": "test"})
    assert study.figure == out / "gi_summary.png" and study.figure.stat().st_size > 5000
    back = load_intervals(out / "rays")
    assert back.complete and len(back) == 80
    np.testing.assert_array_equal(back["lo"], study.results["lo"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["note"] == "test" and summary["summary"]["random"]["n"] == 40
    parts = sorted((out / "rays").glob("part-*.csv"))
    assert len(parts) == 5
    stamps = [p.stat().st_mtime_ns for p in parts]
    parts[-1].unlink()  # as if interrupted before the last chunk
    again = gi_study(params, X, y, pairs=["same-label", "random"], n_rays=40, chunk_size=16, out=out,
                     format="csv", progress=False, meta={"note": "test"})
    assert [p.stat().st_mtime_ns for p in parts[:-1]] == stamps[:-1]  # finished chunks not rewritten
    np.testing.assert_array_equal(again.results["hi"], study.results["hi"])


def test_load_model_specs(tmp_path, problem):
    params, X, y = problem
    np.savez(tmp_path / "w.npz", **{f"{k}{i}": a for i, (W, b) in enumerate(params) for k, a in (("W", W), ("b", b))})
    np.savez(tmp_path / "w_.npz", **{f"{k}_{i}": a for i, (W, b) in enumerate(params) for k, a in (("W", W), ("b", b))})
    for name in ("w.npz", "w_.npz"):
        loaded = load_model(tmp_path / name)
        assert len(loaded) == 3 and all(np.array_equal(a, W) for (a, _), (W, _) in zip(loaded, params))
    (tmp_path / "mynet.py").write_text(
        "import numpy as np\n"
        "def net():\n    return [(np.eye(5), np.zeros(5)), (np.ones((5, 2)), np.zeros(2))]\n"
        "def bad():\n    return [1, 2]\n")
    assert load_model(f"{tmp_path / 'mynet.py'}:net")[1][0].shape == (5, 2)
    with pytest.raises(StudyError, match="ONNX models are not supported yet"):
        load_model("model.onnx")
    with pytest.raises(StudyError, match="did not return a valid list"):
        load_model(f"{tmp_path / 'mynet.py'}:bad")
    with pytest.raises(StudyError, match="has no function"):
        load_model(f"{tmp_path / 'mynet.py'}:nothing")
    with pytest.raises(StudyError, match="cannot import"):
        load_model("no_such_module_xyz:f")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(StudyError, match="expected arrays W0, b0"):
        load_model(tmp_path / "other.npz")
    with pytest.raises(StudyError, match="no such file"):
        load_arrays(tmp_path / "missing.npz")


def test_cli_gi_end_to_end_and_clear_errors(tmp_path, problem, capsys):
    params, X, y = problem
    weights, data = tmp_path / "w.npz", tmp_path / "d.npz"
    np.savez(weights, **{f"{k}{i}": a for i, (W, b) in enumerate(params) for k, a in (("W", W), ("b", b))})
    np.savez(data, X=X, y=y)
    out = tmp_path / "results"
    argv = ["gi", "--model", str(weights), "--data", str(data), "--pairs", "same-label", "pca",
            "--range", "-1", "2", "--n-rays", "12", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "pca1" in printed and "gi_summary.png" in printed
    res = load_intervals(out / "rays")
    assert len(res) == 36 and res.settings["model"] == str(weights)
    assert (out / "gi_summary.png").is_file() and (out / "summary.json").is_file()

    def error_of(args):
        code = main(args)
        return code, capsys.readouterr().err

    code, err = error_of(["gi", "--model", "net.onnx", "--data", str(data), "--out", str(out)])
    assert code == 2 and "ONNX models are not supported yet" in err and "Traceback" not in err
    code, err = error_of(["gi", "--model", str(weights), "--data", str(tmp_path / "nope.npz"), "--out", str(out)])
    assert code == 2 and "nope.npz: no such file" in err
    code, err = error_of(["gi", "--model", str(weights), "--data", str(data), "--out", str(weights)])
    assert code == 2 and "is an existing file, not a directory" in err and err.count("\n") == 1
