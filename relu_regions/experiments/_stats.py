"""Summaries and comparisons of GI samples, the bootstrap over seeds and pairs, and the verdict rules.

Every interval of the reproduction comes from :func:`bootstrap`; every verdict from :func:`decide`."""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Equivalence margin: two GI distributions count as "nearly identical" / "roughly the same" when the 95%
#: interval of their Kolmogorov-Smirnov distance lies below this (an effect size, never a p-value).
SIMILAR_KS = 0.1
#: ... and as "much" different when the interval lies above this.
DIFFERENT_KS = 0.2

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def summarize(values) -> dict:
    """``n``, ``mean``, ``median``, ``q05``..``q95``, ``min``, ``max`` of the finite entries of ``values``
    (``n_nonfinite`` counts the others, e.g. NaN GIs of walks stopped by ``max_steps``)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = v[np.isfinite(v)]
    out = {"n": int(finite.size), "n_nonfinite": int(v.size - finite.size)}
    if finite.size == 0:
        return out | {"mean": None, "median": None, "min": None, "max": None}
    qs = np.quantile(finite, QUANTILES)
    out |= {"mean": float(finite.mean()), "median": float(qs[2]), "min": float(finite.min()),
            "max": float(finite.max())}
    out |= {f"q{round(q * 100):02d}": float(x) for q, x in zip(QUANTILES, qs)}
    return out


def ks(a, b) -> dict:
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) on the finite entries:
    ``{"statistic", "pvalue", "n1", "n2"}``."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return {"statistic": None, "pvalue": None, "n1": int(a.size), "n2": int(b.size)}
    res = stats.ks_2samp(a, b)
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue), "n1": int(a.size),
            "n2": int(b.size)}


def histogram(values, lo: float, hi: float, bin_width: float) -> dict:
    """Counts of ``values`` in bins of ``bin_width`` over ``[lo, hi]`` (the top edge included):
    ``{"edges": [...], "counts": [...]}``."""
    n_bins = int(round((hi - lo) / bin_width))
    edges = np.linspace(lo, hi, n_bins + 1)
    v = np.asarray(values, dtype=np.float64)
    counts, _ = np.histogram(v[np.isfinite(v)], bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def bump(hist: dict, center: float = 1.3, half_width: float = 0.2, flank: float = 0.2) -> dict:
    """Is there a local maximum of the histogram near ``center``?

    Looks at the bins whose centres lie in ``[center - half_width, center + half_width]``, takes the
    highest one, and compares its count with the bins ``flank`` below and above it. Returns
    ``{"at", "height", "left", "right", "present"}`` with heights as fractions of all counts;
    ``present`` is True when the peak exceeds both flanks.
    """
    edges, counts = np.asarray(hist["edges"]), np.asarray(hist["counts"], dtype=np.float64)
    total = max(counts.sum(), 1.0)
    centers = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    window = np.flatnonzero(np.abs(centers - center) <= half_width + 1e-9)
    k = int(window[np.argmax(counts[window])])
    step = max(int(round(flank / width)), 1)
    left = counts[k - step] if k - step >= 0 else np.nan
    right = counts[k + step] if k + step < len(counts) else np.nan
    return {"at": float(centers[k]), "height": float(counts[k] / total), "left": float(left / total),
            "right": float(right / total), "present": bool(counts[k] > left and counts[k] > right)}


def correlation(x, y) -> dict:
    """Pearson and Spearman correlation of paired samples: ``{"pearson", "pearson_p", "spearman",
    "spearman_p", "n"}`` (``None`` where undefined, e.g. a constant series)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = {"n": int(x.size), "pearson": None, "pearson_p": None, "spearman": None, "spearman_p": None}
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    p = stats.pearsonr(x, y)
    s = stats.spearmanr(x, y)
    return out | {"pearson": float(p.statistic), "pearson_p": float(p.pvalue),
                  "spearman": float(s.statistic), "spearman_p": float(s.pvalue)}


def fmt(x, digits: int = 3) -> str:
    """A number for the report: ``None`` as "n/a", small p-values in scientific notation."""
    if x is None:
        return "n/a"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 10 ** 6):
        return f"{x:.{max(digits - 1, 1)}e}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def fmt_summary(s: dict) -> str:
    """``median m [q25 a, q75 b], n=N``."""
    if not s.get("n"):
        return "no finite values"
    return f"median {fmt(s['median'])} [q25 {fmt(s['q25'])}, q75 {fmt(s['q75'])}], n={fmt(s['n'])}"


