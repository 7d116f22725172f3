"""``relu-regions gi``: exact GIs of your own network on your own data (:func:`relu_regions.studies.gi_study`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gi", help="exact GIs of your own network on your own data (pairwise, random or PCA directions), "
                   "per-ray results and a summary figure",
        description="Exact generalization intervals of a ReLU network (a list of (W, b) pairs, W of shape (in, out)) "
                    "along rays through your data: same-label pairs, any pairs, random directions or the "
                    "classes' principal components. Writes the per-ray results (OUT/rays/, Parquet or CSV chunks "
                    "with a manifest; a rerun resumes), OUT/summary.json and OUT/gi_summary.png.")
    p.add_argument("--model", required=True,
                   help="the network: weights.npz (arrays W0, b0, W1, b1, ...), or module:function / file.py:function "
                        "returning a list of (W, b) pairs (ONNX is not supported yet)")
    p.add_argument("--data", type=Path, required=True,
                   help="an .npz with X (n, d) and optionally y (n,) integer labels (without y: the network's "
                        "predictions), or an .npy holding X")
    p.add_argument("--pairs", nargs="+", default=["same-label"],
                   choices=["same-label", "any", "random", "pca"],
                   help="ray families (one or more; default: %(default)s)")
    p.add_argument("--range", nargs=2, type=float, default=[-1.0, 2.0], metavar=("T_MIN", "T_MAX"),
                   help="the range of t, containing 0 (default: -1 2; T_MAX may be inf with the exact method)")
    p.add_argument("--n-rays", type=_positive_int, default=2000, help="the most rays per family (default: %(default)s)")
    p.add_argument("--method", choices=["exact", "sampled"], default="exact",
                   help="exact GIs or the sampling baseline (default: %(default)s)")
    p.add_argument("--samples", type=_positive_int, default=1000, help="points per ray for --method sampled")
    p.add_argument("--fast", action="store_true", help="certified fast path: same ends, regions not counted")
    p.add_argument("--seed", type=int, default=0, help="seed of the ray choice and random directions")
    p.add_argument("--format", choices=["parquet", "csv"], default=None,
                   help="per-ray results format (default: parquet if pyarrow is installed, else csv)")
    p.add_argument("--chunk-size", type=_positive_int, default=4096, help="rays per written chunk")
    p.add_argument("--out", type=Path, default=Path("results/gi"), help="output directory (default: %(default)s)")
    p.add_argument("--sharded", action="store_true",
                   help="split the rays over every local JAX device (several GPUs, or CPU devices made with "
                        "XLA_FLAGS=--xla_force_host_platform_device_count=N)")
    p.add_argument("--distributed", action="store_true",
                   help="one of several processes of a jax.distributed run (start the same command once per "
                        "process with JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES and JAX_PROCESS_ID set, "
                        "or under SLURM / Open MPI); rays are split over the processes and their devices, "
                        "process 0 writes --out")
    p.add_argument("--no-figure", action="store_true", help="skip gi_summary.png")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.distributed:
        from relu_regions._sharding import init_distributed

        try:
            init_distributed()
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ValueError(f"--distributed: could not join the jax.distributed run ({str(exc).splitlines()[0]}); "
                             "set JAX_COORDINATOR_ADDRESS=host:port, JAX_NUM_PROCESSES and JAX_PROCESS_ID, "
                             "or run under SLURM / Open MPI") from None
    from relu_regions.studies import gi_study, load_arrays

    X, y = load_arrays(args.data)
    study = gi_study(args.model, X, y, pairs=args.pairs, t_range=tuple(args.range), n_rays=args.n_rays,
                     seed=args.seed, method=args.method, n_samples=args.samples, count_regions=not args.fast,
                     chunk_size=args.chunk_size, out=args.out, format=args.format, figure=not args.no_figure,
                     progress=not args.no_progress, sharded=args.sharded,
                     meta={"model": str(args.model), "data": str(Path(args.data).expanduser().resolve())})
    if study.results is None:  # another process of a jax.distributed run wrote the results
        return 0
    print(f"{'direction':<10} {'n':>7} {'median':>8} {'q25':>8} {'q75':>8} {'whole range':>11}  label = y")
    for kind, s in study.summary.items():
        print(f"{kind:<10} {s['n']:>7} {s['median']:8.4g} {s['q25']:8.4g} {s['q75']:8.4g} "
              f"{s['frac_whole_range']:11.3f}  {s['frac_label_is_y']:.3f}")
    print("wrote " + ", ".join(str(f) for f in study.files))
    return 0
