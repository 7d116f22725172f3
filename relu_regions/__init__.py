"""relu_regions: exact piecewise-linear analysis of ReLU networks.

A network is a list of ``(W, b)`` pairs with ``W`` of shape ``(in, out)`` and ``y = x @ W + b``, ReLU
between layers, logits out.
"""

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
from relu_regions._pieces import PieceCapacityError, Pieces, linear_pieces
from relu_regions._regions import activation_pattern, effective_weights, local_linear_map
from relu_regions._sampled import sampled_interval, sampled_intervals
from relu_regions._sharding import exact_intervals_sharded
from relu_regions._validate import ParamsError, check_params

__all__ = [
    "Interval",
    "NormCheckError",
    "ParamsError",
    "PieceCapacityError",
    "Pieces",
    "PointNorms",
    "SegmentBoundViolation",
    "SegmentNorms",
    "activation_pattern",
    "check_params",
    "effective_weights",
    "exact_interval",
    "exact_intervals",
    "exact_intervals_sharded",
    "forward",
    "inf_norm",
    "linear_pieces",
    "local_linear_map",
    "norms_at_points",
    "params_from_flax",
    "point_norms",
    "pre_activations",
    "predict",
    "sampled_interval",
    "sampled_intervals",
    "segment_norms",
]
