"""Abandoning a pool of worker processes on a cancel or an error, without a traceback at exit.

Python 3.11's exit hook for process pools (``concurrent.futures.process._python_exit``) wakes each pool's manager
thread by writing to its wake-up pipe, without the pool's lock. A pool shut down without waiting still has that
thread running, and when it closes the pipe between the hook's check and its write, the write fails and Python
prints "Bad file descriptor" with a traceback after vividtalk has said "Cancelled." (seen once in CI, on a
cancelled ``vividtalk animate``). Waiting here for the manager thread, once the workers are stopped, ends the race.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.process import BaseProcess

MANAGER_WAIT_S = 10.0
"""How long to wait for the pool's manager thread once its workers are stopped (it ends within milliseconds)."""


def abandon(pool: ProcessPoolExecutor, stop_workers: Callable[[list[BaseProcess]], None]) -> None:
    """Shut ``pool`` down without waiting for its queued work; ``stop_workers`` ends its worker processes (given as
    a list), then the pool's manager thread is waited for."""
    manager = getattr(pool, "_executor_manager_thread", None)  # no public handles before Python 3.14
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    stop_workers(processes)
    if manager is not None:
        manager.join(MANAGER_WAIT_S)
