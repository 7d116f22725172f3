"""Summaries and comparisons of GI samples, and the thresholds the claim checks use."""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Two GI distributions count as "nearly identical" / "roughly the same" when the two-sample
#: Kolmogorov-Smirnov distance is below this (with ~10^5 rays any difference is "significant", so the
#: effect size decides, not the p-value).
SIMILAR_KS = 0.1
#: ... and as clearly different when it is at least this.
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
