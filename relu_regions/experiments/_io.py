"""Atomic writes of the run's outputs: the package's one atomic writer (:mod:`relu_regions._atomic`)."""

from relu_regions._atomic import plain, write_json_atomic, write_text_atomic

__all__ = ["plain", "write_json_atomic", "write_text_atomic"]
