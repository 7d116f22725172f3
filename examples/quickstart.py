"""Quick start: a small ReLU network, one exact generalization interval, printed and plotted.

Builds a random 2-16-16-3 MLP, walks the ray ``x + t d`` region by region and plots the three logits
along it with every linear-region boundary and the exact GI marked, next to what sampling sees.
Run: ``python examples/quickstart.py [--out quickstart.png]``.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import relu_regions as rr

WIDTHS = (2, 16, 16, 3)
SEED = 1
T_MIN, T_MAX = -1.0, 2.0
N_SAMPLES = 50


def random_mlp(widths, seed):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.3) for a, b in zip(widths[:-1], widths[1:])]


def main(out: str = "quickstart.png", widths=WIDTHS, seed: int = SEED) -> rr.Interval:
    params = random_mlp(widths, seed)
    rng = np.random.default_rng(seed + 1)
    x, d = rng.normal(size=widths[0]), rng.normal(size=widths[0])

    gi = rr.exact_interval(params, x, d, T_MIN, T_MAX)
    sampled = rr.sampled_interval(params, x, d, T_MIN, T_MAX, n=N_SAMPLES)
    pieces = rr.linear_pieces(params, x, d, T_MIN, T_MAX)
    print(f"label {gi.label}: exact GI [{gi.lo:.12f}, {gi.hi:.12f}], length {gi.length:.12f}, "
          f"{gi.n_regions} linear regions inside; overtaken by class {gi.lo_class} / {gi.hi_class} "
          "(-1: range end)")
    print(f"sampled with {N_SAMPLES} points: [{sampled.lo:.6f}, {sampled.hi:.6f}], length {sampled.length:.6f}")
    print(f"the segment [{T_MIN}, {T_MAX}] has {pieces.n_pieces} linear pieces")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k in range(pieces.logits.shape[1]):
        ax.plot(pieces.breakpoints, pieces.logits[:, k], lw=1.8, label=f"logit {k}")
    for t in pieces.breakpoints[1:-1]:
        ax.axvline(t, color="0.85", lw=0.6, zorder=0)
    ax.axvspan(gi.lo, gi.hi, color="tab:green", alpha=0.12, label=f"exact GI (class {gi.label})")
    ts = np.linspace(T_MIN, T_MAX, N_SAMPLES)
    ax.plot(ts, np.full_like(ts, ax.get_ylim()[0]), "|", color="k", ms=8, label=f"{N_SAMPLES} samples")
    ax.set(xlabel="t along x + t d", ylabel="logit",
           title=f"Exact GI [{gi.lo:.4f}, {gi.hi:.4f}]; grey lines: {pieces.n_pieces - 1} region boundaries")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")
    return gi


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="quickstart.png")
    main(parser.parse_args().out)
