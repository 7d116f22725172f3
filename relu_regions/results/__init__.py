"""Per-ray results as data: one row per ray, as Parquet (with ``pyarrow``) or CSV, plus a JSON sidecar
holding the settings and the versions of the packages that produced them.

Columns (see :data:`COLUMNS`): ``x_index`` (row of ``x`` in the caller's data, -1 if none),
``direction`` (the direction's kind: ``"pair"``, ``"random"``, ``"pca1"``, ...), ``lo``, ``hi``,
``length``, ``label``, ``lo_class``, ``hi_class``, ``n_regions``, ``exact`` - the fields of
:class:`relu_regions.Interval` - and any extra per-ray columns the caller adds (e.g. ``y_index``, the
other end of a pairwise ray).

* :func:`save_intervals` / :func:`load_intervals`: one file (``rays.parquet`` or ``rays.csv``) and its
  sidecar ``rays.parquet.json``.
* :class:`ResultWriter`: a directory written chunk by chunk (``part-00000.parquet``, ...) with a
  ``manifest.json``; a rerun with the same settings skips the chunks already written, so an interrupted
  run resumes where it stopped. :func:`load_intervals` reads such a directory too.
  :func:`stream_intervals` runs ``exact_intervals``/``sampled_intervals`` that way in one call.
* In a ``jax.distributed`` run (several processes, hosts or GPUs) :func:`stream_intervals` and
  :func:`run_chunks` split every chunk over the processes and let process 0 write it; resuming works
  the same way (process 0 reads the manifest and tells the others which chunks are left).

Every file is written atomically (:mod:`relu_regions._atomic`): an interrupted write leaves the old
file or none, never a part.
"""

from relu_regions.results._store import (
    COLUMNS,
    ResultsError,
    ResultWriter,
    RayResults,
    distributed,
    intervals_table,
    load_intervals,
    package_versions,
    parquet_available,
    run_chunks,
    save_intervals,
    stream_intervals,
)

__all__ = [
    "COLUMNS",
    "RayResults",
    "ResultWriter",
    "ResultsError",
    "distributed",
    "intervals_table",
    "load_intervals",
    "package_versions",
    "parquet_available",
    "run_chunks",
    "save_intervals",
    "stream_intervals",
]
