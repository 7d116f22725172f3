"""Figure creation and atomic PNG saving (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after selecting the backend)

DPI = 110


def new_figure(ncols: int = 1, nrows: int = 1, panel_size: tuple[float, float] = (4.4, 3.4), **kwargs):
    """``(fig, axes)`` with ``axes`` always a 2-D array ``(nrows, ncols)``."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             squeeze=False, **kwargs)
    return fig, axes


def save_figure(fig, path: str | os.PathLike) -> str:
    """Save ``fig`` as PNG at ``path`` atomically (temporary file, then ``os.replace``), close it and
    return the file name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=DPI, format="png", bbox_inches="tight")
        os.chmod(tmp, 0o644)  # mkstemp creates owner-only files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path.name