def fmt_ks(k: dict) -> str:
    """``KS D=... (p=..., n=N1 vs N2)``."""
    return f"KS D={fmt(k['statistic'])} (p{fmt_p(k['pvalue'])}, n={fmt(k['n1'])} vs {fmt(k['n2'])})"


def fmt_p(p) -> str:
    """``"=0.012"``, or ``"<1e-300"`` for a p-value that underflowed to 0."""
    return "<1e-300" if p == 0 else f"={fmt(p)}"


# ------------------------------------------------------------------ bootstrap over seeds and pairs
#
# One implementation for every interval of the reproduction. A statistic is computed from one or more
# samples of one seed (GI lengths of the pairs of one network, rows of a matrix, ...). Resampling a sample
# means drawing its rows with replacement; that is expressed as integer weights (how often each row was
# drawn), so statistics take ``(values, weights)`` pairs and nothing is copied or re-sorted.
#
# * within one seed: rows of each sample are resampled (pairs of one network);
# * pooled over seeds: seeds are drawn with replacement, then rows within each drawn seed, and the
#   statistic is the mean of the per-seed statistics (the point estimate: the mean over seeds of the
#   statistic on all rows).
#
# Intervals are percentile intervals at LEVEL. With one seed the pooled interval is the within-seed one
# (and says so: ``n_seeds``). Pairs of one network share points and are therefore dependent; the
# within-seed interval is then too narrow, which is why claims are decided on the pooled interval, where
# seeds (new data subset, label permutation, initialisation, batch order) are the independent unit.

LEVEL = 0.95


class Weighted:
    """Rows of one sample with bootstrap weights; ``values`` ``(n, ...)``, ``weights`` ``(n,)`` (counts)."""

    __slots__ = ("values", "weights", "_order")

    def __init__(self, values, weights=None, order=None):
        self.values = np.asarray(values)
        self.weights = np.ones(len(self.values)) if weights is None else np.asarray(weights, dtype=np.float64)
        self._order = order

    @property
    def order(self) -> np.ndarray:
        """``argsort`` of 1-D values (computed once per sample by :func:`bootstrap`)."""
        if self._order is None:
            self._order = np.argsort(self.values, kind="stable")
        return self._order

    def mean(self, axis: int = 0):
        """Weighted mean over rows."""
        w = self.weights
        return np.tensordot(w, self.values, axes=(0, axis)) / max(w.sum(), 1e-300)

    def fraction(self, predicate) -> float:
        """Weighted share of rows where the boolean array ``predicate(values)`` is true."""
        return float(np.sum(self.weights * predicate(self.values)) / max(self.weights.sum(), 1e-300))

    def quantile(self, q: float) -> float:
        """Weighted ``q``-quantile of 1-D values (lower empirical quantile: the smallest value whose
        cumulative weight reaches ``q``)."""
        v, order = self.values, self.order
        cw = np.cumsum(self.weights[order])
        if cw[-1] <= 0:
            return float("nan")
        k = int(np.searchsorted(cw, q * cw[-1], side="left"))
        return float(v[order[min(k, len(v) - 1)]])

    def median(self) -> float:
        return self.quantile(0.5)


_MERGES: dict = {}


def _merge(a: np.ndarray, b: np.ndarray):
    """Sort order of ``concatenate([a, b])`` and the positions that end a run of equal values (cached per
    pair of arrays, because bootstrap replicates only change the weights)."""
    key = (id(a), id(b))
    hit = _MERGES.get(key)
    if hit is not None and hit[0] is a and hit[1] is b:
        return hit[2], hit[3]
    both = np.concatenate([a, b])
    perm = np.argsort(both, kind="stable")
    v = both[perm]
    last = np.append(v[1:] != v[:-1], True)
    if len(_MERGES) > 64:
        _MERGES.clear()
    _MERGES[key] = (a, b, perm, last)
    return perm, last


