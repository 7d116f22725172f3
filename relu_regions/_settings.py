"""Package-wide settings with one definition each: where trained networks are cached."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the trained-network cache.
CACHE_ENV_VAR = "RELU_REGIONS_CACHE"
#: The cache of trained networks when neither ``--cache-dir`` nor ``$RELU_REGIONS_CACHE`` is given.
DEFAULT_CACHE_DIR = Path("~/.cache/relu_regions/networks")


def default_cache_dir() -> Path:
    """``$RELU_REGIONS_CACHE`` if set, else :data:`DEFAULT_CACHE_DIR` (``~`` not expanded: callers
    expand it when they use it, and help texts show it as written)."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else DEFAULT_CACHE_DIR


CACHE_HELP = f"trained-network cache, reused by later runs (default: ${CACHE_ENV_VAR} or {DEFAULT_CACHE_DIR})"

__all__ = ["CACHE_ENV_VAR", "CACHE_HELP", "DEFAULT_CACHE_DIR", "default_cache_dir"]
