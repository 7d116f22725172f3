"""Exceptions and argument checks shared by the dataset loaders."""

from __future__ import annotations

from collections.abc import Sequence


class DatasetNotFoundError(FileNotFoundError):
    """No source could provide the requested dataset.

    ``looked`` lists every place that was tried, each with the reason it was rejected;
    the message repeats it and ends with instructions (``hint``) for getting the data.
    """

    def __init__(self, what: str, looked: Sequence[str], hint: str):
        self.looked = list(looked)
        self.hint = hint
        places = "\n".join(f"  - {place}" for place in self.looked) or "  (nowhere)"
        super().__init__(f"{what} not found. Looked in:\n{places}\n{hint}")


def check_option(argument: str, value: str, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{argument} must be one of {list(allowed)}, got {value!r}")
