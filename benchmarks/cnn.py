"""Exact GIs of a small MNIST CNN against a jitted, vmapped sampled GI, on the same pairwise rays.

The CNN is :class:`relu_regions.experiments._cnn.SmallCNN` (two 3x3 convolutions with ReLU, 2x2 max
pooling, a dense layer) trained on MNIST-1k (real labels). The exact GIs go through the traced-program
walker (the callable is passed to ``relu_regions.exact_intervals``); the sampler evaluates the CNN at
``n`` grid points of ``[-1, 2]`` (plus 0) per ray in float64, ``lax.map`` over batches of rays inside one
XLA call. Regions per ray (``count_regions=True``) are reported next to those of the paper's 3x128 MLP
on the same kind of rays, and the MLP's default call as a plain list and as a callable (which is
recognised as an MLP and goes through the MLP engine).

Run from the repository root: ``python benchmarks/cnn.py [--rays 16] [--channels 8 8] [--n 1000]``; writes
``benchmarks/results/cnn.json``.
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import relu_regions as rr
from relu_regions.experiments._cnn import train_cnn
from _common import mnist_subset, print_table, sample_rays, timed, trained_net, write_json

T_MIN, T_MAX = -1.0, 2.0


def sampler(f, n: int, batch: int):
    """``run(xs, ds) -> (lo, hi)``: the sampled GI of every ray, float64, one jitted call."""
    def one(x, d):
        ts = jnp.concatenate([jnp.zeros(1), T_MIN + jnp.linspace(0.0, 1.0, n) * (T_MAX - T_MIN)])
        cls = jnp.argmax(jax.vmap(lambda t: f(x + t * d))(ts), axis=-1)
        bad, grid = cls[1:] != cls[0], ts[1:]
        hi = jnp.min(jnp.where(bad & (grid > 0), grid, jnp.inf))
        lo = jnp.max(jnp.where(bad & (grid < 0), grid, -jnp.inf))
        good = (~bad) & (grid < hi) & (grid > lo)
        return (jnp.minimum(jnp.min(jnp.where(good, grid, jnp.inf)), 0.0),
                jnp.maximum(jnp.max(jnp.where(good, grid, -jnp.inf)), 0.0))

    kernel = jax.jit(lambda xs, ds: jax.lax.map(lambda a: one(*a), (xs, ds), batch_size=batch))

    def run(xs, ds):
        with jax.enable_x64(True):
            return jax.device_get(jax.block_until_ready(kernel(jnp.asarray(xs), jnp.asarray(ds))))
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rays", type=int, default=16)
    ap.add_argument("--channels", type=int, nargs=2, default=(8, 8))
    ap.add_argument("--n", type=int, default=1000, help="sampler grid points per ray")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--name", default="cnn", help="results/<name>.json")
    args = ap.parse_args()

    X, y, _, _, source = mnist_subset()
    t0 = time.perf_counter()
    f, acc = train_cnn(X, y, (28, 28, 1), channels=tuple(args.channels), epochs=args.epochs)
    train_s = time.perf_counter() - t0
    print(f"trained the CNN in {train_s:.0f} s (train acc {acc:.3f})", flush=True)
    xs, ds = sample_rays(X, y, args.rays, seed=2)
    imgs, dirs = xs.reshape(-1, 28, 28, 1), ds.reshape(-1, 28, 28, 1)
    rows = []
    default = lambda: rr.exact_intervals(f, imgs, dirs, T_MIN, T_MAX)  # noqa: E731  (the call a user makes)
    with jax.enable_x64(True):
        run = sampler(f, args.n, max(1, 2**14 // args.n))
    c0 = time.perf_counter()
    default()                                                     # compile (one program structure)
    compile_s = time.perf_counter() - c0
    run(imgs[:1], dirs[:1])
    t_exact, t_samp = [], []
    for _ in range(args.repeats):                                 # interleaved: load changes hit both alike
        t, _, iv = timed(default, 1)
        t_exact.append(t)
        t, _, (lo_s, hi_s) = timed(lambda: run(imgs, dirs), 1)
        t_samp.append(t)
    med, med_s = float(np.median(t_exact)), float(np.median(t_samp))
    c0 = time.perf_counter()
    walked = rr.exact_intervals(f, imgs, dirs, T_MIN, T_MAX, count_regions=True)   # every region, once
    walk_s = time.perf_counter() - c0
    same = (np.array_equal(iv.label, walked.label) and np.array_equal(iv.hi_class, walked.hi_class)
            and np.array_equal(iv.lo_class, walked.lo_class)
            and np.allclose(iv.hi, walked.hi, rtol=1e-9, atol=0) and np.allclose(iv.lo, walked.lo, rtol=1e-9, atol=0))
    assert same, "the default call and the region walk disagree"
    forward_s = med_s / (len(imgs) * (args.n + 1))                # one CNN evaluation inside the sampler
    counted = walked.n_regions >= 0
    rows.append({"model": "cnn", "method": "exact (default call: certified skips)", "rays_per_s": len(imgs) / med,
                 "median_s": med, "times_s": t_exact, "compile_s": compile_s - med,
                 "exact_fraction": float(np.mean(iv.exact)), "gi_mean": float(np.nanmean(iv.length)),
                 "forward_pass_equivalents_per_ray": med / len(imgs) / forward_s})
    rows.append({"model": "cnn", "method": "exact (count_regions=True: walks every region)",
                 "rays_per_s": len(imgs) / walk_s, "median_s": walk_s, "times_s": [walk_s],
                 "exact_fraction": float(np.mean(walked.exact)),
                 "regions_per_ray_mean": float(np.mean(walked.n_regions[counted])) if counted.any() else None,
                 "count_certified_fraction": float(np.mean(counted)), "same_gis_as_default": bool(same)})
    rows.append({"model": "cnn", "method": f"sampled n={args.n} (float64, jit+vmap)", "rays_per_s": len(imgs) / med_s,
                 "median_s": med_s, "times_s": t_samp, "gi_mean": float(np.mean(hi_s - lo_s)),
                 "forward_pass_equivalents_per_ray": float(args.n + 1),
                 "mean_abs_gi_length_error": float(np.mean(np.abs((hi_s - lo_s) - iv.length)))})
    for r in rows:
        r["speedup_vs_sampled"] = r["rays_per_s"] / rows[-1]["rays_per_s"]
        print(r, flush=True)

    params, info, Xm, ym = trained_net("real", progress=False)
    mx, md = sample_rays(Xm, ym, args.rays, seed=2)
    as_callable = functools.partial(_mlp_apply, params)
    for name, model in (("mlp 3x128 (W, b) list", params), ("mlp 3x128 as a callable", as_callable)):
        for count in (False, True):
            call = lambda m=model, c=count: rr.exact_intervals(m, mx, md, T_MIN, T_MAX, count_regions=c)  # noqa: E731
            call()
            med, times, iv = timed(call, args.repeats)
            row = {"model": name, "method": f"exact (count_regions={count})", "rays_per_s": len(mx) / med,
                   "median_s": med, "times_s": times, "exact_fraction": float(np.mean(iv.exact))}
            if count:
                row["regions_per_ray_mean"] = float(np.mean(iv.n_regions[iv.n_regions >= 0]))
            rows.append(row)
            print(row, flush=True)
    print_table(rows, ["model", "method", "rays_per_s", "speedup_vs_sampled", "regions_per_ray_mean",
                       "forward_pass_equivalents_per_ray", "exact_fraction"], title=f"{len(imgs)} same-label MNIST rays, t in [{T_MIN}, {T_MAX}]")
    write_json(args.name, {"rays": args.rays, "n": args.n, "t_range": [T_MIN, T_MAX], "rows": rows,
                           "cnn": {"channels": list(args.channels), "epochs": args.epochs, "train_acc": acc, "train_s": train_s,
                                   "data_source": source},
                           "mlp": info,
                           "target": "exact (default call) >= 10x sampled n=1000 on the CNN",
                           "target_met": bool(rows[0]["speedup_vs_sampled"] >= 10),
                           "notes": "forward_pass_equivalents_per_ray: the default call's time per ray over the "
                                    "time of one CNN evaluation inside the sampler (which makes n + 1 per ray); "
                                    "each walk step evaluates values, slopes and a sound error bound through "
                                    "the traced program, several forward passes' worth, so the ratio to the "
                                    "sampler is about (n + 1) / that number"})


def _mlp_apply(params, x):
    h = x
    for W, b in params[:-1]:
        h = jax.nn.relu(h @ W + b)
    return h @ params[-1][0] + params[-1][1]


if __name__ == "__main__":
    main()
