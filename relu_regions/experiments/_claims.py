"""The claim records experiments return: ``{"claim", "measured", "criterion", "holds"}``."""

from __future__ import annotations


def claim(text: str, measured: str, criterion: str, holds) -> dict:
    """One row of the report's claim table: the paper's ``text``, what we ``measured`` (with numbers),
    the ``criterion`` that decides ``holds`` (``None`` when it could not be evaluated)."""
    return {"claim": text, "measured": measured, "criterion": criterion,
            "holds": None if holds is None else bool(holds)}
