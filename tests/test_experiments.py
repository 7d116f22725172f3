"""Tests of relu_regions.experiments: the ray families, the exact path quantities, the statistics, and every
experiment function at tiny sizes (embedded MNIST, 3 epochs, a few dozen rays)."""

import json

import numpy as np
import pytest
from conftest import SHARED_DATA, random_net

import relu_regions as rr
from relu_regions.data import DatasetNotFoundError
from relu_regions.experiments import (
    EXPERIMENTS,
    ExperimentContext,
    Sizes,
    class_changes,
    logit_range,
    midline_rays,
    pca_directions,
    random_triangles,
    run_experiments,
    same_label_pairs,
)
from relu_regions.experiments._context import noisy_labels, scrub
from relu_regions.experiments._stats import VERDICTS, bump, fmt_ks, histogram, ks, summarize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def np_logits(params, X):
    h = np.asarray(X, np.float64)
    for k, (W, b) in enumerate(params):
        h = h @ W + b
        if k < len(params) - 1:
            h = np.maximum(h, 0)
    return h


# --- rays ------------------------------------------------------------------------------------------
def test_same_label_pairs_all_and_subsampled():
    y = np.array([0, 1, 0, 2, 1, 0, 2, 2, 2])
    I, J, total = same_label_pairs(y)
    counts = np.bincount(y)
    assert total == len(I) == int(np.sum(counts * (counts - 1)))
    assert np.all(y[I] == y[J]) and np.all(I != J)
    assert len(set(zip(I.tolist(), J.tolist()))) == total
    Iu, Ju, total_u = same_label_pairs(y, ordered=False, rng=np.random.default_rng(1))
    assert total_u == total // 2 == len(Iu)
    assert len({frozenset(p) for p in zip(Iu.tolist(), Ju.tolist())}) == total_u   # each line once
    assert np.all(y[Iu] == y[Ju]) and 0 < np.mean(Iu < Ju) < 1                    # random orientation
    I2, J2, total2 = same_label_pairs(y, 5, np.random.default_rng(0))
    assert total2 == total and len(I2) == 5
    assert set(zip(I2.tolist(), J2.tolist())) <= set(zip(I.tolist(), J.tolist()))
    I3, J3, _ = same_label_pairs(y, 5, np.random.default_rng(0))
    assert np.array_equal(I2, I3) and np.array_equal(J2, J3)
    with pytest.raises(ValueError, match="rng"):
        same_label_pairs(y, 5)


def test_midline_rays_join_side_midpoints(rng):
    X = rng.normal(size=(7, 4))
    tri = random_triangles(np.array([1, 3, 4, 6]), 5, rng)
    assert tri.shape == (5, 3) and all(len(set(t)) == 3 for t in tri.tolist())
    xs, ds = midline_rays(X, tri)(0, 15)
    for k, (a, b, c) in enumerate(tri):
        A, B, C = X[a], X[b], X[c]
        for r, (v, u, w) in enumerate(((A, B, C), (B, C, A), (C, A, B))):
            x, d = xs[3 * k + r], ds[3 * k + r]
            np.testing.assert_allclose(x, (v + u) / 2)
            np.testing.assert_allclose(x + d, (v + w) / 2)
            np.testing.assert_allclose(d, (w - u) / 2)


