"""One content hash for arrays: resumable results, the training cache and multi-process checks use it."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def array_digest(*arrays: Any) -> str:
    """SHA-256 (hex) over the dtype, shape and bytes of each array (``None`` allowed; strings and other
    scalars are taken as numpy arrays)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none;")
            continue
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()
