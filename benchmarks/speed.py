"""Throughput of exact GIs against the jitted, vmapped sampled GI, on the same rays in the same run.

    python benchmarks/speed.py [--rays 4096] [--repeats 3]

On the trained 3x128 MNIST networks (real and random labels), random ordered same-label pairwise rays,
``t`` in [-1, 2] and in (-inf, inf): rays/s of ``exact_intervals`` (the default call with certified skips,
and the full region walk ``count_regions=True``) and of the sampler at n = 300, 1000, 3000 in float64 and
float32 (one jitted ``lax.map`` over vmapped batches, the first layer computed once per ray, the batch size
tuned for it), as ratios; and the cost per linear region inside the GIs. Compile time is measured separately (first
call minus a warm call of the same shape) and excluded from the throughput. Writes
``benchmarks/results/speed.json``, with the targets of the speed issue as measured ratios (``targets``).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import relu_regions as rr
from relu_regions._network import cast_params
from relu_regions._sampled import _sampled_kernel
from _common import print_table, sample_rays, timed, trained_net, write_json

T_MIN, T_MAX = -1.0, 2.0


def sampler(params, n: int, dtype: str, batch: int):
    """The jitted, vmapped sampled GI (first layer once per ray): ``lax.map`` over batches of ``batch`` rays
    inside one XLA call, so there is no Python overhead per batch. Returns ``f(xs, ds) -> (lo, hi)``."""
    with jax.enable_x64(dtype == "float64"):
        p = cast_params(params, dtype)
        kernel = jax.jit(lambda p, xs, ds, lo, hi: jax.lax.map(lambda a: _sampled_kernel(p, *a, n)[:2],
                                                               (xs, ds, lo, hi), batch_size=batch))

    def run(xs, ds):
        with jax.enable_x64(dtype == "float64"):
            lo = np.full(len(xs), T_MIN, dtype)
            hi = np.full(len(xs), T_MAX, dtype)
            out = jax.block_until_ready(kernel(p, xs.astype(dtype), ds.astype(dtype), lo, hi))
        return jax.device_get(out)
    return run


def tuned_sampler(params, xs, ds, n: int, dtype: str):
    """The sampler with the fastest batch size (of a few, about 2^11 to 2^15 grid points per batch) on a
    sample of the rays; returns ``(f, batch)``."""
    best = None
    for batch in sorted({max(1, 2**k // n) for k in (11, 12, 13, 14, 15)}):
        f = sampler(params, n, dtype, batch)
        k = min(len(xs), 256)
        f(xs[:k], ds[:k])
        t, _, _ = timed(lambda: f(xs[:k], ds[:k]), repeats=2)
        if best is None or t < best[0]:
            best = (t, f, batch)
    return best[1], best[2]


def exact(count: bool | None, t_min=T_MIN, t_max=T_MAX):
    """``count=None``: the default call a user makes; else ``count_regions`` as given."""
    if count is None:
        return lambda p, xs, ds: rr.exact_intervals(p, xs, ds, t_min, t_max)
    return lambda p, xs, ds: rr.exact_intervals(p, xs, ds, t_min, t_max, count_regions=count)


def profile(params, xs, ds, t_min, t_max) -> dict:
    """Where the default call's time goes: the certified float64 lanes (first tier), the compensated
    second tier and the exact rational fallback, timed by wrapping the engine's two internal steps
    (a benchmark-only instrument; the library has no timers)."""
    import relu_regions._interval as interval

    spent = {"tier1_s": 0.0, "tier2_s": 0.0, "tier2_rays": 0, "exact_s": 0.0, "exact_rays": 0}
    solve, resolve = interval.solve_rays, interval._resolve_exactly

    def timed_solve(*a, **k):
        t0 = time.perf_counter()
        out = solve(*a, **k)
        tier = "tier2" if k.get("accurate") else "tier1"
        spent[f"{tier}_s"] += time.perf_counter() - t0
        if tier == "tier2":
            spent["tier2_rays"] += len(a[2][0])
        return out

    def timed_resolve(net, xs, ds, lo, hi, rows, *a, **k):
        t0 = time.perf_counter()
        out = resolve(net, xs, ds, lo, hi, rows, *a, **k)
        spent["exact_s"] += time.perf_counter() - t0
        spent["exact_rays"] += len(rows)
        return out

    interval.solve_rays, interval._resolve_exactly = timed_solve, timed_resolve
    try:
        t0 = time.perf_counter()
        rr.exact_intervals(params, xs, ds, t_min, t_max)
        spent["total_s"] = time.perf_counter() - t0
    finally:
        interval.solve_rays, interval._resolve_exactly = solve, resolve
    return spent


def run(labels: str, n_rays: int, repeats: int, ns, exact_only: bool) -> tuple[list[dict], dict]:
    params, info, X, y = trained_net(labels, progress=False)
    xs, ds = sample_rays(X, y, n_rays, seed=2)
    fns = {"exact (default call)": exact(None), "exact (count_regions=True)": exact(True),
           "exact (default, t in (-inf, inf))": exact(None, -np.inf, np.inf),
           "exact (count_regions=True, t in (-inf, inf))": exact(True, -np.inf, np.inf)}
    batches = {}
    for dtype in () if exact_only else ("float64", "float32"):
        for n in ns:
            f, batches[f"sampled n={n} {dtype}"] = tuned_sampler(params, xs, ds, n, dtype)
            fns[f"sampled n={n} {dtype}"] = lambda p, xs, ds, f=f: f(xs, ds)
    compile_s, results = {}, {}
    for name, fn in fns.items():  # compile time: a first call minus a warm call of the same shape
        k = min(n_rays, 2048)
        t0 = time.perf_counter()
        fn(params, xs[:k], ds[:k])
        first = time.perf_counter() - t0
        warm, _, _ = timed(lambda: fn(params, xs[:k], ds[:k]), repeats=1)
        compile_s[name] = max(first - warm, 0.0)
    times = {name: [] for name in fns}
    for _ in range(repeats):  # interleaved, so that load changes hit every method alike
        for name, fn in fns.items():
            t, _, out = timed(lambda: fn(params, xs, ds), repeats=1)
            times[name].append(t)
            results[name] = out
    ex = results["exact (count_regions=True)"]
    fast = results["exact (default call)"]
    assert np.array_equal(ex.hi_class, fast.hi_class) and np.allclose(ex.hi, fast.hi, atol=0, rtol=1e-9)
    regions = int(ex.n_regions.sum())
    ref = "sampled n=1000 float64"
    ref_rate = n_rays / float(np.median(times[ref])) if ref in times else np.nan
    ref32 = "sampled n=1000 float32"
    ref32_rate = n_rays / float(np.median(times[ref32])) if ref32 in times else np.nan
    rows = []
    for name in fns:
        med = float(np.median(times[name]))
        row = {"labels": labels, "method": name, "rays_per_s": n_rays / med, "median_s": med,
               "times_s": times[name], "compile_s": compile_s[name],
               "speedup_vs_sampled_1000_f64": (n_rays / med) / ref_rate,
               "speedup_vs_sampled_1000_f32": (n_rays / med) / ref32_rate,
               "us_per_region_in_gi": med / regions * 1e6}
        if name.startswith("exact"):
            row["fallback_rate"] = float(np.mean(results[name].fallback))
        if name.startswith("sampled"):
            lo, hi = (np.asarray(v, np.float64) for v in results[name])
            row["batch"] = batches[name]
            row["mean_abs_err"] = float(np.mean(np.abs((hi - lo) - ex.length)))
        rows.append(row)
    med = {name: float(np.median(t)) for name, t in times.items()}
    default, inf = med["exact (default call)"], med["exact (default, t in (-inf, inf))"]
    targets = {  # issue 14 (speed) and issue 9 (the fast path against the counting walk)
        "default_vs_sampled_1000_f64 (>= 30)": rows[0]["speedup_vs_sampled_1000_f64"],
        "default_vs_sampled_1000_f32 (>= 15)": rows[0]["speedup_vs_sampled_1000_f32"],
        "infinite_over_finite_time (<= 2)": inf / default,
        "default_over_counting_time (<= 2)": default / med["exact (count_regions=True)"],
        "default_over_counting_time_infinite (<= 2)": inf / med["exact (count_regions=True, t in (-inf, inf))"],
    }
    prof = {"finite": profile(params, xs, ds, T_MIN, T_MAX), "infinite": profile(params, xs, ds, -np.inf, np.inf)}
    info = {**info, "regions_in_gi_mean": float(ex.n_regions.mean()), "regions_in_gi_total": regions,
            "targets": targets, "profile_default_call": prof}
    return rows, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rays", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, nargs="+", default=[300, 1000, 3000])
    ap.add_argument("--exact-only", action="store_true", help="time only exact_intervals (e.g. an older engine)")
    ap.add_argument("--name", default="speed", help="results/<name>.json")
    args = ap.parse_args()
    rows, nets = [], {}
    for labels in ("real", "random"):
        r, info = run(labels, args.rays, args.repeats, args.n, args.exact_only)
        rows += r
        nets[labels] = info
    print_table(rows, ["labels", "method", "rays_per_s", "speedup_vs_sampled_1000_f64",
                       "speedup_vs_sampled_1000_f32", "compile_s", "fallback_rate"],
                f"Throughput on {args.rays} same-label pairwise rays (median of {args.repeats}), t in [-1, 2]")
    for labels, info in nets.items():
        print(f"targets ({labels} labels): " + "; ".join(f"{k} = {v:.2f}" for k, v in info["targets"].items()))
        for rng, prof in info["profile_default_call"].items():
            print(f"  where the default call's time goes ({rng} range): "
                  + ", ".join(f"{k} {v:.3g}" for k, v in prof.items()))
    write_json(args.name, {"rays": args.rays, "repeats": args.repeats,
                           "t_range": [T_MIN, T_MAX], "networks": nets, "rows": rows,
                           "notes": "us_per_region_in_gi = time / (linear regions inside the exact GIs, summed); "
                                    "sampler: one jitted lax.map over vmapped batches of `batch` rays, the "
                                    "fastest of a few batch sizes"})


if __name__ == "__main__":
    main()
