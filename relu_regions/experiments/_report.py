"""``report.md``: the claim-by-claim table, the networks, and one section per experiment, rendered from
the ``results.json`` dict alone."""

from __future__ import annotations

from relu_regions.experiments._appendix import norms_section
from relu_regions.experiments._registry import EXPERIMENTS
from relu_regions.experiments._sizes import Sizes
from relu_regions.experiments._stats import NOT_TRAINED, fmt, fmt_ci, fmt_p

PAPER = '"Towards Quantifying Intrinsic Generalization of Deep ReLU Networks" (arXiv 1910.08581)'


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _holds(value) -> str:
    return "n/a" if value is None else ("**yes**" if value else "**no**")


def _verdict(c: dict) -> str:
    v = c.get("verdict") or ("inconclusive" if c.get("holds") is None else "holds" if c["holds"] else "does not hold")
    extra = f" (the data alone: {c['verdict_if_trained']})" if c.get("verdict_if_trained") else ""
    why = f"; why: {c['why']}" if c.get("why") else ""
    return f"**{v}**{extra}{why}"


def why_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """``(experiment name, label, claim, why)`` of every claim that is not decided (any 'inconclusive'
    verdict), in the order of :data:`EXPERIMENTS`; ``why`` as recorded, or the verdict itself for records
    written before reasons were kept."""
    rows = []
    for name, exp in EXPERIMENTS.items():
        res = results["experiments"].get(name) or {}
        for c in res.get("claims", []):
            if str(c.get("verdict", "")).startswith("inconclusive"):
                why = c.get("why") or c["verdict"]
                if c.get("verdict_if_trained"):
                    why += f" (the data alone: {c['verdict_if_trained']}"
                    why += f"; {c['why_if_trained']})" if c.get("why_if_trained") else ")"
                rows.append((name, exp.label, c["claim"], why))
    return rows


def inconclusive_section(results: dict) -> list[str]:
    """The report's list of undecided claims with the reason of each."""
    rows = why_rows(results)
    lines = ["## Inconclusive claims and why", ""]
    if not rows:
        return lines + ["Every claim was decided by its rule.", ""]
    lines += [f"{len(rows)} claim(s) are not decided by their rule. 'Interval contains the threshold' or 'neither "
              "inside nor outside the margin' means the data are too few or too noisy at these sizes (or the "
              "effect sits at the threshold); 'training target not reached' means a network the claim rests on "
              "missed 100% training accuracy, so the claim is not tested on the networks the paper describes.", ""]
    lines += [f"- {label}: {text} **Why:** {why}" for _, label, text, why in rows]
    return lines + [""]


def _claim_rows(results: dict, verdict=None, no_rule: str = "see section") -> list[list]:
    """One row per claim: experiment, claim, measured, rule, ``verdict(claim)`` (default :func:`_verdict`)."""
    verdict = verdict or _verdict
    rows = []
    for name, exp in EXPERIMENTS.items():
        res = results["experiments"].get(name)
        if res is None:
            continue
        if "error" in res:
            rows.append([exp.label, f"({exp.title})", f"not run: {res['error'].splitlines()[0]}", "", "n/a"])
            continue
        for c in res["claims"]:
            rows.append([exp.label, c["claim"], c["measured"], c.get("criterion", no_rule), verdict(c)])
    return rows


def stats_table(stats: dict) -> list[str]:
    """Markdown table of bootstrap results: pooled estimate with its 95% interval, then each seed's."""
    if not stats:
        return []
    rows = []
    for name, b in stats.items():
        per = "; ".join(f"{p['seed']}: {fmt_ci(p)}" for p in b.get("per_seed", []))
        rows.append([name, fmt_ci(b), b.get("n_seeds"), per])
    return ["Statistics (estimate = mean over seeds of the statistic on all rays/points; [95% bootstrap interval: "
            "seeds resampled, then rays/points within each seed]; per seed: the interval from resampling that "
            "seed's rays/points only):", ""] + _table(["statistic", "pooled [95% CI]", "seeds", "per seed"], rows)


