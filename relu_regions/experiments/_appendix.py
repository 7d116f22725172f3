"""The appendix's matrix-norm argument as a step of the reproduction, over seeds (the computation of one
seed lives in :mod:`relu_regions.experiments._norms`).

What is checked, and what is not a claim: ``||W~_l(x)||_inf <= ||W_l||_inf`` is a theorem (zeroing columns
cannot raise a column sum); it is a unit test (``tests/test_experiments.py``), not a claim. The segment bound
is an inequality too, but its violations are counted here (a failing check prints "does not hold"). The
informative question is whether the bound is ever small enough to explain a kept class: bound < margin.
"""

from __future__ import annotations

import numpy as np

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._pairwise_sets import run_stat
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import decide, fmt, fmt_ci

EXPLAIN_SHARE = 0.5


def norms_appendix(ctx: ExperimentContext) -> dict:
    """``norms_experiment`` on the MNIST 3x128 networks (real and random labels) of every seed: training and
    validation points, ``sizes.n_norm_random`` uniform random inputs and ``sizes.n_norm_segments``
    same-label segments of each network's own training labels. Claims are decided on bootstrap intervals
    over seeds and points/segments; the figure shows the first seed."""
    from relu_regions.experiments._norms import ASSUMPTION_LEVEL, ASSUMPTION_STATEMENT, SET_DESCRIPTIONS, SETS, norms_experiment

    per_seed, raws, keys, figures = [], [], {lab: [] for lab in LABELS}, []
    for c in ctx.per_seed():
        nets = {labels: c.network("mnist", MAIN_WIDTHS, labels) for labels in LABELS}
        real = nets["real"]
        res = norms_experiment(c.out_dir, {k: n.params for k, n in nets.items()}, real.X, real.X_val,
                               y_train={k: n.y for k, n in nets.items()}, n_random=c.sizes.n_norm_random,
                               n_segments=c.sizes.n_norm_segments, seed=c.seed, progress=c.progress,
                               figure=not figures, return_raw=True)
        figures = figures or res["figures"]
        raws.append(res.pop("raw"))
        per_seed.append({"seed": c.seed, "numbers": res["numbers"]})
        for lab, n in nets.items():
            keys[lab].append(n.key)
    stats, claims = {}, []
    for lab in LABELS:
        for s in SETS:
            b = run_stat(ctx, [r[lab]["composed"][s] for r in raws], lambda a: a.fraction(lambda v: v <= 1))
            q = np.quantile(np.concatenate([r[lab]["composed"][s] for r in raws]), [0.01, 0.5, 0.99])
            stats[f"{lab}, {s}: fraction ratio <= 1"] = b
            claims.append(claim(
                f"[{lab} labels, {SET_DESCRIPTIONS[s]}] norm distribution assumption: {ASSUMPTION_STATEMENT}.",
                f"fraction with ||A(x)||_inf / ||W_1...W_L||_inf <= 1: {fmt_ci(b, 4)}; ratio (pooled) median "
                f"{fmt(q[1])}, 1%..99% {fmt(q[0])}..{fmt(q[2])}",
                f"95% interval of the fraction above {ASSUMPTION_LEVEL}", decide(b["ci"], "above", ASSUMPTION_LEVEL),
                networks=keys[lab], statistics={"fraction": b}))
        viol = int(sum(np.sum(r[lab]["violation"]) for r in raws))
        n_seg = int(sum(len(r[lab]["violation"]) for r in raws))
        tight = np.concatenate([r[lab]["bound"] / np.where(r[lab]["actual"] > 0, r[lab]["actual"], np.nan)
                                for r in raws])
        claims.append(claim(
            f"[{lab} labels] segment bound: max_t,k |f_k(x(t)) - f_k(x0)| <= sum_i ||A_i||_inf |dt_i| ||d||_inf on "
            "every same-label segment (exact pieces).",
            f"{viol} violations in {n_seg:,} segments over {len(raws)} seed(s) (counted, tolerance 1e-9 relative); "
            f"bound / actual change: median {fmt(np.nanmedian(tight))}, min {fmt(np.nanmin(tight))}",
            "no violation (a mathematical inequality: it holds for any network, trained or not; a violation "
            "would be a bug)", viol == 0, networks=[]))
        b = run_stat(ctx, [np.stack([r[lab]["bound"], r[lab]["margin"]], axis=1) for r in raws],
                     lambda a: a.fraction(lambda v: v[:, 0] < v[:, 1]))
        b2 = run_stat(ctx, [np.stack([r[lab]["bound"], r[lab]["margin"]], axis=1) for r in raws],
                      lambda a: a.fraction(lambda v: 2 * v[:, 0] < v[:, 1]))
        kept = float(np.mean(np.concatenate([r[lab]["kept"] for r in raws])))
        stats[f"{lab}: fraction bound < margin"] = b
        stats[f"{lab}: fraction 2 x bound < margin"] = b2
        bound = np.concatenate([r[lab]["bound"] for r in raws])
        margin = np.concatenate([r[lab]["margin"] for r in raws])
        claims.append(claim(
            f"[{lab} labels] The appendix's argument explains why same-label segments keep their class: the "
            "segment bound is smaller than the logit margin at the segment's start.",
            f"fraction of segments with bound < margin {fmt_ci(b, 4)} (with 2 x bound < margin, which certifies the "
            f"class: {fmt_ci(b2, 4)}); bound median {fmt(np.median(bound))} (min {fmt(bound.min())}), margin median "
            f"{fmt(np.median(margin))} (max {fmt(margin.max())}); endpoints share the class on {fmt(kept)} of the "
            "segments",
            f"95% interval of the fraction above {EXPLAIN_SHARE} (holds) or below it (does not hold)",
            decide(b["ci"], "above", EXPLAIN_SHARE), networks=keys[lab], statistics={"fraction": b}))
    meaning = []
    for lab in LABELS:
        f = stats[f"{lab}: fraction bound < margin"]["estimate"] or 0.0
        bound = np.concatenate([r[lab]["bound"] for r in raws])
        margin = np.concatenate([r[lab]["margin"] for r in raws])
        if f == 0:
            meaning.append(f"{lab} labels: the bound (median {fmt(np.median(bound))}) exceeds the logit margin at the "
                           f"start (median {fmt(np.median(margin))}) on every segment, so the argument certifies no "
                           "segment; segments that keep their class do so because the logits move together, which a "
                           "bound on each logit's change separately cannot see")
        else:
            meaning.append(f"{lab} labels: the bound is below the margin on a share {fmt(f)} of the segments; the "
                           "argument can explain at most those")
    numbers = {"convention": per_seed[0]["numbers"]["convention"], "assumption": per_seed[0]["numbers"]["assumption"],
               "stats": stats, "per_seed": per_seed, "meaning": "; ".join(meaning) + "."}
    return {"figures": figures, "numbers": numbers, "claims": claims,
            "networks": keys["real"] + keys["random"]}


