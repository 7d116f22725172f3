"""End-to-end tests of ``relu-regions reproduce``, the figure subcommands and ``demo`` through
``relu_regions.cli.main`` (tiny sizes: seconds of training, a few dozen rays)."""

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import relu_regions as rr
from conftest import HAS_CIFAR, HAS_MNIST, SHARED_DATA

from relu_regions.cli import COMMANDS, build_parser, main
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
    assert args.quick and args.pairs == 50 and not args.save_rays
    assert parser.parse_args(["fig4", "--tiny", "--save-rays"]).save_rays
    with pytest.raises(SystemExit):
        parser.parse_args(["reproduce", "--quick", "--tiny"])
    with pytest.raises(SystemExit):
        parser.parse_args(["fig4", "--pairs", "0"])


@pytest.mark.skipif(not (HAS_MNIST and HAS_CIFAR),
                    reason=f"needs MNIST and CIFAR-10 under {SHARED_DATA} ($RELU_REGIONS_DATA, then ../shared/data)")
def test_reproduce_end_to_end_then_rerun_uses_the_cache(tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--tiny", "--data-dir", str(SHARED_DATA), "--out", str(out), "--cache-dir", str(cache), "--no-progress"]
    assert main(["reproduce", *argv]) == 0
    printed = capsys.readouterr().out
    assert "results.json" in printed and "fig9" in printed

    results = json.loads((out / "results.json").read_text())
    assert set(results["experiments"]) == set(EXPERIMENTS)
    report = (out / "report.md").read_text()
    assert "| The claim | Measured (estimate [95% CI]) | Rule | Verdict |" in report
    for name, png in FIGURES.items():
        assert png in results["experiments"][name]["figures"]
        assert (out / png).stat().st_size > 1000
        assert f"]({png})" in report
        assert results["experiments"][name]["claims"]
    claims = [c for r in results["experiments"].values() for c in r["claims"]]
    # tiny training (3 epochs) never reaches 100 %: every verdict that rests on a network says so, in the
    # table and on the terminal; claims about the data or a mathematical inequality (networks == []) do not
    on_nets = [c for c in claims if c["networks"] != []]
    assert all(c["verdict"] == "inconclusive (training target not reached)" for c in on_nets)
    assert report.count("| **inconclusive (training target not reached)**") >= len(on_nets)
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in claims if c["networks"] == [])
    assert "did not reach 100% training accuracy" in printed
    assert all(not r["from_cache"] for r in results["networks"].values())
    assert len(results["networks"]) == 17  # the paper's 16 + the label-noise network of the sensitivity study
    assert str(tmp_path) not in report and str(tmp_path) not in (out / "results.json").read_text()
    trained = sorted(p.name for p in cache.iterdir())

    assert main(["fig1", *argv]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["networks"]["mnist/128x128x128/real/seed0"]["from_cache"]
    assert sorted(p.name for p in cache.iterdir()) == trained
    assert set(again["experiments"]) == set(EXPERIMENTS)  # same sizes: fig1 replaced, the rest kept


def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--tiny", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                 "--save-rays"]) == 0
    printed = capsys.readouterr().out
    assert "| real |" in printed and "| random |" in printed and "KS D=" in printed
    assert (out / "demo_gi.png").stat().st_size > 1000
    summary = (out / "demo.md").read_text()
    assert "![pairwise GIs](demo_gi.png)" in summary
    numbers = json.loads((out / "demo.json").read_text())["numbers"]
    assert numbers["gi"]["real"]["n"] == numbers["gi"]["random"]["n"] == 32
    saved = sorted((out / "rays").iterdir())  # --save-rays: one set per labelling, ray by ray
    assert len(saved) == 2 and all(len(rr.load_intervals(p)["lo"]) == 32 for p in saved)
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
    assert "Not run" in report and "cifar-10-python.tar.gz" in report and "Looked in:" in report
    assert str(empty) in report or "local: <data-dir> (no data_batch_1" in report  # the report may redact the path


def test_help_and_version_start_without_jax():
    code = ("import sys, time\n"
            "start = time.perf_counter()\n"
            "from relu_regions.cli import main\n"
            "for argv in (['--help'], ['--version']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, e.code\n"
            "heavy = sorted(m for m in ('jax', 'flax', 'matplotlib', 'relu_regions.experiments') if m in sys.modules)\n"
            "print('HEAVY', heavy, 'SECONDS', time.perf_counter() - start)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY [] SECONDS" in out  # nothing heavy imported: --help takes ~0.1 s instead of ~5 s
    for name in COMMANDS:
        assert f"    {name}" in out
    assert f"relu-regions {version('relu_regions')}" in out


def test_command_table_matches_the_registered_parsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices and "gi" in a.choices)
    assert set(sub.choices) == set(COMMANDS), "add new subcommands to relu_regions.cli.COMMANDS"
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, (_, help_text) in COMMANDS.items():
        assert helps[name] == help_text, name
    order = [a.dest for a in sub._choices_actions]
    assert order == list(COMMANDS)  # --help lists them in the table's order


def test_expected_errors_are_one_line_with_exit_code_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RELU_REGIONS_DATA", raising=False)
    missing = tmp_path / "no-such-dir"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        (["fig4", "--tiny", "--data-dir", str(missing), "--out", str(tmp_path / "o")],
         [str(missing), "does not exist"]),
        (["norms", "--quick", "--data-dir", str(missing)], [str(missing), "never replaced by another"]),
        (["demo", "--tiny", "--out", str(a_file)], [str(a_file), "is an existing file, not a directory"]),
        (["fig1", "--tiny", "--out", str(a_file / "sub")], [str(a_file), "is a file"]),
    ]
    for argv, needles in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"relu-regions {argv[0]}: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        for needle in needles:
            assert needle in err
    assert not (tmp_path / "o").exists()  # failed before writing anything