DEVIATIONS = [
    ("Seeds", "The paper reports one run. Every setting here is repeated over independent seeds (data subset, label "
              "permutation, initialisation, mini-batch order, sampled rays); each statistic is reported per seed and "
              "pooled with a bootstrap 95% interval (seeds, then rays within a seed)."),
    ("Pairs", "Pairwise GIs use each unordered same-label pair once, in a random orientation (the rays (i, j) and "
              "(j, i) lie on one line): 49,500 pairs per network for 1000 images, not 99,000. Pairs of one network "
              "share points and are dependent; verdicts rest on intervals whose independent unit is the seed."),
    ("Initialisation", "Not specified beyond 'random uniform'. Kernels and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
                       "(the PyTorch/Lua-Torch default)."),
    ("Training", "SGD, learning rate 0.01 (the paper's), mini-batches of 32 (not stated in the paper), softmax "
                 "cross-entropy, until 100% training accuracy or the epoch cap. Random-label two moons does not reach "
                 "100% with SGD at 0.01; it is retrained with full-batch Adam (lr 3e-3), recorded per network."),
    ("Random labels", "A permutation of the real training labels (class sizes kept). Label noise p (sensitivity "
                      "study): the labels of a random share p of the samples permuted among themselves."),
    ("Down-sampling", "Not specified. 14x14 and 7x7 MNIST by average pooling over 2x2 / 4x4 blocks."),
    ("Validation data", "1000 test-split images (100 per class) per seed; two moons: 100 further points of the same draw."),
    ("Two moons", "Pairwise GIs pool the same-label pairs of both classes; sklearn make_moons, noise 0.1, min-max "
                  "scaled with the training range."),
    ("t-ranges", "Not all stated. Pairwise rays t in [-1, 2] (GI at most 3); Figs. 2/3 t in [-3, 3] times the median "
                 "class-1 pair distance; triangle mid-lines t in [-2, 3]."),
    ("CIFAR-10", "Only the local copy is used; when batches are missing the 1000 images come from the batches "
                 "present (see the networks' notes)."),
    ("Decision rules", "The paper states its claims qualitatively. Each claim here has a stated rule on a 95% "
                       "interval; 'no difference' needs the interval inside a stated margin (KS distance < 0.1, or a "
                       "median shift within 5% of the range), never a p-value >= 0.05. The KS distance of finite samples is biased "
                       "upward (two samples of one distribution do not give 0), so the KS equivalence test is "
                       "conservative at small sizes; the seed-to-seed KS distance of one setting is reported as the "
                       "floor to read it against."),
    ("Norm assumption", "The paper's formula is lost; its argument needs ||A(x)||_inf <= ||W_1...W_L||_inf, so the "
                        "band tested is ratio <= 1 for 99% of inputs; no 'same magnitude' factor is chosen."),
]


#: What each workload size counts, for the report's list of reduced sizes (fields not listed are shown by name).
SIZE_LABELS = {
    "n_seeds": "seeds",
    "n_per_class": "training images per class",
    "n_val_per_class": "validation images per class",
    "max_epochs": "training cap (epochs)",
    "fallback": "retraining with a second optimizer when the first misses 100%",
    "val_every": "epochs between validation measurements during training (the last epoch is always measured)",
    "snapshot_epochs": "Fig. 9 snapshot epochs",
    "n_pairs": "pairs per pairwise GI set, network and seed (Figs. 3, 4, 6-8)",
    "n_pairs_training": "pairs per Fig. 9 snapshot",
    "n_triangles": "Fig. 5 triangles per labelling and seed",
    "n_paths": "Fig. 1 segment triples per seed",
    "n_pca_starts": "Figs. 2/3 start points per direction and seed",
    "n_norm_random": "appendix: random inputs per network",
    "n_norm_segments": "appendix: same-label segments per network",
    "n_boot": "bootstrap replicates per interval",
    "n_sensitivity_pairs": "sensitivity study: test pairs per network",
    "n_hull_points": "convex-hull study: test points per data set and seed",
    "n_layer_pairs": "layer-wise study: pairs per network and layer",
    "noise_fractions": "sensitivity study: label-noise fractions",
    "gi_batch": "rays per compiled GI batch (speed only, no effect on any result)",
}
#: Why a reduced size is what it is (the quick run's choices), shown next to it.
SIZE_REASONS = {
    "fallback": "a network that misses 100% within the cap stays as it is, and the claims resting on it read "
                "'inconclusive (training target not reached)'",
    "n_norm_segments": "every segment the float64 walk cannot certify is partitioned in exact rational "
                       "arithmetic, about 1 s each, and about half of them need it; the two segment claims are "
                       "counts far from their thresholds",
    "val_every": "nothing uses the per-epoch validation curve: Fig. 9 measures its own accuracies at every "
                 "snapshot, and the final validation accuracy is measured at the last epoch",
    "snapshot_epochs": "every epoch over the first 20 still covers the transition from one predicted class to "
                       "all ten, where the correlation is decided",
    "n_pairs": "all 49,500 pairs of one set take 6-7 CPU-minutes; at 300 the KS intervals are about 0.1 wide",
    "gi_batch": "the engine's small-batch size: its second tier, which re-walks the rays float64 left undecided, "
                "then reuses the first tier's compiled walk, one compilation less per network shape",
    "n_seeds": "the fewest that give an interval over seeds, the independent unit",
}