def norms_section(result: dict) -> str:
    """The appendix's report section (multi-seed result of :func:`norms_appendix`)."""
    from relu_regions.experiments._report import stats_table

    num = result["numbers"]
    if "per_seed" not in num:  # a single-run result (relu-regions norms)
        from relu_regions.experiments._norms import norms_report_section

        return norms_report_section(result)
    lines = ["## Appendix: the matrix inf-norm argument", "",
             f"Convention: {num['convention']}. `A(x)`: the local linear map; `W_1 ... W_L`: the raw product.", "",
             f"Norm distribution assumption, as tested: {num['assumption']['statement']}. {num['assumption']['note']}",
             "", "`||W~_l(x)||_inf <= ||W_l||_inf` per layer is a theorem (zeroing columns cannot raise a column "
             "sum) and is a unit test, not a claim.", "",
             f"What the bound-vs-margin test means: {num['meaning']}", ""]
    lines += stats_table(num["stats"])
    first = num["per_seed"][0]
    lines += [f"Per network, seed {first['seed']}:", ""]
    for net, nd in first["numbers"]["nets"].items():
        g = nd["segments"]
        lines.append(f"- {net} labels: ||W_l||_inf = {', '.join(fmt(v) for v in nd['layer_inf_norms'])}; "
                     f"||W_1...W_L||_inf = {fmt(nd['product_inf_norm'])}; {g['n']} segments, "
                     f"{g['pieces_per_segment']['total']:,} pieces, {g['violations']} violations, bound median "
                     f"{fmt(g['bound'].get('median'))}, margin median {fmt(g['margin'].get('median'))}")
    lines += [""] + [f"![matrix-norm ratios]({f})" for f in result["figures"]] + [""]
    lines += ["Claims:", ""] + [f"- **{c['verdict']}**: {c['claim']} Measured: {c['measured']} (rule: {c['criterion']})"
                                for c in result["claims"]]
    return "\n".join(lines) + "\n"
