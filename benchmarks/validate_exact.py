"""Validate exact GIs at scale: thousands of rays against the independent refinement reference and
dense sampling, on random MLPs up to 784-128-128-128-10 and on real MNIST rays.

For every ray: |lo - lo_ref| and |hi - hi_ref| (the reference is `tests/reference.py`, layer-wise
refinement of the segment in numpy float64), the label, and dense sampling inside [lo, hi] (no sample may
see another class strictly above the label beyond rounding). Prints a table and writes
`benchmarks/results/validate_exact.json` atomically.

The trained networks are the paper's 3x128 MNIST networks (real and random labels) from the same cache
as ``relu-regions reproduce`` (trained on first use). Without local data, MNIST is the embedded subset.

Run: ``python benchmarks/validate_exact.py [--rays-per-net 600] [--data-dir ../shared/data]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import relu_regions as rr
from relu_regions.data import class_subset, load_mnist
from relu_regions.experiments import ExperimentContext
from relu_regions.experiments._io import write_json_atomic
from relu_regions.experiments._rays import same_label_pairs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from reference import reference_interval  # noqa: E402

ARCHS = ([2, 16, 16, 3], [20, 64, 64, 64, 5], [100, 256, 256, 10], [784, 128, 128, 128, 10])
N_SAMPLES = 2001


def random_net(rng, sizes):
    return [(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.5) for a, b in zip(sizes[:-1], sizes[1:])]


def sampling_violation(params, x, d, lo, hi, label):
    """Largest amount by which another logit exceeds the label's at dense samples inside [lo, hi]."""
    ts = np.linspace(lo, hi, N_SAMPLES)
    h = x[None] + ts[:, None] * d[None]
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0)
    f = h @ params[-1][0] + params[-1][1]
    return float(np.max(f.max(axis=1) - f[:, label]) / (1 + np.abs(f).max()))


def check(name, params, xs, ds):
    t0 = time.perf_counter()
    R = rr.exact_intervals(params, xs, ds)
    t_exact = time.perf_counter() - t0
    errs, viol, label_mismatch = [], [], 0
    for i in tqdm(range(len(xs)), desc=name, leave=False):
        lo, hi, label = reference_interval(params, xs[i], ds[i])
        errs.append(max(abs(R.lo[i] - lo), abs(R.hi[i] - hi)))
        label_mismatch += int(label != R.label[i])
        viol.append(sampling_violation(params, xs[i], ds[i], R.lo[i], R.hi[i], R.label[i]))
    errs = np.array(errs)
    return {"case": name, "rays": len(xs), "max_abs_err_t": float(errs.max()), "rays_over_1e-9": int((errs > 1e-9).sum()),
            "label_mismatches": label_mismatch, "max_sampling_violation": float(max(viol)),
            "sampling_violations_over_1e-9": int((np.array(viol) > 1e-9).sum()),
            "mean_regions_per_gi": float(R.n_regions.mean()), "exact_seconds": t_exact}


def mnist_rays(data_dir, n_rays, rng):
    """Random-init rays: same-label pairs of the 1000-image MNIST training subset."""
    ds = load_mnist("train", data_dir=data_dir)
    X, y = class_subset(ds.X.astype(np.float64), ds.y, 100, seed=0)
    i, j, _ = same_label_pairs(y, n_rays, rng)
    return X[i], X[j] - X[i], ds.source


def main(rays_per_net: int = 600, data_dir: str | None = None, out: str | None = None):
    rng = np.random.default_rng(0)
    rows = []
    for sizes in ARCHS:
        params = random_net(rng, sizes)
        xs = rng.random((rays_per_net, sizes[0]))
        ds = rng.random((rays_per_net, sizes[0])) - xs
        rows.append(check("random " + "-".join(map(str, sizes)), params, xs, ds))
    xs, ds, source = mnist_rays(data_dir, rays_per_net, rng)
    params = random_net(rng, ARCHS[-1])
    rows.append(check(f"MNIST same-label pairs ({source}), random-init 784-128x3-10", params, xs, ds))
    with tempfile.TemporaryDirectory() as tmp:
        ctx = ExperimentContext(out_dir=Path(tmp), data_dir=data_dir, progress=False)
        for labels in ("real", "random"):
            net = ctx.network("mnist", (128, 128, 128), labels)
            a, b, _ = same_label_pairs(net.y, rays_per_net, rng)
            X = net.X.astype(np.float64)
            rows.append(check(f"MNIST same-label pairs, trained 784-128x3-10, {labels} labels",
                              net.params, X[a], X[b] - X[a]))
    header = f"{'case':60s} {'rays':>5s} {'max|dt|':>9s} {'>1e-9':>6s} {'labels':>6s} {'samp.viol':>9s} {'regions':>8s}"
    print(header)
    for r in rows:
        print(f"{r['case'][:60]:60s} {r['rays']:5d} {r['max_abs_err_t']:9.1e} {r['rays_over_1e-9']:6d} "
              f"{r['label_mismatches']:6d} {r['max_sampling_violation']:9.1e} {r['mean_regions_per_gi']:8.1f}")
    total = sum(r["rays"] for r in rows)
    ok = all(r["rays_over_1e-9"] == 0 and r["label_mismatches"] == 0 and r["sampling_violations_over_1e-9"] == 0
             for r in rows)
    print(f"{total} rays, all within 1e-9 of the reference and free of sampled class changes: {ok}")
    write_json_atomic(Path(out) if out else ROOT / "benchmarks" / "results" / "validate_exact.json",
                      {"rays_total": total, "all_ok": ok, "cases": rows})
    return ok


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rays-per-net", type=int, default=600)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--out", default=None)
    a = p.parse_args()
    sys.exit(0 if main(a.rays_per_net, a.data_dir, a.out) else 1)
