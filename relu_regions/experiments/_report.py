"""``report.md``: the claim-by-claim table, the networks, and one section per experiment, rendered from
the ``results.json`` dict alone."""

from __future__ import annotations

from relu_regions.experiments._appendix import norms_section
from relu_regions.experiments._registry import EXPERIMENTS
from relu_regions.experiments._stats import DIFFERENT_KS, SIMILAR_KS, fmt, fmt_p

PAPER = '"Towards Quantifying Intrinsic Generalization of Deep ReLU Networks" (arXiv 1910.08581)'


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _holds(value) -> str:
    return "n/a" if value is None else ("**yes**" if value else "**no**")


def _claim_rows(results: dict) -> list[list]:
    rows = []
    for name, exp in EXPERIMENTS.items():
        res = results["experiments"].get(name)
        if res is None:
            continue
        if "error" in res:
            rows.append([exp.label, f"({exp.title})", f"not run: {res['error'].splitlines()[0]}", "", "n/a"])
            continue
        for c in res["claims"]:
            rows.append([exp.label, c["claim"], c["measured"], c.get("criterion", "see section"), _holds(c["holds"])])
    return rows


def _network_rows(results: dict) -> list[list]:
    rows = []
    for key, r in sorted(results["networks"].items()):
        tried = r.get("attempts", [])
        note = ""
        if len(tried) > 1:
            first = tried[0]
            note = (f"{first['optimizer']} lr {first['learning_rate']} reached only {fmt(first['final_train_acc'])} "
                    f"train acc in {first['epochs']} epochs; retrained")
        if r.get("notes"):
            note = "; ".join([note] + r["notes"]) if note else "; ".join(r["notes"])
        rows.append([key, f"{r['n_train']} / {r['n_val']} ({r['val_source']})", r["optimizer"], fmt(r["learning_rate"]),
                     r["batch_size"], f"{r['epochs']} (cap {r['max_epochs']})", _holds(r["reached_100pct"]),
                     fmt(r["final_train_acc"]), fmt(r["final_val_acc"]), note])
    return rows


def _gi_rows(gi: dict) -> list[list]:
    rows = []
    for name, s in gi.items():
        if not s.get("n"):
            continue
        used = f"{fmt(s['n'])}" + (f" of {fmt(s['n_pairs_total'])}" if "n_pairs_total" in s else "")
        rows.append([name, used, fmt(s["mean"]), fmt(s["median"]), fmt(s["q05"]), fmt(s["q25"]), fmt(s["q75"]),
                     fmt(s["q95"]), fmt(s.get("segment_fraction")), fmt(s.get("full_range_fraction")),
                     fmt(s.get("regions_median"))])
    return rows


def _section(name: str, res: dict) -> list[str]:
    exp = EXPERIMENTS[name]
    lines = [f"## {exp.label}: {exp.title}", ""]
    if "error" in res:
        return lines + ["Not run:", "", "```", res["error"], "```", ""]
    if name == "norms":
        return [norms_section(res), f"Wall time {fmt(res.get('wall_s'))} s.", ""]
    lines += [f"![{exp.label}]({f})" for f in res["figures"]] + [""]
    lines += [f"Networks: {', '.join(f'`{k}`' for k in res.get('networks', []))}. Wall time {fmt(res.get('wall_s'))} s.",
              ""]
    num = res["numbers"]
    if "gi" in num:
        lines += ["GI lengths (exact):", ""]
        lines += _table(["set", "rays", "mean", "median", "q05", "q25", "q75", "q95", "segment [0,1] kept",
                         "whole range", "regions in GI (median)"], _gi_rows(num["gi"]))
    if "kinds" in num:
        lines += _table(["path", "n", "segment kept", "label-logit range median", "pieces median", "class changes median"],
                        [[k, num["n_paths"], fmt(v["kept_fraction"]), fmt(v["label_range"]["median"]),
                          fmt(v["pieces"]["median"]), fmt(v["changes"]["median"])] for k, v in num["kinds"].items()])
    if "ks" in num:
        lines += ["Two-sample Kolmogorov-Smirnov tests (scipy.stats.ks_2samp):", ""]
        lines += _table(["comparison", "D", "p-value", "n1", "n2"],
                        [[k, fmt(v["statistic"]), fmt_p(v["pvalue"]).lstrip("="), fmt(v["n1"]), fmt(v["n2"])]
                         for k, v in num["ks"].items()])
    if "table" in num and num["table"]:
        cols = list(num["table"][0])
        lines += _table(cols, [[fmt(r[c]) if not isinstance(r[c], str) else r[c] for c in cols] for r in num["table"]])
    lines += ["Claims:", ""]
    lines += [f"- {_holds(c['holds'])}: {c['claim']} Measured: {c['measured']} (criterion: {c['criterion']})"
              for c in res["claims"]]
    return lines + [""]


def render_report(results: dict) -> str:
    """Markdown report of a ``results.json`` dict (``meta``, ``networks``, ``experiments``)."""
    meta = results["meta"]
    sizes = meta["sizes"]
    pairs = "all ordered same-label pairs" if sizes["n_pairs"] is None else f"{sizes['n_pairs']:,} random same-label pairs"
    lines = [
        "# Reproduction report", "",
        f"Paper: {PAPER}. Generated by `relu-regions reproduce` (relu_regions {meta['versions']['relu_regions']}); "
        f"last updated {meta['updated']}.", "",
        f"Sizes: **{sizes['name']}** ({pairs} per pairwise GI set; training to 100 % training accuracy, cap "
        f"{sizes['max_epochs']} epochs; {sizes['n_triangles']:,} triangles per labelling; "
        f"{sizes['n_pairs_training']:,} pairs per snapshot in Fig. 9). Seed {meta['seed']}. Data: "
        f"{meta['data_dir'] or 'default sources'}.", "",
        *([] if sizes["name"] == "full" else [
            "**Reduced sizes: not the paper's setting.** Networks may stop before 100 % training accuracy and the "
            "distributions use few rays; read the verdicts below as a smoke test, not as results.", ""]),
        "Every GI is exact (`rr.exact_intervals`: float64 region walk, no sampling). Pairwise GIs: ray from a "
        "training point x_i towards another training point x_j with the same (training) label, d = x_j - x_i, "
        "t in [-1, 2] (largest GI 3); 'segment [0,1] kept' = fraction of rays whose GI contains [0, 1], i.e. the "
        "whole segment between the two samples keeps the label.", "",
        f"Thresholds: two GI distributions count as nearly identical when the KS distance D < {SIMILAR_KS} and "
        f"as clearly different when D >= {DIFFERENT_KS} (with ~10^5 rays every difference is 'significant', so "
        "the distance decides, not the p-value).", "",
        "## Claims, as measured", "",
    ]
    lines += _table(["", "The paper's claim", "Measured", "Criterion", "Holds"], _claim_rows(results))
    lines += ["## Networks", "",
              "MLPs with ReLU, random-uniform initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), softmax "
              "cross-entropy; trained until 100 % training accuracy or the cap.", ""]
    lines += _table(["network (data/widths/labels)", "train / val", "optimizer", "lr", "batch", "epochs",
                     "100 % train acc", "train acc", "val acc", "notes"], _network_rows(results))
    for name in EXPERIMENTS:
        if name in results["experiments"]:
            lines += _section(name, results["experiments"][name])
    return "\n".join(lines) + "\n"
