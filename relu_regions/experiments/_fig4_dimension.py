"""Fig. 4: pairwise GIs, real vs random labels, at full MNIST resolution and down-sampled."""

from __future__ import annotations

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._pairwise_sets import MEDIAN_MARGIN, SIMILAR_KS, median_diff, real_vs_random, run_stat
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import Weighted, all_of, decide, fmt, fmt_ci, ks_distance
from relu_regions.plotting import new_figure, save_figure

FIGURE = "fig4_dimension.png"
RESOLUTIONS = (("mnist", "28x28 (784-d)"), ("mnist14", "14x14 (196-d)"), ("mnist7", "7x7 (49-d)"))


def _ks_growth(r_low: Weighted, x_low: Weighted, r_full: Weighted, x_full: Weighted) -> float:
    return ks_distance(r_low, x_low) - ks_distance(r_full, x_full)


def fig4_dimension(ctx: ExperimentContext) -> dict:
    """Pairwise GIs (unordered same-label pairs, ``t`` in [-1, 2]) of the 3x128 networks trained on real and
    random labels, on MNIST at 28x28, 14x14 and 7x7 (average-pooled; the same 1000 images per seed), for
    every seed.

    Numbers: pooled GI summaries (``gi``, with per-seed entries), KS of the pooled samples (``ks``), and
    ``stats``: bootstrap intervals (seeds, then pairs) of medians, KS distances, shifts of the medians
    relative to 28x28 and the bump near 1.3; ``seed_floor``: KS distance between two seeds of one setting.
    """
    fig, axes = new_figure(len(RESOLUTIONS), sharey=True)
    per = {}
    for k, (ax, (name, desc)) in enumerate(zip(axes[0], RESOLUTIONS)):
        per[name] = real_vs_random(ctx, name, MAIN_WIDTHS, ax, f"MNIST {desc}")
    fig.suptitle("Fig. 4: pairwise GIs (unordered same-label pairs, t in [-1, 2], max 3), 3x128, real vs random "
                 f"labels, {len(ctx.seeds)} seed(s) pooled", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    L = {(name, lab): per[name]["sets"][lab].lengths for name, _ in RESOLUTIONS for lab in ("real", "random")}
    stats = {}
    for name, _ in RESOLUTIONS:
        for key, b in per[name]["stats"].items():
            stats[f"{name}: {key}"] = b
    for name in ("mnist14", "mnist7"):
        for lab in ("real", "random"):
            stats[f"{name} - mnist: median {lab}"] = run_stat(ctx, list(zip(L[(name, lab)], L[("mnist", lab)])),
                                                              median_diff)
        stats[f"{name} - mnist: KS real vs random"] = run_stat(
            ctx, list(zip(L[(name, "real")], L[(name, "random")], L[("mnist", "real")], L[("mnist", "random")])),
            _ks_growth)
    numbers = {
        "gi": {f"{name}/{lab}": per[name]["gi"][lab] for name, _ in RESOLUTIONS for lab in ("real", "random")},
        "ks": {f"{name}: real vs random (pooled)": per[name]["ks"] for name, _ in RESOLUTIONS},
        "bump": {f"{name}/{lab}": per[name]["bump"][lab] for name, _ in RESOLUTIONS for lab in ("real", "random")},
        "seed_floor": {f"{name}/{lab}": per[name]["floor"][lab] for name, _ in RESOLUTIONS
                       for lab in ("real", "random")},
        "stats": stats,
    }
    nets = {name: per[name]["networks"] for name, _ in RESOLUTIONS}
    by_label = {lab: [k for name, _ in RESOLUTIONS for k in per[name]["sets"][lab].keys] for lab in ("real", "random")}
    n = per["mnist"]["n_text"]
    floor = per["mnist"]["floor"]
    full_ks = stats["mnist: ks"]
    shrink = {n: stats[f"{n} - mnist: median random"] for n in ("mnist14", "mnist7")}
    stay = {n: stats[f"{n} - mnist: median real"] for n in ("mnist14", "mnist7")}
    grow = {n: stats[f"{n} - mnist: KS real vs random"] for n in ("mnist14", "mnist7")}
    low_nets = nets["mnist"] + nets["mnist14"] + nets["mnist7"]
    claims = [
        claim("At full MNIST dimension (28x28) the pairwise GI distributions for real and random labels are "
              "nearly identical.",
              f"KS D real vs random {fmt_ci(full_ks)}; medians real {fmt_ci(stats['mnist: median_real'])}, random "
              f"{fmt_ci(stats['mnist: median_random'])}; seed-to-seed KS of one setting: real "
              f"{fmt(floor['real'])}, random {fmt(floor['random'])}; {n}",
              f"equivalence: 95% interval of the KS distance below the margin {SIMILAR_KS} (holds), above it "
              "(does not hold), else inconclusive",
              decide(full_ks["ci"], "below", SIMILAR_KS), networks=nets["mnist"],
              statistics={"ks": full_ks}),
        claim("With lower input dimension (14x14, 7x7) the random-label GIs get shorter.",
              "median random-label GI minus the 28x28 one: " + ", ".join(
                  f"{r} {fmt_ci(shrink[r])}" for r in shrink) + f"; {n}",
              "both 95% intervals below 0 (holds); either above 0 (does not hold)",
              all_of(decide(shrink[r]["ci"], "below", 0.0) for r in shrink), networks=by_label["random"],
              statistics=shrink),
        claim("With lower input dimension the real-label GIs do not change significantly.",
              "median real-label GI minus the 28x28 one: " + ", ".join(f"{r} {fmt_ci(stay[r])}" for r in stay)
              + f"; {n}",
              f"equivalence: both 95% intervals inside +-{fmt(MEDIAN_MARGIN)} (5% of the range)",
              all_of(decide(stay[r]["ci"], "within", 0.0, MEDIAN_MARGIN) for r in stay), networks=by_label["real"],
              statistics=stay),
        claim("With lower input dimension the difference between real- and random-label GIs grows.",
              "KS D (real vs random) minus the 28x28 one: " + ", ".join(f"{r} {fmt_ci(grow[r])}" for r in grow)
              + f"; {n}",
              "both 95% intervals above 0",
              all_of(decide(grow[r]["ci"], "above", 0.0) for r in grow), networks=low_nets, statistics=grow),
    ]
    for lab in ("real", "random"):
        b = stats[f"mnist: bump_{lab}"]
        claims.append(claim(
            f"At full dimension the GI distribution shows a small bump around 1.3 ({lab} labels).",
            f"bump prominence (share of the highest 0.05-bin within 1.1-1.5 minus the larger of the bins 0.2 "
            f"below and above) {fmt_ci(b)}; {n}",
            "95% interval of the prominence above 0 (a local maximum)",
            decide(b["ci"], "above", 0.0), networks=[k for k in nets["mnist"] if f"/{lab}/" in k],
            statistics={"prominence": b}))
    networks = [k for name, _ in RESOLUTIONS for k in nets[name]]
    return {"figures": files, "numbers": numbers, "claims": claims, "networks": networks}
