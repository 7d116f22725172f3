"""The package's one atomic writer: a temporary file in the target's directory, flushed and fsynced,
then ``os.replace``-d over the target, so readers see the old file or the complete new one, never a
part. Every file the package writes (checkpoints, results, JSON, figures, reports) goes through here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: Permissions of written files (``mkstemp`` creates them owner-only).
PUBLIC_MODE = 0o644


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file name (``savefig``,
    ``pyarrow``); on normal exit it replaces ``path``, on any error or interrupt it is removed.
    Parent directories are created. ``suffix`` keeps writers that infer the format from the name happy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, PUBLIC_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """``open(path, mode)`` made atomic: write into the yielded file object; ``path`` is replaced when
    the block ends without error. ``mode`` is ``"w"`` (text) or ``"wb"``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as f:
            yield f


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def plain(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays turned into Python numbers/lists, tuples into lists, paths into
    strings and non-finite floats into ``None`` (so that the JSON is strict)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.generic):
        return plain(obj.item())
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """``obj`` (see :func:`plain`) as indented, strict JSON at ``path``, atomically."""
    return write_text_atomic(path, json.dumps(plain(obj), indent=1, allow_nan=False) + "\n")


__all__ = ["PUBLIC_MODE", "atomic_open", "atomic_path", "plain", "write_bytes_atomic", "write_json_atomic",
           "write_text_atomic"]