def _size_value(key: str, value) -> str:
    if value is None:
        return {"n_pairs": "all unordered same-label pairs (49,500 for 1000 images)",
                "n_pca_starts": "every sample of the class"}.get(key, "all")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        v = list(value)
        return ", ".join(map(str, v)) if len(v) <= 12 else f"{len(v)} epochs ({', '.join(map(str, v[:3]))}, ..., {v[-1]})"
    return fmt(value) if not isinstance(value, str) else value


def size_deviations(sizes: dict) -> list[str]:
    """``"what: value (full: value) (why)"`` for every workload size of ``sizes`` (a ``Sizes.to_dict()``)
    that differs from the paper's (``Sizes.full()``), the optimizer aside (its own bullet); the reason
    (:data:`SIZE_REASONS`) is given for the quick run's choices."""
    full = Sizes.full().to_dict()
    skip = {"name", "optimizer", "learning_rate"}
    if not sizes.get("fallback", True):
        skip |= {"fallback_optimizer", "fallback_learning_rate", "fallback_max_epochs", "fallback_batch_size"}
    out = []
    for key, ref in full.items():
        if key in skip or key not in sizes or sizes[key] == ref:
            continue
        why = SIZE_REASONS.get(key) if sizes.get("name", "").startswith("quick") else None
        out.append(f"{SIZE_LABELS.get(key, key)}: {_size_value(key, sizes[key])} (full: {_size_value(key, ref)})"
                   + (f" ({why})" if why else ""))
    return out


def _training_text(sizes: dict) -> str:
    opt = sizes.get("optimizer", "sgd")
    name = "SGD" if opt == "sgd" else "Adam" if opt == "adam" else opt
    return f"{name}, learning rate {fmt(sizes.get('learning_rate', 0.01))}, mini-batches of 32"


def deviations_section(meta: dict) -> list[str]:
    lines = ["## Deviations and choices", "",
             "What the paper leaves open or what this reproduction does differently, and the choice made:", ""]
    sizes = meta["sizes"]
    if sizes.get("optimizer", "sgd") != "sgd" or sizes.get("learning_rate", 0.01) != 0.01:
        lines.append(f"- **Training in this run (sizes '{sizes['name']}').** {_training_text(sizes)}, cap "
                     f"{sizes['max_epochs']:,} epochs, instead of the paper's SGD at 0.01: reduced sizes train "
                     "quickly to 100% training accuracy so that the pipeline runs end to end on trained networks. "
                     "What the optimizer changes is not studied here; the full run uses SGD.")
    reduced = size_deviations(sizes)
    if reduced:
        lines.append(f"- **Reduced sizes in this run (sizes '{sizes['name']}'), not the paper's.**"
                     + (" The quick run is sized to finish in under 10 minutes on 2 CPU cores; each cut is made where "
                        "it costs least: fewer rays, points and segments per set (wider intervals), never fewer "
                        "networks, experiments or claims; a claim the smaller samples cannot decide is "
                        "'inconclusive' and says why." if sizes["name"].startswith("quick") else ""))
        lines += [f"  - {r}" for r in reduced]
    lines += [f"- **{k}.** {v}" for k, v in DEVIATIONS]
    return lines + [""]


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
        rows.append([key, f"{r['n_train']} / {r['n_val']}", r["optimizer"], fmt(r["learning_rate"]),
                     r["batch_size"], f"{r['epochs']} (cap {r['max_epochs']})", _holds(r["reached_100pct"]),
                     fmt(r["final_train_acc"]), fmt(r["final_val_acc"]), note])
    return rows