# --- exact GIs of ray blocks --------------------------------------------------------------------------
def test_exact_gis_pads_with_empty_rays_and_matches_the_engine(rng, monkeypatch):
    from relu_regions.experiments._gi import exact_gis, min_rays
    from relu_regions.experiments._rays import fixed_rays

    net = random_net(rng, [5, 12, 12, 4])
    xs, ds = rng.normal(size=(7, 5)), 3 * rng.normal(size=(7, 5))
    calls = []
    engine = rr.exact_intervals

    def spy(params, xs_, ds_, t_min, t_max, **kw):
        calls.append((np.asarray(xs_), np.asarray(t_min), np.asarray(t_max), kw))
        return engine(params, xs_, ds_, t_min, t_max, **kw)

    monkeypatch.setattr(rr, "exact_intervals", spy)
    for count in (False, True):
        iv = exact_gis(net, fixed_rays(xs, ds), 7, -1.0, 2.0, batch=16, count_regions=count)
        want = engine(net, xs, ds, -1.0, 2.0, count_regions=count)
        for got, ref in zip(iv, want):
            if np.asarray(ref).dtype.kind == "f":  # the padded call takes the engine's chunked path, the
                # 7-ray call its small-batch kernel: GI ends may differ in the last bit (seen: 1 ulp)
                np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-13, atol=1e-15)
            else:
                np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))
        assert (np.all(iv.n_regions >= 1)) == count and (np.all(iv.n_regions == -1)) == (not count)
    xs_, lo, hi, kw = calls[-1]
    # padded past the engine's small-batch threshold (one kernel path per network shape), in whole batches
    assert min_rays(16) == 80 and min_rays(64) == 128 and min_rays(512) == 512
    assert xs_.shape == (80, 5) and kw["batch_size"] == 16 and kw["count_regions"]
    # the 73 padded rays are empty (range [0, 0]): nothing is walked twice
    assert np.all(lo[:7] == -1) and np.all(hi[:7] == 2) and np.all(lo[7:] == 0) and np.all(hi[7:] == 0)


def test_gis_save_rays_and_resume(rng, tmp_path, monkeypatch):
    """With ``rays_dir`` every GI set is saved ray by ray; a rerun reads the saved blocks back instead of
    walking them again, and different networks get different directories."""
    from relu_regions.experiments._rays import fixed_rays

    net, other = random_net(rng, [5, 12, 12, 4]), random_net(rng, [5, 12, 12, 4])
    xs, ds = rng.normal(size=(9, 5)), 3 * rng.normal(size=(9, 5))
    ctx = ExperimentContext(out_dir=tmp_path / "out", sizes=Sizes.tiny(), progress=False,
                            rays_dir=tmp_path / "rays")
    iv = ctx.gis(net, fixed_rays(xs, ds), 9, -1.0, 2.0, "pairs (test)", count_regions=False)
    want = rr.exact_intervals(net, xs, ds, -1.0, 2.0)
    np.testing.assert_allclose(iv.hi, want.hi, rtol=1e-13, atol=1e-15)  # engine paths differ in the last bit
    want = iv
    (saved,) = list((tmp_path / "rays").iterdir())
    table = rr.load_intervals(saved)
    np.testing.assert_array_equal(table["hi"], want.hi)
    np.testing.assert_array_equal(table["x_index"], np.arange(9))
    monkeypatch.setattr(rr, "exact_intervals", lambda *a, **k: pytest.fail("walked again"))
    again = ctx.gis(net, fixed_rays(xs, ds), 9, -1.0, 2.0, "pairs (test)", count_regions=False)
    np.testing.assert_array_equal(again.hi, want.hi)
    monkeypatch.undo()
    ctx.gis(other, fixed_rays(xs, ds), 9, -1.0, 2.0, "pairs (test)", count_regions=False)
    assert len(list((tmp_path / "rays").iterdir())) == 2


# --- exact quantities along a segment --------------------------------------------------------------
def test_class_changes_and_logit_range_match_dense_sampling(rng):
    net = random_net(rng, [5, 12, 12, 4])
    found = 0
    for _ in range(6):
        x, d = rng.normal(size=5), 3 * rng.normal(size=5)
        pieces = rr.linear_pieces(net, x, d, 0.0, 1.0)
        ch = class_changes(pieces)
        t = np.linspace(0.0, 1.0, 20001)
        F = np_logits(net, x[None] + t[:, None] * d[None])
        arg = F.argmax(axis=1)
        flips = np.flatnonzero(arg[1:] != arg[:-1])
        assert ch.start == arg[0]
        assert len(ch.t) == len(flips)
        step = t[1] - t[0]
        for tc, before, after, k in zip(ch.t, ch.before, ch.after, flips):
            assert t[k] - 1e-9 <= tc <= t[k + 1] + 1e-9
            assert (before, after) == (arg[k], arg[k + 1])
        found += len(flips)
        for c in range(4):
            sampled = F[:, c].max() - F[:, c].min()
            exact = logit_range(pieces, c)
            assert sampled <= exact + 1e-9 and exact - sampled < 1e-3 * max(1.0, exact) + step * 50
    assert found > 0  # the random segments did cross decision boundaries


