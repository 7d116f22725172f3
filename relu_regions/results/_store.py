"""Tables of per-ray results: building, writing (Parquet or CSV, atomically), streaming in chunks with
a resumable manifest, and reading back."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relu_regions._atomic import atomic_path, plain, write_json_atomic, write_text_atomic
from relu_regions._digest import array_digest

#: The standard columns, their dtypes and meanings (extra columns may follow them).
COLUMNS: dict[str, tuple[str, str]] = {
    "x_index": ("int64", "row of the ray's origin x in the caller's data (-1: not from a data set)"),
    "direction": ("str", "kind of direction d: 'pair' (towards another point), 'random', 'pca1', ..."),
    "lo": ("float64", "lower end of the GI in t (t_min, possibly -inf, if no class change below 0)"),
    "hi": ("float64", "upper end of the GI in t (t_max, possibly inf, if no class change above 0)"),
    "length": ("float64", "hi - lo"),
    "label": ("int64", "argmax f(x), lowest index on ties"),
    "lo_class": ("int64", "class that overtakes the label at lo (-1: the range ends there)"),
    "hi_class": ("int64", "class that overtakes the label at hi (-1: the range ends there)"),
    "n_regions": ("int64", "linear regions met inside the GI (-1: not counted)"),
    "exact": ("bool", "True for exact GIs, False for the sampling baseline or an unfinished walk"),
}
#: Optional Interval fields, written when the interval has them (not None).
OPTIONAL_COLUMNS: dict[str, tuple[str, str]] = {
    "fallback": ("bool", "True where the ray was resolved in exact rational arithmetic"),
}
_INTERVAL_FIELDS = ("lo", "hi", "length", "label", "lo_class", "hi_class", "n_regions", "exact")
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class ResultsError(ValueError):
    """A results file or directory that cannot be written or read as asked (wrong format, a resume
    with different settings, a missing sidecar, ...)."""


def parquet_available() -> bool:
    """Whether ``pyarrow`` is installed (Parquet output); without it results are written as CSV."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def package_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions (from the package metadata, not guessed) of the packages that determine the
    results: relu_regions, jax, jaxlib, numpy, pyarrow (if installed) and ``extra``; plus Python and
    the platform."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("relu_regions", "jax", "jaxlib", "numpy", "pyarrow", *extra):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            if name in ("relu_regions", "jax", "jaxlib", "numpy"):
                out[name] = "not installed"
    return out


def _column(values, n: int, name: str, dtype: str) -> np.ndarray:
    if dtype == "str":
        arr = np.asarray(values, dtype=object)
        if arr.ndim == 0:
            arr = np.full(n, str(arr.item()), dtype=object)
        arr = np.array([str(v) for v in arr.reshape(-1)], dtype=object)
    else:
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = np.full(n, arr.item())
        arr = arr.reshape(-1).astype(dtype)
    if len(arr) != n:
        raise ResultsError(f"column {name!r} has {len(arr)} values for {n} rays")
    return arr


def intervals_table(interval, *, x_index=None, direction: Any = "", extra: Mapping[str, Any] | None = None
                    ) -> dict[str, np.ndarray]:
    """The per-ray table of ``interval`` (a :class:`relu_regions.Interval` of ``(B,)`` arrays, or a
    mapping with its fields): the columns of :data:`COLUMNS` in order, then ``extra``.

    ``x_index``: ``(B,)`` rows of the origins in the caller's data (default -1); ``direction``: one kind
    for all rays or ``(B,)`` kinds; ``extra``: more ``(B,)`` columns (numbers, booleans or strings).
    """
    get = interval.get if isinstance(interval, Mapping) else lambda k: getattr(interval, k)
    lo = np.asarray(get("lo"), dtype=np.float64).reshape(-1)
    n = len(lo)
    table: dict[str, np.ndarray] = {}
    table["x_index"] = _column(-1 if x_index is None else x_index, n, "x_index", "int64")
    table["direction"] = _column(direction, n, "direction", "str")
    for name in _INTERVAL_FIELDS:
        table[name] = _column(get(name), n, name, COLUMNS[name][0])
    for name, (dtype, _) in OPTIONAL_COLUMNS.items():
        try:
            value = get(name)
        except (AttributeError, KeyError):
            value = None
        if value is not None:
            table[name] = _column(value, n, name, dtype)
    for name, values in (extra or {}).items():
        if name in table:
            raise ResultsError(f"extra column {name!r} clashes with a standard column")
        arr = np.asarray(values)
        kind = "str" if arr.dtype.kind in "OUS" else str(arr.dtype)
        table[name] = _column(values, n, name, kind)
    return table


