"""``relu-regions plane``: exact 2-D slices (every linear region and the decision boundary) as data and
pictures.

Without ``--model``: the reproduction's figures from the cached 3x128 networks (real vs random labels):
the two-moons input space with the training points, and a plane through three MNIST training images of
one label. With ``--model``: your network on the plane through three rows of ``--data`` (``--indices``),
or on its own input space if it takes 2-D inputs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELP = "exact 2-D slices: every linear region and the decision boundary on a plane, as data and pictures"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plane", help=HELP,
        description="Every linear region and the exact decision boundary of a ReLU network on the plane "
                    "origin + s u + t v. Without --model: the two-moons and MNIST figures of the reproduction "
                    "(cached 3x128 networks, real vs random labels). Writes PNG + SVG figures, the partitions "
                    "(.npz, PlanePartition.load) and plane.json.")
    p.add_argument("--model", default=None,
                   help="your network: weights.npz (W0, b0, W1, b1, ...) or module:function returning [(W, b), ...]")
    p.add_argument("--data", type=Path, default=None,
                   help="with --model: an .npz with X (n, d) (and optionally y) holding the plane's three points")
    p.add_argument("--indices", type=int, nargs=3, default=None, metavar=("A", "B", "C"),
                   help="with --data: the plane X[A] + s (X[B] - X[A]) + t (X[C] - X[A])")
    p.add_argument("--bounds", type=float, nargs=4, default=None, metavar=("S0", "S1", "T0", "T1"),
                   help="the window (default: -1 2 -1 2; the moons figure uses the data's box)")
    p.add_argument("--dataset", nargs="+", choices=["moons", "mnist"], default=["moons", "mnist"],
                   help="without --model: which figures (default: both)")
    p.add_argument("--digit", type=int, default=3, help="without --model: the MNIST label of the three images")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="without --model: MNIST IDX files (default: $RELU_REGIONS_DATA, tensorflow-datasets, then "
                        "the embedded subset)")
    p.add_argument("--cache-dir", type=Path, default=Path("~/.cache/relu_regions/networks"),
                   help="trained-network cache (default: %(default)s)")
    p.add_argument("--max-regions", type=int, default=500_000, help="stop with an error beyond this many regions")
    p.add_argument("--out", type=Path, default=Path("results/plane"), help="output directory (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from relu_regions._atomic import write_json_atomic

    if args.max_regions < 1:
        raise ValueError(f"--max-regions must be a positive integer, got {args.max_regions}")
    from relu_regions._plane import PlaneCapacityError

    if args.model is None and (args.data is not None or args.indices is not None):
        raise ValueError("--data and --indices need --model")
    try:
        result = _reproduction(args) if args.model is None else _own_model(args)
    except PlaneCapacityError as exc:      # reported as a one-line error, not a traceback
        raise ValueError(str(exc)) from None
    path = write_json_atomic(Path(args.out) / "plane.json", result)
    for name, runs in result["numbers"].items():
        for labels, num in runs.items():
            print(f"{name:>6} {labels:>6}: {num['regions']:>7} regions, {num['boundary_segments']:>5} boundary "
                  f"segments, {num['seconds']:.2f} s ({num['regions'] / num['seconds']:.0f} regions/s)")
    print("wrote " + ", ".join(str(Path(args.out) / f) for f in result["figures"]) + f", {path}")
    return 0


def _reproduction(args) -> dict:
    from relu_regions.experiments._context import ExperimentContext
    from relu_regions.experiments._plane_figures import plane_figures

    ctx = ExperimentContext(out_dir=args.out, data_dir=args.data_dir, cache_dir=args.cache_dir,
                            progress=not args.no_progress)
    return plane_figures(ctx, datasets=args.dataset, digit=args.digit, max_regions=args.max_regions)


def _own_model(args) -> dict:
    import numpy as np

    import relu_regions as rr
    from relu_regions.plotting import plot_plane
    from relu_regions.plotting._plane import save_figure_formats
    from relu_regions.studies import load_arrays, load_model

    params = load_model(args.model)
    n_in = params[0][0].shape[0]
    labels = None
    if args.data is not None:
        if args.indices is None:
            raise ValueError("--data needs --indices A B C (the plane's three points)")
        X, _ = load_arrays(args.data)
        X = np.asarray(X, np.float64).reshape(len(X), -1)
        if any(not 0 <= i < len(X) for i in args.indices):
            raise ValueError(f"--indices {args.indices}: out of range for {len(X)} rows of {args.data}")
        a, b, c = (X[i] for i in args.indices)
        origin, u, v = a, b - a, c - a
        if np.linalg.matrix_rank(np.stack([u, v])) < 2:
            raise ValueError(f"--indices {' '.join(map(str, args.indices))}: the three points are on one line "
                             "(or coincide), so they span no plane")
        labels = [f"#{i}" for i in args.indices]
    elif n_in == 2:
        origin, u, v = np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])
    else:
        raise ValueError(f"the network takes {n_in} inputs: give --data and --indices for the plane's three points")
    bounds = ((-1.0, 2.0), (-1.0, 2.0)) if args.bounds is None else \
        ((args.bounds[0], args.bounds[1]), (args.bounds[2], args.bounds[3]))
    start = time.perf_counter()
    part = rr.plane_regions(params, origin, u, v, bounds, max_regions=args.max_regions)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    part.save(out / "plane.npz")
    ax = plot_plane(part, mark_labels=labels)
    figures = save_figure_formats(ax.figure, out / "plane")
    num = {"regions": part.n_regions, "seconds": seconds, "boundary_segments": int(len(part.boundary)),
           "bounds": [list(b) for b in bounds], "file": "plane.npz"}
    return {"figures": figures, "numbers": {"model": {"plane": num}},
            "inputs": {"model": str(args.model), "data": None if args.data is None else str(args.data),
                       "indices": args.indices}}
