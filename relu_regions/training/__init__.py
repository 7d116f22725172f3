"""Training the paper's ReLU MLPs with Flax + optax, with atomic checkpoints.

Networks come back in the project format: a list of ``(W, b)`` numpy pairs,
``W`` of shape ``(in, out)``, ``y = x @ W + b``, ReLU between layers, logits
out.
"""

from ._cache import cache_key, train_or_load
from ._checkpoint import load_checkpoint, save_checkpoint
from ._config import TrainConfig
from ._model import MLP, uniform_bound
from ._train import TrainHistory, TrainResult, load_result, train_mlp

__all__ = [
    "MLP",
    "TrainConfig",
    "TrainHistory",
    "TrainResult",
    "cache_key",
    "load_checkpoint",
    "load_result",
    "save_checkpoint",
    "train_mlp",
    "train_or_load",
    "uniform_bound",
]
