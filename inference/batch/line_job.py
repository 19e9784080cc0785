"""One batch line done inside a warm worker process: the engine is imported and its decoders loaded once per
process, then line after line reuses them. Every line is isolated: whatever goes wrong becomes that line's
result, never the batch's end."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract import contract
from ..errors import VividtalkError
from .manifest import BatchLine

if TYPE_CHECKING:
    from ..motion.head_codebook import HeadStyleModel

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class LineResult:
    number: int
    label: str
    status: str
    exit_class: str = ""
    message: str = ""
    audio_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def exit_class(code: int) -> str:
    """The contract's name for an exit code (bad_input, output_not_writable, internal_error, ...)."""
    names = {v: k for k, v in contract()["exit_codes"].items()}
    return names.get(code, "internal_error")


def transcript_of(line: BatchLine) -> str | None:
    """The line's words: its transcript text, or the .txt file it names, read now."""
    from ..pipeline import read_transcript

    return read_transcript(str(line.transcript_file)) if line.transcript_file else line.transcript


def is_up_to_date(line: BatchLine) -> bool:
    """Every output the line asks for exists and is newer than every input it has (a resumed batch skips it)."""
    try:
        newest_input = max((p.stat().st_mtime for p in line.input_files), default=0.0)
        return all(p.is_file() and p.stat().st_mtime >= newest_input for p in line.outputs.values())
    except OSError:
        return False


class LineWorker:
    """A worker process's engine: one Analyzer (its pocketsphinx decoders stay loaded) and the rigs it has
    built, for line after line."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        from ..audio.analysis import Analyzer

        self.defaults = defaults
        self.analyzer = Analyzer()
        self._styles: dict[str, Any] = {}

    def run(self, line: BatchLine) -> LineResult:
        from ..progress import Progress

        if line.problem:
            return LineResult(line.number, line.label, FAILED, "bad_input", line.problem)
        progress = Progress(echo_warnings=False)  # the batch reports them, with the line's number
        try:
            seconds = self._animate(line, progress)
        except VividtalkError as e:
            return LineResult(line.number, line.label, FAILED, exit_class(e.exit_code), str(e),
                              warnings=list(progress.warnings))
        except MemoryError:
            return LineResult(line.number, line.label, FAILED, "internal_error", "out of memory on this line")
        except Exception as e:  # a bug on one line must not end the other lines
            return LineResult(line.number, line.label, FAILED, "internal_error", f"{type(e).__name__}: {e}")
        return LineResult(line.number, line.label, DONE, audio_seconds=seconds, warnings=list(progress.warnings))

    def _animate(self, line: BatchLine, progress) -> float:
        from ..io.atomic import check_writable_target
        from ..io.livelink_csv import write_csv
        from ..pipeline import AnimateOptions, animate

        for out in line.outputs.values():
            check_writable_target(out)
        o = self.defaults | line.options
        options = AnimateOptions.from_contract(o, transcript_of(line))
        style = line.head_style or (self.head_style(line.head_from) if line.head_from else None)
        if style is not None:
            options = dataclasses.replace(options, head_style_model=style)
        clip = animate(line.voice, options, progress, self.analyzer)
        if line.recorded_audio:
            clip.audio["path"] = line.recorded_audio
        if "clip" in line.outputs:
            clip.save(line.outputs["clip"])
        if "csv" in line.outputs:
            write_csv(clip, line.outputs["csv"])
        if "mp4" in line.outputs:
            self._render(line, clip, o, progress)
        return clip.duration

    def head_style(self, source: Path) -> HeadStyleModel:
        """The head style of a reference video (learned once per worker) or of a saved style file."""
        from ..pipeline import load_head_style

        key = str(source.resolve())
        if key not in self._styles:
            self._styles[key] = load_head_style(source)
        return self._styles[key]

    def _render(self, line: BatchLine, clip, o: dict[str, Any], progress) -> None:
        from ..render.job import render_video
        from ..render.mesh_frames import frames_from_clip

        rig = _portrait_rig(str(line.rig) if line.rig else "")
        render_video(rig, frames_from_clip(clip, rig), line.outputs["mp4"], str(line.voice), o["size"], "cpu",
                     progress, workers=1, layered=o["background"] == "layers", interior=o["mouth"])


@cache
def _portrait_rig(source: str):
    """The rig videos are rendered through: a rig file, a photo, or the built-in face; built once per worker."""
    from ..rigs.build import build_rig
    from ..rigs.rig import FaceRig

    if source.lower().endswith(".npz"):
        return FaceRig.load(source)
    return build_rig("portrait", source or None)


# ---- the worker process ----------------------------------------------------------------------------------
_worker: LineWorker | None = None


def start_worker(defaults: dict[str, Any]) -> None:
    """Process initializer: one core for this worker (no parallel pieces inside it, BLAS on one thread), the
    engine imported and warm."""
    global _worker
    from threadpoolctl import threadpool_limits

    from ..cores import take_share

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    threadpool_limits(limits=1)
    take_share(1)
    _worker = LineWorker(defaults)


def run_line(line: BatchLine) -> tuple[LineResult, float]:
    """(the line's result, seconds it took) in a worker started by ``start_worker``."""
    started = time.perf_counter()
    assert _worker is not None, "start_worker was not run in this process"
    return _worker.run(line), time.perf_counter() - started


def default_options(**given: Any) -> dict[str, Any]:
    """The batch's defaults: the contract's, overridden by what the command line gave."""
    spec = contract()["animate_options"] | contract()["engine_options"] | contract()["render_options"]
    return {name: given[name] if given.get(name) is not None else s["default"] for name, s in spec.items()}

