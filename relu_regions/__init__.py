"""relu_regions: exact piecewise-linear analysis of ReLU networks.

A network is a list of ``(W, b)`` pairs with ``W`` of shape ``(in, out)`` and ``y = x @ W + b``, ReLU
between layers, logits out.

The names are imported lazily (PEP 562): ``import relu_regions`` costs milliseconds, and JAX is loaded
by the first use of a name that needs it (so ``relu-regions --help`` starts at once). Add a public name
by importing it inside the ``if TYPE_CHECKING:`` block below and listing it in ``__all__``.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the lazy table below is read from these lines
    from relu_regions._config import EngineConfig
    from relu_regions._flax import params_from_flax
    from relu_regions._interval import Interval, exact_interval, exact_intervals
    from relu_regions._norms import (
        NormCheckError,
        PointNorms,
        SegmentBoundViolation,
        SegmentNorms,
        inf_norm,
        norms_at_points,
        point_norms,
        segment_norms,
    )
    from relu_regions._network import forward, pre_activations, predict
    from relu_regions._onnx import from_onnx
    from relu_regions._pieces import PieceCapacityError, Pieces, linear_pieces
    from relu_regions._plane import PlaneCapacityError, PlanePartition, plane_regions
    from relu_regions._regions import activation_pattern, effective_weights, local_linear_map
    from relu_regions.results import load_intervals, save_intervals
    from relu_regions._sampled import sampled_interval, sampled_intervals
    from relu_regions._sharding import exact_intervals_sharded, init_distributed
    from relu_regions._trace import Program, TraceError, trace
    from relu_regions._validate import ParamsError, check_params
    from relu_regions.studies import gi_study

__all__ = [
    "EngineConfig",
    "Interval",
    "NormCheckError",
    "ParamsError",
    "PieceCapacityError",
    "Pieces",
    "PlaneCapacityError",
    "PlanePartition",
    "PointNorms",
    "Program",
    "SegmentBoundViolation",
    "SegmentNorms",
    "TraceError",
    "activation_pattern",
    "check_params",
    "effective_weights",
    "exact_interval",
    "exact_intervals",
    "exact_intervals_sharded",
    "forward",
    "from_onnx",
    "gi_study",
    "inf_norm",
    "init_distributed",
    "linear_pieces",
    "load_intervals",
    "local_linear_map",
    "norms_at_points",
    "params_from_flax",
    "plane_regions",
    "point_norms",
    "pre_activations",
    "predict",
    "sampled_interval",
    "sampled_intervals",
    "save_intervals",
    "segment_norms",
    "trace",
]


def _lazy_table() -> dict:
    """``name -> module`` from the ``from relu_regions.<module> import <names>`` lines above."""
    import ast
    from pathlib import Path

    table = {}
    for node in ast.walk(ast.parse(Path(__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("relu_regions."):
            for alias in node.names:
                table[alias.asname or alias.name] = node.module
    return table


_LAZY = None


def __getattr__(name):
    global _LAZY
    if _LAZY is None:
        _LAZY = _lazy_table()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relu_regions' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