def _gi_rows(gi: dict) -> list[list]:
    rows = []
    for name, s in gi.items():
        if not s.get("n"):
            continue
        used = f"{fmt(s['n'])}"
        if "n_pairs_total" in s:
            used = (f"{fmt(s.get('n_per_seed', s['n']))} of {fmt(s['n_pairs_total'])} unordered pairs x "
                    f"{s.get('n_seeds', 1)} seed(s)")
        rows.append([name, used, fmt(s["mean"]), fmt(s["median"]), fmt(s["q05"]), fmt(s["q25"]), fmt(s["q75"]),
                     fmt(s["q95"]), fmt(s.get("segment_fraction")), fmt(s.get("full_range_fraction")),
                     fmt(s.get("regions_median"))])
    return rows


def _times(res: dict) -> str:
    """``Wall time 12.3 s, CPU time 10.1 s.`` (CPU: user + system, all threads; older results: wall only)."""
    cpu = f", CPU time {fmt(res['cpu_s'])} s" if res.get("cpu_s") is not None else ""
    return f"Wall time {fmt(res.get('wall_s'))} s{cpu}."


def _section(name: str, res: dict) -> list[str]:
    exp = EXPERIMENTS[name]
    lines = [f"## {exp.label}: {exp.title}", ""]
    if "error" in res:
        return lines + ["Not run:", "", "```", res["error"], "```", ""]
    if name == "norms":
        return [norms_section(res), _times(res), ""]
    lines += [f"![{exp.label}]({f})" for f in res["figures"]] + [""]
    nets = res.get("networks", [])
    lines += [f"Networks ({len(nets)}): {', '.join(f'`{k}`' for k in nets[:12])}{' ...' if len(nets) > 12 else ''}. "
              f"{_times(res)}", ""]
    if res.get("untrained_networks"):
        lines += [f"**Training target not reached** by {len(res['untrained_networks'])} of these networks: claims "
                  f"resting on them read '{NOT_TRAINED}'.", ""]
    num = res["numbers"]
    if num.get("explanation"):
        lines += [f"What the original curve shows, and why: {num['explanation']}", ""]
    if "gi" in num:
        lines += ["GI lengths (exact):", ""]
        lines += _table(["set", "rays", "mean", "median", "q05", "q25", "q75", "q95", "segment [0,1] kept",
                         "whole range", "regions in GI (median)"], _gi_rows(num["gi"]))
    if "kinds" in num:
        lines += _table(["path", "n", "segment kept", "label-logit range median", "pieces median", "class changes median"],
                        [[k, num["n_paths"], fmt(v["kept_fraction"]), fmt(v["label_range"]["median"]),
                          fmt(v["pieces"]["median"]), fmt(v["changes"]["median"])] for k, v in num["kinds"].items()])
    lines += stats_table(num.get("stats", {}))
    if num.get("seed_floor"):
        lines += ["Seed-to-seed KS distance of one setting (the noise floor real-vs-random distances are read "
                  "against): " + ", ".join(f"{k} {fmt(v)}" for k, v in num["seed_floor"].items()), ""]
    if "ks" in num:
        lines += ["Two-sample Kolmogorov-Smirnov distances of the pooled samples (descriptive; p-values treat "
                  "dependent pairs as independent and are not used for verdicts):", ""]
        lines += _table(["comparison", "D", "p-value", "n1", "n2"],
                        [[k, fmt(v["statistic"]), fmt_p(v["pvalue"]).lstrip("="), fmt(v["n1"]), fmt(v["n2"])]
                         for k, v in num["ks"].items()])
    if "table" in num and num["table"]:
        table = num["table"]
        cols = list(table[0])
        if "seed" in cols:
            first = table[0]["seed"]
            shown = [r for r in table if r["seed"] == first]
            if len(shown) < len(table):
                lines += [f"Per-snapshot/per-network values of seed {first} (all seeds: results.json):", ""]
            table = shown
        lines += _table(cols, [[fmt(r[c]) if not isinstance(r[c], str) else r[c] for c in cols] for r in table])
    lines += ["Claims:", ""]
    lines += [f"- {_verdict(c)}: {c['claim']} Measured: {c['measured']} (rule: {c['criterion']})"
              for c in res["claims"]]
    return lines + [""]


