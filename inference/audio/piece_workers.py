"""Alignment pieces on several cores: forked worker processes, each inheriting the parent's decoders.

pocketsphinx holds the GIL, so threads cannot share its work; processes can. Fork is used (Linux only) because
a worker then starts in milliseconds with the acoustic model already loaded; a spawned one would spend about
a second importing and loading, more than a minute of speech saves. Elsewhere, and on one core, the pieces
run one after another in this process. Both give identical timings: each piece is aligned on its own.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess

import numpy as np

from .. import worker_pools
from ..cores import usable_cores
from .g2p import Word
from .languages import Language
from .phones import AlignmentFailed, PhoneTimer, Timing
from .pieces import PIECE_MIN_S, Piece
from .prosody import HOP

MAX_WORKERS = 4  # a window (at most 60 s of a long file, 120 s of a short one) has few pieces

_worker_timer: PhoneTimer | None = None


class PieceAligner:
    """Aligns the pieces of a window; ``workers`` > 1 uses that many forked processes."""

    def __init__(self, timer: PhoneTimer, workers: int) -> None:
        self._timer = timer
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_start_worker, initargs=(timer, os.getpid()))
            # fork now, before the caller starts its pitch thread: a child forked beside a running thread can
            # inherit a lock that thread held
            self._pool.submit(int).result()

    @classmethod
    def for_recording(cls, timer: PhoneTimer, duration_s: float) -> PieceAligner:
        """Workers where they pay: Linux, more than one core, and a recording long enough to have pieces."""
        worth = sys.platform == "linux" and duration_s >= 2 * PIECE_MIN_S
        return cls(timer, min(usable_cores(), MAX_WORKERS) if worth else 1)

    def align(self, pcm: np.ndarray, words: list[Word], pieces: list[Piece]) -> list[Timing | None]:
        """Forced alignment of each piece to its words (None where it fails)."""
        return self._map(_align, [(_cut(pcm, p), words[p.first:p.stop], p.free_head, p.free_tail) for p in pieces])

    def time_untranscribed(self, pcm: np.ndarray, pieces: list[Piece], lang: Language) -> list[Timing]:
        """Each piece timed without a transcript (PhoneTimer.time_untranscribed)."""
        return self._map(_time_untranscribed, [(_cut(pcm, p), lang) for p in pieces])

    def _map(self, job, args: list[tuple]) -> list:
        if self._pool is not None:
            try:
                return list(self._pool.map(_in_worker, [job] * len(args), args))
            except BrokenProcessPool:  # a worker died (out of memory, killed): carry on in this process
                self.close()
        return [job(self._timer, *a) for a in args]

    def close(self, abandon: bool = False) -> None:
        """Stop the workers; ``abandon`` (a cancel or an error) kills the pieces they are aligning instead of
        waiting for them."""
        if self._pool is None:
            return
        if abandon:
            worker_pools.abandon(self._pool, _kill)
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def __enter__(self) -> PieceAligner:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(abandon=exc_type is not None)


def _kill(processes: list[BaseProcess]) -> None:
    for process in processes:
        process.kill()


def _start_worker(timer: PhoneTimer, parent: int) -> None:
    """A worker leaves Ctrl+C and SIGTERM to the engine (which kills its workers when it cancels): a worker
    that died of the signal on its own would look like a crash, and the pieces would carry on in the engine."""
    import signal

    global _worker_timer
    _worker_timer = timer
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    _die_with(parent)


def _die_with(parent: int) -> None:
    """A worker must not outlive an engine that was killed outright (a forked child keeps both ends of its task
    pipe, so it would wait for work forever): Linux kills it when the parent dies."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _in_worker(job, args: tuple):
    return job(_worker_timer, *args)


def _cut(pcm: np.ndarray, piece: Piece) -> np.ndarray:
    return pcm[piece.start * HOP:piece.end * HOP]


def _align(timer: PhoneTimer, pcm: np.ndarray, words: list[Word], free_head: int, free_tail: int) -> Timing | None:
    try:
        return timer.align(pcm, words, False, free_head, free_tail)
    except AlignmentFailed:
        return None


def _time_untranscribed(timer: PhoneTimer, pcm: np.ndarray, lang: Language) -> Timing:
    return timer.time_untranscribed(pcm, lang)