def test_pca_directions_against_covariance_eigenvectors(rng):
    X = rng.normal(size=(60, 8)) * np.arange(1, 9)
    y = np.repeat(np.arange(10), 6)
    y[:12] = 1
    pca = pca_directions(X, y, cls=1)
    Xc = X[y == 1]
    w, V = np.linalg.eigh(np.cov(Xc.T))
    assert abs(abs(pca["tangent"] @ V[:, -1]) - 1) < 1e-9
    assert abs(abs(pca["small_eigenvalue"] @ V[:, 0]) - 1) < 1e-9
    np.testing.assert_allclose(pca["eigenvalues"][0], w[-1])
    for k in ("tangent", "normal", "small_eigenvalue"):
        assert abs(np.linalg.norm(pca[k]) - 1) < 1e-12
    assert abs(pca["normal"] @ pca["tangent"]) < 1e-12
    diff = X[y == 9].mean(0) - X[y == 1].mean(0)
    assert pca["normal"] @ diff > 0
    assert np.isclose(pca["scale"], np.median([np.linalg.norm(a - b) for i, a in enumerate(Xc) for b in Xc[i + 1:]]))


# --- statistics --------------------------------------------------------------------------------------
def test_summaries_and_ks(rng):
    v = rng.normal(size=1001)
    s = summarize(np.append(v, np.nan))
    assert s["n"] == 1001 and s["n_nonfinite"] == 1
    assert s["median"] == pytest.approx(np.median(v)) and s["q25"] == pytest.approx(np.quantile(v, 0.25))
    same = ks(v, v)
    assert same["statistic"] == 0 and same["pvalue"] == 1
    shifted = ks(v, v + 3)
    assert shifted["statistic"] > 0.8 and shifted["pvalue"] < 1e-10 and shifted["n1"] == shifted["n2"] == 1001
    assert fmt_ks(shifted).startswith("KS D=0.") and "n=1,001 vs 1,001" in fmt_ks(shifted)
    assert "p<1e-300" in fmt_ks(ks(np.zeros(5000), np.ones(5000)))


def test_bump_detects_a_local_maximum_near_1_3():
    lengths = np.concatenate([np.linspace(0, 3, 3000), np.full(200, 1.32)])
    b = bump(histogram(lengths, 0, 3, 0.05))
    assert b["present"] and abs(b["at"] - 1.325) < 1e-9 and b["height"] > b["left"]
    assert not bump(histogram(np.linspace(0, 3, 3000), 0, 3, 0.05))["present"]


# --- experiment functions at tiny sizes --------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiments")
    return ExperimentContext(out_dir=root / "out", cache_dir=root / "cache", sizes=Sizes.tiny(), progress=False,
                             source="embedded")


EXPECTED_NUMBERS = {
    "fig1": ("kinds", "n_paths", "example"),
    "fig2": ("gi", "ks", "scale", "eigenvalue_small"),
    "fig3": ("gi", "ks", "pairwise_segment_fraction"),
    "fig4": ("gi", "ks", "bump"),
    "fig5": ("gi", "ks", "range"),
    "fig6": ("gi", "ks", "bump", "stats", "seed_floor"),
    "fig7": ("gi", "ks"),
    "fig8": ("gi", "ks", "median_ratio_random_real"),
    "fig9": ("table", "stats", "n_pairs", "explanation"),
    "norms": ("stats", "per_seed", "assumption"),
    "sensitivity": ("stats", "table", "noise_fractions"),
    "hull": ("stats", "table"),
    "layerwise": ("stats", "n_layers"),
}


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n != "fig7"])
def test_experiment_writes_png_and_numbers(ctx, name):
    res = EXPERIMENTS[name].run(ctx)
    assert set(res) >= {"figures", "numbers", "claims", "networks"}
    for f in res["figures"]:
        assert (ctx.out_dir / f).read_bytes()[:8] == PNG_MAGIC
    assert set(res["numbers"]) >= set(EXPECTED_NUMBERS[name])
    assert res["claims"] and all(set(c) >= {"claim", "measured", "criterion", "verdict", "holds", "networks"}
                                 and c["verdict"] in VERDICTS for c in res["claims"])
    for b in res["numbers"].get("stats", {}).values():
        assert set(b) >= {"estimate", "ci", "per_seed", "n_seeds"} and b["n_seeds"] == len(ctx.seeds)
    for key in res["networks"]:
        rec = ctx.networks()[key]
        assert rec["epochs"] <= 3 and rec["optimizer"] == "sgd" and rec["learning_rate"] == 0.01
    if "gi" in res["numbers"]:
        for s in res["numbers"]["gi"].values():
            lo, hi = s["range"]
            assert s["n"] > 0 and 0 <= s["min"] <= s["median"] <= s["max"] <= hi - lo + 1e-9