def _verdict_counts(results: dict) -> dict:
    counts: dict = {}
    for res in results["experiments"].values():
        for c in res.get("claims", []):
            counts[c.get("verdict", "n/a")] = counts.get(c.get("verdict", "n/a"), 0) + 1
    return counts


def render_report(results: dict) -> str:
    """Markdown report of a ``results.json`` dict (``meta``, ``networks``, ``experiments``)."""
    meta = results["meta"]
    sizes = meta["sizes"]
    seeds = meta.get("seeds", [meta["seed"]])
    pairs = ("all unordered same-label pairs" if sizes["n_pairs"] is None
             else f"{sizes['n_pairs']:,} random unordered same-label pairs")
    untrained = sorted(k for k, r in results["networks"].items() if not r.get("reached_100pct", True))
    counts = _verdict_counts(results)
    lines = [
        "# Reproduction report", "",
        f"Paper: {PAPER}. Generated by `relu-regions reproduce` (relu_regions {meta['versions']['relu_regions']}); "
        f"last updated {meta['updated']}.", "",
        f"Sizes: **{sizes['name']}** ({pairs} per pairwise GI set and seed; training ({_training_text(sizes)}) to "
        f"100 % training accuracy, cap {sizes['max_epochs']:,} epochs; {sizes['n_triangles']:,} triangles per labelling; "
        f"{sizes['n_pairs_training']:,} pairs per snapshot in Fig. 9). Seeds: {', '.join(map(str, seeds))} "
        f"({len(seeds)}); {sizes.get('n_boot', 'n/a')} bootstrap replicates per interval. Data: "
        f"{'the directory given with --data-dir' if meta['data_dir'] else 'default sources'}.", "",
        *([] if sizes["name"] == "full" else [
            "**Reduced sizes: not the paper's setting.** Few seeds, few rays"
            + ("" if sizes.get("optimizer", "sgd") == "sgd" else f", {_training_text(sizes)} instead of the paper's SGD")
            + "; read the verdicts as a test of the pipeline, not as results.", ""]),
        *([] if not untrained else [
            f"**Training target not reached by {len(untrained)} of {len(results['networks'])} networks** "
            f"(100 % training accuracy within the {sizes['max_epochs']}-epoch cap). Every claim resting on one of them "
            f"is '{NOT_TRAINED}'; what the data alone would say is shown in brackets.", ""]),
        "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".", "",
        "How verdicts are reached: every statistic has a 95% bootstrap interval (seeds resampled, then rays or points "
        "within each seed). A claim **holds** when the interval lies on the claimed side of the stated threshold, "
        "**does not hold** when it lies on the other side, and is **inconclusive** otherwise. 'Nearly identical' / "
        "'no difference' is an equivalence statement: the interval must lie inside a stated margin (the KS distance "
        "below 0.1, or a median shift within 5% of the range); a large p-value is never taken as evidence of no "
        "difference.", "",
        "Every GI is exact (`rr.exact_intervals`: float64 region walk, no sampling). Pairwise GIs: ray from a "
        "training point x_i towards another training point x_j with the same (training) label, d = x_j - x_i, "
        "t in [-1, 2] (largest GI 3), each unordered pair once; 'segment [0,1] kept' = fraction of rays whose GI "
        "contains [0, 1]. Figures: GIs equal to the whole range (capped) are a separate bar, not a spike.", "",
        "## Claims, as measured", "",
    ]
    lines += _table(["", "The claim", "Measured (estimate [95% CI])", "Rule", "Verdict"], _claim_rows(results))
    lines += inconclusive_section(results)
    lines += deviations_section(meta)
    lines += ["## Networks", "",
              "MLPs with ReLU, random-uniform initialisation (kernels and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))), "
              "softmax cross-entropy; trained until 100 % training accuracy or the cap.", ""]
    lines += _table(["network (data/widths/labels/seed)", "train / val", "optimizer", "lr", "batch", "epochs",
                     "100 % train acc", "train acc", "val acc", "notes"], _network_rows(results))
    for name in EXPERIMENTS:
        if name in results["experiments"]:
            lines += _section(name, results["experiments"][name])
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the README's claim table
#: Markers around the generated claim table in a Markdown file (see :func:`update_claim_table`).
TABLE_START = "<!-- claim-table: generated by `python -m relu_regions.experiments.readme_table`; do not edit by hand -->"
TABLE_END = "<!-- claim-table: end -->"


