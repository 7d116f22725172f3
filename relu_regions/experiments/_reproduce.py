"""Run experiments, keeping ``results.json`` and ``report.md`` in the output directory up to date."""

from __future__ import annotations

import json
import platform
from collections import Counter
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata

from relu_regions.data import DatasetNotFoundError
from relu_regions.experiments._claims import apply_training_target
from relu_regions.experiments._context import ExperimentContext
from relu_regions.experiments._io import plain, write_json_atomic, write_text_atomic
from relu_regions.experiments._registry import EXPERIMENTS
from relu_regions.experiments._report import render_report

RESULTS_NAME = "results.json"
REPORT_NAME = "report.md"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("relu_regions", "jax", "flax", "optax", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _meta(ctx: ExperimentContext) -> dict:
    # No absolute paths in outputs: the data directory is named by its last component only.
    return {"sizes": ctx.sizes.to_dict(), "seed": ctx.seed, "seeds": list(ctx.seeds),
            "data_dir": None if ctx.data_dir is None else ctx.data_dir.name, "source": ctx.source,
            "cache_dir": ctx.scrub(str(ctx.cache_dir)), "created": _now(), "updated": _now(),
            "versions": _versions()}


def _start(ctx: ExperimentContext) -> dict:
    """The existing ``results.json`` of ``ctx.out_dir`` when it was made with the same sizes, seed and data,
    so that single experiments add to it; a fresh one otherwise."""
    fresh = {"meta": _meta(ctx), "networks": {}, "experiments": {}}
    path = ctx.out_dir / RESULTS_NAME
    if not path.is_file():
        return fresh
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        same = all(old["meta"].get(k) == fresh["meta"][k] for k in ("sizes", "seeds", "data_dir", "source"))
    except (ValueError, KeyError, TypeError):
        same = False
    if not same:
        ctx.say(f"note: {path.name} in the output directory was made with other settings; starting a new one")
        return fresh
    old["meta"]["versions"] = fresh["meta"]["versions"]
    return old


def run_experiments(ctx: ExperimentContext, names: Iterable[str] | None = None) -> dict:
    """Run the experiments ``names`` (default: all of :data:`EXPERIMENTS`, in order) with ``ctx``.

    After each one, ``results.json`` (``{"meta", "networks", "experiments": {name: result}}``, each result
    with its ``wall_s`` and ``cpu_s``: wall-clock and CPU seconds, user + system, all threads) and
    ``report.md`` in ``ctx.out_dir`` are rewritten atomically, so an interrupted run keeps what finished.
    An experiment whose data set is missing is recorded as ``{"error": message}`` and the others still
    run. Returns the results dict.
    """
    names = list(EXPERIMENTS) if names is None else list(names)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; choose from {list(EXPERIMENTS)}")
    results = _start(ctx)
    for k, name in enumerate(names, 1):
        exp = EXPERIMENTS[name]
        ctx.say(f"[{k}/{len(names)}] {name} ({exp.label}): {exp.title}")
        start, cpu = time.perf_counter(), time.process_time()
        try:
            res = exp.run(ctx)
        except DatasetNotFoundError as exc:
            res = {"error": ctx.scrub(str(exc))}
            ctx.say(f"[{k}/{len(names)}] {name}: not run, data missing:\n{res['error']}")
        res["wall_s"] = time.perf_counter() - start
        res["cpu_s"] = time.process_time() - cpu
        records = ctx.networks()
        if "error" not in res:
            res["untrained_networks"] = apply_training_target(res["claims"], records, res.get("networks"))
        results["experiments"][name] = plain(res)
        results["networks"].update(plain(records))
        results["meta"]["updated"] = _now()
        write_json_atomic(ctx.out_dir / RESULTS_NAME, results)
        write_text_atomic(ctx.out_dir / REPORT_NAME, render_report(results))
        if "error" not in res:
            counts = Counter(c["verdict"] for c in res["claims"])
            ctx.say(f"[{k}/{len(names)}] {name}: done in {res['wall_s']:.1f} s ({res['cpu_s']:.1f} s CPU); "
                    + ", ".join(f"{n} {v}" for v, n in counts.items()) + f"; wrote {', '.join(res['figures'])}")
            for c in res["claims"]:
                if c.get("why"):
                    ctx.say(f"    {c['verdict']}: {c['claim'][:90]}{'...' if len(c['claim']) > 90 else ''}\n"
                            f"      why: {c['why']}")
    return results


def reproduce(ctx: ExperimentContext) -> dict:
    """All experiments (Figs. 1-9, the appendix's norm check and the three studies of the related work):
    :func:`run_experiments`."""
    return run_experiments(ctx)
