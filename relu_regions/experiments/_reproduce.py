"""Run experiments, keeping ``results.json`` and ``report.md`` in the output directory up to date."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata

from relu_regions.data import DatasetNotFoundError
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
    return {"sizes": ctx.sizes.to_dict(), "seed": ctx.seed,
            "data_dir": None if ctx.data_dir is None else str(ctx.data_dir), "source": ctx.source,
            "cache_dir": str(ctx.cache_dir), "created": _now(), "updated": _now(), "versions": _versions()}


def _start(ctx: ExperimentContext) -> dict:
    """The existing ``results.json`` of ``ctx.out_dir`` when it was made with the same sizes, seed and data,
    so that single experiments add to it; a fresh one otherwise."""
    fresh = {"meta": _meta(ctx), "networks": {}, "experiments": {}}
    path = ctx.out_dir / RESULTS_NAME
    if not path.is_file():
        return fresh
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        same = all(old["meta"][k] == fresh["meta"][k] for k in ("sizes", "seed", "data_dir", "source"))
    except (ValueError, KeyError, TypeError):
        same = False
    if not same:
        ctx.say(f"note: {path} was made with other settings; starting a new one")
        return fresh
    old["meta"]["versions"] = fresh["meta"]["versions"]
    return old


def run_experiments(ctx: ExperimentContext, names: Iterable[str] | None = None) -> dict:
    """Run the experiments ``names`` (default: all of :data:`EXPERIMENTS`, in order) with ``ctx``.

    After each one, ``results.json`` (``{"meta", "networks", "experiments": {name: result}}``, each result
    with its ``wall_s``) and ``report.md`` in ``ctx.out_dir`` are rewritten atomically, so an interrupted
    run keeps what finished. An experiment whose data set is missing is recorded as ``{"error": message}``
    and the others still run. Returns the results dict.
    """
    names = list(EXPERIMENTS) if names is None else list(names)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; choose from {list(EXPERIMENTS)}")
    results = _start(ctx)
    for k, name in enumerate(names, 1):
        exp = EXPERIMENTS[name]
        ctx.say(f"[{k}/{len(names)}] {name} ({exp.label}): {exp.title}")
        start = time.perf_counter()
        try:
            res = exp.run(ctx)
        except DatasetNotFoundError as exc:
            res = {"error": str(exc)}
            ctx.say(f"[{k}/{len(names)}] {name}: not run, data missing:\n{exc}")
        res["wall_s"] = time.perf_counter() - start
        results["experiments"][name] = plain(res)
        results["networks"].update(plain(ctx.networks()))
        results["meta"]["updated"] = _now()
        write_json_atomic(ctx.out_dir / RESULTS_NAME, results)
        write_text_atomic(ctx.out_dir / REPORT_NAME, render_report(results))
        if "error" not in res:
            held = sum(bool(c["holds"]) for c in res["claims"])
            ctx.say(f"[{k}/{len(names)}] {name}: done in {res['wall_s']:.1f} s; {held} of {len(res['claims'])} "
                    f"claims hold; wrote {', '.join(res['figures'])}")
    return results


def reproduce(ctx: ExperimentContext) -> dict:
    """All experiments of the paper (Figs. 1-9 and the appendix's norm check): :func:`run_experiments`."""
    return run_experiments(ctx)
