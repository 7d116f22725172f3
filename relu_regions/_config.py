"""Engine settings as one explicit, immutable object (no module globals to patch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineConfig:
    """How the ray engine batches its work; answers never depend on these settings.

    lanes: side problems per device stepping together (each lane takes the next problem from a queue
    when it finishes). walk_lanes: on the certified fast path, lanes per device that take a float64 region
    step together (the rest certify). small: batches of at most this many rays on one device walk every
    side in its own lane of a plain vmapped loop (no queue to gain from; it compiles faster).
    """

    lanes: int = 512
    walk_lanes: int = 64
    small: int = 64

    def __post_init__(self):
        for name in ("lanes", "walk_lanes"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"EngineConfig.{name}: expected a positive integer, got {getattr(self, name)!r}")
        if not isinstance(self.small, int) or self.small < 0:
            raise ValueError(f"EngineConfig.small: expected a non-negative integer, got {self.small!r}")
