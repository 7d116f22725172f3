"""End-to-end tests of ``relu-regions reproduce``, the figure subcommands and ``demo`` through
``relu_regions.cli.main`` (tiny sizes: seconds of training, a few dozen rays)."""

import json

import pytest
from conftest import SHARED_DATA

from relu_regions.cli import build_parser, main
from relu_regions.experiments import EXPERIMENTS

FIGURES = {"fig1": "fig1_paths.png", "fig2": "fig2_pca_real.png", "fig3": "fig3_pca_random.png",
           "fig4": "fig4_dimension.png", "fig5": "fig5_triangles.png", "fig6": "fig6_architectures.png",
           "fig7": "fig7_cifar10.png", "fig8": "fig8_moons.png", "fig9": "fig9_training.png",
           "norms": "norms_ratios.png"}


def test_parser_has_every_subcommand():
    parser = build_parser()
    for name in ["reproduce", "demo", *[n for n in EXPERIMENTS if n != "norms"]]:
        args = parser.parse_args([name, "--tiny"])
        assert callable(args.func)
    args = parser.parse_args(["reproduce", "--quick", "--pairs", "50", "--out", "x"])
    assert args.quick and args.pairs == 50
    with pytest.raises(SystemExit):
        parser.parse_args(["reproduce", "--quick", "--tiny"])
    with pytest.raises(SystemExit):
        parser.parse_args(["fig4", "--pairs", "0"])


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir() or not (SHARED_DATA / "cifar10").is_dir(),
                    reason="../shared/data not present")
def test_reproduce_end_to_end_then_rerun_uses_the_cache(tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--tiny", "--data-dir", str(SHARED_DATA), "--out", str(out), "--cache-dir", str(cache), "--no-progress"]
    assert main(["reproduce", *argv]) == 0
    printed = capsys.readouterr().out
    assert "results.json" in printed and "fig9" in printed

    results = json.loads((out / "results.json").read_text())
    assert set(results["experiments"]) == set(EXPERIMENTS)
    report = (out / "report.md").read_text()
    assert "| The paper's claim | Measured | Criterion | Holds |" in report
    for name, png in FIGURES.items():
        assert png in results["experiments"][name]["figures"]
        assert (out / png).stat().st_size > 1000
        assert f"]({png})" in report
        assert results["experiments"][name]["claims"]
    n_claims = sum(len(r["claims"]) for r in results["experiments"].values())
    assert report.count("| **yes** |") + report.count("| **no** |") + report.count("| n/a |") >= n_claims
    assert all(not r["from_cache"] for r in results["networks"].values())
    assert len(results["networks"]) == 16
    trained = sorted(p.name for p in cache.iterdir())

    assert main(["fig1", *argv]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["networks"]["mnist/128x128x128/real"]["from_cache"]
    assert sorted(p.name for p in cache.iterdir()) == trained
    assert set(again["experiments"]) == set(EXPERIMENTS)  # same sizes: fig1 replaced, the rest kept


def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--tiny", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| real |" in printed and "| random |" in printed and "KS D=" in printed
    assert (out / "demo_gi.png").stat().st_size > 1000
    summary = (out / "demo.md").read_text()
    assert "![pairwise GIs](demo_gi.png)" in summary
    numbers = json.loads((out / "demo.json").read_text())["numbers"]
    assert numbers["gi"]["real"]["n"] == numbers["gi"]["random"]["n"] == 32
    assert numbers["ks"]["n1"] == 32


def test_missing_dataset_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RELU_REGIONS_DATA", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["fig7", "--tiny", "--data-dir", str(empty), "--out", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert code == 1
    captured = capsys.readouterr()
    assert "not run" in captured.out and "CIFAR-10" in captured.out
    assert "missing data: fig7" in captured.err
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Not run" in report and str(empty) in report and "cifar-10-python.tar.gz" in report
