"""Parser for the IDX binary format of the original MNIST files."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

#: Magic numbers of the MNIST files: unsigned bytes with 3 dims (images) or 1 dim (labels).
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

_UBYTE_TYPE_CODE = 0x08
_GZIP_SIGNATURE = b"\x1f\x8b"


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzip-compressed or raw; detected from its content).

    Layout: big-endian int32 magic ``0x0000 08 <ndim>``, ``ndim`` big-endian int32 sizes, then
    the ``prod(sizes)`` raw bytes. Returns a writable uint8 array of shape ``sizes``.
    Raises ``ValueError`` naming the file on a bad magic number (or one different from
    ``expected_magic``), corrupt gzip data, or a payload whose size disagrees with the header.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_SIGNATURE:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: IDX magic number is {magic}, expected {expected_magic}")
    ndim = magic & 0xFF
    if magic >> 8 != _UBYTE_TYPE_CODE or ndim == 0:
        raise ValueError(f"{path}: magic number {magic} (0x{magic:08x}) is not an unsigned-byte IDX file")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} of {header_size} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    if any(s < 0 for s in shape):
        raise ValueError(f"{path}: negative dimension in IDX header {shape}")
    n_expected, n_found = math.prod(shape), len(raw) - header_size
    if n_found != n_expected:
        state = "truncated" if n_found < n_expected else "has trailing bytes"
        raise ValueError(
            f"{path}: header declares shape {shape} ({n_expected} bytes) but the file holds "
            f"{n_found} data bytes ({state})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape).copy()
