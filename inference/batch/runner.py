"""``vividtalk batch``: every line of a manifest, on warm worker processes, resumable, with a failure report.

Workers come from a fork server that imported the engine once, so each starts warm; each then keeps its own
decoders loaded for line after line. Lines whose outputs are complete and newer than their inputs are skipped
(a re-run after an interruption picks up where it stopped). A line that fails is reported and the batch goes
on; a worker that dies takes only the lines it had in hand, which are tried once more in a fresh worker.
"""

from __future__ import annotations

import contextlib
import csv
import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .. import worker_pools
from ..contract import exit_code
from ..io.atomic import atomic_open, check_writable_target
from ..progress import Progress
from .blender_pass import BLENDER_OUTPUTS, run_blender_pass
from .line_job import DONE, FAILED, SKIPPED, LineResult, is_up_to_date, run_line, start_worker
from .manifest import BatchLine, read_manifest
from .ray_cluster import cluster_address, run_on_ray

REPORT_COLUMNS = ("line", "input", "exit_class", "message")
IN_FLIGHT_PER_WORKER = 2
"""Lines handed to each worker ahead: enough to keep it busy, few enough that a dying worker costs little."""


@dataclass
class BatchSummary:
    results: list[LineResult] = field(default_factory=list)
    seconds: float = 0.0
    report: Path | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def audio_seconds(self) -> float:
        return sum(r.audio_seconds for r in self.results if r.status == DONE)

    @property
    def exit_code(self) -> int:
        return exit_code("some_lines_failed") if self.count(FAILED) else exit_code("ok")


def default_report_path(manifest: Path) -> Path:
    return manifest.with_name(f"{manifest.stem}.failures.csv")


def run_batch(manifest: str | Path, defaults: dict[str, Any], workers: int, progress: Progress,
              report: Path | None = None, redo: bool = False, cluster: str | None = None,
              fbx_preset: str = "UNREAL") -> BatchSummary:
    """``cluster``: None for worker processes on this machine, else ``ray`` or ``ray://HOST:PORT``."""
    manifest = Path(manifest)
    address = cluster_address(cluster) if cluster else None
    lines = read_manifest(manifest)
    report = report or default_report_path(manifest)
    check_writable_target(report)
    summary = BatchSummary(report=report)
    started = time.perf_counter()
    todo: list[BatchLine] = []
    for line in lines:
        if line.problem:
            summary.results.append(LineResult(line.number, line.label, FAILED, "bad_input", line.problem))
        elif not redo and is_up_to_date(line):
            summary.results.append(LineResult(line.number, line.label, SKIPPED))
        else:
            todo.append(line)
    tracker = _Tracker(len(lines), summary, progress)

    def finish(line: BatchLine, result: LineResult) -> None:
        summary.results.append(result)
        tracker.line_done(result)

    # two passes: the engine's outputs (clip, csv, mp4) on workers or the cluster, then FBX and .blend in Blender;
    # a line that wants both is done when both are
    in_blender = {line.number for line in todo if set(line.outputs) & set(BLENDER_OUTPUTS)}
    for_engine = [line for line in todo if set(line.outputs) - set(BLENDER_OUTPUTS)]
    held: dict[int, LineResult] = {}

    def engine_done(line: BatchLine, result: LineResult) -> None:
        if result.status == DONE and line.number in in_blender:
            held[line.number] = result
        else:
            finish(line, result)

    def blender_done(line: BatchLine, result: LineResult) -> None:
        first = held.pop(line.number, None)
        if first is not None:
            result.warnings = first.warnings + result.warnings
            result.audio_seconds = first.audio_seconds
        finish(line, result)

    try:
        if address and for_engine:
            run_on_ray(for_engine, defaults, address, engine_done)
        elif for_engine:
            _run(for_engine, defaults, max(1, min(workers, len(for_engine))), engine_done)
        engine_numbers = {line.number for line in for_engine}
        blender_todo = [line for line in todo if line.number in in_blender
                        and (line.number in held or line.number not in engine_numbers)]
        if blender_todo:
            run_blender_pass(blender_todo, defaults, fbx_preset, blender_done)
    finally:
        summary.seconds = time.perf_counter() - started
        summary.results.sort(key=lambda r: r.number)
        _write_report(report, summary.results)
    return summary


