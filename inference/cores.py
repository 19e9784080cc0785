"""How many CPU cores this process may use: its affinity mask where the OS has one, within any share it was
given (a batch worker takes one core, so it starts no parallel workers of its own)."""

from __future__ import annotations

import os

_share: int | None = None


def usable_cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, _share) if _share else cores


def take_share(cores: int) -> None:
    """From now on this process uses at most ``cores`` cores (for everything that asks ``usable_cores``)."""
    global _share
    _share = max(1, int(cores))
