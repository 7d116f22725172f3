"""The full workload: exact GIs of all unordered same-label pairs of the 1000-image MNIST training set.

    python benchmarks/workload.py [--labels real random] [--counting] [--host-devices N] [--ordered]

10 classes x 100 x 99 / 2 = 49,500 rays ``x_i + t (x_j - x_i)``, ``i < j`` (``--ordered``: both orders,
99,000), ``t`` in [-1, 2], with the trained 3x128 network, on the CPU. Times the default call
``exact_intervals(params, xs, ds, -1, 2)`` (certified skips, no region counts) end to end
(building the rays excluded), after a warm-up call that compiles its kernels (reported separately);
``--counting`` also times the full region walk that counts regions, and checks that both agree.
``--host-devices N`` splits the CPU into N XLA devices and shards the rays over them. Writes
``benchmarks/results/workload[_<N>dev].json``.
"""

from __future__ import annotations

import argparse
import os
import sys


def parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", nargs="+", default=["real", "random"], choices=["real", "random"])
    ap.add_argument("--counting", action="store_true", help="also time the region-counting walk")
    ap.add_argument("--host-devices", type=int, default=0, help="shard over N CPU devices (0: no sharding)")
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--ordered", action="store_true", help="both orders of each pair (99,000 rays)")
    return ap.parse_args()


ARGS = parse() if __name__ == "__main__" else None
if ARGS is not None and ARGS.host_devices:
    # Must be set before JAX initialises its backends.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={ARGS.host_devices}").strip()

import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import relu_regions as rr  # noqa: E402
from _common import pairwise_rays, print_table, trained_net, write_json  # noqa: E402
from relu_regions._sharding import exact_intervals_sharded  # noqa: E402

T_MIN, T_MAX = -1.0, 2.0


def run(labels: str, args) -> dict:
    params, info, X, y = trained_net(labels, progress=False)
    xs, ds = pairwise_rays(X, y, ordered=args.ordered)
    if args.host_devices:
        fn = lambda xs, ds, **kw: exact_intervals_sharded(params, xs, ds, T_MIN, T_MAX, batch_size=args.batch_size, **kw)
    else:
        fn = lambda xs, ds, **kw: rr.exact_intervals(params, xs, ds, T_MIN, T_MAX, batch_size=args.batch_size, **kw)
    n_dev = max(args.host_devices, 1)
    warm = xs[: args.batch_size * n_dev]  # same chunk shape as the full run: compiles the same kernels
    t0 = time.perf_counter()
    fn(warm, ds[: len(warm)], count_regions=False)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn(warm, ds[: len(warm)], count_regions=False)
    compile_s = max(first - (time.perf_counter() - t0), 0.0)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    R = fn(xs, ds, count_regions=False)
    wall = time.perf_counter() - t0
    row = {"labels": labels, "rays": len(xs), "wall_s": wall, "rays_per_s": len(xs) / wall,
           "compile_s": compile_s, "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()),
           "all_exact": bool(R.exact.all()), "gi_length_mean": float(R.length.mean()),
           "gi_length_median": float(np.median(R.length)),
           "full_range_fraction": float(np.mean((R.lo == T_MIN) & (R.hi == T_MAX))), "network": info}
    if args.counting:
        fn(warm[:64], ds[:64])
        t0 = time.perf_counter()
        C = fn(xs, ds)
        row["counting_wall_s"] = time.perf_counter() - t0
        row["counting_regions_in_gi_mean"] = float(C.n_regions.mean())
        row["max_abs_diff_vs_counting"] = float(max(np.abs(C.lo - R.lo).max(), np.abs(C.hi - R.hi).max()))
        row["classes_equal_to_counting"] = bool(np.array_equal(C.lo_class, R.lo_class)
                                                and np.array_equal(C.hi_class, R.hi_class))
    return row


def main(args) -> None:
    rows = [run(labels, args) for labels in args.labels]
    cols = ["labels", "rays", "wall_s", "rays_per_s", "compile_s", "gi_length_mean"]
    if args.counting:
        cols += ["counting_wall_s", "max_abs_diff_vs_counting"]
    devices = f", {args.host_devices} CPU devices" if args.host_devices else ""
    pairs = "ordered" if args.ordered else "unordered"
    print_table(rows, cols, f"All {pairs} same-label pairs of the 1000-image MNIST subset, 3x128 net{devices}")
    name = "workload" + (f"_{args.host_devices}dev" if args.host_devices else "")
    write_json(name, {"t_range": [T_MIN, T_MAX], "batch_size": args.batch_size, "host_devices": args.host_devices,
                      "pairs": pairs, "method": "exact_intervals (the default call: count_regions=False)",
                      "target_wall_s": 3.0 if not args.ordered else None, "rows": rows,
                      "devices": [str(d) for d in jax.devices()]})


if __name__ == "__main__":
    sys.exit(main(ARGS))
