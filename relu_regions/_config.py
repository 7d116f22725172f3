"""Engine settings as one explicit, immutable object (no module globals to patch)."""

from __future__ import annotations

import os
from dataclasses import dataclass


CPU_WIDE_RAYS = 1000
"""Chunks of at least this many rays per CPU device run on twice the lanes (measured on 2 cores, best of 7,
interleaved: 2,000 MNIST rays 0.089 -> 0.076 s; 150 and 500 rays about 10% slower on the wider lanes)."""
STREAM_MIN_RAYS, STREAM_MAX = 256, 8
"""On CPUs a batch is split into one stream per core while every stream keeps at least ``STREAM_MIN_RAYS``
rays, and into at most ``STREAM_MAX`` streams (only 2 cores were measured; the count of usable cores
does not see a container's CPU quota)."""


@dataclass(frozen=True)
class EngineConfig:
    """How the ray engine batches its work; answers never depend on these settings.

    lanes: side problems per device stepping together (each lane takes the next problem from a queue
    when it finishes). walk_lanes: on the certified fast path, lanes per device that take a float64 region
    step together (the rest certify). small: batches of at most this many rays on one device walk every
    side in its own lane of a plain vmapped loop (no queue to gain from; it compiles faster). streams: on
    one device, the batch is split into this many contiguous parts, each run by its own thread with its
    own lanes: XLA's CPU runs a lane step's small products on one core, so one stream per core keeps
    every core busy (measured on 2 cores, 2,000 MNIST rays: 0.22 -> 0.18 s, random labels).

    ``None`` picks by the device: on CPUs few lanes (192 and 24; 384 and 48 for chunks of at least
    ``CPU_WIDE_RAYS`` rays per device, measured faster there: every lane costs work at every step, and more
    lanes only wait for the slowest; a region step costs about four certification attempts, so few lanes walk;
    measured on 2 cores, ``benchmarks/speed.py``), on accelerators many (2048 and 256, to fill the device; not
    measured here); streams: on CPUs one per core available to this process (see ``STREAM_MIN_RAYS``); on
    accelerators one. With several devices (``devices=``) each device runs one stream.
    """

    lanes: int | None = None
    walk_lanes: int | None = None
    small: int = 64
    streams: int | None = None

    def __post_init__(self):
        for name in ("lanes", "walk_lanes", "streams"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"EngineConfig.{name}: expected a positive integer or None, got {value!r}")
        if not isinstance(self.small, int) or self.small < 0:
            raise ValueError(f"EngineConfig.small: expected a non-negative integer, got {self.small!r}")

    def resolved(self, platform: str, rays: int = 0) -> tuple[int, int]:
        """``(lanes, walk_lanes)`` for a device of ``platform`` (``"cpu"``, ``"gpu"``, ...) that takes chunks
        of ``rays`` rays."""
        if platform != "cpu":
            return self.lanes or 2048, self.walk_lanes or 256
        wide = rays >= CPU_WIDE_RAYS
        return self.lanes or (384 if wide else 192), self.walk_lanes or (48 if wide else 24)

    def stream_count(self, platform: str, rays: int) -> int:
        """How many streams take a batch of ``rays`` rays on one device of ``platform`` (see ``streams``)."""
        if self.streams is not None:
            return max(1, min(self.streams, rays))
        if platform != "cpu":
            return 1
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(cores, STREAM_MAX, rays // STREAM_MIN_RAYS))

    def second_tier(self, platform: str) -> "EngineConfig":
        """The settings for the second tier, which walks the few rays plain float64 could not certify (a
        padded chunk of ``small`` rays or more, mostly hard ones): a quarter of the lanes and half the walk
        lanes, since every lane costs work at every step (measured on 2 cores: 0.033 s -> 0.019 s for the
        23 such rays of 2,000 MNIST rays, 0.29 s -> 0.19 s on infinite ranges). Not used where the first
        tier ran chunks of that very size: the second then reuses its compilation. One stream: the few rays
        would be split into chunks of new sizes."""
        lanes, walk_lanes = self.resolved(platform)
        return EngineConfig(lanes=max(lanes // 4, min(lanes, 8)), walk_lanes=max(walk_lanes // 2, min(walk_lanes, 4)),
                            small=self.small, streams=1)
