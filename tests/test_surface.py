"""The public surface: an explicit, stable ``__all__`` and nothing private leaking into it."""

import relu_regions as rr

EXPECTED = {
    "Interval", "ParamsError", "PieceCapacityError", "Pieces", "activation_pattern", "check_params",
    "effective_weights", "exact_interval", "exact_intervals", "forward", "linear_pieces",
    "local_linear_map", "params_from_flax", "pre_activations", "predict", "sampled_interval",
    "sampled_intervals", "inf_norm", "norms_at_points", "point_norms", "segment_norms", "PointNorms",
    "SegmentNorms", "NormCheckError", "SegmentBoundViolation", "exact_intervals_sharded",
}


def test_all_is_explicit_and_complete():
    assert EXPECTED <= set(rr.__all__)
    assert len(rr.__all__) == len(set(rr.__all__))
    for name in rr.__all__:
        assert not name.startswith("_")
        assert getattr(rr, name).__module__.startswith("relu_regions")


def test_implementation_lives_in_private_modules():
    for name in ("exact_interval", "linear_pieces", "local_linear_map", "sampled_intervals"):
        assert getattr(rr, name).__module__.split(".")[1].startswith("_")


def test_subpackages_have_explicit_surfaces():
    import relu_regions.data as data
    import relu_regions.training as training

    for mod in (data, training):
        assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__)
