"""Training configuration for the paper's MLPs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TrainConfig"]

OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("uniform", "lecun_normal")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (JSON-serialisable, hashable).

    Defaults follow the paper: 3 hidden layers of 128 units, random-uniform
    initialisation, plain SGD with learning rate 0.01, trained until 100 %
    training accuracy. The paper does not state the mini-batch size; 32 is
    our choice.

    Attributes:
        widths: hidden-layer widths (the paper also uses (512,), (256, 256)
            and (128,) * 4).
        n_classes: number of output logits; ``None`` infers ``max(y) + 1``.
        optimizer: ``"sgd"``, ``"momentum"`` (SGD with ``momentum``) or
            ``"adam"``.
        learning_rate: step size for every optimizer.
        momentum: momentum coefficient, used only by ``"momentum"``.
        batch_size: mini-batch size; the last batch of an epoch may be smaller.
        max_epochs: cap on the number of epochs.
        target_train_acc: stop once the accuracy on the whole training set,
            measured after an epoch, is at least this.
        seed: seeds both the initialisation and the per-epoch shuffling.
        dtype: ``"float32"`` or ``"float64"`` (the latter needs
            ``jax.config.update("jax_enable_x64", True)``).
        eval_every: validation accuracy is measured every this many epochs
            and at the last epoch.
        init_scheme: ``"uniform"`` (kernel and bias ~ U(-1/sqrt(fan_in),
            1/sqrt(fan_in))) or ``"lecun_normal"`` (Flax default: LeCun
            normal kernel, zero bias).
    """

    widths: tuple[int, ...] = (128, 128, 128)
    n_classes: int | None = None
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.9
    batch_size: int = 32
    max_epochs: int = 1000
    target_train_acc: float = 1.0
    seed: int = 0
    dtype: str = "float32"
    eval_every: int = 1
    init_scheme: str = "uniform"

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive, got {self.widths}")
        if self.n_classes is not None and self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        for name, value, allowed in (
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("dtype", self.dtype, DTYPES),
            ("init_scheme", self.init_scheme, INITS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.batch_size < 1 or self.max_epochs < 1 or self.eval_every < 1:
            raise ValueError("batch_size, max_epochs and eval_every must be >= 1")
        if not 0.0 < self.target_train_acc <= 1.0:
            raise ValueError(
                f"target_train_acc must be in (0, 1], got {self.target_train_acc}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (``widths`` as a list)."""
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`."""
        return cls(**d)
