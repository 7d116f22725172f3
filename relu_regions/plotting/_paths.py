"""Network outputs along a segment, drawn exactly from its linear pieces."""

from __future__ import annotations

import matplotlib
import numpy as np

LOGIT_COLORS = "tab10"


def plot_logits_along(ax, pieces, changes, label: int, title: str, marks=(0.0, 1.0),
                      max_boundaries: int = 400, legend: bool = False) -> None:
    """Draw every logit of ``f(x + t d)`` against ``t`` on ``ax``.

    ``pieces`` is an ``rr.Pieces`` (the polyline through its breakpoints is the exact output); ``changes``
    a ``ClassChanges``. Region boundaries are thin grey lines (the first ``max_boundaries``), class
    changes dashed black lines annotated with the class after them (in +t), ``marks`` (e.g. the two
    samples at t = 0 and t = 1) dotted lines; the logit of ``label`` is drawn thicker; ``legend`` adds
    the class legend.
    """
    cmap = matplotlib.colormaps[LOGIT_COLORS]
    bp, F = pieces.breakpoints, pieces.logits
    ax.vlines(bp[1:-1][:max_boundaries], 0, 1, transform=ax.get_xaxis_transform(), colors="0.8", lw=0.4, zorder=0)
    for c in range(F.shape[1]):
        ax.plot(bp, F[:, c], color=cmap(c % 10), lw=2.2 if c == label else 0.9,
                label=f"class {c}" + (" (label)" if c == label else ""), zorder=2)
    top = np.nanmax(F)
    for t, new in zip(changes.t, changes.after):
        ax.axvline(t, color="k", ls="--", lw=0.9, zorder=3)
        ax.annotate(f"\u2192{int(new)}", (t, top), textcoords="offset points", xytext=(2, -10), fontsize=7)
    for m in marks:
        ax.axvline(m, color="tab:red", ls=":", lw=1.0, zorder=1)
    ax.set_xlim(bp[0], bp[-1])
    ax.set_xlabel("t  (input x + t d)")
    ax.set_ylabel("logits f(x + t d)")
    if legend:
        ax.legend(fontsize=6, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    ax.set_title(f"{title}\nlinear pieces: {pieces.n_pieces}, class changes: {len(changes.t)}", fontsize=9)
