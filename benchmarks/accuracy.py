"""Accuracy of sampled GIs against exact ones on the trained 3x128 MNIST networks (real and random labels).

    python benchmarks/accuracy.py [--rays 2000] [--n 10 30 100 300 1000 3000 10000]

For ``n`` grid points per ray over ``t`` in [-1, 2] (float64 sampler), on random ordered same-label pairs
of the 1000-image training set: the error of the sampled GI length against the exact one (mean, max),
the fraction of rays where sampling skips a class change entirely (its GI reaches past an exact end), and
the number of linear regions per ray (inside the GI, and on the whole segment for a subset).
Writes ``benchmarks/results/accuracy.json``.
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm.auto import tqdm

import relu_regions as rr
from _common import print_table, sample_rays, trained_net, write_json

T_MIN, T_MAX = -1.0, 2.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rays", type=int, default=2000)
    ap.add_argument("--n", type=int, nargs="+", default=[10, 30, 100, 300, 1000, 3000, 10000])
    ap.add_argument("--segment-rays", type=int, default=200, help="rays whose whole segment is partitioned")
    args = ap.parse_args()

    rows, nets, regions = [], {}, {}
    for labels in ("real", "random"):
        params, info, X, y = trained_net(labels, progress=False)
        nets[labels] = info
        xs, ds = sample_rays(X, y, args.rays, seed=1)
        E = rr.exact_intervals(params, xs, ds, T_MIN, T_MAX)
        pieces = [rr.linear_pieces(params, xs[i], ds[i], T_MIN, T_MAX).n_pieces
                  for i in tqdm(range(min(args.segment_rays, args.rays)), desc=f"segments ({labels})")]
        regions[labels] = {
            "in_gi_mean": float(E.n_regions.mean()), "in_gi_median": float(np.median(E.n_regions)),
            "in_gi_max": int(E.n_regions.max()), "segment_mean": float(np.mean(pieces)),
            "segment_median": float(np.median(pieces)), "segment_max": int(np.max(pieces)),
            "segment_rays": len(pieces), "gi_length_mean": float(E.length.mean()),
            "gi_full_range_fraction": float(np.mean((E.lo == T_MIN) & (E.hi == T_MAX))),
        }
        for n in tqdm(args.n, desc=f"sampling ({labels})"):
            S = rr.sampled_intervals(params, xs, ds, T_MIN, T_MAX, n=n, batch_size=max(1, 2**13 // n))
            err = np.abs(S.length - E.length)
            # Skipped: the sampled GI reaches past an exact end, i.e. it jumped over a class change.
            missed = (S.hi > E.hi + 1e-12) | (S.lo < E.lo - 1e-12)
            rows.append({"labels": labels, "n": n, "spacing": (T_MAX - T_MIN) / (n - 1),
                         "mean_abs_err": float(err.mean()), "max_abs_err": float(err.max()),
                         "mean_rel_err": float(np.mean(err / E.length)),
                         "missed_change_fraction": float(missed.mean()),
                         "label_agreement": float(np.mean(S.label == E.label))})
    print_table(rows, ["labels", "n", "spacing", "mean_abs_err", "max_abs_err", "missed_change_fraction"],
                f"Sampled vs exact GI length, {args.rays} same-label pairwise rays, t in [{T_MIN}, {T_MAX}]")
    print_table([{"labels": k, **v} for k, v in regions.items()],
                ["labels", "in_gi_mean", "in_gi_max", "segment_mean", "segment_max", "gi_length_mean"],
                "Linear regions per ray (inside the exact GI; on the whole segment for a subset)")
    write_json("accuracy", {"rays": args.rays, "t_range": [T_MIN, T_MAX], "sampler_dtype": "float64",
                            "networks": nets, "rows": rows, "regions": regions})


if __name__ == "__main__":
    main()
