"""Answers on this machine's default device against a reference machine's, and the default call's
throughput on it for a few lane settings, against the float64 sampler at n = 1000.

    python benchmarks/device_check.py --save-reference ref/     # on the reference machine (a CPU)
    python benchmarks/device_check.py --reference ref/          # on the device to check (a GPU)

The same trained 3x128 MNIST networks (the reference's weights, saved beside its answers, so a network
retrained elsewhere cannot differ) and the same ``--rays`` random same-label pairwise rays, ``t`` in
[-1, 2] and in (-inf, inf). Checked: labels, overtaking classes, exact and fallback flags identical; GI
ends within the contract's 1e-9 relative (and how many are bit-identical). Writes
``benchmarks/results/device_check.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import relu_regions as rr
from _common import sample_rays, timed, trained_net, write_json
from speed import tuned_sampler

RANGES = {"finite": (-1.0, 2.0), "infinite": (-np.inf, np.inf)}
FIELDS = ("label", "lo_class", "hi_class", "exact", "fallback")
LANES = {"finite": [None, (1024, 128), (4096, 512), (8192, 1024)], "infinite": [None, (4096, 512)]}


def compare(iv, ref) -> dict:
    """What differs between two answers for the same rays (``ref``: the saved arrays)."""
    out = {f"{k}_same": bool(np.array_equal(np.asarray(getattr(iv, k)), ref[k])) for k in FIELDS}
    for k in ("lo", "hi"):
        got, want = np.asarray(getattr(iv, k)), ref[k]
        fin = np.isfinite(want)
        rel = np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), np.finfo(float).tiny)
        out[f"{k}_infinite_same"] = bool(np.array_equal(np.isfinite(got), fin))
        out[f"{k}_max_rel_diff"] = float(rel.max()) if rel.size else 0.0
        out[f"{k}_bit_identical"] = f"{int(np.sum(got[fin] == want[fin]))}/{int(fin.sum())}"
    out["agree"] = all(out[f"{k}_same"] for k in FIELDS) and all(
        out[f"{k}_infinite_same"] and out[f"{k}_max_rel_diff"] <= 1e-9 for k in ("lo", "hi"))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--save-reference", type=Path, help="directory to write the reference answers to")
    where.add_argument("--reference", type=Path, help="directory with a reference machine's answers")
    ap.add_argument("--rays", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    ref_dir = args.save_reference or args.reference
    if args.reference and not ref_dir.is_dir():
        raise SystemExit(f"--reference {ref_dir}: no such directory")
    ref_dir.mkdir(parents=True, exist_ok=True)
    rows, checks = [], []
    for labels in ("real", "random"):
        params, _, X, y = trained_net(labels, progress=False)
        xs, ds = sample_rays(X, y, args.rays, seed=0)
        weights = ref_dir / f"params_{labels}.npz"
        if args.save_reference:
            np.savez(weights, **{f"{k}{i}": np.asarray(a) for i, (W, b) in enumerate(params)
                                 for k, a in (("W", W), ("b", b))})
        saved = np.load(weights)
        params = [(saved[f"W{i}"], saved[f"b{i}"]) for i in range(len(saved.files) // 2)]
        for name, (t_min, t_max) in RANGES.items():
            iv = rr.exact_intervals(params, xs, ds, t_min, t_max)
            answers = ref_dir / f"answers_{labels}_{name}.npz"
            if args.save_reference:
                np.savez(answers, **{k: np.asarray(getattr(iv, k)) for k in FIELDS + ("lo", "hi")})
                continue
            checks.append({"labels": labels, "range": name, **compare(iv, np.load(answers))})
            print(checks[-1])
            for lanes in LANES[name]:
                config = None if lanes is None else rr.EngineConfig(lanes=lanes[0], walk_lanes=lanes[1])
                run = lambda: rr.exact_intervals(params, xs, ds, t_min, t_max, config=config)  # noqa: E731
                run()
                t, _, _ = timed(run, args.repeats)
                rows.append({"labels": labels, "range": name, "lanes": "default" if lanes is None else lanes,
                             "s": t, "rays_per_s": args.rays / t})
                print(rows[-1])
        if args.reference and labels == "real":
            sampler, batch = tuned_sampler(params, xs, ds, 1000, "float64")
            sampler(xs, ds)
            t, _, _ = timed(lambda: sampler(xs, ds), args.repeats)
            rows.append({"labels": labels, "range": "finite", "lanes": f"sampler f64 n=1000 (batch {batch})",
                         "s": t, "rays_per_s": args.rays / t})
            print(rows[-1])
    if args.save_reference:
        print(f"reference answers written to {ref_dir}")
        return {}
    payload = {"rays": args.rays, "checks": checks, "all_agree": all(c["agree"] for c in checks), "rows": rows}
    print("answers agree with the reference:", "yes" if payload["all_agree"] else "no")
    write_json("device_check", payload)
    return payload


if __name__ == "__main__":
    main()
