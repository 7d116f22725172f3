"""The appendix's matrix-norm argument as a step of the reproduction (the computation lives in
:mod:`relu_regions.experiments._norms`)."""

from __future__ import annotations

from relu_regions.experiments._context import LABELS, ExperimentContext
from relu_regions.experiments._sizes import MAIN_WIDTHS


def norms_appendix(ctx: ExperimentContext) -> dict:
    """``norms_experiment`` on the MNIST 3x128 networks (real and random labels): training and validation
    points, ``sizes.n_norm_random`` uniform random inputs and same-label segments of each network's own
    training labels. The result also carries the networks' training records (``training``)."""
    from relu_regions.experiments._norms import norms_experiment

    nets = {labels: ctx.network("mnist", MAIN_WIDTHS, labels) for labels in LABELS}
    real = nets["real"]
    result = norms_experiment(ctx.out_dir, {k: n.params for k, n in nets.items()}, real.X, real.X_val,
                              y_train={k: n.y for k, n in nets.items()}, n_random=ctx.sizes.n_norm_random,
                              n_segments=ctx.sizes.n_norm_segments, seed=ctx.seed,
                              progress=ctx.progress)
    result["training"] = {k: n.record for k, n in nets.items()}
    result["networks"] = [n.key for n in nets.values()]
    return result


def norms_section(result: dict) -> str:
    """The norms experiment's own report section."""
    from relu_regions.experiments._norms import norms_report_section

    return norms_report_section(result)