def ks_distance(a: Weighted, b: Weighted) -> float:
    """Two-sample Kolmogorov-Smirnov distance ``sup |F_a - F_b|`` of weighted 1-D samples (equal weights:
    ``scipy.stats.ks_2samp(...).statistic``)."""
    if a.values.size == 0 or b.values.size == 0:
        return float("nan")
    perm, last = _merge(a.values, b.values)
    na = a.values.size
    wa = np.concatenate([a.weights, np.zeros(b.values.size)])[perm]
    wb = np.concatenate([np.zeros(na), b.weights])[perm]
    fa = np.cumsum(wa)[last] / max(a.weights.sum(), 1e-300)
    fb = np.cumsum(wb)[last] / max(b.weights.sum(), 1e-300)
    return float(np.max(np.abs(fa - fb)))


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); NaN for fewer than 3 points or a constant series."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def _finite(values) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind == "f" and v.ndim == 1:
        v = v[np.isfinite(v)]
    return v


def _draw(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64) if n else np.zeros(0)


def _percentile(reps: np.ndarray, level: float) -> list:
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return [None, None]
    a = (1 - level) / 2
    return [float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a))]


def bootstrap(per_seed, statistic, *, n_boot: int = 1000, seed: int = 0, level: float = LEVEL,
              seeds=None) -> dict:
    """Point estimate and percentile bootstrap interval of ``statistic`` over seeds and rows.

    ``per_seed``: one entry per seed, each a tuple of samples (arrays whose rows are the resampled unit,
    e.g. the GI lengths of the pairs of that seed's network); a bare array counts as a 1-tuple. 1-D float
    samples drop non-finite values. ``statistic(*samples)`` receives :class:`Weighted` samples and returns
    a float; it may also take ``seed_index`` as a keyword when it needs per-seed constants.

    Returns ``{"estimate", "ci", "level", "n_seeds", "n_boot", "per_seed": [{"seed", "estimate", "ci",
    "n"}]}``: ``estimate`` is the mean over seeds of the statistic on all rows, ``ci`` the interval from
    resampling seeds and then rows; each ``per_seed`` entry has its own interval from resampling rows.
    Statistics that come out NaN (e.g. a correlation of a constant series) are left out of the mean and
    of the intervals.
    """
    groups = [tuple(_finite(s) for s in ((e,) if isinstance(e, np.ndarray) else tuple(e))) for e in per_seed]
    orders = [tuple(np.argsort(s, kind="stable") if s.ndim == 1 else None for s in g) for g in groups]
    if not groups:
        raise ValueError("bootstrap: no seeds given")
    seeds = list(range(len(groups))) if seeds is None else list(seeds)
    rng = np.random.default_rng([seed, len(groups), n_boot])
    takes_index = "seed_index" in getattr(statistic, "__code__", type("", (), {"co_varnames": ()})).co_varnames

    def stat(k: int, weights) -> float:
        samples = [Weighted(s, w, o) for s, w, o in zip(groups[k], weights, orders[k])]
        try:
            return float(statistic(*samples, seed_index=k) if takes_index else statistic(*samples))
        except (ValueError, ZeroDivisionError, IndexError):
            return float("nan")

    full = np.array([stat(k, [None] * len(g)) for k, g in enumerate(groups)])
    per = []
    for k, g in enumerate(groups):
        reps = np.array([stat(k, [_draw(len(s), rng) for s in g]) for _ in range(n_boot)])
        per.append({"seed": seeds[k], "estimate": None if not np.isfinite(full[k]) else float(full[k]),
                    "ci": _percentile(reps, level), "n": [int(len(s)) for s in g]})
    if len(groups) == 1:
        pooled_ci = per[0]["ci"]
    else:
        reps = np.empty(n_boot)
        for b in range(n_boot):
            picks = rng.integers(0, len(groups), len(groups))
            vals = np.array([stat(k, [_draw(len(s), rng) for s in groups[k]]) for k in picks])
            vals = vals[np.isfinite(vals)]
            reps[b] = vals.mean() if vals.size else np.nan
        pooled_ci = _percentile(reps, level)
    ok = full[np.isfinite(full)]
    return {"estimate": float(ok.mean()) if ok.size else None, "ci": pooled_ci, "level": level,
            "n_seeds": len(groups), "n_boot": n_boot, "per_seed": per}


