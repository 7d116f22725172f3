"""Exact generalization intervals (GIs) along rays.

``GI(x, d)`` is the largest interval ``[lo, hi]`` containing ``t = 0`` inside ``[t_min, t_max]`` on which
the label ``c = argmax f(x)`` (lowest index on ties) stays a maximum of ``f(x + t d)``: a class change is
where another logit becomes *strictly* larger. Exact means: the answer of exact rational arithmetic on the
given float64 numbers (:mod:`relu_regions._exact`). Rays are walked from 0 forwards (to ``t_max``) and
backwards (to ``t_min``) in float64 with every decision certified by rigorous error bounds
(:mod:`relu_regions._walk`); by default stretches proven free of class change by sound float32 bounds
are skipped instead of walked (:mod:`relu_regions._certify`). The few rays whose decisions float64
cannot certify (exact ties, coincident roots, overflow) are resolved in exact arithmetic. Range ends may
be infinite.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from relu_regions._certify import prepare
from relu_regions._config import EngineConfig
from relu_regions._exact import (ExactNet, RegionLimitError, exact_label, exact_ray, first_quantities, ray_regions,
                                 to_float)
from relu_regions._model import accepts_models
from relu_regions._program_api import program_interval, program_intervals
from relu_regions._network import cast_params
from relu_regions._sharding import ray_mesh
from relu_regions._stream import solve_rays
from relu_regions._validate import check_params, check_points, check_positive_int, check_range, check_ray_batch


class Interval(NamedTuple):
    """A GI (scalars for one ray, ``(B,)`` arrays for a batch).

    lo, hi: ends of the GI, ``t_min <= lo <= 0 <= hi <= t_max``.  length: ``hi - lo``.
    label: ``argmax f(x)`` (lowest index on ties).  lo_class, hi_class: the class that overtakes at
    ``lo``/``hi`` (the largest logit just beyond; lowest index on ties), or -1 where the end is the range
    end.  n_regions: linear regions whose interior meets ``(lo, hi)`` (0 for an empty GI; -1 where not
    counted).  exact: True where the answer is certified exact; False only where it cannot be had (the
    walk met more than ``max_steps`` regions, or an end overflows float64): then lo/hi are NaN.
    fallback: True where float64 (with a compensated first layer on a second try) could not certify the
    answer and the ray was resolved in exact rational arithmetic (None for results made elsewhere).
    """

    lo: np.ndarray
    hi: np.ndarray
    length: np.ndarray
    label: np.ndarray
    lo_class: np.ndarray
    hi_class: np.ndarray
    n_regions: np.ndarray
    exact: np.ndarray
    fallback: np.ndarray | None = None


def _assemble(sides, label, count_regions: bool) -> tuple[dict, np.ndarray]:
    """Columns of the float64 results from side results ``(B, 2)`` (forwards, backwards), and the rays
    whose answer is not certified."""
    end, who, regions, finished, cert, cert_count = (np.asarray(v) for v in (
        sides.end, sides.who, sides.regions, sides.finished, sides.cert, sides.cert_count))
    fwd, bwd = (slice(None), 0), (slice(None), 1)
    ok = cert[fwd] & cert[bwd] & finished[fwd] & finished[bwd]
    shared = (regions[fwd] > 0) & (regions[bwd] > 0)
    if count_regions:
        ok &= cert_count[fwd] & cert_count[bwd]
    cols = dict(lo=-end[bwd].astype(np.float64), hi=end[fwd].astype(np.float64),
                label=np.asarray(label).astype(np.int64), lo_class=who[bwd].astype(np.int64),
                hi_class=who[fwd].astype(np.int64),
                n_regions=(regions[fwd] + regions[bwd] - shared) if count_regions else np.full(len(ok), -1))
    return cols, ~ok


def _decided(sides) -> np.ndarray:
    """Sides ``(B, 2)`` whose float64 answer (end and class) is certified."""
    return np.asarray(sides.cert) & np.asarray(sides.finished)


def _label_certified(safe: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """Rays ``(R,)`` whose float64 label is certified, from their frontiers ``(safe, decided)`` ``(R, 2)``:
    any certified stretch or decided side had every margin certainly positive at ``t = 0``."""
    return np.any(decided | (safe > 0), axis=1)


def _second_tier(p64, cp, xs, ds, lo_lim, hi_lim, rows, sides, cols, count_regions, batch_size, max_steps,
                 config: EngineConfig, mesh):
    """The undecided ``rows`` walked again with a compensated first layer (call under x64); updates
    ``cols`` and returns it with the rows still undecided and their frontiers ``(safe, decided)``
    (``(R, 2)`` each, as :func:`_resolve_exactly` takes them).

    On the certified path a side the first tier decided is not walked again (its range is emptied) and
    an undecided one resumes at the first tier's frontier, for the first tier's label, which is certified
    once any stretch was (else the side starts at 0 with the label the second tier computes). Rays go in
    chunks of ``config.small``: at most one more compilation, whatever the count; padding rows repeat the
    first ray over the empty range ``[0, 0]``. On fewer lanes (few, hard rays), unless the first tier ran
    the very same kernel shape, whose compilation is then reused; in one stream (``EngineConfig.streams``),
    whose chunks keep that size."""
    n = len(xs)
    size = max(config.small, 8)
    same_shape = mesh is None and min(batch_size, n) == size
    config2 = replace(config, streams=1) if same_shape else config.second_tier(jax.default_backend())
    pad = -(-len(rows) // size) * size - len(rows)
    pick = np.concatenate([rows, np.full(pad, rows[0])])
    padded = lambda a, fill=0.0: np.concatenate([a, np.full(pad, fill, a.dtype)])
    safe1, decided1 = sides.safe[rows], _decided(sides)[rows]
    lo2, hi2 = lo_lim[rows], hi_lim[rows]
    resume = []
    if cp is not None:  # a decided side gets the empty range; the first tier's label where it certified anything
        lo2, hi2 = np.where(decided1[:, 1], 0.0, lo2), np.where(decided1[:, 0], 0.0, hi2)
        start = np.where(decided1, 0.0, safe1)
        label0 = np.where(_label_certified(safe1, decided1), cols["label"][rows], -1).astype(np.int32)
        resume = [padded(start[:, 0]), padded(start[:, 1]), padded(label0, -1)]
    arrays = [xs[pick], ds[pick], padded(lo2), padded(hi2), *resume]
    sides2, label2 = solve_rays(p64, cp, arrays, batch_size=size, max_steps=max_steps, config=config2,
                                accurate=True)
    sides2 = jax.tree.map(lambda v: np.asarray(v)[: len(rows)], sides2)
    label2 = np.asarray(label2)[: len(rows)]
    # Both tiers certified their frontiers and answers for their own labels: where the labels agree, each
    # side takes the answer of the tier that decided it (the first tier's, if both) and the furthest frontier.
    agree = (label2 == cols["label"][rows])[:, None]
    if not count_regions:  # (region counts are per ray: both sides from one tier)
        keep = decided1 & agree
        sides2 = jax.tree.map(lambda a, b: np.where(keep, a, b), jax.tree.map(lambda v: v[rows], sides), sides2)
    cols2, still = _assemble(sides2, label2, count_regions)
    for k, v in cols2.items():
        cols[k][rows[~still]] = v[~still]
    safe = np.where(agree, np.maximum(safe1, sides2.safe), safe1)
    later = agree & _decided(sides2) & ~decided1
    for s, end_col, who_col in ((0, "hi", "hi_class"), (1, "lo", "lo_class")):
        take = still & later[:, s]  # rays left to exact arithmetic keep a side the second tier decided
        cols[end_col][rows[take]] = cols2[end_col][take]
        cols[who_col][rows[take]] = cols2[who_col][take]
    return cols, rows[still], safe[still], (decided1 | later)[still]


def _resolve_exactly(net, xs, ds, lo_lim, hi_lim, rows, cols, count_regions, max_steps,
                     frontier=None, progress: bool = False) -> tuple[np.ndarray, list]:
    """Recompute ``rows`` in exact arithmetic, in place in ``cols``; returns the exact flags and reasons.

    ``frontier = (safe, decided)``, both ``(len(rows), 2)`` (forwards, backwards): how far the float64 walk
    certified each side free of class change for its label ``cols["label"]``, and whether it certified
    the side's answer. Without region counts, and where that label is the exact one, a decided side is
    kept and the other is walked exactly from its frontier (the step float64 could not decide and what
    follows it); else both sides are walked from 0. ``progress``: a progress bar over the rays."""
    exact = np.ones(len(cols["lo"]), bool)
    reasons = []
    if not len(rows):
        return exact, reasons
    en = ExactNet.of(net)
    certified = None if frontier is None else _label_certified(*frontier)
    for k, i in enumerate(tqdm(rows, disable=not progress, desc="exact arithmetic", unit="ray")):
        first = first_quantities(en, xs[i], ds[i])
        starts = (0.0, 0.0)
        if frontier is not None and not count_regions:
            safe, decided = frontier
            label = cols["label"][i] if certified[k] else exact_label(en, *first)
            if label == cols["label"][i]:
                starts = tuple(None if decided[k, s] else float(safe[k, s]) for s in (0, 1))
        else:
            label = exact_label(en, *first)
        try:
            fwd, bwd, label = exact_ray(en, xs[i], ds[i], float(lo_lim[i]), float(hi_lim[i]), max_regions=max_steps,
                                        starts=starts, label=label, first=first)
        except RegionLimitError as e:
            exact[i] = False
            reasons.append(f"ray {i}: {e}")
            continue
        for side, end_col, who_col, sign in ((fwd, "hi", "hi_class", 1), (bwd, "lo", "lo_class", -1)):
            if side is None:
                continue
            cols[end_col][i], cols[who_col][i] = sign * to_float(side.end), side.who
            if side.end is not None and not np.isfinite(to_float(side.end)):
                exact[i] = False
                reasons.append(f"ray {i}: a GI end overflows float64")
        cols["label"][i] = label
        cols["n_regions"][i] = ray_regions(fwd, bwd) if count_regions else -1
    return exact, reasons


@accepts_models(program_intervals, Interval, batched=True)
def exact_intervals(params, xs, ds, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                    batch_size: int = 2048, progress: bool = False, count_regions: bool = False,
                    devices=None, config: EngineConfig | None = None) -> Interval:
    """Exact GIs of a batch of rays ``xs[i] + t ds[i]``; ``xs, ds`` are ``(B, n_0)``.

    ``params``: a list of ``(W, b)``, a JAX callable ``f(x) -> logits`` for one unbatched example, or a
    ``relu_regions.trace`` program; with the latter two ``xs, ds`` are ``(B,) + input shape``.

    ``t_min``/``t_max`` are scalars or ``(B,)`` arrays with ``t_min <= 0 <= t_max`` (``-inf``/``inf`` allowed).
    Rays are processed in chunks of ``batch_size`` (one compilation per network shape and chunk size), which
    also makes the computation interruptible between chunks; on a CPU device a large batch is split into one
    stream per core (``EngineConfig.streams``), each in chunks of ``batch_size`` or smaller. Returns an
    :class:`Interval` of ``(B,)`` arrays; each ray's answer is the exact one whatever the batch, the devices or
    the path.

    By default stretches of a ray that float32 bound propagation proves free of class change (soundly,
    rounding included) are skipped, and only the rest is walked region by region; ``n_regions`` is then
    -1. ``count_regions=True`` walks every region and counts them (certified as well). ``max_steps`` bounds
    the steps of each side (certification attempts and regions); a ray that needs more is resolved in
    exact arithmetic, which stops after ``max_steps`` regions (``exact`` False, with a warning).
    ``progress``: progress bars over the chunks of rays and over the rays resolved in exact arithmetic.

    ``devices``: a list of JAX devices to shard the rays over (``batch_size`` then counts rays per device);
    default: the default device only. ``config``: an :class:`EngineConfig` (how work is batched).
    """
    net, xs, ds, lo_lim, hi_lim = check_ray_batch(params, xs, ds, t_min, t_max)
    n = xs.shape[0]
    max_steps = check_positive_int(max_steps, "max_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    certify = not count_regions and len(net) > 1
    config = config or EngineConfig()
    mesh = None if devices is None else ray_mesh(devices)
    if n == 0:
        empty_f, empty_i = np.zeros(0), np.zeros(0, np.int64)
        return Interval(empty_f, empty_f, empty_f, empty_i, empty_i, empty_i, empty_i, np.zeros(0, bool),
                        np.zeros(0, bool))
    xs, ds = np.asarray(xs, np.float64), np.asarray(ds, np.float64)  # no copy if float64 already
    with jax.enable_x64(True):
        p64 = cast_params(net, jnp.float64)
        cp = prepare(p64) if certify else None
        sides, label = solve_rays(p64, cp, [xs, ds, lo_lim, hi_lim], batch_size=batch_size, max_steps=max_steps,
                                  config=config, progress=progress, desc="exact GIs",
                                  mesh=mesh)
    cols, undecided = _assemble(sides, label, count_regions)
    rows = np.flatnonzero(undecided)
    safe, decided = sides.safe[rows], _decided(sides)[rows]
    if len(rows):
        with jax.enable_x64(True):
            cols, rows, safe, decided = _second_tier(p64, cp, xs, ds, lo_lim, hi_lim, rows, sides, cols,
                                                     count_regions, batch_size, max_steps, config, mesh)
    exact, reasons = _resolve_exactly(net, xs, ds, lo_lim, hi_lim, rows, cols, count_regions, max_steps,
                                      (safe, decided), progress=progress)
    lo = np.where(exact, cols["lo"], np.nan)
    hi = np.where(exact, cols["hi"], np.nan)
    if reasons:
        warnings.warn(f"{len(reasons)} of {n} rays have no exact float64 answer; their lo/hi are NaN: "
                      + "; ".join(reasons[:5]), RuntimeWarning, stacklevel=2)
    return Interval(lo=lo, hi=hi, length=hi - lo, label=cols["label"], lo_class=cols["lo_class"],
                    hi_class=cols["hi_class"], n_regions=cols["n_regions"].astype(np.int64), exact=exact,
                    fallback=np.isin(np.arange(n), rows))


@accepts_models(program_interval, Interval, batched=False)
def exact_interval(params, x, d, t_min=-1.0, t_max=2.0, *, max_steps: int = 100_000,
                   count_regions: bool = False) -> Interval:
    """Exact GI of one ray ``x + t d`` (``x, d`` of shape ``(n_0,)``) within ``[t_min, t_max]`` (default
    ``[-1, 2]`` as in the paper). Returns an :class:`Interval` of scalars; raises ``RuntimeError`` where
    no exact answer can be had (more than ``max_steps`` regions, or an end beyond float64's range).
    ``count_regions``: see :func:`exact_intervals`."""
    net = check_params(params)
    n_in = net[0][0].shape[0]
    x = check_points(x, n_in, "x", batched=False)
    d = check_points(d, n_in, "d", batched=False)
    check_range(t_min, t_max)
    if np.ndim(t_min) or np.ndim(t_max):
        raise ValueError("exact_interval: t_min and t_max must be scalars (use exact_intervals for a batch)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        r = exact_intervals(net, x[None], d[None], t_min, t_max, max_steps=max_steps, batch_size=1,
                            count_regions=count_regions)
    if not r.exact[0]:
        raise RuntimeError("exact_interval: " + "; ".join(str(w.message) for w in caught))
    return Interval(*(np.asarray(v[0]).item() for v in r))