def test_fig4_numbers_cover_three_resolutions_and_both_labellings(ctx):
    res = EXPERIMENTS["fig4"].run(ctx)
    assert set(res["numbers"]["gi"]) == {f"{d}/{lab}" for d in ("mnist", "mnist14", "mnist7")
                                          for lab in ("real", "random")}
    s = res["numbers"]["gi"]["mnist/real"]
    assert s["n_per_seed"] == s["n"] == ctx.sizes.n_pairs and s["n_pairs_total"] == 10 * 100 * 99 // 2
    assert ctx.dataset("mnist7").X.shape == (1000, 49)
    assert ctx.dataset("mnist").val_source.startswith("embedded")


def test_fig9_series_are_accuracies_of_the_snapshots(ctx):
    res = EXPERIMENTS["fig9"].run(ctx)
    rows = [r for r in res["numbers"]["table"] if r["labels"] == "real"]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    assert all(1 <= r["classes_predicted"] <= 10 for r in rows)
    assert set(res["numbers"]["stats"]) >= {"real: spearman(mean GI, val_acc), two or more classes",
                                            "real: spearman(mean GI, val_acc), all snapshots"}
    net = ctx.network("mnist", (128, 128, 128), "real")
    acc = np.mean(np_logits(net.params, net.X_val).argmax(1) == net.y_val)
    assert rows[-1]["val_acc"] == pytest.approx(acc)
    assert rows[-1]["train_acc"] == pytest.approx(net.record["final_train_acc"])


def test_networks_are_loaded_from_the_cache_the_second_time(ctx):
    first = ctx.network("mnist", (512,), "random")
    again = ExperimentContext(out_dir=ctx.out_dir, cache_dir=ctx.cache_dir, sizes=ctx.sizes, progress=False,
                              source="embedded")
    net = again.network("mnist", (512,), "random")
    assert net.record["from_cache"] and net.record["cache_key"] == first.record["cache_key"]
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(first.params, net.params))
    assert np.array_equal(net.y, first.y) and not np.array_equal(net.y, net.y_true)


def test_run_experiments_merges_results_and_renders_the_report(ctx):
    results = run_experiments(ctx, ["fig5"])
    results = run_experiments(ctx, ["fig8"])
    saved = json.loads((ctx.out_dir / "results.json").read_text())
    assert set(saved["experiments"]) >= {"fig5", "fig8"} and saved == json.loads(json.dumps(results))
    assert saved["meta"]["sizes"]["name"] == "tiny"
    report = (ctx.out_dir / "report.md").read_text()
    assert "## Claims, as measured" in report and "![Fig. 5](fig5_triangles.png)" in report
    assert "moons/128x128x128/random/seed0" in report and "## Deviations and choices" in report
    # 3 epochs never reach 100 % training accuracy: every verdict says so
    claims = [c for r in saved["experiments"].values() for c in r["claims"]]
    assert claims and all(c["verdict"] == "inconclusive (training target not reached)" for c in claims)
    assert all(c["verdict_if_trained"] in VERDICTS for c in claims)
    assert all(c["untrained_networks"] for c in claims)
    assert "Training target not reached" in report
    assert str(ctx.out_dir) not in report and str(ctx.cache_dir) not in json.dumps(saved)
    with pytest.raises(ValueError, match="unknown experiments"):
        run_experiments(ctx, ["fig10"])


