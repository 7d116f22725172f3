"""Render the measured tables of ``benchmarks/results/*.json`` as Markdown (for ``benchmarks/README.md``).

    python benchmarks/report.py
"""

from __future__ import annotations

import json

from _common import RESULTS


def _fmt(v, digits=3):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def table(rows, cols, heads=None):
    heads = heads or cols
    out = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(_fmt(r.get(c, "")) if c in r else "" for c in cols) + " |" for r in rows]
    return "\n".join(out)


def _load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _env(d):
    e = d["environment"]
    return f"_{e['time']}, load average {', '.join(f'{x:.1f}' for x in e['loadavg'])} on {e['cpu_count']} cores_"


def main() -> None:
    if d := _load("networks"):
        print("### Networks\n")
        print(table(d["networks"], ["labels", "optimizer", "learning_rate", "batch_size", "epochs", "train_acc",
                                    "val_acc", "reached_100pct", "train_wall_s"]))
    if d := _load("workload"):
        print(f"\n### Full workload: {d['rows'][0]['rays']:,} rays ({_env(d)})\n")
        print(table(d["rows"], ["labels", "wall_s", "rays_per_s", "compile_s", "counting_wall_s",
                                "max_abs_diff_vs_counting", "gi_length_mean"],
                    ["labels", "wall time (s)", "rays/s", "compile (s)", "counting walk (s)",
                     "max diff fast vs counting", "mean GI length"]))
    if d := _load("workload_2dev"):
        print(f"\n### Full workload sharded over 2 CPU devices ({_env(d)}; history: the uncertified engine of "
              "that date)\n")
        print(table(d["rows"], ["labels", "wall_s", "rays_per_s", "compile_s"],
                    ["labels", "wall time (s)", "rays/s", "compile (s)"]))
    if d := _load("speed"):
        print(f"\n### Throughput, {d['rays']:,} rays, median of {d['repeats']} ({_env(d)})\n")
        print(table(d["rows"], ["labels", "method", "rays_per_s", "speedup_vs_sampled_1000_f64",
                                "us_per_region_in_gi", "compile_s", "mean_abs_err"],
                    ["labels", "method", "rays/s", "x sampled n=1000 f64", "us per region in GI", "compile (s)",
                     "mean abs error of length"]))
    before, after = _load("speed_baseline"), _load("speed_after")
    if before and after:
        rows = [{**r, "engine": "before"} for r in before["rows"]] + [{**r, "engine": "after"} for r in after["rows"]]
        print(f"\n### Engine before / after, {after['rays']:,} rays, back to back "
              f"(before: {_env(before)}; after: {_env(after)}; history: 'exact fast' is the uncertified fast "
              "path of that date, since replaced by the certified one)\n")
        print(table(sorted(rows, key=lambda r: r["labels"]), ["labels", "engine", "method", "rays_per_s",
                                                              "us_per_region_in_gi"],
                    ["labels", "engine", "method", "rays/s", "us per region in GI"]))
    if d := _load("accuracy"):
        print(f"\n### Sampled vs exact GI lengths, {d['rays']:,} rays ({_env(d)})\n")
        print(table(d["rows"], ["labels", "n", "spacing", "mean_abs_err", "max_abs_err", "mean_rel_err",
                                "missed_change_fraction"],
                    ["labels", "n", "grid spacing", "mean abs error", "max abs error", "mean rel error",
                     "rays with a skipped change"]))
        rows = [{"labels": k, **v} for k, v in d["regions"].items()]
        print("\n" + table(rows, ["labels", "in_gi_mean", "in_gi_median", "in_gi_max", "segment_mean",
                                  "segment_max", "gi_length_mean"],
                           ["labels", "regions in GI (mean)", "median", "max", "regions on [-1, 2] (mean)", "max",
                            "mean GI length"]))
    for name in ("scaling", "scaling_depth"):
        if d := _load(name):
            print(f"\n### Scaling: {', '.join(d['axes'])} (`{name}.json`, {_env(d)})\n")
            print(table(d["rows"], ["axis", "config", "default_rays_per_s", "counting_rays_per_s",
                                    "sampler_rays_per_s", "x_sampler", "x_counting", "regions_in_gi_mean",
                                    "skipped_fraction", "fallback_rate"],
                        ["axis", "network / range", "default rays/s", "counting rays/s", "sampled n=1000 f64 rays/s",
                         "x sampler", "x counting", "regions in GI", "regions skipped", "exact fallback"]))
    if d := _load("pieces"):
        print(f"\n### Segment partitions: `linear_pieces` vs exact arithmetic alone, {d['segments_per_network']} "
              f"Fig. 1 segments per network, median of {d['repeats']} ({_env(d)})\n")
        print(table(d["rows"], ["labels", "segments", "pieces_mean", "default_s", "exact_only_s", "speedup", "plain",
                                "compensated", "exact_fallback", "same_partition"],
                    ["labels", "segments", "pieces per segment", "linear_pieces (s)", "exact arithmetic alone (s)",
                     "speed-up", "plain float64", "compensated", "exact", "same partition"]))

if __name__ == "__main__":
    main()
