"""Speed of exact 2-D slices (``plane_regions``) on trained MNIST MLPs.

    python benchmarks/plane.py [--repeats 3] [--widths 32 64 128 256 512]   (widths > 128: one run)

The networks of the reproduction (1,000 MNIST training images, SGD lr 0.01 to 100 % training accuracy,
cached by the experiment context): 784-128-128-128-10 with real and random labels on the plane through
the first three training images of each label (``x_a + s (x_b - x_a) + t (x_c - x_a)``, ``s, t`` in
``[-1, 2]``), and 784-w-w-w-10 for w = 32 .. 512 (real labels) on the label-3 plane, to see how time grows
with the number of regions. Wall and CPU seconds (the machine is shared: both are reported), regions per
second; the exponent ``k`` of ``seconds ~ regions^k`` over the width sweep. Prints a table and writes
``benchmarks/results/plane.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import relu_regions as rr
from _common import SHARED_DATA, print_table, write_json
from relu_regions.experiments._context import ExperimentContext

BOUNDS = ((-1.0, 2.0), (-1.0, 2.0))
TARGET_S = 2.0


def plane_of(X, y, digit):
    idx = np.flatnonzero(y == digit)[:3]
    X = np.asarray(X, np.float64)
    return X[idx[0]], X[idx[1]] - X[idx[0]], X[idx[2]] - X[idx[0]]


def measure(params, origin, u, v, repeats: int) -> dict:
    walls, cpus, part = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        part = rr.plane_regions(params, origin, u, v, BOUNDS, max_regions=2_000_000)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    wall, cpu = float(np.median(walls)), float(np.median(cpus))
    return {"regions": part.n_regions, "boundary_segments": int(len(part.boundary)), "wall_s": wall,
            "cpu_s": cpu, "regions_per_s": part.n_regions / wall, "all_wall_s": walls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256, 512])
    args = ap.parse_args()
    ctx = ExperimentContext(out_dir="/tmp/relu_regions_plane_bench", data_dir=SHARED_DATA, progress=False)
    rows = []
    for labels in ("real", "random"):
        net = ctx.network("mnist", (128, 128, 128), labels)
        for digit in range(10):
            m = measure(net.params, *plane_of(net.X, net.y, digit), args.repeats if digit == 3 else 1)
            rows.append({"set": "3x128 planes", "labels": labels, "net": "784-128-128-128-10", "digit": digit, **m})
    sweep = []
    for w in args.widths:
        net = ctx.network("mnist", (w, w, w), "real")
        m = measure(net.params, *plane_of(net.X, net.y, 3), args.repeats if w <= 128 else 1)
        sweep.append({"set": "width sweep", "labels": "real", "net": f"784-{w}-{w}-{w}-10", "digit": 3, **m})
    R = np.array([r["regions"] for r in sweep], float)
    T = np.array([r["wall_s"] for r in sweep], float)
    k = float(np.polyfit(np.log(R), np.log(T), 1)[0]) if len(sweep) > 1 else None
    main_rows = [r for r in rows if r["digit"] == 3]
    cols = ["set", "labels", "net", "digit", "regions", "boundary_segments", "wall_s", "cpu_s", "regions_per_s"]
    print_table(main_rows + sweep, cols)
    per_plane = {lab: {"median_regions": float(np.median([r["regions"] for r in rows if r["labels"] == lab])),
                       "median_wall_s": float(np.median([r["wall_s"] for r in rows if r["labels"] == lab])),
                       "max_wall_s": float(np.max([r["wall_s"] for r in rows if r["labels"] == lab])),
                       "median_regions_per_s": float(np.median([r["regions_per_s"] for r in rows
                                                                if r["labels"] == lab]))}
                 for lab in ("real", "random")}
    print(f"\nten planes per network (one per label): {per_plane}")
    print(f"width sweep: seconds ~ regions^{k:.2f}" if k is not None else "")
    write_json("plane", {"bounds": BOUNDS, "target_s": TARGET_S, "planes": rows, "width_sweep": sweep,
                         "per_network": per_plane, "time_exponent_vs_regions": k})


if __name__ == "__main__":
    main()
