"""Scale figures of the default exact_intervals call against the float64 sampler (n = 1000) and the counting walk.

The default call is ``exact_intervals(params, xs, ds, t_min, t_max)``; five axes: width, depth, input
dimension, number of classes, range of ``t``.

    python benchmarks/scaling.py [--rays 1024] [--sampler-rays 256] [--repeats 2] [--axes width depth ...]
    python benchmarks/scaling.py --tiny     # a quick check of the script (small sizes, results/scaling_tiny.json)

Axes (MNIST-1k, 100 images per class, same-label pairwise rays ``x_i + t (x_j - x_i)`` labelled by the
network's own predictions):

* ``width``: 3 hidden layers of 64, 128, 256, 512, 1024 units, 28x28 input;
* ``depth``: 1, 2, 3, 5, 8 hidden layers of 128 units;
* ``input_dim``: 3x128 on 7x7, 14x14 and 28x28 inputs (average-pooled images);
* ``classes``: 3x128 with 10, 100 and 1000 outputs. MNIST has 10 classes, so for 100 and 1000 the trained
  3x128 hidden layers are kept and the last layer is replaced by a random one with ``k`` outputs, drawn
  like the training's initialisation (kernel and bias ~ U(-1/sqrt(128), 1/sqrt(128)), seed 0); the rays
  join images with the same predicted class. A 10-output random last layer is measured as a control
  (``10, random last layer``), so that the effect of the random layer and that of ``k`` can be told apart;
* ``range``: 3x128 on ``t`` in [-1, 2], [-10, 10], [-1e3, 1e3] and (-inf, inf).

Every network is the paper's MLP trained with plain SGD (lr 0.01, batch 32) towards 100 % training
accuracy by ``_common.trained_net`` (cached; at most 2000 epochs; the epochs, training and validation
accuracy reached are in each row). Everything else is on ``t`` in [-1, 2].

Per row, timed interleaved (``--repeats`` rounds of default, counting, sampler; medians): rays/s of

* the default call ``rr.exact_intervals(params, xs, ds, t_min, t_max)`` (certified skips, ``n_regions``
  -1) on ``rays`` rays: ``--rays``, fewer (powers of two, at least 128 so that it takes its certified path)
  where a 128-ray probe predicts more than ``--budget`` seconds per call;
* the counting walk (``count_regions=True``) on the first ``counting_rays`` of them: the same rays where ten
  times the default call's time fits in twice the budget, else as many as fit assuming it is 12 times slower
  per ray (at least 16; at most 64 rays take the engine's small-batch kernel, a vmapped plain walk:
  ``counting_path``);
* the float64 sampler at n = 1000 (``speed.tuned_sampler``: one jitted ``lax.map`` over vmapped batches,
  batch size tuned per network on a sample sized by the budget) on the first ``sampler_rays``
  (``--sampler-rays``, fewer under the budget, at least 32); on other finite ranges the same kernel and
  batch on that range; none on (-inf, inf), which no grid covers;

their ratios (``x_sampler``, ``x_counting``: how many times faster the default call is per ray; and the
inverse time ratios ``default_over_sampler_time``, ``default_over_counting_time``), the cost per GI
(``*_us_per_gi``: us per ray), the linear regions inside the GIs (counting walk), the fallback rates
(``Interval.fallback``: rays resolved in exact rational arithmetic; on small samples one such ray can
dominate a method's time) and compile times apart (first call minus warm call: the default call on its
128-ray probe, the counting walk on its rays, the sampler on an 8-ray probe with batch 8; about 0 where
kernels of the same shapes were compiled earlier in the run).

Regions walked vs skipped by the default call: the library reports ``n_regions = -1`` on its default path,
so a benchmark-only instrument (like ``speed.profile``; no library code is changed) re-traces the engine with
two of its functions wrapped: the region count of a lane's float64 walk is carried over its certification
attempts instead of being reset, and emitted with the lane's step count. It runs the default call once more
on the counting rays, at least 128 (with ``max_steps`` 99,999 so that the instrumented trace gets its own cache entry; the
answers are checked equal to the default call's). ``walked_regions_mean`` counts the first tier's float64
region steps per ray (both sides), ``skipped_fraction`` is 1 - walked / regions inside the GIs (from the
counting walk on the same rays), ``cert_attempts_mean`` the other lane steps (certification attempts).

Writes ``benchmarks/results/scaling.json`` (``--name``), with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import jax
import numpy as np

import relu_regions as rr
from relu_regions._network import cast_params
from relu_regions._sampled import _sampled_kernel
from _common import pairwise_rays, print_table, timed, trained_net, write_json
import speed
from speed import sampler as speed_sampler
from speed import tuned_sampler

N_SAMPLES = 1000
PROBE_RAYS = 128         # above EngineConfig.small (64): smaller batches walk every region, even by default
MIN_COUNTING_RAYS = 16
COUNTING_SLOWER_GUESS = (10, 12)  # sizing only: how much slower per ray the counting walk is assumed to be
MIN_SAMPLER_RAYS = 32    # the largest batch tuned_sampler tries at n = 1000
INSTRUMENT_MAX_STEPS = 99_999


class Spec(NamedTuple):
    """One network and range: hidden widths, average-pooling factor (1: 28x28), outputs (None: the trained
    10-class last layer; k: a random last layer with k outputs), range of ``t``."""

    widths: tuple = (128, 128, 128)
    factor: int = 1
    classes: int | None = None
    t: tuple = (-1.0, 2.0)


BASE = Spec()
AXES = {
    "width": [(f"3x{w}", BASE._replace(widths=(w,) * 3)) for w in (64, 128, 256, 512, 1024)],
    "depth": [(f"{k}x128", BASE._replace(widths=(128,) * k)) for k in (1, 2, 3, 5, 8)],
    "input_dim": [(f"{28 // f}x{28 // f}", BASE._replace(factor=f)) for f in (4, 2, 1)],
    "classes": [("10", BASE), ("10, random last layer", BASE._replace(classes=10)),
                ("100, random last layer", BASE._replace(classes=100)),
                ("1000, random last layer", BASE._replace(classes=1000))],
    "range": [("[-1, 2]", BASE), ("[-10, 10]", BASE._replace(t=(-10.0, 10.0))),
              ("[-1e3, 1e3]", BASE._replace(t=(-1e3, 1e3))), ("(-inf, inf)", BASE._replace(t=(-np.inf, np.inf)))],
}
TINY_AXES = {  # --tiny: the smallest entry of each axis and the shared 3x128 row
    "width": ["3x64", "3x128"], "depth": ["1x128", "3x128"], "input_dim": ["7x7", "28x28"],
    "classes": ["10", "100, random last layer"], "range": ["[-1, 2]", "(-inf, inf)"],
}


def _pow2_floor(x: float) -> int:
    return 1 << max(0, int(math.floor(math.log2(max(x, 1.0)))))


def random_last_layer(params, k: int, seed: int = 0):
    """``params`` with the last layer replaced by ``k`` random outputs, drawn like the training's
    ``"uniform"`` initialisation: kernel and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    W, b = params[-1]
    fan_in = W.shape[0]
    rng = np.random.default_rng(seed)
    bound = 1.0 / math.sqrt(fan_in)
    W_new = rng.uniform(-bound, bound, (fan_in, k)).astype(np.asarray(W).dtype)
    b_new = rng.uniform(-bound, bound, (k,)).astype(np.asarray(b).dtype)
    return list(params[:-1]) + [(W_new, b_new)]