def _dtypes(table: Mapping[str, np.ndarray]) -> dict[str, str]:
    return {k: ("str" if v.dtype == object else str(v.dtype)) for k, v in table.items()}


def _resolve_format(path: Path, format: str | None) -> tuple[Path, str]:
    if format not in (None, "parquet", "csv"):
        raise ResultsError(f"format must be 'parquet', 'csv' or None (from the file name), got {format!r}")
    suffix = path.suffix.lower()
    if format is None:
        format = {".parquet": "parquet", ".csv": "csv"}.get(suffix) or ("parquet" if parquet_available() else "csv")
    if suffix not in (".parquet", ".csv"):
        path = path.with_name(path.name + "." + format)
    elif suffix != "." + format:
        raise ResultsError(f"{path}: the name says {suffix[1:]} but format={format!r}")
    if format == "parquet" and not parquet_available():
        raise ResultsError(f"{path}: writing Parquet needs pyarrow (pip install pyarrow, or the extra "
                           "relu_regions[parquet]); or write CSV (a .csv name or format='csv')")
    return path, format


def _write_table(path: Path, table: Mapping[str, np.ndarray], format: str) -> None:
    if format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {k: (pa.array(list(v), type=pa.string()) if v.dtype == object else pa.array(v))
                  for k, v in table.items()}
        with atomic_path(path, suffix=".parquet") as tmp:
            pq.write_table(pa.table(arrays), tmp)
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(table))
    columns = [v.tolist() for v in table.values()]
    for row in zip(*columns):
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])  # repr: exact round trip
    write_text_atomic(path, buf.getvalue())


def _read_table(path: Path, dtypes: Mapping[str, str] | None) -> dict[str, np.ndarray]:
    if path.suffix.lower() == ".parquet":
        if not parquet_available():
            raise ResultsError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)")
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        return {name: (np.array(col.to_pylist(), dtype=object) if str(col.type) == "string"
                       else col.to_numpy(zero_copy_only=False)) for name, col in zip(t.column_names, t.columns)}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ResultsError(f"{path}: empty file (not a results table)")
    header, body = rows[0], rows[1:]
    out = {}
    for j, name in enumerate(header):
        values = [r[j] for r in body]
        kind = (dtypes or {}).get(name) or {**COLUMNS, **OPTIONAL_COLUMNS}.get(name, ("str",))[0]
        if kind == "str":
            out[name] = np.array(values, dtype=object)
        elif kind == "bool":
            out[name] = np.array([v == "True" for v in values], dtype=bool)
        else:
            out[name] = np.array([float(v) for v in values], dtype=np.float64).astype(kind)
    return out


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _meta_record(table: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None, format: str) -> dict:
    return {"format_version": FORMAT_VERSION, "format": format, "n_rays": len(next(iter(table.values()))),
            "columns": {k: {"dtype": d, "meaning": {**COLUMNS, **OPTIONAL_COLUMNS}.get(k, ("", "extra column"))[1]}
                        for k, d in _dtypes(table).items()},
            "settings": plain(dict(meta or {})), "versions": package_versions(),
            "command": " ".join(sys.argv), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def save_intervals(path: str | os.PathLike, interval, *, x_index=None, direction: Any = "",
                   extra: Mapping[str, Any] | None = None, meta: Mapping[str, Any] | None = None,
                   format: str | None = None) -> Path:
    """Write the per-ray results of ``interval`` to ``path`` and its JSON sidecar ``path + ".json"``.

    ``interval`` is a :class:`relu_regions.Interval` (from ``exact_intervals``, ``sampled_intervals``,
    ...) or a table from :func:`intervals_table`; ``x_index``, ``direction`` and ``extra`` are as there.
    ``meta``: the settings to record (network, ``t`` range, data file, seeds, ...); the sidecar adds the
    column meanings, the installed package versions, the command line and the time.

    ``format``: ``"parquet"`` (needs pyarrow), ``"csv"``, or ``None`` to take it from the suffix of
    ``path`` (``.parquet``/``.csv``; without one, Parquet if pyarrow is installed, else CSV, and the
    suffix is appended). Returns the path of the table.
    """
    path, format = _resolve_format(Path(path), format)
    table = dict(interval) if isinstance(interval, Mapping) and "x_index" in interval else intervals_table(
        interval, x_index=x_index, direction=direction, extra=extra)
    _write_table(path, table, format)
    write_json_atomic(_sidecar(path), _meta_record(table, meta, format))
    return path


@dataclass
class RayResults:
    """Per-ray results read back by :func:`load_intervals`: ``columns`` (name -> ``(B,)`` array, in
    file order), ``meta`` (the sidecar or manifest) and ``complete`` (False for a streamed run that
    has not written all its chunks)."""

    columns: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)
    complete: bool = True

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    @property
    def settings(self) -> dict:
        return self.meta.get("settings", {})

    def interval(self):
        """The columns as a :class:`relu_regions.Interval` (imports JAX)."""
        from relu_regions import Interval

        fields = {k: self.columns[k] for k in _INTERVAL_FIELDS}
        fields |= {k: self.columns[k] for k in OPTIONAL_COLUMNS if k in self.columns and k in Interval._fields}
        return Interval(**fields)

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.columns)


