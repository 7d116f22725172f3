"""The public surface: an explicit, stable ``__all__`` and nothing private leaking into it."""

import relu_regions as rr

EXPECTED = {
    "Interval", "ParamsError", "PieceCapacityError", "Pieces", "activation_pattern", "check_params",
    "effective_weights", "exact_interval", "exact_intervals", "forward", "linear_pieces",
    "local_linear_map", "params_from_flax", "pre_activations", "predict", "sampled_interval",
    "sampled_intervals", "inf_norm", "norms_at_points", "point_norms", "segment_norms", "PointNorms",
    "SegmentNorms", "NormCheckError", "EngineConfig", "SegmentBoundViolation", "exact_intervals_sharded",
    "plane_regions", "PlanePartition", "PlaneCapacityError",
    "gi_study", "save_intervals", "load_intervals",
    "trace", "Program", "TraceError", "from_onnx", "init_distributed",
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


def test_import_is_lazy_and_names_resolve():
    import subprocess
    import sys

    code = ("import sys, relu_regions as rr\n"
            "assert 'jax' not in sys.modules, 'import relu_regions imported jax'\n"
            "assert set(rr.__all__) <= set(dir(rr))\n"
            "rr.exact_intervals\n"
            "assert 'jax' in sys.modules\n"
            "try:\n    rr.no_such_name\nexcept AttributeError as e:\n    print('OK', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "OK module 'relu_regions' has no attribute 'no_such_name'" in out
    import relu_regions.results as results
    import relu_regions.studies as studies

    assert rr.gi_study is studies.gi_study and rr.save_intervals is results.save_intervals
    for mod in (results, studies):
        assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__)