def test_negative_numbers_are_values_not_options():
    parser = build_parser(["gi"])
    args = parser.parse_args(["gi", "--model", "m.npz", "--data", "d.npz", "--range", "-inf", "inf"])
    assert args.range == [float("-inf"), float("inf")]
    args = parser.parse_args(["gi", "--model", "m.npz", "--data", "d.npz", "--range", "-1e-3", "2"])
    assert args.range == [-1e-3, 2.0]


def test_bad_inputs_of_gi_plane_and_norms_are_one_line(tmp_path, capsys, monkeypatch):
    """Adversarial inputs: every one ends with one line on stderr and exit status 2, before any work."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez("w.npz", W0=rng.normal(size=(6, 8)), b0=np.zeros(8), W1=rng.normal(size=(8, 3)), b1=np.zeros(3))
    np.savez("data.npz", X=rng.random((12, 6)), y=np.arange(12) % 3)
    np.savez("narrow.npz", X=rng.random((12, 3)))
    np.savez("nan.npz", X=np.full((4, 6), np.nan))
    (tmp_path / "garbage.npz").write_text("not a zip")
    (tmp_path / "mod.py").write_text("def bad():\n    raise RuntimeError('boom')\ndef three():\n    return 3\n")
    (tmp_path / "a_file").write_text("x")
    gi = ["gi", "--model", "w.npz", "--data", "data.npz", "--out", "o", "--no-progress"]
    cases = [
        (["gi", "--model", "nope.npz", "--data", "data.npz"], "no such file"),
        (["gi", "--model", "garbage.npz", "--data", "data.npz"], "not an .npz archive"),
        (["gi", "--model", "mod.py:bad", "--data", "data.npz"], "bad() raised RuntimeError: boom"),
        (["gi", "--model", "mod.py:three", "--data", "data.npz"], "did not return a valid list"),
        (["gi", "--model", "mod.py:nothing", "--data", "data.npz"], "has no function"),
        (["gi", "--model", "no_such_module:f", "--data", "data.npz"], "cannot import"),
        (["gi", "--model", "w.npz", "--data", "garbage.npz"], "not an .npz archive"),
        (["gi", "--model", "w.npz", "--data", "narrow.npz"], "3 features per row"),
        (["gi", "--model", "w.npz", "--data", "nan.npz"], "non-finite"),
        (["gi", "--model", "w.npz", "--data", str(tmp_path)], "a directory"),
        ([*gi, "--range", "1", "2"], "must contain 0"),
        ([*gi, "--range", "-inf", "inf", "--method", "sampled"], "needs a finite t_range"),
        (["gi", "--model", "w.npz", "--data", "data.npz", "--out", "a_file"], "is an existing file"),
        (["plane", "--model", "w.npz", "--data", "data.npz", "--indices", "0", "0", "1", "--out", "p"], "one line"),
        (["plane", "--model", "w.npz", "--data", "data.npz", "--indices", "0", "1", "99", "--out", "p"], "out of range"),
        (["plane", "--model", "w.npz", "--out", "p"], "takes 6 inputs"),
        (["norms", "--n-points", "0", "--out", "n"], "--n-points must be a positive integer"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"relu-regions {argv[0]}: error: ") and err.count("\n") == 1, (argv, err)
        assert needle in err, (argv, err)
    for argv in (["gi", "--model", "w.npz"], [*gi, "--n-rays", "0"], [*gi, "--pairs", "bogus"], ["bogus"], []):
        with pytest.raises(SystemExit) as exc:  # usage errors: argparse's exit, one line too
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and ": error: " in err and "--help" in err, (argv, err)
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()