def _short_verdict(c: dict) -> str:
    v = c.get("verdict") or "n/a"
    if c.get("verdict_if_trained"):
        v = f"{v} (data alone: {c['verdict_if_trained']})"
    return f"{v}; why: {c['why']}" if c.get("why") else v


def claim_table(results: dict, report_link: str | None = None) -> str:
    """The claim-by-claim table of a ``results.json`` dict as Markdown, with a caption stating the sizes, seeds,
    networks (how many reached the training target), run date and package version it comes from; every
    number in it is the report's own text. ``report_link``: where the full report lies (linked in the
    caption)."""
    meta, nets = results["meta"], results["networks"]
    sizes = meta["sizes"]
    seeds = meta.get("seeds", [meta.get("seed")])
    pairs = ("all unordered same-label pairs (49,500 per network for 1000 images)" if sizes["n_pairs"] is None
             else f"{sizes['n_pairs']:,} unordered same-label pairs per set and seed")
    trained = sum(bool(r.get("reached_100pct")) for r in nets.values())
    counts = _verdict_counts(results)
    wall = sum(r.get("wall_s") or 0 for r in results["experiments"].values())
    cpu = [r.get("cpu_s") for r in results["experiments"].values()]
    cpu_text = f", {sum(cpu) / 60:.1f} min CPU time" if cpu and None not in cpu else ""
    caption = [
        f"Generated from `results.json` of `relu-regions reproduce` (sizes **{sizes['name']}**; relu_regions "
        f"{meta['versions'].get('relu_regions')}; run {meta.get('created')} to {meta['updated']}, experiments "
        f"{wall / 60:.1f} min wall time{cpu_text}): seeds {', '.join(map(str, seeds))} ({len(seeds)}); {pairs}; training "
        f"({_training_text(sizes)}) to 100%, cap {sizes['max_epochs']:,} epochs; {sizes['n_boot']} bootstrap replicates per interval; "
        f"{len(nets)} networks, {trained} of which reached 100% training accuracy."
        + (f" Full report: [{report_link}]({report_link})." if report_link else ""),
        "",
        "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ". Measured values are "
        "estimate [95% bootstrap interval over seeds, then rays/points].",
        "",
    ]
    if sizes["name"] != "full":
        caption += ["**Reduced sizes, not the paper's setting**: a smoke test of the pipeline, not a result.", ""]
    if trained < len(nets):
        caption += [f"**{len(nets) - trained} of {len(nets)} networks did not reach the training target**; claims "
                    f"resting on them read '{NOT_TRAINED}' (followed by what the data alone would say).", ""]
    rows = _claim_rows(results, _short_verdict, no_rule="")
    table = _table(["", "Claim", "Measured (estimate [95% CI])", "Rule", "Verdict"], rows)
    return "\n".join(caption + table).rstrip("\n") + "\n"


def update_claim_table(markdown: str, table: str) -> str:
    """``markdown`` with the text between :data:`TABLE_START` and :data:`TABLE_END` replaced by ``table``."""
    if TABLE_START not in markdown or TABLE_END not in markdown:
        raise ValueError(f"the file has no claim-table markers ({TABLE_START!r} ... {TABLE_END!r})")
    head, rest = markdown.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}{TABLE_END}{tail}"

