"""Interpolation vs extrapolation (Yousefzadeh 2022): is a test point inside the convex hull of the
training set (a linear program), and how do the GIs of rays from it, bounded and unbounded, differ?"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from relu_regions.experiments._claims import claim
from relu_regions.experiments._context import PAIR_RANGE, ExperimentContext
from relu_regions.experiments._nets import logits
from relu_regions.experiments._pairwise_sets import run_stat
from relu_regions.experiments._rays import fixed_rays
from relu_regions.experiments._sizes import MAIN_WIDTHS
from relu_regions.experiments._stats import INCONCLUSIVE, Verdict, decide, fmt, fmt_ci
from relu_regions.plotting import new_figure, plot_gi_histograms, save_figure

FIGURE = "hull.png"
DATASETS = (("mnist", "MNIST 28x28 (784-d)"), ("mnist7", "MNIST 7x7 (49-d)"), ("moons", "two moons (2-d)"))


def in_hull(X: np.ndarray, x: np.ndarray) -> bool:
    """Whether ``x`` lies in the convex hull of the rows of ``X``: feasibility of ``lambda >= 0``,
    ``sum lambda = 1``, ``X^T lambda = x`` (``scipy.optimize.linprog``, HiGHS)."""
    X = np.asarray(X, np.float64)
    A = np.vstack([X.T, np.ones(len(X))])
    b = np.append(np.asarray(x, np.float64), 1.0)
    res = linprog(np.zeros(len(X)), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    if res.status not in (0, 2):
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.status == 0


def _gap_stat(which: str):
    def stat(a):
        v = a.values
        inside = v[:, 0] > 0.5
        w = a.weights
        if which == "unbounded":
            col = v[:, 2]
        else:
            col = v[:, 1]
        wi, wo = w * inside, w * ~inside
        if wi.sum() == 0 or wo.sum() == 0:
            return float("nan")
        return float(np.sum(wo * col) / wo.sum() - np.sum(wi * col) / wi.sum())
    return stat


def hull(ctx: ExperimentContext) -> dict:
    """For the real-label 3x128 networks on MNIST 28x28, MNIST 7x7 and two moons, every seed:
    ``sizes.n_hull_points`` validation points, each tested for membership of the convex hull of the
    training set (:func:`in_hull`). From each such point ``x`` a ray points to a random training point
    ``x_j`` of the class the network predicts at ``x`` (``d = x_j - x``); its GI is taken over ``t`` in
    [-1, 2] (bounded) and over the whole line (``unbounded``: one end at infinity, the class never changes
    on that side). Numbers split by inside/outside the hull."""
    per, rows, keys = {name: [] for name, _ in DATASETS}, [], {name: [] for name, _ in DATASETS}
    lengths = {name: {"inside": [], "outside": []} for name, _ in DATASETS}
    for c in ctx.per_seed():
        for name, _ in DATASETS:
            net = c.network(name, MAIN_WIDTHS, "real")
            keys[name].append(net.key)
            rng = c.rng(f"hull/{name}")
            idx = rng.choice(len(net.y_val), size=min(c.sizes.n_hull_points, len(net.y_val)), replace=False)
            xs = net.X_val[idx].astype(np.float64)
            inside = np.array([in_hull(net.X, x) for x in xs])
            pred = np.argmax(logits(net.params, xs), axis=1)
            J = np.array([rng.choice(np.flatnonzero(net.y == p)) if np.any(net.y == p) else rng.integers(len(net.y))
                          for p in pred])
            ds = net.X[J].astype(np.float64) - xs
            iv = c.gis(net.params, fixed_rays(xs, ds), len(xs), *PAIR_RANGE, desc=f"hull GIs {net.key}",
                       count_regions=False)
            ivu = c.gis(net.params, fixed_rays(xs, ds), len(xs), -np.inf, np.inf, desc=f"line GIs {net.key}",
                        count_regions=False)
            unb = ~(np.isfinite(ivu.lo) & np.isfinite(ivu.hi))
            L = np.asarray(iv.length, np.float64)
            per[name].append(np.stack([inside.astype(float), L, unb.astype(float)], axis=1))
            lengths[name]["inside"].append(L[inside])
            lengths[name]["outside"].append(L[~inside])
            rows.append({"seed": c.seed, "dataset": name, "n": int(len(xs)), "inside": int(inside.sum()),
                         "median_gi_inside": float(np.median(L[inside])) if inside.any() else None,
                         "median_gi_outside": float(np.median(L[~inside])) if (~inside).any() else None,
                         "unbounded_inside": float(unb[inside].mean()) if inside.any() else None,
                         "unbounded_outside": float(unb[~inside].mean()) if (~inside).any() else None})
    stats = {}
    for name, _ in DATASETS:
        stats[f"{name}: fraction outside the hull"] = run_stat(ctx, per[name], lambda a: a.fraction(lambda v: v[:, 0] < 0.5))
        stats[f"{name}: mean GI outside - inside"] = run_stat(ctx, per[name], _gap_stat("gi"))
        stats[f"{name}: unbounded share outside - inside"] = run_stat(ctx, per[name], _gap_stat("unbounded"))
        stats[f"{name}: unbounded share"] = run_stat(ctx, per[name], lambda a: a.fraction(lambda v: v[:, 2] > 0.5))
    fig, axes = new_figure(len(DATASETS), sharey=True)
    for ax, (name, desc) in zip(axes[0], DATASETS):
        plot_gi_histograms(ax, {k: v for k, v in lengths[name].items() if sum(map(len, v))},
                           PAIR_RANGE[1] - PAIR_RANGE[0],
                           f"{desc}: outside the hull {fmt(stats[f'{name}: fraction outside the hull']['estimate'])}, "
                           f"unbounded {fmt(stats[f'{name}: unbounded share']['estimate'])}", bin_width=0.1)
    fig.suptitle("Interpolation vs extrapolation: GIs (t in [-1, 2]) of rays from test points to a training point "
                 "of the predicted class, inside vs outside the training set's convex hull", fontsize=9)
    files = [save_figure(fig, ctx.figure_path(FIGURE))]
    n = f"{ctx.sizes.n_hull_points} test points per data set and seed, {len(ctx.seeds)} seed(s)"
    claims = []
    for name, desc in DATASETS[:2]:
        b = stats[f"{name}: fraction outside the hull"]
        claims.append(claim(
            f"Yousefzadeh: most test images lie outside the convex hull of the training set ({desc}).",
            f"fraction outside {fmt_ci(b)}; {n}", "95% interval of the fraction above 0.5",
            decide(b["ci"], "above", 0.5), networks=[], statistics={"fraction": b}))  # data only: no network
    for name, desc in DATASETS:
        d = stats[f"{name}: unbounded share outside - inside"]
        verdict = decide(d["ci"], "above", 0.0)
        if d["ci"][0] is None:
            out = stats[f"{name}: fraction outside the hull"]["estimate"]
            side = ("every test point lies outside the training set's convex hull" if out == 1 else
                    "every test point lies inside the training set's convex hull" if out == 0 else
                    "too few test points on one side of the hull in some seed")
            verdict = Verdict(INCONCLUSIVE, f"no interval: {side}, so there is nothing to compare")
        claims.append(claim(
            f"Extrapolating test points ({desc}) more often have unbounded GIs (the class never changes along one "
            "direction of the line) than interpolating ones.",
            f"unbounded share outside minus inside {fmt_ci(d)}; mean GI (t in [-1, 2]) outside minus inside "
            f"{fmt_ci(stats[f'{name}: mean GI outside - inside'])}; {n}",
            "95% interval of the difference above 0 (needs test points on both sides of the hull)",
            verdict, networks=keys[name], statistics={"difference": d}))
    numbers = {"stats": stats, "table": rows}
    return {"figures": files, "numbers": numbers, "claims": claims,
            "networks": [k for name, _ in DATASETS for k in keys[name]]}
