"""Exact GIs of many rays, block by block, with one progress bar, and the summary the report shows."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

import relu_regions as rr
from relu_regions.experiments._rays import RayBlock
from relu_regions.experiments._stats import histogram, summarize

#: Rays built and walked per block (a multiple of the compiled batch; bounds memory).
BLOCK_RAYS = 8192


def min_rays(batch: int) -> int:
    """Rays per ``exact_intervals`` call at least: the smallest multiple of ``batch`` above the engine's
    small-batch threshold (``EngineConfig().small``), so that no call takes the small-batch kernel."""
    return batch * (rr.EngineConfig().small // batch + 1)


def exact_gis(params, rays: RayBlock, n: int, t_min: float, t_max: float, *, batch: int,
              progress: bool = False, desc: str = "exact GIs", count_regions: bool,
              writer=None) -> rr.Interval:
    """``rr.exact_intervals`` of the ``n`` rays ``rays(start, stop)`` over ``[t_min, t_max]``.

    Rays are built and walked :data:`BLOCK_RAYS` at a time in compiled batches of ``batch`` rays. A block
    with fewer rays than :func:`min_rays` is padded with empty rays (range ``[0, 0]``, nothing to walk), so
    that every call takes the engine's chunked path and reuses one compilation per network shape without
    walking any ray twice (a call of at most ``EngineConfig.small`` rays would compile the engine's
    small-batch kernel as well; with ``batch = EngineConfig.small`` the engine's second tier, which
    re-walks undecided rays in chunks of that size, reuses the first tier's compiled walk). ``count_regions``
    is passed on (``False``: the certified fast path, ``n_regions`` = -1; ask for counts only where they
    are used: counting walks every region and is several times slower). ``writer``: a
    :class:`relu_regions.results.ResultWriter` that saves each block's per-ray results as it is done
    (``x_index``: the ray's index in this set; ``direction``: ``desc``) and skips the blocks an earlier,
    interrupted run already wrote. Returns an :class:`~relu_regions.Interval` of ``(n,)`` arrays.
    """
    floor = min_rays(batch)
    block = max(floor, BLOCK_RAYS // batch * batch)

    def compute(start: int, stop: int) -> rr.Interval:
        xs, ds = rays(start, stop)
        k = stop - start
        lo, hi = np.full(k, float(t_min)), np.full(k, float(t_max))
        if k < floor:
            pad = ((0, floor - k), (0, 0))
            xs, ds = np.pad(xs, pad), np.pad(ds, pad)
            lo, hi = np.pad(lo, (0, floor - k)), np.pad(hi, (0, floor - k))
        iv = rr.exact_intervals(params, xs, ds, lo, hi, batch_size=batch, count_regions=count_regions)
        return rr.Interval(*(np.asarray(a)[:k] for a in iv))

    if writer is not None and n > 0:
        return writer.run(lambda a, b: (compute(a, b), {"x_index": np.arange(a, b), "direction": desc}), n,
                          block, progress=progress, desc=desc).interval()
    parts = []
    with tqdm(total=n, desc=desc, unit="ray", disable=not progress, leave=False) as bar:
        for start in range(0, n, block):
            stop = min(start + block, n)
            parts.append(list(compute(start, stop)))
            bar.update(stop - start)
    if not parts:
        return rr.exact_intervals(params, np.zeros((0, params[0][0].shape[0])),
                                  np.zeros((0, params[0][0].shape[0])), t_min, t_max, count_regions=count_regions)
    return rr.Interval(*(np.concatenate(cols) for cols in zip(*parts)))


def gi_summary(iv: rr.Interval, t_min: float, t_max: float, expected_label=None) -> dict:
    """Summary of a GI sample for ``results.json``: :func:`summarize` of the lengths plus

    ``segment_fraction`` (GIs containing ``[0, 1]``: the whole segment to ``t = 1`` keeps the label),
    ``full_range_fraction`` (GI = the whole range), ``regions_median`` (linear regions inside the GI),
    ``label_ok_fraction`` (rays whose start is classified as ``expected_label``, when given),
    ``range`` and a ``histogram`` of the lengths (bins of 0.05 over ``[0, t_max - t_min]``).
    """
    length = np.asarray(iv.length, dtype=np.float64)
    width = t_max - t_min
    out = summarize(length)
    out |= {
        "range": [t_min, t_max],
        "segment_fraction": float(np.mean(iv.hi >= 1.0)) if len(length) else None,
        "full_range_fraction": float(np.mean(length >= width * (1 - 1e-12))) if len(length) else None,
        "regions_median": float(np.median(iv.n_regions)) if len(length) and np.all(iv.n_regions >= 0) else None,
        "histogram": histogram(length, 0.0, width, 0.05),
    }
    if expected_label is not None:
        out["label_ok_fraction"] = float(np.mean(iv.label == np.asarray(expected_label)))
    return out