def seed_bootstrap(values, *, n_boot: int = 1000, seed: int = 0, level: float = LEVEL, seeds=None) -> dict:
    """Interval of the mean of one number per seed (resampling seeds only): the same dict as
    :func:`bootstrap`, ``per_seed`` without intervals."""
    v = np.asarray(values, np.float64)
    ok = v[np.isfinite(v)]
    rng = np.random.default_rng([seed, len(v), n_boot, 1])
    seeds = list(range(len(v))) if seeds is None else list(seeds)
    reps = np.array([ok[rng.integers(0, ok.size, ok.size)].mean() for _ in range(n_boot)]) if ok.size else np.zeros(0)
    return {"estimate": float(ok.mean()) if ok.size else None,
            "ci": _percentile(reps, level) if ok.size > 1 else [None, None], "level": level,
            "n_seeds": int(v.size), "n_boot": n_boot,
            "per_seed": [{"seed": s, "estimate": None if not np.isfinite(x) else float(x), "ci": [None, None]}
                         for s, x in zip(seeds, v)]}


# ------------------------------------------------------------------ verdicts

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NOT_TRAINED = "inconclusive (training target not reached)"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_TRAINED)


class Verdict(str):
    """A verdict string (one of :data:`VERDICTS`) that also carries ``why``: for an inconclusive verdict, the
    reason no decision was reached (which interval touched which threshold or margin, or that there was
    none); ``""`` otherwise. Compares and serialises as the plain string."""

    why: str

    def __new__(cls, verdict: str, why: str = "") -> "Verdict":
        obj = super().__new__(cls, verdict)
        obj.why = why
        return obj


def decide(ci, rule: str, threshold: float = 0.0, margin: float | None = None) -> Verdict:
    """Verdict of a claim from the interval ``ci = [lo, hi]`` of its statistic.

    ``rule``:
      * ``"above"``: holds when ``lo > threshold``, does not hold when ``hi < threshold``;
      * ``"below"``: holds when ``hi < threshold``, does not hold when ``lo > threshold``;
      * ``"within"`` (equivalence, a confidence-interval version of TOST): holds when the whole interval
        lies in ``(threshold - margin, threshold + margin)``, does not hold when it lies entirely outside;
      * ``"outside"``: the reverse of ``"within"`` (a difference larger than ``margin``).
    Anything else (the interval straddles the threshold, or is missing) is inconclusive, and the returned
    :class:`Verdict`'s ``why`` says which. A p-value is never used: "no difference" needs the interval
    inside the stated margin.
    """
    if ci is None or ci[0] is None or ci[1] is None:
        return Verdict(INCONCLUSIVE, "no interval: the statistic is undefined on these data")
    lo, hi = float(ci[0]), float(ci[1])
    span = f"the 95% interval [{fmt(lo)}, {fmt(hi)}]"
    if rule in ("above", "below"):
        if (lo > threshold) if rule == "above" else (hi < threshold):
            return Verdict(HOLDS)
        if (hi < threshold) if rule == "above" else (lo > threshold):
            return Verdict(FAILS)
        return Verdict(INCONCLUSIVE, f"{span} contains the threshold {fmt(threshold)}: too wide, or too close "
                                     "to it, to decide")
    if margin is None:
        raise ValueError(f"rule {rule!r} needs a margin")
    inside = threshold - margin < lo and hi < threshold + margin
    outside = lo >= threshold + margin or hi <= threshold - margin
    if rule not in ("within", "outside"):
        raise ValueError(f"unknown rule {rule!r}")
    if inside or outside:
        return Verdict(HOLDS if inside == (rule == "within") else FAILS)
    return Verdict(INCONCLUSIVE, f"{span} is neither inside nor outside the margin {fmt(threshold - margin)} "
                                 f"to {fmt(threshold + margin)}: too wide to decide")


def all_of(verdicts) -> Verdict:
    """Verdict of a conjunction: does not hold if any part does not, holds if all do, else inconclusive
    (``why``: the reasons of the undecided parts)."""
    v = list(verdicts)
    if FAILS in v:
        return Verdict(FAILS)
    if v and all(x == HOLDS for x in v):
        return Verdict(HOLDS)
    whys = [getattr(x, "why", "") for x in v if x == INCONCLUSIVE]
    return Verdict(INCONCLUSIVE, "; ".join(w for w in whys if w) or "no part decided")


def fmt_ci(b: dict, digits: int = 3) -> str:
    """``0.146 [0.12, 0.17]`` (estimate, then the interval)."""
    lo, hi = b.get("ci", (None, None))
    ci = "" if lo is None else f" [{fmt(lo, digits)}, {fmt(hi, digits)}]"
    return f"{fmt(b.get('estimate'), digits)}{ci}"
