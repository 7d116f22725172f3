"""Speed of exact segment partitions: ``rr.linear_pieces`` against exact rational arithmetic alone.

    python benchmarks/pieces.py [--segments 30] [--repeats 2]

On the trained 3x128 MNIST networks (real and random labels), the segments of Fig. 1 (``t`` in [0, 1] from a
training image towards an image of its class, of another class, and along a random direction of the same
length; ``experiments._fig1_paths.path_triples``): the default call ``rr.linear_pieces`` (plain float64,
then a compensated first layer, then exact arithmetic, each only where the one before cannot certify)
against the partition in exact arithmetic alone (``_pieces.exact_pieces``), timed interleaved, with the
tier that answered each segment and a check that both give the same partition. Writes
``benchmarks/results/pieces.json``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import relu_regions as rr
from _common import print_table, trained_net, write_json
from relu_regions import _pieces
from relu_regions._network import cast_params
from relu_regions.experiments._fig1_paths import KINDS, path_triples

T_RANGE = (0.0, 1.0)


def tier(params, x, d) -> str:
    """Which tier of ``linear_pieces`` answers the segment: ``plain``, ``compensated`` or ``exact``."""
    with jax.enable_x64(True):
        p64 = cast_params(params, jnp.float64)
        for name, accurate in (("plain", False), ("compensated", True)):
            trace = jax.device_get(_pieces._two_sided(p64, x, d, *T_RANGE, 4096, accurate=accurate))
            if trace.cert.all():
                return name
    return "exact"


def same(p, q) -> bool:
    return (p.n_pieces == q.n_pieces and np.allclose(p.breakpoints, q.breakpoints, rtol=1e-9, atol=0)
            and np.array_equal(p.patterns, q.patterns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=30, help="start images per network (3 segments each)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved timing rounds")
    args = ap.parse_args()

    rows = []
    for labels in ("real", "random"):
        params, info, X, y = trained_net(labels, progress=False)
        I, dirs = path_triples(X, y, args.segments, np.random.default_rng(0))
        segs = [(X[i].astype(np.float64), dirs[kind][k]) for k, i in enumerate(I) for kind in KINDS]
        rr.linear_pieces(params, *segs[0], *T_RANGE)  # compile
        times = {"default": [], "exact": []}
        agree = True
        for _ in range(args.repeats):
            for name, fn in (("default", lambda s: rr.linear_pieces(params, *s, *T_RANGE)),
                             ("exact", lambda s: _pieces.exact_pieces(params, *s, *T_RANGE, 4096))):
                t0 = time.perf_counter()
                out = [fn(s) for s in tqdm(segs, desc=f"{labels}: {name}", leave=False)]
                times[name].append(time.perf_counter() - t0)
                if name == "default":
                    default = out
            agree &= all(same(p, q) for p, q in zip(default, out))
        tiers = [tier(params, *s) for s in segs]
        pieces = [p.n_pieces for p in default]
        t_def, t_ex = float(np.median(times["default"])), float(np.median(times["exact"]))
        rows.append({"labels": labels, "segments": len(segs), "pieces_mean": float(np.mean(pieces)),
                     "default_s": t_def, "exact_only_s": t_ex, "speedup": t_ex / t_def,
                     "ms_per_segment": 1e3 * t_def / len(segs),
                     "plain": tiers.count("plain") / len(segs),
                     "compensated": tiers.count("compensated") / len(segs),
                     "exact_fallback": tiers.count("exact") / len(segs),
                     "same_partition": bool(agree), "times_s": times, "network": info})
    print_table(rows, ["labels", "segments", "pieces_mean", "default_s", "exact_only_s", "speedup",
                       "plain", "compensated", "exact_fallback", "same_partition"],
                f"linear_pieces vs exact arithmetic alone, Fig. 1 segments, t in {list(T_RANGE)}")
    write_json("pieces", {"segments_per_network": args.segments * len(KINDS), "t_range": list(T_RANGE),
                          "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
