"""Frames from several CPU cores: each worker process sets up its own renderer for the photo once, renders
batches of frames, and the frames come back in order. One worker renders in this process.

Frames are independent (each a pure function of its mesh), so the only cost of parallelism is moving the
frames back, which is small next to rendering them: each worker encodes its frames for the output first (half the
bytes of RGB for a video; PNG compression on every core).

The workers start as soon as the pool exists and import the renderer while this process prepares the photo
(fits the 3-D head, finds the person); ``start`` then hands each the finished set-up. Started after the head fit
instead, a minute's video waited another second and a half for the workers' imports.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..cores import usable_cores
from ..rigs.rig import FaceRig
from .portrait_renderer import LimitReport, PortraitRenderer

BATCH_FRAMES = 8
MIN_FRAMES_PER_WORKER = 150
"""Starting a worker costs about half a second of CPU (the interpreter, imports, the renderer's set-up); below this
many frames each, fewer workers. A 3 s clip (90 frames) at 512² took 3.1-3.5 s with two workers, 3.2 s with one."""


def auto_workers(n_frames: int, device: str) -> int:
    """One worker per core (up to 8), within what the clip's length repays. The encoder shares the cores and
    still gains: a minute at 512² on 2 cores took 26 s with one process, 22 s with two workers."""
    if device != "cpu":
        return 1  # the GPU samples; one process feeds it
    return max(1, min(usable_cores(), 8, n_frames // MIN_FRAMES_PER_WORKER))


@dataclass
class _Workers:
    pool: ProcessPoolExecutor
    setups: multiprocessing.Queue  # a renderer set-up for each worker, which it takes as it starts


class FramePool:
    """Renders (vertices, lip seal) chunks into frames with ``workers`` processes."""

    def __init__(self, size: int, workers: int = 1):
        """Starts the worker processes (more than one worker); ``start`` gives them the photo to render."""
        self.size = size
        self.workers = max(1, int(workers))
        self.report = LimitReport()
        self._local: PortraitRenderer | None = None
        self._workers: _Workers | None = None
        self._started = False
        if self.workers > 1:
            context = multiprocessing.get_context("spawn")
            setups = context.Queue()
            pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                       initargs=(setups,))
            self._workers = _Workers(pool, setups)
            for _ in range(self.workers):  # the executor spawns a process per task it cannot hand to an idle one
                pool.submit(_idle_task)

    def start(self, rig: FaceRig, **renderer_options) -> FramePool:
        """Sets up every worker's renderer for ``rig``'s photo; ``renderer_options``: PortraitRenderer's keyword
        options (device, layered, interior, head, fit_head, matte)."""
        if self._workers is None:
            self._local = PortraitRenderer(rig, size=self.size, **renderer_options)
            self.report = self._local.limit_report
        else:
            for _ in range(self.workers):
                self._workers.setups.put((rig, self.size, renderer_options))
        self._started = True
        return self

    def frames(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]],
               encode: Callable[[np.ndarray], np.ndarray] | None = None) -> Iterator[np.ndarray]:
        """The frames of (vertices, lip seal) ``chunks`` in order, each passed through ``encode`` (a module-level
        function: the workers call it) where given."""
        if self._local is not None:
            for verts, seal in chunks:
                for v, s in zip(verts, seal, strict=True):
                    frame = self._local.render(v, float(s))
                    yield frame if encode is None else encode(frame)
            return
        if self._workers is None:
            raise RuntimeError("the pool renders frames once start() has given it a photo")
        pool = self._workers.pool
        pending: deque[Future] = deque()
        for verts, seal in chunks:
            for a in range(0, len(verts), BATCH_FRAMES):
                pending.append(pool.submit(_render_batch, verts[a:a + BATCH_FRAMES], seal[a:a + BATCH_FRAMES],
                                                 encode))
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
        workers, self._workers = self._workers, None
        if workers is not None:
            if not self._started:  # the workers wait for a set-up: tell them there is none
                for _ in range(self.workers):
                    workers.setups.put(None)
            workers.pool.shutdown(wait=True, cancel_futures=True)
            # a set-up no worker took (one died, or Ctrl-C) must not hold this process at exit writing it
            workers.setups.cancel_join_thread()
            workers.setups.close()

    def __enter__(self) -> FramePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_worker: PortraitRenderer | None = None


def _start_worker(setups: multiprocessing.Queue) -> None:
    """Each worker's renderer, from the first set-up on ``setups`` (None: the pool closed before it started).
    BLAS threads are already 1: workers inherit the CLI's environment."""
    global _worker
    import cv2

    cv2.setNumThreads(1)  # one core per worker: the pool is the parallelism
    setup = setups.get()
    if setup is not None:
        rig, size, renderer_options = setup
        _worker = PortraitRenderer(rig, size=size, **renderer_options)


def _idle_task() -> None:
    """A task with nothing to do: submitting one makes the executor start a worker process now, before there
    are frames to render."""


def _render_batch(verts: np.ndarray, seal: np.ndarray, encode: Callable[[np.ndarray], np.ndarray] | None
                  ) -> tuple[list[np.ndarray], int, float]:
    if _worker is None:
        raise RuntimeError("this worker was given no photo to render")
    report = _worker.limit_report
    report.frames_clamped, report.largest_deg = 0, 0.0  # per batch; the pool adds them up
    frames = [_worker.render(v, float(s)) for v, s in zip(verts, seal, strict=True)]
    if encode is not None:
        frames = [encode(f) for f in frames]
    return frames, report.frames_clamped, report.largest_deg