def _run(todo: list[BatchLine], defaults: dict[str, Any], workers: int, record) -> None:
    """The lines on worker processes of this machine; ``record(line, result)`` as each finishes."""
    queue = list(reversed(todo))
    tries: dict[int, int] = {}
    while queue:
        with _pool(workers, defaults) as pool:
            running: dict[Future, BatchLine] = {}
            try:
                while queue or running:
                    while queue and len(running) < IN_FLIGHT_PER_WORKER * workers:
                        line = queue.pop()
                        running[pool.submit(run_line, line)] = line
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        line = running.pop(future)
                        record(line, future.result()[0])
            except BrokenProcessPool:
                # a worker died (killed, out of memory, a crash in native code): its lines get one more try in a
                # fresh pool; a line that kills a worker twice is reported
                for line in running.values():
                    tries[line.number] = tries.get(line.number, 0) + 1
                    if tries[line.number] > 1:
                        record(line, LineResult(line.number, line.label, FAILED, "internal_error",
                                                "the worker process died on this line twice (out of memory, or a "
                                                "crash in a native library)"))
                    else:
                        queue.append(line)
            except BaseException:  # cancelled (Ctrl+C, SIGTERM) or a bug here: the workers stop their lines now
                _interrupt_workers(pool)
                raise


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Ctrl+C to every worker, so each abandons its line the way a cancelled command does (no temporary files
    left), then the pool is closed without waiting for the lines still queued."""
    def stop(processes: list[BaseProcess]) -> None:
        for process in processes:
            if process.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signal.SIGINT)
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.kill()

    worker_pools.abandon(pool, stop)


def _pool(workers: int, defaults: dict[str, Any]) -> ProcessPoolExecutor:
    # forkserver: workers are forked from a clean server process that imported the engine once (warm, and no
    # threads of ours copied into them); elsewhere spawn
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["inference.batch.line_job", "inference.pipeline"])
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=start_worker, initargs=(defaults,))


class _Tracker:
    """Lines done, failures and the time left, as the progress bar (or JSON lines) shows them."""

    def __init__(self, total: int, summary: BatchSummary, progress: Progress) -> None:
        self.total, self.done, self.failed = total, len(summary.results), summary.count(FAILED)
        self.worked, self.started = 0, time.perf_counter()
        self.progress = progress
        for r in summary.results:
            if r.status == FAILED:
                self._warn(r)
        self._show()

    def line_done(self, result: LineResult) -> None:
        self.done += 1
        self.worked += 1
        if result.status == FAILED:
            self.failed += 1
            self._warn(result)
        for warning in result.warnings:
            self.progress.warn(f"line {result.number} ({result.label}): {warning}")
        self._show()

    def _warn(self, result: LineResult) -> None:
        self.progress.warn(f"line {result.number} ({result.label}): {result.message}")

    def _show(self) -> None:
        left = self.total - self.done
        eta = ""
        if self.worked and left:
            eta = f", about {_duration(left * (time.perf_counter() - self.started) / self.worked)} left"
        self.progress.update("batch", self.done / max(self.total, 1),
                             f"{self.done}/{self.total} lines, {self.failed} failed{eta}")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def _write_report(path: Path, results: list[LineResult]) -> None:
    """The failures as CSV (line, input, exit class, message); only the header when every line is done."""
    with atomic_open(path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(REPORT_COLUMNS)
        for r in results:
            if r.status == FAILED:
                writer.writerow([r.number, r.label, r.exit_class, r.message])
