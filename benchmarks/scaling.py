"""How the cost of exact GIs grows with width, depth, input dimension and the number of rays.

    python benchmarks/scaling.py [--rays 2048] [--sampler-rays 512]

Trained MNIST networks (real labels, SGD lr 0.01 to 100 % training accuracy, cached): 3 hidden layers of
64..512 units; 1..5 hidden layers of 128; 3x128 on 7x7, 14x14 and 28x28 inputs; and the 3x128 28x28
network on 256..16384 rays. Same-label pairwise rays, ``t`` in [-1, 2]. For each: rays/s of the fast path
(``count_regions=False``), of the region-counting walk and of the float64 sampler at n = 1000 (one jitted
``lax.map`` over batches of 8 rays), the linear regions inside the GIs, and the cost per region of the
counting walk. Compile time excluded (warm-up call). Writes ``benchmarks/results/scaling.json``.
"""

from __future__ import annotations

import argparse
import time


import relu_regions as rr
from _common import print_table, sample_rays, timed, trained_net, write_json
from speed import sampler

T_MIN, T_MAX = -1.0, 2.0


def measure(params, xs, ds, sampler_rays: int, repeats: int) -> dict:
    fast = lambda: rr.exact_intervals(params, xs, ds, T_MIN, T_MAX, count_regions=False)
    count = lambda: rr.exact_intervals(params, xs, ds, T_MIN, T_MAX)
    samp = sampler(params, 1000, "float64", 8)
    sx, sd = xs[:sampler_rays], ds[:sampler_rays]
    for f in (fast, count, lambda: samp(sx, sd)):  # warm up (compile)
        f()
    t_fast, _, _ = timed(fast, repeats)
    t_count, _, C = timed(count, repeats)
    t_samp, _, _ = timed(lambda: samp(sx, sd), repeats)
    n = len(xs)
    return {"fast_rays_per_s": n / t_fast, "counting_rays_per_s": n / t_count,
            "sampled_1000_f64_rays_per_s": len(sx) / t_samp,
            "fast_vs_sampled": (n / t_fast) / (len(sx) / t_samp),
            "regions_in_gi_mean": float(C.n_regions.mean()),
            "counting_us_per_region": t_count / C.n_regions.sum() * 1e6,
            "fast_us_per_ray": t_fast / n * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rays", type=int, default=2048)
    ap.add_argument("--sampler-rays", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    configs = ([("width", f"3x{w}", dict(widths=(w,) * 3)) for w in (64, 128, 256, 512)]
               + [("depth", f"{k}x128", dict(widths=(128,) * k)) for k in (1, 2, 4, 5)]
               + [("input dim", f"{28 // f}x{28 // f}", dict(factor=f)) for f in (4, 2)])
    rows = []
    for axis, name, kw in configs:
        t0 = time.perf_counter()
        params, info, X, y = trained_net("real", progress=False, **kw)
        xs, ds = sample_rays(X, y, args.rays, seed=3)
        rows.append({"axis": axis, "config": name, "input_dim": info["input_dim"], "rays": args.rays,
                     "train_epochs": info["epochs"], "train_acc": info["train_acc"], "val_acc": info["val_acc"],
                     **measure(params, xs, ds, args.sampler_rays, args.repeats),
                     "wall_s": time.perf_counter() - t0})
        print(rows[-1]["config"], f"{rows[-1]['fast_rays_per_s']:.0f} rays/s", flush=True)
    params, info, X, y = trained_net("real", progress=False)
    for n in (256, 1024, 4096, 16384):
        xs, ds = sample_rays(X, y, n, seed=4)
        fast = lambda: rr.exact_intervals(params, xs, ds, T_MIN, T_MAX, count_regions=False)
        fast()
        t, _, _ = timed(fast, args.repeats)
        rows.append({"axis": "rays", "config": f"{n} rays", "input_dim": 784, "rays": n, "fast_rays_per_s": n / t,
                     "fast_us_per_ray": t / n * 1e6})
    print_table(rows, ["axis", "config", "input_dim", "fast_rays_per_s", "counting_rays_per_s",
                       "sampled_1000_f64_rays_per_s", "fast_vs_sampled", "regions_in_gi_mean",
                       "counting_us_per_region"], "Scaling (trained MNIST nets, real labels, t in [-1, 2])")
    write_json("scaling", {"rays": args.rays, "sampler_rays": args.sampler_rays, "repeats": args.repeats,
                           "t_range": [T_MIN, T_MAX], "rows": rows})


if __name__ == "__main__":
    main()
