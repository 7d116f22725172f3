"""Shared fixtures, data locations, the quick/slow split and the hypothesis profiles.

Exact routines switch to float64 themselves; tests of the pure functions enable ``jax_enable_x64``
explicitly with ``jax.enable_x64(True)``.

Quick and slow runs: ``python -m pytest`` runs ``-m "not slow"`` (``addopts`` in pyproject.toml), the
quick suite that covers every module; ``python -m pytest -m slow`` runs the heavy sweeps and end-to-end
runs (CI runs both). A test is slow if it carries ``@pytest.mark.slow`` or is listed in
:data:`SLOW_TESTS` below (kept here, with the measured times, so that marking needs no edit of files
that others are changing). Property tests (hypothesis) run in both: with the ``quick`` profile
(:data:`QUICK_EXAMPLES` examples each) in the quick run and with the ``thorough`` profile (the numbers
their ``@settings`` give, or :data:`THOROUGH_EXAMPLES`) in the slow run. ``HYPOTHESIS_PROFILE=...``
picks a profile by hand; ``python -m pytest -m ""`` runs everything once (thorough profile).

Data: tests that need the real MNIST/CIFAR-10 files look under ``$RELU_REGIONS_DATA``, then
``../shared/data`` (beside the repository), and skip with a reason naming where they looked.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

# ------------------------------------------------------------------------------------------- data
_DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_ENV_DATA = Path(os.environ["RELU_REGIONS_DATA"]).expanduser() if os.environ.get("RELU_REGIONS_DATA") else None


def _has_data(root: Path | None) -> bool:
    return root is not None and ((root / "mnist").is_dir() or (root / "cifar10").is_dir())


# $RELU_REGIONS_DATA if it holds a data set, then ../shared/data.
DATA_ROOT = _ENV_DATA if _has_data(_ENV_DATA) else _DEFAULT_DATA
if DATA_ROOT == _ENV_DATA:
    DATA_ROOT_NOTE = f"{DATA_ROOT} (from $RELU_REGIONS_DATA)"
elif _ENV_DATA is not None:
    DATA_ROOT_NOTE = f"{DATA_ROOT} ($RELU_REGIONS_DATA={_ENV_DATA} holds no data set)"
else:
    DATA_ROOT_NOTE = f"{DATA_ROOT} ($RELU_REGIONS_DATA is not set)"
#: The data root of the tests (the historical name; it need not be ../shared/data).
SHARED_DATA = DATA_ROOT
HAS_MNIST = (DATA_ROOT / "mnist").is_dir() or (DATA_ROOT / "train-images-idx3-ubyte.gz").is_file()
HAS_CIFAR = (DATA_ROOT / "cifar10" / "cifar-10-batches-py").is_dir()
needs_mnist = pytest.mark.skipif(
    not HAS_MNIST, reason=f"needs the MNIST IDX files: no mnist/ under {DATA_ROOT_NOTE}; set $RELU_REGIONS_DATA")
needs_cifar = pytest.mark.skipif(
    not HAS_CIFAR, reason=f"needs CIFAR-10: no cifar10/cifar-10-batches-py/ under {DATA_ROOT_NOTE}; "
                          "set $RELU_REGIONS_DATA")

# ------------------------------------------------------------------------------- quick / slow split
#: Heavy tests, run by ``python -m pytest -m slow`` only: seconds measured on 2 shared cores (load 4-8),
#: with the engine and experiments of 2026-12-02 (the ``[fig2]``/``[fig3]``/``[fig6]`` tiny runs went from
#: ~3 s to 200-260 s with the certified walker; they belong back in the quick run once they are fast).
SLOW_TESTS = {
    "tests/test_random_nets.py::test_matches_rational_reference_on_degenerate_integer_nets": 34,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[hull]": 330,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[layerwise]": 279,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[sensitivity]": 224,
    "tests/test_experiments.py::test_fig7_on_the_partial_local_cifar10": 86,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[fig2]": 207,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[fig3]": 227,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[fig6]": 259,
    "tests/test_hand_cases.py::test_thin_region_through_identity_layers[2]": 27,
    "tests/test_hand_cases.py::test_thin_region_through_identity_layers[3]": 21,
    "tests/test_cli.py::test_reproduce_end_to_end_then_rerun_uses_the_cache": 83,
    "tests/test_engine_paths.py::test_fast_path_on_random_nets_matches_reference[all labels]": 15,
    "tests/test_engine_paths.py::test_fast_path_on_random_nets_matches_reference[own label]": 15,
    "tests/test_engine_paths.py::test_real_mnist_rays_fast_path": 10,
    "tests/test_engine_paths.py::test_fast_path_on_degenerate_integer_nets": 8,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[fig4]": 11,
    "tests/test_experiments.py::test_experiment_writes_png_and_numbers[fig8]": 8,
    "tests/test_random_nets.py::test_jitted_equals_unjitted": 7,
    "tests/test_random_nets.py::test_wide_deep_nets_match_reference": 5,
    "tests/test_random_nets.py::test_real_mnist_rays_match_reference": 2,
    "tests/test_norms.py::test_cli_norms_quick_end_to_end": 6,
    "tests/test_distributed.py::test_two_processes_equal_one": 60,  # 25 s on an idle machine
}
QUICK_EXAMPLES, THOROUGH_EXAMPLES = 6, 60
settings.register_profile("quick", max_examples=QUICK_EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=THOROUGH_EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


def _slow_run(config) -> bool:
    """Whether this run selects slow tests (``-m slow``, or no ``not slow`` filter at all)."""
    return "not slow" not in (config.getoption("markexpr") or "")


def pytest_configure(config):
    if not os.environ.get("HYPOTHESIS_PROFILE"):
        settings.load_profile("thorough" if _slow_run(config) else "quick")
    else:
        settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


@pytest.hookimpl(tryfirst=True)  # before the -m filter deselects anything
def pytest_collection_modifyitems(config, items):
    slow_run = _slow_run(config)
    for item in items:
        if item.nodeid in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        elif slow_run and getattr(getattr(item, "function", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)  # property tests run again, thoroughly, in the slow run
    if not config.getoption("keyword") and not any("::" in str(a) for a in config.args):
        files = {item.nodeid.split("::")[0] for item in items}
        ids = {item.nodeid for item in items}
        missing = [t for t in SLOW_TESTS if t.split("::")[0] in files and t not in ids]
        if missing:
            raise pytest.UsageError(f"SLOW_TESTS in tests/conftest.py names tests that do not exist: {missing}")


def random_net(rng: np.random.Generator, sizes, scale=None):
    """Gaussian MLP with ``(in, out)`` weights scaled by ``1/sqrt(in)`` unless ``scale`` is given."""
    return [(rng.normal(size=(a, b)) * (scale if scale is not None else 1 / np.sqrt(a)),
             rng.normal(size=b) * 0.5) for a, b in zip(sizes[:-1], sizes[1:])]


def numpy_masks(params, x):
    """Activation masks ``z_l > 0`` of one input, computed independently in numpy."""
    masks, h = [], x
    for W, b in params[:-1]:
        z = h @ W + b
        masks.append(z > 0)
        h = np.maximum(z, 0)
    return masks


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ----------------------------------------------------------------------------- compiled programs
MAX_MAPPINGS_BEFORE_A_TEST = 10_000
"""Memory mappings this process may hold when a test starts before JAX's compiled programs are dropped.

