"""Candidate directories for locally stored data sets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

#: Environment variable naming a data root laid out like ``data_dir``.
DATA_ENV_VAR = "RELU_REGIONS_DATA"


def candidate_dirs(
    data_dir: str | os.PathLike | None, subdirs: tuple[str, ...], looked: list[str]
) -> Iterator[Path]:
    """Yield the directories to search, in order: ``data_dir`` then ``data_dir/<subdir>`` for each
    subdir; only when no ``data_dir`` is given, the same under ``$RELU_REGIONS_DATA`` (a directory the
    user named is never silently replaced by another). Duplicates are skipped; a root that is not given
    is noted in ``looked``."""
    seen: set[Path] = set()
    roots = ((("given data_dir", data_dir),) if data_dir else
             (("no data_dir given", None), (f"${DATA_ENV_VAR} is not set", os.environ.get(DATA_ENV_VAR))))
    for absent_note, root in roots:
        if not root:
            looked.append(f"local: {absent_note}")
            continue
        base = Path(root).expanduser()
        for directory in (base, *(base / sub for sub in subdirs)):
            if directory not in seen:
                seen.add(directory)
                yield directory