def test_claims_say_why_they_are_inconclusive():
    from relu_regions.experiments._claims import apply_training_target, claim
    from relu_regions.experiments._report import inconclusive_section, why_rows
    from relu_regions.experiments._stats import decide

    wide = claim("A", "m", "rule", decide([-0.1, 0.3], "above"), networks=["net/ok"])
    decided = claim("B", "m", "rule", decide([0.1, 0.3], "above"), networks=["net/ok"])
    untrained = claim("C", "m", "rule", decide([0.1, 0.3], "above"), networks=["net/bad", "net/ok"])
    assert wide["verdict"] == "inconclusive" and "contains the threshold 0" in wide["why"]
    assert decided["why"] == "" and json.loads(json.dumps(wide)) == wide
    records = {"net/ok": {"reached_100pct": True},
               "net/bad": {"reached_100pct": False, "final_train_acc": 0.6875, "epochs": 500}}
    assert apply_training_target([wide, decided, untrained], records, None) == ["net/bad"]
    assert untrained["verdict"] == "inconclusive (training target not reached)"
    assert untrained["why"] == ("training target (100% training accuracy) not reached by net/bad (training "
                                "accuracy 0.688 after 500 epochs)") and untrained["verdict_if_trained"] == "holds"
    results = {"experiments": {"fig1": {"claims": [wide, decided]}, "fig7": {"claims": [untrained]}}}
    rows = why_rows(results)
    assert [(r[0], r[2]) for r in rows] == [("fig1", "A"), ("fig7", "C")]
    assert "(the data alone: holds)" in rows[1][3]
    text = "\n".join(inconclusive_section(results))
    assert "## Inconclusive claims and why" in text and wide["why"] in text and "net/bad" in text


def test_report_lists_every_reduced_size():
    from relu_regions.experiments._report import size_deviations

    assert size_deviations(Sizes.full().to_dict()) == []
    quick = size_deviations(Sizes.quick().to_dict())
    text = "\n".join(quick)
    assert "appendix: same-label segments per network: 20 (full: 500)" in text
    assert "pairs per pairwise GI set, network and seed (Figs. 3, 4, 6-8): 300 (full: all unordered" in text
    assert "seeds: 2 (full: 5)" in text and "rays per compiled GI batch" in text
    changed = {k for k, v in Sizes.quick().to_dict().items() if v != Sizes.full().to_dict()[k]}
    assert len(quick) == len(changed - {"name", "optimizer", "learning_rate"})