def load_intervals(path: str | os.PathLike) -> RayResults:
    """Read a table written by :func:`save_intervals` (with its sidecar, if present) or a directory
    written by :class:`ResultWriter` (its finished chunks, in order)."""
    path = Path(path)
    if path.is_dir():
        manifest = _read_manifest(path)
        if manifest is None:
            raise ResultsError(f"{path}: a directory without {MANIFEST} (not written by ResultWriter)")
        chunks = sorted(manifest["chunks"].items(), key=lambda kv: int(kv[0]))
        parts = [_read_table(path / c["file"], manifest.get("dtypes")) for _, c in chunks]
        columns = ({k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else
                   {k: np.zeros(0, dtype=object if d == "str" else d) for k, d in manifest.get("dtypes", {}).items()})
        n_chunks = manifest.get("n_chunks")
        return RayResults(columns, manifest, complete=bool(manifest.get("complete")) or
                          (n_chunks is not None and len(chunks) == n_chunks))
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file or directory")
    meta = json.loads(_sidecar(path).read_text()) if _sidecar(path).is_file() else {}
    dtypes = {k: v["dtype"] for k, v in meta.get("columns", {}).items()}
    return RayResults(_read_table(path, dtypes), meta)


def _read_manifest(directory: Path) -> dict | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from exc


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(k, "<absent>"), new.get(k, "<absent>"), f"{prefix}{k}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} then, {new!r} now"]


