"""``relu-regions norms``: the appendix's matrix-norm argument on the MNIST 3x128 networks.

The networks are those of the reproduction (:class:`relu_regions.experiments._context.ExperimentContext`,
same cache): 1,000 MNIST training images (100 per class, ``class_subset(..., seed=0)``), validation 1,000
test images (100 per class), trained with plain SGD (lr 0.01) on the real labels and on
``permute_labels(y, seed=0)`` until 100% training accuracy or the epoch cap. Then
:func:`relu_regions.experiments._norms.norms_experiment` writes the figure; ``norms.json`` goes beside it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from relu_regions._settings import CACHE_HELP, default_cache_dir

QUICK_SEGMENTS, FULL_SEGMENTS = 100, 500


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "norms", help="check the appendix's matrix inf-norm argument on trained MNIST networks",
        description="Per-layer ||W~_l(x)||_inf / ||W_l||_inf, ||A(x)||_inf / ||W_1...W_L||_inf and the segment "
                    "bound on the MNIST 3x128 networks (real and random labels). ||M||_inf of an (in, out) matrix "
                    "acting as y -> y @ M is its largest absolute column sum.")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="directory with the MNIST IDX files; it must exist (default: $RELU_REGIONS_DATA, "
                        "tensorflow-datasets, then the embedded 5,000-image subset)")
    p.add_argument("--out", type=Path, default=Path("results/norms"), help="output directory (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help=f"small run: at most 100 training epochs, 500 random inputs, {QUICK_SEGMENTS} segments "
                        "per network (the numbers are not the paper's setting)")
    p.add_argument("--n-points", type=int, default=None,
                   help="random inputs uniform in [0,1]^d (default 10,000; quick 500)")
    p.add_argument("--n-segments", type=int, default=None,
                   help=f"same-label segments per network (default {FULL_SEGMENTS}; quick {QUICK_SEGMENTS})")
    p.add_argument("--max-epochs", type=int, default=None,
                   help="training epoch cap (default that of the reproduction; quick 100); training stops "
                        "earlier at 100%% training accuracy")
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help=CACHE_HELP)
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def _positive(value, flag):
    if value is not None and value < 1:
        raise ValueError(f"{flag} must be a positive integer, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    for value, flag in ((args.max_epochs, "--max-epochs"), (args.n_points, "--n-points"),
                        (args.n_segments, "--n-segments")):
        _positive(value, flag)  # before the heavy imports
    from relu_regions.experiments._context import LABELS, ExperimentContext
    from relu_regions._atomic import write_json_atomic
    from relu_regions.experiments._norms import norms_experiment
    from relu_regions.experiments._sizes import MAIN_WIDTHS, Sizes

    sizes = (Sizes.quick() if args.quick else Sizes.full()).replace(
        max_epochs=_positive(args.max_epochs, "--max-epochs"), n_norm_random=_positive(args.n_points, "--n-points"))
    n_segments = _positive(args.n_segments, "--n-segments") or (QUICK_SEGMENTS if args.quick else FULL_SEGMENTS)
    ctx = ExperimentContext(out_dir=args.out, data_dir=args.data_dir, quick=args.quick, seed=0,
                            cache_dir=args.cache_dir, progress=not args.no_progress, sizes=sizes)
    nets = {labels: ctx.network("mnist", MAIN_WIDTHS, labels) for labels in LABELS}
    for labels, net in nets.items():
        r = net.record
        missed = "" if r["reached_100pct"] else f"  (target 100% NOT reached within the {r['max_epochs']}-epoch cap)"
        print(f"{labels:>6} labels: {r['optimizer']}, {r['epochs']} epochs{' (cached)' if r['from_cache'] else ''}, "
              f"train acc {r['final_train_acc']:.3f}, val acc {r['final_val_acc']:.3f}{missed}")
    real = nets["real"]
    result = norms_experiment(ctx.out_dir, {k: n.params for k, n in nets.items()}, real.X, real.X_val,
                              y_train={k: n.y for k, n in nets.items()}, n_random=sizes.n_norm_random,
                              n_segments=n_segments, seed=ctx.seed, progress=ctx.progress)
    result["training"] = {k: n.record for k, n in nets.items()}
    result["sizes"] = sizes.to_dict() | {"n_segments": n_segments}
    path = write_json_atomic(ctx.out_dir / "norms.json", result)
    _print_summary(result)
    print(f"wrote {path} and " + ", ".join(str(ctx.out_dir / f) for f in result["figures"]))
    return 0


def _print_summary(result) -> None:
    num = result["numbers"]
    print(f"\n{num['convention']}")
    print(f"assumption: {num['assumption']['statement']}")
    print(f"{'labels':>6} {'points':>7} {'n':>6} {'median':>8} {'q01':>8} {'q99':>8} {'max':>8} "
          f"{'frac>1':>7} {'frac<=1':>9}   ratio ||A(x)||_inf / ||W_1...W_L||_inf")
    for net, nd in num["nets"].items():
        for s, sd in nd["sets"].items():
            c = sd["composed_ratio"]
            print(f"{net:>6} {s:>7} {c['n']:>6} {c['median']:8.3g} {c['q01']:8.3g} {c['q99']:8.3g} {c['max']:8.3g} "
                  f"{c['frac_above_1']:7.4f} {c['frac_at_most_1']:9.4f}")
    for net, nd in num["nets"].items():
        lmax = [max(sd["layer_ratio"]["max"][l] for sd in nd["sets"].values())
                for l in range(len(nd["sets"]["train"]["layer_ratio"]["max"]))]
        g = nd["segments"]
        t = g["tightness_bound_over_actual"]
        print(f"{net:>6}: max ||W~_l||_inf/||W_l||_inf per hidden layer {', '.join(f'{v:.4f}' for v in lmax)}; "
              f"segment bound: {g['n']} segments, {g['pieces_per_segment']['total']} pieces, {g['violations']} violations, "
              f"bound/actual median {t.get('median', float('nan')):.3g} (min {t.get('min', float('nan')):.3g})")
    failed = [c for c in result["claims"] if not c["holds"]]
    print(f"claims: {len(result['claims']) - len(failed)} of {len(result['claims'])} hold"
          + "".join(f"\n  does not hold: {c['claim']} -- {c['measured']}" for c in failed))