def predict(params, X) -> np.ndarray:
    """The network's class (float64 forward pass, lowest index on ties) for the rows of ``X``."""
    h = np.asarray(X, np.float64)
    for i, (W, b) in enumerate(params):
        h = h @ np.asarray(W, np.float64) + np.asarray(b, np.float64)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return np.argmax(h, axis=1)


def network(spec: Spec):
    """``(params, info, X, labels)`` for ``spec``: the cached trained net, with a random last layer if
    ``spec.classes``; labels are the network's own predictions on the training images."""
    params, info, X, y = trained_net("real", widths=spec.widths, factor=spec.factor, progress=False)
    info = {**info, "last_layer": "trained (10 outputs)"}
    if spec.classes is not None:
        params = random_last_layer(params, spec.classes)
        info["last_layer"] = (f"random, {spec.classes} outputs, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seed 0 "
                              "(hidden layers trained)")
    pred = predict(params, X)
    info["prediction_agrees_with_labels"] = float(np.mean(pred == y))
    info["predicted_classes"] = int(len(np.unique(pred)))
    return params, info, X, pred


def rays_for(X, labels, n: int, seed: int = 3):
    """``n`` random ordered same-label pairs (all of them if there are fewer)."""
    xs, ds = pairwise_rays(X, labels)
    idx = np.random.default_rng(seed).choice(len(xs), size=min(n, len(xs)), replace=False)
    return xs[idx], ds[idx]


