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
        # The first line is complete on its own (callers that show one line keep the way to get the data).
        super().__init__(f"{what} not found. {hint}\nLooked in:\n{places}")


class DataDirNotFoundError(DatasetNotFoundError):
    """A ``data_dir`` given explicitly does not exist (or is not a directory).

    An explicit path is never replaced by another source: without this error a typo would silently
    load ``$RELU_REGIONS_DATA``, tensorflow-datasets or the embedded MNIST subset instead.
    """

    def __init__(self, data_dir):
        self.data_dir = data_dir
        FileNotFoundError.__init__(
            self, f"data directory {data_dir} does not exist or is not a directory (a directory given "
                  "explicitly is never replaced by another source; fix the path, or omit it to use "
                  "$RELU_REGIONS_DATA, tensorflow-datasets or the embedded MNIST subset)")
        self.looked = [f"local: {data_dir} (directory does not exist)"]
        self.hint = ""


def check_data_dir(data_dir) -> None:
    """Raise :class:`DataDirNotFoundError` when ``data_dir`` is given but is not an existing directory."""
    if data_dir is None:
        return
    from pathlib import Path

    if not Path(data_dir).expanduser().is_dir():
        raise DataDirNotFoundError(Path(data_dir).expanduser())


def check_option(argument: str, value: str, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{argument} must be one of {list(allowed)}, got {value!r}")