def test_claim_table_is_generated_from_results_json(ctx, tmp_path):
    from relu_regions.experiments import claim_table
    from relu_regions.experiments._report import TABLE_END, TABLE_START
    from relu_regions.experiments.readme_table import main

    run_experiments(ctx, ["fig5"])
    saved = json.loads((ctx.out_dir / "results.json").read_text())
    table = claim_table(saved, "report.md")
    claims = saved["experiments"]["fig5"]["claims"]
    assert "sizes **tiny**" in table and "seeds 0 (1)" in table and "[report.md](report.md)" in table
    assert "Reduced sizes" in table and "did not reach the training target" in table
    assert claims[0]["measured"] in table and "data alone: " in table
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{TABLE_START}\nold numbers\n{TABLE_END}\n\nafter\n")
    assert main([str(ctx.out_dir / "results.json"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old numbers" not in text and claims[0]["measured"] in text and text.endswith(f"{TABLE_END}\n\nafter\n")
    assert main([str(ctx.out_dir / "results.json"), "--readme", str(readme)]) == 0 and readme.read_text() == text
    with pytest.raises(ValueError, match="markers"):
        main([str(ctx.out_dir / "results.json"), "--readme", str(ctx.out_dir / "report.md")])


@pytest.mark.skipif(not (SHARED_DATA / "cifar10").is_dir(), reason="../shared/data/cifar10 not present")
def test_fig7_on_the_partial_local_cifar10(tmp_path):
    c = ExperimentContext(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", data_dir=SHARED_DATA,
                          sizes=Sizes.tiny(), progress=False)
    res = EXPERIMENTS["fig7"].run(c)
    assert (tmp_path / "out" / res["figures"][0]).is_file()
    rec = c.networks()["cifar10/128x128x128/real/seed0"]
    assert rec["input_dim"] == 3072 and rec["n_train"] == 1000
    assert any("incomplete" in n for n in rec["notes"]) == (rec["n_available"] < 50_000)


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("RELU_REGIONS_DATA", raising=False)
    c = ExperimentContext(out_dir=tmp_path, data_dir=tmp_path / "nothing", sizes=Sizes.tiny(), progress=False,
                          source="local")
    with pytest.raises(DatasetNotFoundError, match="nothing"):
        c.dataset("mnist")


# --- seeds, labels, paths, theorems -----------------------------------------------------------------
def test_noisy_labels_permute_the_stated_share():
    y = np.repeat(np.arange(10), 100)
    assert np.array_equal(noisy_labels(y, "real", 0), y)
    r = noisy_labels(y, "random", 3)
    assert np.array_equal(np.bincount(r), np.bincount(y)) and np.mean(r != y) > 0.8
    half = noisy_labels(y, "noise0.5", 3)
    assert np.array_equal(np.bincount(half), np.bincount(y))
    assert 0.35 < np.mean(half != y) <= 0.5                  # permuted among themselves: ~10% stay by chance
    assert np.array_equal(half, noisy_labels(y, "noise0.5", 3)) and not np.array_equal(half, noisy_labels(y, "noise0.5", 4))
    with pytest.raises(ValueError):
        noisy_labels(y, "shuffled", 0)


def test_scrub_removes_absolute_paths():
    text = "CIFAR-10 in /data/x/cifar10/batches is incomplete; cache /home/u/.cache/n; see https://a.org/b/c"
    out = scrub(text, "/data/x")
    assert "<data-dir>/cifar10/batches" in out and "/home/u" not in out and "https://a.org/b/c" in out


def test_seeds_give_independent_networks(tmp_path):
    c = ExperimentContext(out_dir=tmp_path / "o", cache_dir=tmp_path / "c", sizes=Sizes.tiny().replace(n_seeds=2),
                          progress=False, source="embedded", seed=5)
    assert c.seeds == (5, 6) and [s.seed for s in c.per_seed()] == [5, 6]
    a, b = (s.network("moons", (8,), "random") for s in c.per_seed())
    assert a.key.endswith("/seed5") and b.key.endswith("/seed6")
    assert not np.array_equal(a.params[0][0], b.params[0][0]) and not np.array_equal(a.X, b.X)
    assert set(c.networks()) == {a.key, b.key}


def test_masked_layers_never_exceed_the_raw_norm(rng):
    """The appendix's per-layer inequality ||W~_l(x)||_inf <= ||W_l||_inf is a theorem (zeroing columns of an
    (in, out) matrix cannot raise its largest column sum): a unit test, not a claim of the report."""
    net = random_net(rng, [6, 20, 20, 3])
    for x in rng.normal(size=(50, 6)):
        masks = rr.activation_pattern(net, x)
        for (W, _), m, Wt in zip(net[:-1], masks, rr.effective_weights(net, x)):
            masked = W * np.asarray(m)[None, :]                   # inactive units' columns zeroed
            np.testing.assert_allclose(np.asarray(Wt), masked, rtol=1e-6, atol=1e-7)
            assert np.abs(masked).sum(axis=0).max() <= np.abs(W).sum(axis=0).max()


def test_segment_bound_violations_are_counted_not_raised(rng):
    from relu_regions.experiments._norms import segment_margins

    net = random_net(rng, [4, 10, 10, 3])
    x0, x1 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    seg = rr.segment_norms(net, x0, x1, rtol=np.inf)
    m = segment_margins(net, x0, x1, seg)
    assert not m["violation"].any() and np.all(m["margin"] >= 0)
    forged = seg._replace(bound=seg.bound / 1e6)              # a bound that is too small must read as violated
    assert segment_margins(net, x0, x1, forged)["violation"].any()


def test_in_hull_linear_program():
    from relu_regions.experiments._hull import in_hull

    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert in_hull(X, [0.2, 0.2]) and in_hull(X, [0.0, 0.0])
    assert not in_hull(X, [0.8, 0.8]) and not in_hull(X, [-0.1, 0.5])


def test_jacobian_norms_match_local_linear_map(rng):
    from relu_regions.experiments._sensitivity import jacobian_norms

    net = random_net(rng, [5, 12, 12, 4])
    X = rng.normal(size=(7, 5))
    want = [np.linalg.norm(np.asarray(rr.local_linear_map(net, x)[0])) for x in X]
    np.testing.assert_allclose(jacobian_norms(net, X), want, rtol=1e-5)  # local_linear_map: float32
