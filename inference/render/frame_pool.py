"""Frames from several CPU cores: each worker process sets up its own renderer for the photo once, renders
batches of frames, and the frames come back in order. One worker renders in this process.

Frames are independent (each a pure function of its mesh), so the only cost of parallelism is moving the
frames back (0.8 MB each at 512²), which is small next to rendering them.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from ..cores import usable_cores
from ..rigs.rig import FaceRig
from .portrait_renderer import LimitReport, PortraitRenderer

BATCH_FRAMES = 8
MIN_FRAMES_PER_WORKER = 150
"""Starting a worker costs about a second (imports, MediaPipe); below this many frames each, fewer workers."""


def auto_workers(n_frames: int, device: str) -> int:
    """One worker per core (up to 8), within what the clip's length repays. The encoder shares the cores and
    still gains: a minute at 512² on 2 cores took 26 s with one process, 22 s with two workers."""
    if device != "cpu":
        return 1  # the GPU samples; one process feeds it
    return max(1, min(usable_cores(), 8, n_frames // MIN_FRAMES_PER_WORKER))


class FramePool:
    """Renders (vertices, lip seal) chunks into frames with ``workers`` processes."""

    def __init__(self, rig: FaceRig, size: int, workers: int = 1, **renderer_options):
        """``renderer_options``: PortraitRenderer's keyword options (device, layered, interior, head)."""
        self.workers = max(1, int(workers))
        self.report = LimitReport()
        if self.workers == 1:
            self._local = PortraitRenderer(rig, size=size, **renderer_options)
            self.report = self._local.limit_report
            self._pool = None
        else:
            self._local = None
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(rig, size, renderer_options))

    def frames(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        if self._local is not None:
            for verts, seal in chunks:
                for v, s in zip(verts, seal, strict=True):
                    yield self._local.render(v, float(s))
            return
        pending: deque[Future] = deque()
        for verts, seal in chunks:
            for a in range(0, len(verts), BATCH_FRAMES):
                pending.append(self._pool.submit(_render_batch, verts[a:a + BATCH_FRAMES], seal[a:a + BATCH_FRAMES]))
                while len(pending) > 2 * self.workers:
                    yield from self._collect(pending.popleft())
        while pending:
            yield from self._collect(pending.popleft())

    def _collect(self, future: Future) -> list[np.ndarray]:
        frames, clamped, largest = future.result()
        self.report.frames_clamped += clamped
        self.report.largest_deg = max(self.report.largest_deg, largest)
        return frames

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FramePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_worker: PortraitRenderer | None = None


def _start_worker(rig: FaceRig, size: int, renderer_options: dict) -> None:
    """Each worker's renderer (BLAS threads are already 1: workers inherit the CLI's environment)."""
    global _worker
    import cv2

    cv2.setNumThreads(1)  # one core per worker: the pool is the parallelism
    _worker = PortraitRenderer(rig, size=size, **renderer_options)


def _render_batch(verts: np.ndarray, seal: np.ndarray) -> tuple[list[np.ndarray], int, float]:
    report = _worker.limit_report
    report.frames_clamped, report.largest_deg = 0, 0.0  # per batch; the pool adds them up
    frames = [_worker.render(v, float(s)) for v, s in zip(verts, seal, strict=True)]
    return frames, report.frames_clamped, report.largest_deg