Every compiled XLA:CPU program holds memory mappings (about 130 per walker call of a new shape). A
suite of property tests compiles thousands of shapes in one process, and past Linux's
``vm.max_map_count`` (65,530 by default) the next compilation aborts or segfaults inside XLA: that
crashed CI twice. Before each test, if the process holds more than this many, the compiled programs
are dropped (``jax.clear_caches``); a single test stays far below the limit (a 60-example property
test adds about 16,000).
"""


def _mappings() -> int | None:
    """Memory mappings of this process (Linux), or None where ``/proc`` does not say."""
    try:
        with open(f"/proc/{os.getpid()}/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


@pytest.fixture(autouse=True)
def _bounded_compiled_programs():
    n = _mappings()
    if n is not None and n > MAX_MAPPINGS_BEFORE_A_TEST and "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
        gc.collect()
    yield


@pytest.fixture(scope="session")
def mnist_rays():
    """Same-label pairwise rays between real MNIST training images (skipped without the MNIST files)."""
    from relu_regions.data import load_mnist

    if not HAS_MNIST:
        pytest.skip(f"needs the MNIST IDX files: no mnist/ under {DATA_ROOT_NOTE}; set $RELU_REGIONS_DATA")
    ds = load_mnist("train", data_dir=DATA_ROOT, source="local")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(ds.y), size=2000, replace=False)
    X, y = ds.X[idx].astype(np.float64), ds.y[idx]
    xs, ds_ = [], []
    for c in range(10):
        Xc = X[y == c][:11]
        for i in range(len(Xc)):
            for j in range(len(Xc)):
                if i != j:
                    xs.append(Xc[i])
                    ds_.append(Xc[j] - Xc[i])
    return np.array(xs), np.array(ds_)