def sampler_on(params, n: int, batch: int, t_min: float, t_max: float):
    """``speed.sampler`` (float64) on the range ``[t_min, t_max]`` instead of [-1, 2]."""
    with jax.enable_x64(True):
        p = cast_params(params, "float64")
        kernel = jax.jit(lambda p, xs, ds, lo, hi: jax.lax.map(lambda a: _sampled_kernel(p, *a, n)[:2],
                                                               (xs, ds, lo, hi), batch_size=batch))

    def run(xs, ds):
        with jax.enable_x64(True):
            lo, hi = np.full(len(xs), t_min), np.full(len(xs), t_max)
            out = jax.block_until_ready(kernel(p, xs.astype("float64"), ds.astype("float64"), lo, hi))
        return jax.device_get(out)
    return run


# ---- benchmark-only instrument: regions walked and certification attempts of the default call ----

@contextmanager
def walk_instrument(record: list):
    """While active, traces of the certified engine emit, per side, ``regions walked + (other lane steps
    << 16)`` in ``Sides.regions`` (each clipped to its field) and ``relu_regions._interval.solve_rays``
    appends its first-tier side results to ``record``. Nothing changes in the answers: the walk's region
    count is only carried over certification attempts instead of being reset. Use with a ``max_steps``
    that no cached trace has (the patched functions only act when the engine is traced)."""
    import relu_regions._engine as engine
    import relu_regions._interval as interval

    certify, emit, solve = engine._certify, engine._emit, interval.solve_rays

    def certify_keep_count(params, cp, lane):
        out, finished = certify(params, cp, lane)
        return out._replace(step=out.step._replace(regions=lane.step.regions)), finished

    def emit_counts(lane, count):
        sides = emit(lane, count)
        walked = lane.step.regions
        other = jax.numpy.clip(lane.n - walked, 0, 2**15 - 1)
        return sides._replace(regions=jax.numpy.clip(walked, 0, 2**16 - 1) + other * 2**16)

    def solve_recording(*a, **k):
        out = solve(*a, **k)
        if not k.get("accurate") and out is not None:
            record.append(np.asarray(out[0].regions))
        return out

    engine._certify, engine._emit, interval.solve_rays = certify_keep_count, emit_counts, solve_recording
    try:
        yield
    finally:
        engine._certify, engine._emit, interval.solve_rays = certify, emit, solve


def walked_regions(params, xs, ds, t_min, t_max, reference) -> dict:
    """Regions walked and certification attempts per ray of the default call on ``xs, ds`` (see
    :func:`walk_instrument`), checked against its plain answer ``reference``."""
    record = []
    with walk_instrument(record), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = rr.exact_intervals(params, xs, ds, t_min, t_max, max_steps=INSTRUMENT_MAX_STEPS)
    ends = np.concatenate([out.lo, out.hi]), np.concatenate([reference.lo, reference.hi])
    same = bool(np.array_equal(out.hi_class, reference.hi_class) and np.array_equal(out.lo_class, reference.lo_class)
                and np.array_equal(np.isnan(ends[0]), np.isnan(ends[1]))
                and np.allclose(*ends, rtol=1e-9, atol=0, equal_nan=True))
    if len(record) != 1:
        return {"instrument_ok": False, "instrument_note": f"{len(record)} first-tier calls recorded"}
    enc = record[0].astype(np.int64)  # (B, 2): forwards, backwards
    walked, other = (enc & 0xFFFF).sum(axis=1), (enc >> 16).sum(axis=1)
    return {"instrument_ok": same, "walked": walked, "cert_attempts": other}


# ---- one row ----