class ResultWriter:
    """Stream per-ray results into ``directory`` chunk by chunk, resumably.

    Each chunk goes to ``part-00000.parquet`` (or ``.csv``), ``part-00001...``, written atomically, and
    is then recorded in ``manifest.json`` (settings, package versions, dtypes, chunk -> file and rows).
    A new writer on a directory that already has a manifest resumes it: :meth:`pending` and :meth:`run`
    skip the chunks already recorded, provided the settings (``meta``) are the same; different settings
    raise :class:`ResultsError` rather than mixing two runs. ``resume=False`` starts afresh (old parts
    are removed).

    Typical use::

        writer = ResultWriter("results/rays", meta={"t_range": [-1, 2], "network": "mine"})
        writer.run(lambda lo, hi: (rr.exact_intervals(params, xs[lo:hi], ds[lo:hi]),
                                   {"x_index": np.arange(lo, hi)}), n=len(xs), chunk_size=4096)
        table = load_intervals("results/rays")
    """

    def __init__(self, directory: str | os.PathLike, meta: Mapping[str, Any] | None = None, *,
                 format: str | None = None, resume: bool = True):
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ResultsError(f"{self.directory} is a file, not a directory")
        _, self.format = _resolve_format(self.directory / "part", format)
        self.settings = plain(dict(meta or {}))
        old = _read_manifest(self.directory) if self.directory.is_dir() else None
        if old is not None and resume:
            diff = _differences(old.get("settings", {}), self.settings)
            if diff:
                raise ResultsError(f"{self.directory} holds results of other settings ({'; '.join(diff)}); "
                                   "use another directory, or resume=False to overwrite")
            if old.get("format") != self.format and old.get("chunks"):
                raise ResultsError(f"{self.directory} holds {old.get('format')} chunks, asked for {self.format}")
            self.manifest = old
        else:
            if old is not None:
                for c in old.get("chunks", {}).values():
                    (self.directory / c["file"]).unlink(missing_ok=True)
            self.manifest = {"format_version": FORMAT_VERSION, "format": self.format, "settings": self.settings,
                             "versions": package_versions(), "command": " ".join(sys.argv),
                             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "n_chunks": None,
                             "complete": False, "dtypes": {}, "chunks": {}}
        self.manifest["versions_resumed"] = package_versions() if old is not None and resume else None

    @property
    def done(self) -> set[int]:
        """Indices of the chunks already written (recorded and present on disk)."""
        return {int(k) for k, c in self.manifest["chunks"].items() if (self.directory / c["file"]).is_file()}

    def pending(self, n_chunks: int) -> list[int]:
        """The chunk indices in ``range(n_chunks)`` still to compute."""
        self.manifest["n_chunks"] = int(n_chunks)
        done = self.done
        return [k for k in range(n_chunks) if k not in done]

    def write(self, chunk: int, interval, *, x_index=None, direction: Any = "",
              extra: Mapping[str, Any] | None = None) -> Path:
        """Write chunk number ``chunk`` (arguments as :func:`intervals_table`) and record it."""
        table = intervals_table(interval, x_index=x_index, direction=direction, extra=extra)
        name = f"part-{int(chunk):05d}.{self.format}"
        _write_table(self.directory / name, table, self.format)
        self.manifest["dtypes"] = _dtypes(table)
        self.manifest["chunks"][str(int(chunk))] = {"file": name, "rows": len(table["lo"])}
        n = self.manifest.get("n_chunks")
        self.manifest["complete"] = n is not None and len(self.done) == n
        write_json_atomic(self.directory / MANIFEST, self.manifest)
        return self.directory / name

    def run(self, compute: Callable[[int, int], tuple[Any, Mapping[str, Any]]], n: int, chunk_size: int, *,
            progress: bool = True, desc: str = "rays") -> RayResults:
        """Compute rays ``0 .. n-1`` in chunks of ``chunk_size`` and write each as it is done.

        ``compute(start, stop)`` returns ``(interval, columns)`` for rays ``start:stop``: an
        :class:`~relu_regions.Interval` and a mapping with ``x_index``, ``direction`` and any extra
        columns. Chunks already written by an earlier run with the same settings are skipped (the
        number of rays and the chunk size are part of the settings). Shows a tqdm bar over rays unless
        ``progress=False``. Returns all results, read back.
        """
        from tqdm.auto import tqdm

        todo = self._plan(n, chunk_size)
        with tqdm(total=n, initial=n - _rows_in(todo, n, chunk_size), disable=not progress, desc=desc,
                  unit="ray") as bar:
            for k in todo:
                start, stop = k * chunk_size, min(n, (k + 1) * chunk_size)
                self._write_computed(k, compute(start, stop))
                bar.update(stop - start)
        return self._finish()

    def _plan(self, n: int, chunk_size: int) -> list[int]:
        """Check the layout against an earlier run's and return the chunks still to compute."""
        if chunk_size < 1:
            raise ResultsError(f"chunk_size must be positive, got {chunk_size}")
        layout = {"n_rays": int(n), "chunk_size": int(chunk_size)}
        if self.manifest.get("layout", layout) != layout:
            raise ResultsError(f"{self.directory} was written with {self.manifest['layout']}, asked for {layout}")
        self.manifest["layout"] = layout
        return self.pending(-(-n // chunk_size))

    def _write_computed(self, k: int, computed) -> None:
        interval, columns = computed
        columns = dict(columns)
        self.write(k, interval, x_index=columns.pop("x_index", None), direction=columns.pop("direction", ""),
                   extra=columns)

    def _finish(self) -> RayResults:
        self.manifest["complete"] = True
        write_json_atomic(self.directory / MANIFEST, self.manifest)
        return load_intervals(self.directory)


def _rows_in(chunks, n: int, chunk_size: int) -> int:
    return sum(min(chunk_size, n - k * chunk_size) for k in chunks)


def distributed() -> bool:
    """Whether this process is one of several of a ``jax.distributed`` run (JAX is not imported for
    the question: a program that has not imported it is not distributed)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    try:
        return bool(jax.distributed.is_initialized()) and jax.process_count() > 1
    except Exception:  # noqa: BLE001 - an unusual JAX build: treat as one process
        return False


def run_chunks(directory: str | os.PathLike, settings: Mapping[str, Any], compute, n: int, chunk_size: int, *,
               format: str | None = None, progress: bool = True, desc: str = "rays") -> RayResults | None:
    """``ResultWriter(directory, settings, format=format).run(compute, n, chunk_size)``, in one process
    or in every process of a ``jax.distributed`` run.

    Several processes: every process calls this with the same arguments, and ``compute`` is
    collective (e.g. :func:`relu_regions.exact_intervals_sharded`, which gives every process the whole
    chunk). Process 0 alone reads the manifest (which chunks are done; it tells the others) and writes
    the chunks, so ``directory`` need only be on process 0's disk. Returns the results on process 0 and
    ``None`` on the others.
    """
    if not distributed():
        return ResultWriter(directory, settings, format=format).run(compute, n, chunk_size, progress=progress,
                                                                    desc=desc)
    import jax
    from tqdm.auto import tqdm

    from relu_regions._sharding import allgather_bytes, exchange_status

    lead = jax.process_index() == 0
    writer, error = None, None
    n_chunks = -(-int(n) // max(int(chunk_size), 1))
    todo_mask = np.zeros(max(n_chunks, 1), np.uint8)
    if lead:
        try:
            writer = ResultWriter(directory, settings, format=format)
            todo_mask[writer._plan(n, chunk_size)] = 1
        except Exception as exc:  # noqa: BLE001 - every process raises below
            error = exc
    exchange_status(error, "results")
    todo = np.flatnonzero(allgather_bytes(todo_mask)[0][:n_chunks]).tolist()  # process 0's plan
    with tqdm(total=n, initial=n - _rows_in(todo, n, chunk_size), disable=not (progress and lead), desc=desc,
              unit="ray") as bar:
        for k in todo:
            start, stop = k * chunk_size, min(n, (k + 1) * chunk_size)
            computed = compute(start, stop)
            error = None
            if lead:
                try:
                    writer._write_computed(k, computed)
                except Exception as exc:  # noqa: BLE001
                    error = exc
            exchange_status(error, "results")  # a failed write stops every process, not only process 0
            bar.update(stop - start)
    return writer._finish() if lead else None


def _fingerprint(*arrays) -> str:
    """A short content hash of arrays, so that a resumed run checks its inputs."""
    return array_digest(*arrays)[:16]


def stream_intervals(directory: str | os.PathLike, params, xs, ds, t_min=-1.0, t_max=2.0, *,
                     method: str = "exact", chunk_size: int = 4096, x_index=None, direction: Any = "",
                     meta: Mapping[str, Any] | None = None, format: str | None = None, progress: bool = True,
                     **kwargs) -> RayResults | None:
    """GIs of the rays ``xs[i] + t ds[i]`` written chunk by chunk into ``directory`` as they are computed
    (a :class:`ResultWriter`); rerunning the same call after an interruption skips the chunks already
    written. ``method``: ``"exact"`` (:func:`relu_regions.exact_intervals`) or ``"sampled"``
    (:func:`relu_regions.sampled_intervals`); ``kwargs`` go to that function (e.g. ``count_regions``,
    ``n``). The settings recorded, and checked on resume, include the method, the range, ``kwargs`` and
    a fingerprint of the network and the rays. Returns all results, read back.

    In a ``jax.distributed`` run every process calls this with the same arguments: each chunk is
    split over the processes and their devices (:func:`relu_regions.exact_intervals_sharded`) and
    process 0 writes it (see :func:`run_chunks`); process 0 gets the results, the others ``None``.
    """
    import relu_regions as rr
    from relu_regions._model import model_identity

    if method not in ("exact", "sampled"):
        raise ResultsError(f"method must be 'exact' or 'sampled', got {method!r}")
    if distributed() and method != "exact":
        raise ResultsError("only method='exact' is split over the processes of a jax.distributed run")
    fn = rr.exact_intervals_sharded if distributed() else rr.exact_intervals if method == "exact" else \
        rr.sampled_intervals
    xs, ds = np.asarray(xs), np.asarray(ds)
    n = len(xs)
    x_index = np.arange(n) if x_index is None else np.asarray(x_index)
    dirs = np.asarray(direction, dtype=object)
    t_lo, t_hi = np.asarray(t_min, dtype=np.float64), np.asarray(t_max, dtype=np.float64)
    network, arrays = model_identity(params, xs)
    settings = {"method": method, "t_min": t_lo.tolist() if t_lo.ndim == 0 else "per ray",
                "t_max": t_hi.tolist() if t_hi.ndim == 0 else "per ray", "options": dict(kwargs),
                "network": network, "fingerprint": _fingerprint(*arrays, xs, ds, t_lo, t_hi),
                **dict(meta or {})}

    def compute(start: int, stop: int):
        lo = t_lo if t_lo.ndim == 0 else t_lo[start:stop]
        hi = t_hi if t_hi.ndim == 0 else t_hi[start:stop]
        iv = fn(params, xs[start:stop], ds[start:stop], lo, hi, **kwargs)
        d = dirs if dirs.ndim == 0 else dirs[start:stop]
        return iv, {"x_index": x_index[start:stop], "direction": d}

    return run_chunks(directory, settings, compute, n, chunk_size, format=format, progress=progress,
                      desc=f"{method} GIs")
