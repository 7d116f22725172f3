"""The appendix's matrix-norm argument, checked on trained networks (real vs random labels).

For every network: per-layer ``||W~_l(x)||_inf / ||W_l||_inf`` and ``||A(x)||_inf / ||W_1...W_L||_inf``
over training points, validation points, the midpoints of the exact linear pieces of same-label segments
and random inputs (uniform in ``[0, 1]^d``); the norm distribution assumption as a quantile statement
(:data:`relu_regions._norms.ASSUMPTION_STATEMENT`); and the segment bound with its tightness. Norms are
of the map ``y -> y @ M`` for ``(in, out)`` matrices: the largest absolute column sum.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from relu_regions._norms import INF_NORM_CONVENTION, norms_at_points, segment_norms
from relu_regions.experiments._nets import logits
from relu_regions.experiments._rays import same_label_pairs
from relu_regions.plotting._norms import plot_norm_ratios

FIGURE_NAME = "norms_ratios.png"
SETS = ("train", "val", "pieces", "random")
SET_DESCRIPTIONS = {
    "train": "training points",
    "val": "validation points",
    "pieces": "midpoints of the exact linear pieces of same-label segments (norms from each piece's pattern)",
    "random": "random inputs, uniform in [0, 1]^d",
}
#: The paper's norm distribution assumption, as far as its text survives: for 99 % of inputs the local map is
#: "of the same magnitude" as the raw product, and its argument needs ``||A(x)||_inf <= ||W_1...W_L||_inf``
#: (it then bounds the output change by the product's norm). The band it implies is therefore ratio <= 1;
#: no factor is chosen here (the distribution is reported instead).
ASSUMPTION_LEVEL = 0.99
ASSUMPTION_STATEMENT = (f"at least {ASSUMPTION_LEVEL:.0%} of inputs x satisfy ||A(x)||_inf <= ||W_1 W_2 ... W_L||_inf "
                        "(ratio <= 1, the band the paper's argument implies)")
#: Tolerance of a segment-bound violation (as in the library's own check): relative 1e-9 of the bound plus
#: 1e-12 of the largest |logit| at the segment's start.
VIOLATION_RTOL, VIOLATION_ATOL = 1e-9, 1e-12
_QUANTILES = {"q005": 0.005, "q01": 0.01, "q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95,
              "q99": 0.99, "q995": 0.995}


def ratio_summary(r: np.ndarray) -> dict[str, float]:
    """Size, extremes and quantiles of ratios ``r`` ``(n,)`` and the fraction above 1."""
    r = np.asarray(r, dtype=np.float64)
    if r.size == 0:
        return {"n": 0}
    out = {"n": int(r.size), "min": float(r.min()), "max": float(r.max())}
    out.update({k: float(v) for k, v in zip(_QUANTILES, np.quantile(r, list(_QUANTILES.values())))})
    out["frac_above_1"] = float(np.mean(r > 1))
    out["frac_at_most_1"] = float(np.mean(r <= 1))
    return out


def same_label_segments(X: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` ordered same-label pairs ``(X[i], X[j])``, ``i != j``, drawn uniformly without replacement
    (all of them if fewer exist); returns ``(x0s, x1s)`` ``(n, d)`` each."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    I, J, total = same_label_pairs(y, n, np.random.default_rng(seed))
    if total == 0:
        raise ValueError("no two points share a label: no same-label segments")
    return X[I], X[J]


def _per_net(params, points: dict[str, np.ndarray], x0s, x1s, progress: bool):
    norms = {name: norms_at_points(params, X, progress=progress) for name, X in points.items()}
    # rtol=inf: the library would raise on the first violation; here violations are counted instead, so
    # that the check can report "no".
    seg = segment_norms(params, x0s, x1s, progress=progress, rtol=np.inf)
    norms["pieces"] = seg.pieces
    return norms, seg


def segment_margins(params, x0s, x1s, seg) -> dict[str, np.ndarray]:
    """Per segment: ``margin`` (logit of the class at ``x0`` minus the largest other logit), ``bound``
    (``sum_i ||A_i||_inf |dt_i| ||d||_inf``), ``actual`` (largest logit change), ``violation`` (actual
    exceeds the bound beyond rounding) and ``kept`` (the class at ``x1`` equals the one at ``x0``; a
    necessary condition of a kept segment)."""
    F0, F1 = logits(params, x0s), logits(params, x1s)
    c = np.argmax(F0, axis=1)
    top = F0[np.arange(len(c)), c]
    other = np.where(np.arange(F0.shape[1])[None, :] == c[:, None], -np.inf, F0).max(axis=1)
    actual = seg.max_change.max(axis=1)
    violation = actual > seg.bound * (1 + VIOLATION_RTOL) + VIOLATION_ATOL * np.abs(F0).max(axis=1)
    return {"margin": top - other, "bound": seg.bound, "actual": actual, "violation": violation,
            "kept": np.argmax(F1, axis=1) == c}


def _numbers_for_net(norms, seg, n_hidden: int, margins: dict) -> dict[str, Any]:
    any_norms = next(iter(norms.values()))
    sets = {}
    for name in SETS:
        pn = norms[name]
        lr = pn.layer_ratio[:, :n_hidden]
        sets[name] = {
            "description": SET_DESCRIPTIONS[name],
            "n": int(len(pn.composed)),
            "composed_ratio": ratio_summary(pn.composed_ratio),
            "layer_ratio": {"min": lr.min(0).tolist(), "median": np.median(lr, 0).tolist(),
                            "max": lr.max(0).tolist()},
        }
    sets["pieces"]["n_segments"] = int(len(seg.n_pieces))
    sets["pieces"]["midpoint_pattern_agreement"] = float(np.mean(seg.midpoint_agrees))
    tight = seg.tightness
    actual = seg.max_change.max(axis=1)
    return {
        "layer_inf_norms": any_norms.layer_raw[0].tolist(),
        "product_inf_norm": float(any_norms.product[0]),
        "sets": sets,
        "segments": {
            "n": int(len(seg.n_pieces)),
            "pieces_per_segment": {"total": int(seg.n_pieces.sum()), "median": float(np.median(seg.n_pieces)),
                                   "mean": float(np.mean(seg.n_pieces)), "max": int(seg.n_pieces.max())},
            "max_logit_change": ratio_summary(actual),
            "bound": ratio_summary(seg.bound),
            "tightness_bound_over_actual": ratio_summary(tight[np.isfinite(tight)]),
            "n_without_change": int(np.sum(~np.isfinite(tight))),
            "max_actual_over_bound": float(np.max(actual / np.where(seg.bound > 0, seg.bound, np.inf))),
            "violations": int(np.sum(margins["violation"])),
            "margin": ratio_summary(margins["margin"]),
            "frac_bound_below_margin": float(np.mean(margins["bound"] < margins["margin"])),
            "frac_twice_bound_below_margin": float(np.mean(2 * margins["bound"] < margins["margin"])),
            "frac_endpoint_class_kept": float(np.mean(margins["kept"])),
        },
    }


def _claims_for_net(net: str, numbers: dict[str, Any]) -> list[dict[str, Any]]:
    """Claims of one network (one seed; the reproduction decides on intervals over seeds instead)."""
    claims = []
    for s in SETS:
        c = numbers["sets"][s]["composed_ratio"]
        frac = c["frac_at_most_1"]
        claims.append({
            "claim": f"[{net} labels, {SET_DESCRIPTIONS[s]}] norm distribution assumption: {ASSUMPTION_STATEMENT}",
            "measured": (f"fraction {frac:.4f} of n={c['n']}; ratio median {c['median']:.3g}, 0.5%..99.5% "
                         f"quantiles {c['q005']:.3g}..{c['q995']:.3g}"),
            "holds": bool(frac >= ASSUMPTION_LEVEL),
        })
    g = numbers["segments"]
    t = g["tightness_bound_over_actual"]
    claims.append({
        "claim": f"[{net} labels] segment bound: max_t,k |f_k(x(t)) - f_k(x0)| <= sum_i ||A_i||_inf |dt_i| "
                 f"||d||_inf on every same-label segment (exact pieces)",
        "measured": (f"{g['violations']} violations in {g['n']} segments ({g['pieces_per_segment']['total']} pieces); "
                     f"bound/actual median {_fmt(t.get('median'))}, min {_fmt(t.get('min'))}, "
                     f"max {_fmt(t.get('max'))}"),
        "holds": g["violations"] == 0,
    })
    claims.append({
        "claim": f"[{net} labels] the segment bound is smaller than the logit margin at the segment's start (the "
                 "appendix's argument then certifies the class along the segment) on most same-label segments",
        "measured": (f"fraction {g['frac_bound_below_margin']:.4f} (bound < margin), "
                     f"{g['frac_twice_bound_below_margin']:.4f} (2 x bound < margin); bound median "
                     f"{_fmt(g['bound']['median'])}, margin median {_fmt(g['margin']['median'])}"),
        "holds": g["frac_bound_below_margin"] > 0.5,
    })
    return claims


def _per_network(value, names):
    """``value`` if it is a dict (one entry per network), else the same ``value`` for every network."""
    if value is None or isinstance(value, dict):
        return value
    return {n: value for n in names}


def norms_experiment(out_dir, nets: dict, X_train, X_val, segments=None, *, y_train=None, n_random: int = 10_000,
                     n_segments: int = 500, seed: int = 0, progress: bool = True, figure: bool = True,
                     return_raw: bool = False) -> dict[str, Any]:
    """Run the norm checks on every network of ``nets`` (``{"real": params, "random": params}``) and write
    :data:`FIGURE_NAME` into ``out_dir``.

    ``X_train`` ``(n, d)`` and ``X_val`` ``(m, d)``: the evaluated data points. ``segments``: ``(x0s, x1s)``
    ``(S, d)`` each, or a dict of those per network; ``None`` draws ``n_segments`` same-label pairs of
    ``X_train`` with ``y_train`` (an array, or a dict per network: the random-label network's own labels).
    ``n_random`` inputs uniform in ``[0, 1]^d`` (seeded by ``seed``) are shared by all networks.

    Returns a JSON-able dict: ``figures`` (file names in ``out_dir``), ``numbers`` (per network and set:
    ratio summaries, per-layer ratios, segment-bound tightness; plus the conventions) and ``claims``
    (``{"claim", "measured", "holds"}``). Segment-bound violations are counted (``violations``), not
    raised, so that the check can fail; :class:`relu_regions._norms.NormCheckError` is still raised if
    ``||W~_l||_inf > ||W_l||_inf`` (a theorem: zeroing columns cannot raise a column sum). ``figure=False``
    skips the figure; ``return_raw=True`` adds ``raw`` (numpy arrays per network: composed ratios per set,
    segment margins and bounds; not JSON-able, pop it before saving).
    """
    if not nets:
        raise ValueError("nets: expected a non-empty dict of networks")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    X_train, X_val = np.asarray(X_train), np.asarray(X_val)
    rng = np.random.default_rng(seed)
    X_random = rng.uniform(0.0, 1.0, size=(n_random, X_train.shape[1]))
    segs = _per_network(segments, nets)
    if segs is None:
        labels = _per_network(y_train, nets)
        if labels is None:
            raise ValueError("segments=None needs y_train (labels of X_train) to draw same-label pairs")
        segs = {net: same_label_segments(X_train, labels[net], n_segments, seed) for net in nets}
    numbers: dict[str, Any] = {
        "convention": INF_NORM_CONVENTION,
        "assumption": {"statement": ASSUMPTION_STATEMENT, "level": ASSUMPTION_LEVEL, "implied_band": [0, 1],
                       "note": "the paper's formula is lost in the text copy; its argument bounds the output change by "
                               "||W_1...W_L||_inf, which needs ratio <= 1. The ratio's distribution is reported "
                               "instead of a hand-picked 'same magnitude' band."},
        "random_inputs": {"n": int(n_random), "distribution": "uniform in [0, 1]^d", "seed": int(seed)},
        "nets": {},
    }
    composed, layers, tightness, claims, raw = {}, {}, {}, [], {}
    for net, params in nets.items():
        n_hidden = len(params) - 1
        norms, seg = _per_net(params, {"train": X_train, "val": X_val, "random": X_random}, *segs[net],
                              progress=progress)
        margins = segment_margins(params, np.asarray(segs[net][0], np.float64), np.asarray(segs[net][1], np.float64),
                                  seg)
        numbers["nets"][net] = _numbers_for_net(norms, seg, n_hidden, margins)
        raw[net] = {"composed": {s: np.asarray(norms[s].composed_ratio) for s in SETS}, **margins}
        composed[net] = {s: norms[s].composed_ratio for s in SETS}
        layers[net] = norms["train"].layer_ratio[:, :n_hidden]
        tightness[net] = seg.tightness
        claims.extend(_claims_for_net(net, numbers["nets"][net]))
    if figure:
        plot_norm_ratios(out_dir / FIGURE_NAME, composed, layers, tightness,
                         {net: (r["bound"], r["margin"]) for net, r in raw.items()})
    out = {"figures": [FIGURE_NAME] if figure else [], "numbers": numbers, "claims": claims}
    if return_raw:
        out["raw"] = raw
    return out


def _fmt(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.3g}"


def norms_report_section(result: dict[str, Any]) -> str:
    """Markdown section of a :func:`norms_experiment` result (numbers, claims, the figure)."""
    num = result["numbers"]
    lines = ["## The appendix's matrix-norm argument", "",
             f"Convention: {num['convention']}. `A(x)` is the local linear map (`f(y) = y @ A + c` on x's region), "
             "`W~_l` is `W_l` with the columns of inactive units zeroed, `W_1 ... W_L` the raw product (no ReLU).",
             "", f"Norm distribution assumption, made precise: {num['assumption']['statement']}.", ""]
    if "training" in result:
        lines += ["Networks: " + "; ".join(
            f"{net} labels: {t['optimizer']}, {t['epochs']} epochs, train acc {t['final_train_acc']:.3f}, "
            f"val acc {t['final_val_acc']:.3f}" + ("" if t["reached_100pct"] else " (**100% train accuracy not reached**)")
            for net, t in result["training"].items()) + ".", ""]
    lines += ["| labels | points | n | median | 1% | 99% | max | frac > 1 | frac <= 1 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for net, nd in num["nets"].items():
        for s in SETS:
            c = nd["sets"][s]["composed_ratio"]
            lines.append(f"| {net} | {s} | {c['n']} | {_fmt(c['median'])} | {_fmt(c['q01'])} | {_fmt(c['q99'])} | "
                         f"{_fmt(c['max'])} | {c['frac_above_1']:.4f} | {c['frac_at_most_1']:.4f} |")
    lines += ["", "Ratio `||A(x)||_inf / ||W_1 ... W_L||_inf` above; per hidden layer "
              "`||W~_l(x)||_inf / ||W_l||_inf` (median over training points, max over all points) below.", "",
              "| labels | inf-norm of W_l (l = 1..L) | inf-norm of W_1...W_L | layer ratio median (train) "
              "| layer ratio max (all) |",
              "|---|---|---|---|---|"]
    for net, nd in num["nets"].items():
        med = nd["sets"]["train"]["layer_ratio"]["median"]
        mx = [max(nd["sets"][s]["layer_ratio"]["max"][l] for s in SETS) for l in range(len(med))]
        lines.append(f"| {net} | {', '.join(_fmt(v) for v in nd['layer_inf_norms'])} | {_fmt(nd['product_inf_norm'])} "
                     f"| {', '.join(f'{v:.3f}' for v in med)} | {', '.join(f'{v:.4f}' for v in mx)} |")
    lines += ["", "Segment bound `max_t,k |f_k(x(t)) - f_k(x0)| <= sum_i ||A_i||_inf |dt_i| ||d||_inf` over the "
              "exact pieces of same-label segments (tightness = bound / actual):", "",
              "| labels | segments | pieces (median per segment) | tightness median | 1% | 99% | max actual/bound "
              "| violations | bound median | margin median | bound < margin | 2 x bound < margin |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for net, nd in num["nets"].items():
        g = nd["segments"]
        t, pps = g["tightness_bound_over_actual"], g["pieces_per_segment"]
        lines.append(f"| {net} | {g['n']} | {pps['total']} ({_fmt(pps['median'])}) | {_fmt(t.get('median'))} "
                     f"| {_fmt(t.get('q01'))} | {_fmt(t.get('q99'))} | {g['max_actual_over_bound']:.4f} "
                     f"| {g['violations']} | {_fmt(g['bound'].get('median'))} | {_fmt(g['margin'].get('median'))} "
                     f"| {g['frac_bound_below_margin']:.4f} | {g['frac_twice_bound_below_margin']:.4f} |")
    lines += ["", "Claims:", ""]
    lines += [f"- {'holds' if c['holds'] else '**does not hold**'}: {c['claim']} — measured: {c['measured']}"
              for c in result["claims"]]
    lines += [""] + [f"![matrix-norm ratios]({f})" for f in result["figures"]] + [""]
    return "\n".join(lines)