def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a - b|`` (equal infinite ends count 0)."""
    with np.errstate(invalid="ignore"):
        return float(np.max(np.abs(np.where(a == b, 0.0, a - b)), initial=0.0))


def _head(r, k: int):
    """The first ``k`` rays of an :class:`Interval`."""
    return type(r)(*(None if v is None else v[:k] for v in r))


def _median_rate(n: int, times: list[float]) -> float:
    return n / float(np.median(times))


def measure(spec: Spec, rays: int, sampler_rays: int, repeats: int, budget: float) -> dict:
    t_start = time.perf_counter()
    t_min, t_max = spec.t
    finite = bool(np.isfinite(t_min) and np.isfinite(t_max))
    params, info, X, labels = network(spec)
    xs, ds = rays_for(X, labels, rays)
    R = len(xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rays without an exact answer are counted below instead
        default = lambda k: rr.exact_intervals(params, xs[:k], ds[:k], t_min, t_max)
        counting = lambda k: rr.exact_intervals(params, xs[:k], ds[:k], t_min, t_max, count_regions=True)

        # Default call: a 128-ray probe (first call minus warm call: compile time; warm rate), then as many
        # rays (up to R) as fit in the budget per call.
        P = min(R, PROBE_RAYS)
        t0 = time.perf_counter()
        default(P)
        first_probe = time.perf_counter() - t0
        warm_probe, _, _ = timed(lambda: default(P), repeats=1)
        compile_default = max(first_probe - warm_probe, 0.0)
        rate_probe = P / warm_probe
        Rd = min(R, max(P, _pow2_floor(rate_probe * budget)))
        if Rd != P:
            default(Rd)  # compiles for this shape

        # Counting walk: on the same rays if 10x the default call's time fits in twice the budget, else on
        # fewer (assuming it is 12x slower per ray; at least 16; at most 64 rays take the engine's
        # small-batch kernel, a vmapped plain walk).
        if Rd / rate_probe * COUNTING_SLOWER_GUESS[0] <= 2 * budget:
            Rc = Rd
        else:
            Rc = min(Rd, max(MIN_COUNTING_RAYS, _pow2_floor(rate_probe / COUNTING_SLOWER_GUESS[1] * budget)))
            Rc = Rc if Rc >= PROBE_RAYS else min(Rc, 64)
        t0 = time.perf_counter()
        counting(Rc)
        first_counting = time.perf_counter() - t0

        # Sampler: an 8-ray probe with batch 8 (compile time, rate), then speed.tuned_sampler on a sample.
        samp = None
        if finite:
            probe = speed_sampler(params, N_SAMPLES, "float64", 8)
            t0 = time.perf_counter()
            probe(xs[:8], ds[:8])
            first_s = time.perf_counter() - t0
            warm_s, _, _ = timed(lambda: probe(xs[:8], ds[:8]), repeats=1)
            compile_sampler = max(first_s - warm_s, 0.0)
            rate_s = 8 / warm_s
            tune = min(sampler_rays, R, max(MIN_SAMPLER_RAYS, _pow2_floor(rate_s * budget / 8)))
            f, batch = tuned_sampler(params, xs[:tune], ds[:tune], N_SAMPLES, "float64")
            if (t_min, t_max) != (speed.T_MIN, speed.T_MAX):  # tuned_sampler's f runs on [-1, 2]
                f = sampler_on(params, N_SAMPLES, batch, t_min, t_max)
            S = min(sampler_rays, R, max(MIN_SAMPLER_RAYS, _pow2_floor(rate_s * budget)))
            f(xs[:S], ds[:S])  # compiles for this shape
            samp = lambda: f(xs[:S], ds[:S])

        times = {"default": [], "counting": [], "sampler": []}
        res = {}
        for _ in range(repeats):  # interleaved, so that load changes hit every method alike
            t, _, res["default"] = timed(lambda: default(Rd), repeats=1)
            times["default"].append(t)
            t, _, res["counting"] = timed(lambda: counting(Rc), repeats=1)
            times["counting"].append(t)
            if samp is not None:
                t, _, res["sampler"] = timed(samp, repeats=1)
                times["sampler"].append(t)
        times["default_probe_warm"] = [warm_probe]

        D, C = res["default"], res["counting"]
        rate_d, rate_c = _median_rate(Rd, times["default"]), _median_rate(Rc, times["counting"])
        rate_s_med = _median_rate(S, times["sampler"]) if samp is not None else None
        compile_counting = max(first_counting - float(np.median(times["counting"])), 0.0)
        both = D.exact[:Rc] & C.exact
        regions = C.n_regions[C.exact]
        Ri = max(Rc, P)  # the instrumented default call needs more than 64 rays to take its certified path
        walk = walked_regions(params, xs[:Ri], ds[:Ri], t_min, t_max, _head(D, Ri))

    row = {
        "rays": Rd, "counting_rays": Rc, "sampler_rays": S if samp is not None else 0,
        "counting_path": "lane queue" if Rc > 64 else "small-batch kernel (at most 64 rays: vmapped plain walk)",
        "instrument_rays": Ri, "default_probe_rays_per_s": rate_probe,
        "default_rays_per_s": rate_d, "counting_rays_per_s": rate_c, "sampler_rays_per_s": rate_s_med,
        "x_sampler": rate_d / rate_s_med if rate_s_med else None,
        "x_counting": rate_d / rate_c,
        "default_over_sampler_time": rate_s_med / rate_d if rate_s_med else None,
        "default_over_counting_time": rate_c / rate_d,
        "default_us_per_gi": 1e6 / rate_d, "counting_us_per_gi": 1e6 / rate_c,
        "sampler_us_per_gi": 1e6 / rate_s_med if rate_s_med else None,
        "regions_in_gi_mean": float(regions.mean()) if len(regions) else None,
        "regions_in_gi_max": int(regions.max()) if len(regions) else None,
        "gi_length_mean": float(np.mean(D.length[D.exact])) if D.exact.any() else None,
        "fallback_rate": float(np.mean(D.fallback)), "counting_fallback_rate": float(np.mean(C.fallback)),
        "not_exact_rate": float(np.mean(~D.exact)),
        "default_vs_counting_classes_agree": bool(np.array_equal(D.hi_class[:Rc][both], C.hi_class[both])
                                                  and np.array_equal(D.lo_class[:Rc][both], C.lo_class[both])),
        "default_vs_counting_max_abs_diff": _max_diff(np.concatenate([D.hi[:Rc][both], D.lo[:Rc][both]]),
                                                      np.concatenate([C.hi[both], C.lo[both]])),
        "compile_default_s": compile_default,
        "compile_counting_s": compile_counting,
        "compile_sampler_s": compile_sampler if samp is not None else None,
        "sampler_batch": batch if samp is not None else None,
        "times_s": times,
    }
    if walk.get("instrument_ok") and len(regions):
        ok = C.exact
        walked, in_gi = walk["walked"][:Rc][ok], C.n_regions[ok]
        row.update({"walked_regions_mean": float(walked.mean()),
                    "cert_attempts_mean": float(walk["cert_attempts"][:Rc][ok].mean()),
                    "skipped_fraction": float(1 - walked.sum() / max(in_gi.sum(), 1))})
    else:
        row["walked_regions_note"] = walk.get("instrument_note", "instrumented answers differ from the default call's")
    net = {k: info.get(k) for k in ("widths", "input_dim", "last_layer", "epochs", "train_acc", "val_acc",
                                    "reached_100pct", "predicted_classes", "prediction_agrees_with_labels")}
    net["n_classes"] = spec.classes or 10
    row.update({"network": net, "t_range": [t_min, t_max], "wall_s": time.perf_counter() - t_start})
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rays", type=int, default=None, help="rays per row for the default call, fewer where over the budget (1024; tiny: 128)")
    ap.add_argument("--sampler-rays", type=int, default=None, help="at most this many rays for the sampler (256)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved timing rounds (2; tiny: 1)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds one timed call of each method may take before it gets fewer rays "
                         "(4; tiny: 0.5)")
    ap.add_argument("--axes", nargs="+", choices=list(AXES), default=list(AXES))
    ap.add_argument("--tiny", action="store_true", help="a quick check: two entries per axis, small sizes")
    ap.add_argument("--name", default=None, help="results/<name>.json (scaling; tiny: scaling_tiny)")
    args = ap.parse_args()
    tiny = args.tiny
    rays = args.rays or (128 if tiny else 1024)
    sampler_rays = args.sampler_rays or (32 if tiny else 256)
    repeats = args.repeats or (1 if tiny else 2)
    budget = args.budget or (0.5 if tiny else 4.0)
    name = args.name or ("scaling_tiny" if tiny else "scaling")
    load_before = list(os.getloadavg())
    t_run = time.perf_counter()

    measured, rows = {}, []
    for axis in args.axes:
        for label, spec in AXES[axis]:
            if tiny and label not in TINY_AXES[axis]:
                continue
            shared = spec in measured
            if not shared:
                measured[spec] = measure(spec, rays, sampler_rays, repeats, budget)
            row = {"axis": axis, "config": label, **measured[spec], "shared_with_earlier_row": shared}
            rows.append(row)
            print(f"{axis:9s} {label:24s} default {row['default_rays_per_s']:9.0f} rays/s, "
                  f"x sampler {row['x_sampler'] or float('nan'):6.2f}, x counting {row['x_counting']:6.2f}, "
                  f"regions in GI {row['regions_in_gi_mean'] or float('nan'):7.1f}, "
                  f"skipped {row.get('skipped_fraction', float('nan')):.3f}, fallback {row['fallback_rate']:.4f}"
                  + ("" if shared else f" ({row['wall_s']:.0f} s)"), flush=True)
    wall = time.perf_counter() - t_run
    print_table(rows, ["axis", "config", "default_rays_per_s", "counting_rays_per_s", "sampler_rays_per_s",
                       "x_sampler", "x_counting", "regions_in_gi_mean", "walked_regions_mean", "skipped_fraction",
                       "default_us_per_gi", "fallback_rate", "compile_default_s"],
                f"Scaling of the default call ({rays} rays per row, median of {repeats}; wall {wall:.0f} s)")
    write_json(name, {
        "rays": rays, "sampler_rays_max": sampler_rays, "repeats": repeats, "budget_s": budget, "tiny": tiny,
        "axes": args.axes, "wall_s": wall, "loadavg_before": load_before, "loadavg_after": list(os.getloadavg()),
        "rows": rows,
        "notes": {
            "default": "rr.exact_intervals(params, xs, ds, t_min, t_max): certified skips, n_regions = -1",
            "counting": "rr.exact_intervals(..., count_regions=True) on the first counting_rays rays",
            "sampler": "speed.tuned_sampler, float64, n = 1000, on the first sampler_rays rays (none on infinite "
                       "ranges; other finite ranges: the same kernel and batch on that range)",
            "ratios": "x_sampler, x_counting: default rays/s over the other's rays/s; *_over_*_time: the inverse",
            "compile": "first call minus warm call (default: on a 128-ray probe; counting: on counting_rays; sampler: "
                       "an 8-ray probe with batch 8); about 0 where kernels of the same shapes were compiled "
                       "earlier in the run (rows on the 3x128 10-output network)",
            "sizes": "per row the default call gets as many of --rays rays as fit in --budget seconds per call (at "
                     "least 128), the counting walk and the sampler fewer where they are slower; x_counting "
                     "compares rates on rays / counting_rays (the first of the same rays); on small samples one "
                     "ray resolved in exact arithmetic can dominate a method's time (fallback_rate, "
                     "counting_fallback_rate)",
            "classes": "10: the trained net; '10/100/1000, random last layer': trained 3x128 hidden layers and a "
                       "random last layer of k outputs ~ U(-1/sqrt(128), 1/sqrt(128)), seed 0; rays join images "
                       "with the same predicted class",
            "walked_regions": "benchmark-only instrument (walk_instrument): first-tier float64 region steps per "
                              "ray of the default call on the counting rays; skipped_fraction = 1 - walked / "
                              "regions inside the GIs (counting walk), over rays exact in the counting walk",
            "shared_with_earlier_row": "the 3x128, 28x28, 10-class, [-1, 2] configuration is measured once and "
                                       "repeated on every axis",
            "training": "SGD lr 0.01, batch 32, to 100 % train accuracy or 2000 epochs (network.train_acc)",
        },
    })


if __name__ == "__main__":
    main()
