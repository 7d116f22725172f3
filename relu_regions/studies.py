"""GI studies: a generalization-interval study on your own network and your own data.

:func:`gi_study` takes a network (a list of ``(W, b)`` pairs, or a spec that :func:`load_model` reads)
and arrays ``X`` ``(n, d)`` with labels ``y``, builds rays of one or more families, computes their
exact GIs (or the sampling baseline), and returns - and with ``out=`` writes - the per-ray results,
a summary per family and a summary figure. ``relu-regions gi`` is the same on the command line.

Ray families (``pairs=``; several may be given):

* ``"same-label"``: ``x_i + t (x_j - x_i)`` for ordered pairs ``i != j`` with ``y_i == y_j`` (the
  paper's pairwise GIs: ``t = 0`` is ``x_i``, ``t = 1`` is ``x_j``);
* ``"any"``: the same for ordered pairs of any labels;
* ``"random"``: from ``x_i`` along a uniformly random direction of length ``L``, the median over
  classes of the median distance between two points of the class (so that ``t`` means about the same
  as for same-label pairs);
* ``"pca"``: from ``x_i`` along the first principal component of ``x_i``'s class (``"pca1"``, the
  tangent of the paper's Fig. 2) and along its component of smallest non-zero variance
  (``"pca-min"``), both of length ``L_c``, the median same-label distance within that class.

When a family has more rays than ``n_rays``, ``n_rays`` of them are drawn uniformly without
replacement (seeded). Labels default to the network's own predictions when ``y`` is ``None``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from relu_regions._atomic import atomic_path, write_json_atomic
from relu_regions.results import RayResults, distributed, intervals_table, run_chunks

#: The ray families :func:`gi_study` knows.
FAMILIES = ("same-label", "any", "random", "pca")
#: File names written into ``out``.
RAYS_DIR, SUMMARY_JSON, FIGURE_PNG = "rays", "summary.json", "gi_summary.png"


class StudyError(ValueError):
    """A model, data set or option that a GI study cannot use, with the reason."""


# ----------------------------------------------------------------------------------------------- inputs
def load_model(spec) -> list[tuple[np.ndarray, np.ndarray]]:
    """A network as ``[(W, b), ...]`` (``W`` ``(in, out)``) from ``spec``:

    * a list of ``(W, b)`` pairs (checked and returned as numpy arrays);
    * ``"weights.npz"``: arrays ``W0, b0, W1, b1, ...`` (``W_0, b_0, ...``, as written by
      :func:`relu_regions.training.save_checkpoint`, work too);
    * ``"package.module:function"`` or ``"path/to/file.py:function"``: ``function()`` returns the list;
    * ``"model.onnx"``: not supported yet (ONNX import is planned) - a clear :class:`StudyError`.
    """
    import relu_regions as rr

    if isinstance(spec, (list, tuple)):
        return rr.check_params(spec)
    if not isinstance(spec, (str, os.PathLike)):
        raise StudyError(f"model: expected a list of (W, b) pairs, a .npz file or 'module:function', "
                         f"got {type(spec).__name__}")
    text = os.fspath(spec)
    if text.lower().endswith(".onnx"):
        raise StudyError(f"model {text}: ONNX models are not supported yet; give the weights as an .npz "
                         "(W0, b0, W1, b1, ...) or as 'module:function' returning a list of (W, b) pairs")
    if text.lower().endswith(".npz"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise StudyError(f"model {text}: no such file")
        if not zipfile.is_zipfile(path):
            raise StudyError(f"model {text}: not an .npz archive (numpy.savez writes one)")
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            for w, b in (("W{}", "b{}"), ("W_{}", "b_{}")):
                n = 0
                while w.format(n) in keys and b.format(n) in keys:
                    n += 1
                if n:
                    return rr.check_params([(data[w.format(i)], data[b.format(i)]) for i in range(n)])
        raise StudyError(f"model {text}: expected arrays W0, b0, W1, b1, ... (or W_0, b_0, ...); "
                         f"found {sorted(keys)}")
    if ":" in text:
        module_name, _, func_name = text.rpartition(":")
        func = _import_function(module_name, func_name, text)
        try:
            params = func()
        except Exception as exc:  # the user's code: say whose error it is, in one line
            raise StudyError(f"model {text}: {func_name}() raised {type(exc).__name__}: {exc}") from exc
        try:
            return rr.check_params(params)
        except (TypeError, ValueError) as exc:
            raise StudyError(f"model {text}: {func_name}() did not return a valid list of (W, b) pairs: {exc}") from exc
    raise StudyError(f"model {text}: give a .npz of weights (W0, b0, W1, b1, ...) or 'module:function' "
                     "returning a list of (W, b) pairs (W of shape (in, out))")


def _import_function(module_name: str, func_name: str, text: str) -> Callable:
    if module_name.endswith(".py"):
        path = Path(module_name).expanduser()
        if not path.is_file():
            raise StudyError(f"model {text}: no such file {path}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise StudyError(f"model {text}: {path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise StudyError(f"model {text}: running {path} raised {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise StudyError(f"model {text}: cannot import {module_name!r} ({exc}); is it on PYTHONPATH?") from exc
        except Exception as exc:
            raise StudyError(f"model {text}: importing {module_name!r} raised {type(exc).__name__}: {exc}") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise StudyError(f"model {text}: {module_name} has no function {func_name!r}")
    return func


def load_arrays(path) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` from an ``.npz`` with arrays ``X`` (``(n, d)``; images are flattened) and optionally
    ``y`` (``(n,)`` integer labels); lower-case ``x`` works too. An ``.npy`` file is ``X`` alone."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise StudyError(f"data {path}: a directory; give the .npz (or .npy) file")
    if not path.is_file():
        raise StudyError(f"data {path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False), None
        except (ValueError, OSError, EOFError) as exc:
            raise StudyError(f"data {path}: not a readable .npy array ({exc})") from exc
    if path.suffix.lower() != ".npz":
        raise StudyError(f"data {path}: expected an .npz (arrays X and y) or an .npy (X)")
    if not zipfile.is_zipfile(path):
        raise StudyError(f"data {path}: not an .npz archive (numpy.savez writes one)")
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        xk = "X" if "X" in keys else "x" if "x" in keys else None
        if xk is None:
            raise StudyError(f"data {path}: no array 'X' (found {sorted(keys)})")
        X = data[xk]
        y = data["y"] if "y" in keys else data["Y"] if "Y" in keys else None
    return X, y


# ----------------------------------------------------------------------------------------------- rays
@dataclass
class _Family:
    """Rays of one family, built lazily: ``block(start, stop) -> (xs, ds, columns)``."""

    name: str
    n: int
    block: Callable[[int, int], tuple[np.ndarray, np.ndarray, dict]]


def _median_distance(X: np.ndarray, rng: np.random.Generator, max_points: int = 500) -> float:
    idx = rng.choice(len(X), size=min(len(X), max_points), replace=False)
    Z = X[idx].astype(np.float64)
    sq = np.maximum((Z * Z).sum(1)[:, None] + (Z * Z).sum(1)[None, :] - 2 * Z @ Z.T, 0)
    iu = np.triu_indices(len(Z), 1)
    return float(np.median(np.sqrt(sq[iu]))) if len(iu[0]) else 1.0


def _pairs(y: np.ndarray, same: bool, n_rays: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs ``(i, j)``, ``i != j`` (same label if ``same``): all, or ``n_rays`` drawn uniformly
    without replacement, without listing all pairs when there are many."""
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if same else [np.arange(len(y))]
    sizes = np.array([len(g) * (len(g) - 1) for g in groups], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        raise StudyError("no pairs: every label occurs only once" if same else "need at least 2 points")
    k = np.sort(rng.choice(total, size=n_rays, replace=False)) if n_rays < total else np.arange(total)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    g = np.searchsorted(offsets, k, side="right") - 1
    I, J = np.empty(len(k), np.int64), np.empty(len(k), np.int64)
    for gi in np.unique(g):
        members, r = groups[gi], k[g == gi] - offsets[gi]
        m = len(members)
        a, b = r // (m - 1), r % (m - 1)
        b = b + (b >= a)  # skip j == i
        I[g == gi], J[g == gi] = members[a], members[b]
    return I, J


def _families(X, y, pairs, n_rays, rng) -> list[_Family]:
    out = []
    L = None
    for fam in pairs:
        if fam in ("same-label", "any"):
            I, J = _pairs(y, fam == "same-label", n_rays, rng)

            def block(s, e, I=I, J=J):
                x = X[I[s:e]].astype(np.float64)
                return x, X[J[s:e]].astype(np.float64) - x, {"x_index": I[s:e], "direction": "pair", "y_index": J[s:e]}

            out.append(_Family(fam, len(I), block))
        elif fam == "random":
            if L is None:
                L = np.median([_median_distance(X[y == c], rng) for c in np.unique(y) if np.sum(y == c) > 1] or [1.0])
            I = rng.choice(len(X), size=n_rays, replace=n_rays > len(X))
            D = rng.normal(size=(len(I), X.shape[1]))
            D *= L / np.linalg.norm(D, axis=1, keepdims=True)

            def block(s, e, I=I, D=D):
                cols = {"x_index": I[s:e], "direction": "random", "y_index": np.full(e - s, -1)}
                return X[I[s:e]].astype(np.float64), D[s:e], cols

            out.append(_Family(fam, len(I), block))
        elif fam == "pca":
            comps = {}
            for c in np.unique(y):
                Xc = X[y == c].astype(np.float64)
                if len(Xc) < 3:
                    continue
                _, S, Vt = np.linalg.svd(Xc - Xc.mean(0), full_matrices=False)
                rank = int(np.sum(S > S[0] * 1e-8)) if S[0] > 0 else 0
                if rank == 0:
                    continue
                Lc = _median_distance(Xc, rng)
                comps[c] = (Lc * Vt[0], Lc * Vt[rank - 1])
            eligible = np.flatnonzero(np.isin(y, list(comps)))
            if not len(eligible):
                raise StudyError("pca directions need a class with at least 3 distinct points")
            I = rng.choice(eligible, size=n_rays, replace=n_rays > len(eligible))
            for which, kind in ((0, "pca1"), (1, "pca-min")):
                D = np.stack([comps[c][which] for c in y[I]])

                def block(s, e, I=I, D=D, kind=kind):
                    cols = {"x_index": I[s:e], "direction": kind, "y_index": np.full(e - s, -1)}
                    return X[I[s:e]].astype(np.float64), D[s:e], cols

                out.append(_Family(kind, len(I), block))
        else:
            raise StudyError(f"pairs: unknown family {fam!r}; choose from {', '.join(FAMILIES)}")
    return out


# ----------------------------------------------------------------------------------------------- study
@dataclass
class GIStudy:
    """What :func:`gi_study` returns: ``results`` (per-ray table, one row per ray, see
    :mod:`relu_regions.results`), ``summary`` (per direction kind: counts and GI-length quantiles),
    ``settings``, and the files written (``out``, ``figure``; ``None`` without ``out``). ``results`` is
    ``None`` (and ``summary`` empty) on the processes other than 0 of a ``jax.distributed`` run that
    wrote ``out``."""

    results: RayResults | None
    summary: dict
    settings: dict
    out: Path | None = None
    figure: Path | None = None
    files: list[Path] = field(default_factory=list)


def _summary(table: Mapping[str, np.ndarray], y: np.ndarray, t_range) -> dict:
    out = {}
    for kind in dict.fromkeys(table["direction"].tolist()):
        m = table["direction"] == kind
        length, n_regions = table["length"][m], table["n_regions"][m]
        finite = np.isfinite(length).all()  # infinite GIs (unbounded ranges): no interpolation with inf
        q = (np.quantile(length, [0.05, 0.25, 0.5, 0.75, 0.95], method="linear" if finite else "inverted_cdf")
             if len(length) else [np.nan] * 5)
        full = (table["lo"][m] <= t_range[0]) & (table["hi"][m] >= t_range[1])
        counted = n_regions[n_regions >= 0]
        out[kind] = {
            "n": int(m.sum()), "median": float(q[2]), "mean": float(np.mean(length)) if len(length) else None,
            "q05": float(q[0]), "q25": float(q[1]), "q75": float(q[3]), "q95": float(q[4]),
            "frac_whole_range": float(full.mean()) if len(full) else None,
            "frac_label_is_y": float(np.mean(table["label"][m] == y[table["x_index"][m]])) if m.any() else None,
            "mean_regions": float(counted.mean()) if len(counted) else None,
        }
    return out


def _figure(path: Path, table, summary: dict, t_range, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    finite = np.isfinite(table["length"])
    top = float(np.max(table["length"][finite])) if finite.any() else 1.0
    bins = np.linspace(0, max(top, 1e-9), 41)
    for kind, s in summary.items():
        m = (table["direction"] == kind) & finite
        ax.hist(table["length"][m], bins=bins, histtype="step", density=True, lw=1.5,
                label=f"{kind} (n={s['n']}, median {s['median']:.3g})")
        v = np.sort(table["length"][m])
        ax2.plot(v, np.arange(1, len(v) + 1) / max(len(v), 1), label=kind)
    ax.set(xlabel=f"GI length (t range {t_range[0]:g} to {t_range[1]:g})", ylabel="density", title=title)
    ax2.set(xlabel="GI length", ylabel="fraction of rays <= length", title="cumulative")
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path


def _lead() -> bool:
    import jax

    return jax.process_index() == 0


def gi_study(model: Any, X: ArrayLike, y: ArrayLike | None = None, *, pairs: str | Sequence[str] = "same-label",
             t_range: tuple[float, float] = (-1.0, 2.0),
             n_rays: int = 2000, seed: int = 0, method: str = "exact", n_samples: int = 1000,
             count_regions: bool = True, batch_size: int = 2048, chunk_size: int = 4096,
             out: str | os.PathLike | None = None, format: str | None = None, figure: bool = True,
             progress: bool = True, meta: Mapping[str, Any] | None = None, sharded: bool = False) -> GIStudy:
    """Exact (or sampled) GIs of ``model`` along rays through your data ``X``.

    Args:
        model: ``[(W, b), ...]`` with ``W`` of shape ``(in, out)``, or a spec for :func:`load_model`
            (``"weights.npz"``, ``"module:function"``).
        X: ``(n, d)`` inputs (higher-rank arrays are flattened per row).
        y: ``(n,)`` integer labels; ``None`` uses the network's predictions.
        pairs: a family or a list of them: ``"same-label"``, ``"any"``, ``"random"``, ``"pca"``
            (see the module docstring).
        t_range: ``(t_min, t_max)`` with ``t_min <= 0 <= t_max``; infinite ends are allowed for
            ``method="exact"``.
        n_rays: the most rays per family (drawn uniformly without replacement when there are more).
        seed: seeds the choice of rays and the random directions.
        method: ``"exact"`` (:func:`relu_regions.exact_intervals`) or ``"sampled"``
            (:func:`relu_regions.sampled_intervals` with ``n_samples`` points).
        count_regions: ``False`` takes the certified fast path (``n_regions`` = -1).
        batch_size: rays per compiled batch; chunk_size: rays per written chunk.
        out: a directory: the per-ray results stream into ``out/rays/`` (Parquet or CSV chunks with a
            manifest; an interrupted run resumes and skips finished chunks), ``out/summary.json`` and,
            with ``figure``, ``out/gi_summary.png``.
        format: ``"parquet"``, ``"csv"`` or ``None`` (Parquet if pyarrow is installed).
        progress: tqdm bars over rays.
        meta: more settings to record with the results.
        sharded: split every chunk of rays over all local JAX devices
            (:func:`relu_regions.exact_intervals_sharded`; ``batch_size`` then counts rays per device).
            In a ``jax.distributed`` run (several processes, see
            :func:`relu_regions._sharding.init_distributed`) every process calls ``gi_study`` with the
            same arguments, each chunk is split over the processes and their devices, and process 0
            alone writes ``out``; it returns the study, the other processes a :class:`GIStudy` with
            ``results=None`` and an empty summary.

    Returns a :class:`GIStudy`.
    """
    import relu_regions as rr

    params = load_model(model)
    X = np.asarray(X)
    if X.ndim < 2 or len(X) == 0:
        raise StudyError(f"X must be (n, d) with n >= 1, got shape {X.shape}")
    X = X.reshape(len(X), -1)  # kept in its dtype; rays are built in float64 chunk by chunk
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if X.shape[1] != params[0][0].shape[0]:
        raise StudyError(f"X has {X.shape[1]} features per row, the network's input has {params[0][0].shape[0]}")
    if not np.all(np.isfinite(X)):
        raise StudyError("X contains non-finite values")
    if y is None:
        y = np.asarray(rr.predict(params, X))
        label_source = "network predictions"
    else:
        y = np.asarray(y).reshape(-1)
        label_source = "given"
        if len(y) != len(X):
            raise StudyError(f"y has {len(y)} labels for {len(X)} rows of X")
    y = y.astype(np.int64)
    fams = [pairs] if isinstance(pairs, str) else list(pairs)
    if not fams:
        raise StudyError("pairs: give at least one family")
    t_min, t_max = (float(t) for t in t_range)
    if not t_min <= 0 <= t_max:
        raise StudyError(f"t_range must contain 0, got ({t_min}, {t_max})")
    if method not in ("exact", "sampled"):
        raise StudyError(f"method must be 'exact' or 'sampled', got {method!r}")
    if method == "sampled" and not (np.isfinite(t_min) and np.isfinite(t_max)):
        raise StudyError(f"method='sampled' needs a finite t_range, got ({t_min}, {t_max})")
    if n_rays < 1 or chunk_size < 1:
        raise StudyError("n_rays and chunk_size must be positive")
    many = distributed()
    if many and method != "exact":
        raise StudyError("method='sampled' is not split over the processes of a jax.distributed run; use "
                         "method='exact' or one process")
    exact_fn = rr.exact_intervals_sharded if (sharded or many) else rr.exact_intervals

    rng = np.random.default_rng(seed)
    families = _families(X, y, fams, int(n_rays), rng)
    starts = np.concatenate([[0], np.cumsum([f.n for f in families])])
    total = int(starts[-1])

    def compute(s: int, e: int):
        xs, ds, cols = [], [], []
        for f, f0 in zip(families, starts[:-1]):
            a, b = max(s, f0), min(e, f0 + f.n)
            if a < b:
                x, d, c = f.block(a - f0, b - f0)
                xs.append(x)
                ds.append(d)
                cols.append({k: np.broadcast_to(np.asarray(v, dtype=object if k == "direction" else None), (b - a,))
                             for k, v in c.items()})
        xs, ds = np.concatenate(xs), np.concatenate(ds)
        columns = {k: np.concatenate([c[k] for c in cols]) for k in cols[0]}
        if method == "exact":
            iv = exact_fn(params, xs, ds, t_min, t_max, batch_size=batch_size, count_regions=count_regions)
        else:
            iv = rr.sampled_intervals(params, xs, ds, t_min, t_max, n=n_samples, batch_size=batch_size)
        return iv, columns

    settings = {"study": "gi_study", "families": fams, "t_range": [t_min, t_max], "n_rays": int(n_rays),
                "seed": int(seed), "method": method, "n_samples": int(n_samples) if method == "sampled" else None,
                "count_regions": bool(count_regions), "labels": label_source,
                "data_shape": list(X.shape), "network": [list(np.shape(W)) for W, _ in params],
                "rays_per_family": {f.name: f.n for f in families}, **dict(meta or {})}

    files: list[Path] = []
    if out is None:
        parts = []
        from tqdm.auto import tqdm

        with tqdm(total=total, disable=not progress or (many and not _lead()), desc=f"{method} GIs", unit="ray") as bar:
            for s in range(0, total, chunk_size):
                e = min(total, s + chunk_size)
                iv, cols = compute(s, e)
                cols = dict(cols)
                parts.append(intervals_table(iv, x_index=cols.pop("x_index"), direction=cols.pop("direction"),
                                             extra=cols))
                bar.update(e - s)
        table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        results = RayResults(table, {"settings": settings})
    else:
        out = Path(out).expanduser()
        if out.exists() and not out.is_dir():
            raise StudyError(f"out {out} is a file, not a directory")
        results = run_chunks(out / RAYS_DIR, settings, compute, total, chunk_size, format=format, progress=progress,
                             desc=f"{method} GIs")
        if results is None:  # a process other than 0 of a jax.distributed run: process 0 wrote everything
            return GIStudy(results=None, summary={}, settings=settings, out=out)
        files.append(out / RAYS_DIR)

    summary = _summary(results.columns, y, (t_min, t_max))
    fig_path = None
    if out is not None:
        files.append(write_json_atomic(out / SUMMARY_JSON, {"settings": settings, "summary": summary,
                                                            "versions": results.meta.get("versions")}))
        if figure:
            fig_path = _figure(out / FIGURE_PNG, results.columns, summary, (t_min, t_max),
                               f"{method} GIs, {X.shape[0]} points of dimension {X.shape[1]}")
            files.append(fig_path)
    return GIStudy(results=results, summary=summary, settings=settings, out=out, figure=fig_path, files=files)


__all__ = ["FAMILIES", "GIStudy", "StudyError", "gi_study", "load_arrays", "load_model"]
