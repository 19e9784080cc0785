"""``vividtalk render`` end to end: the portrait rig, its meshes per frame, the renderer, the video file."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..progress import Progress
from ..rigs.rig import FaceRig
from .frame_pool import FramePool, auto_workers
from .mesh_frames import MeshFrames
from .portrait_renderer import fitted_head, person_matte, require_portrait
from .video_out import check_output, open_sink

MIN_SIZE, MAX_SIZE = 64, 2048
GPU_SLOWER = ("--device cuda samples the photo on the GPU, but each frame's warp is built on the CPU, in one process: "
              "measured slower than the default --device cpu, which spreads the frames over the CPU's cores (a "
              "minute at 512² took 34.8 s against 6.4 s on a 16-core machine with an H200; see docs/render.md).")


@dataclass
class RenderResult:
    output: str
    frames: int
    duration: float
    seconds: float
    audio: str | None


def render_video(rig: FaceRig, frames: MeshFrames, output: str | os.PathLike, audio: str | None,
                 size: int = 512, device: str = "cpu", progress: Progress | None = None,
                 workers: int | None = None, layered: bool = False, interior: str = "geometry") -> RenderResult:
    """Render every frame of ``frames`` through ``rig``'s photo and write ``output`` (MP4 or PNG folder).

    ``workers``: processes rendering frames in parallel (None: one per core, as the clip repays);
    ``layered``: the person over a still background plate instead of one warped picture; ``interior``: the
    mouth's inside from the fitted 3-D head (``geometry``; drawn, with a warning, where the head cannot be
    fitted to the photo) or painted (``drawn``)."""
    progress = progress or Progress()
    if frames.n_frames == 0:
        raise InputError("The motion has no frames; nothing to render.")
    require_portrait(rig)  # here, not only in the workers, so the message reaches the user
    video = check_render_output(output, size)  # before the renderer starts (its set-up also checks the device)
    if video:
        audio = _usable_audio(audio, frames, progress)
    else:
        if audio:
            progress.warn("PNG frames carry no sound, so --audio was not used; write a video (.mp4) to have it.")
        audio = None
    started = time.perf_counter()
    if workers is None:
        workers = auto_workers(frames.n_frames, device)
    with FramePool(size, workers) as pool:  # the workers start importing while the photo is prepared here
        progress.update("head", 0.0, "fitting the 3-D head to the photo")  # once here, not in every worker
        head = fitted_head(rig)
        progress.update("head", 1.0)
        if head is None:
            progress.warn("The 3-D head could not be fitted to this photo, so the inside of the mouth is drawn (as "
                          "with --mouth drawn) and the hair and neck follow the face's outline.")
            interior = "drawn"
        pool.start(rig, device=device, layered=layered, interior=interior, head=head, fit_head=False,
                   matte=person_matte(rig, size))
        if device != "cpu":  # said once the device is known to work
            progress.warn(GPU_SLOWER)
        sink = open_sink(output, size, frames.fps, frames.n_frames, audio)
        try:
            for done, encoded in enumerate(pool.frames(frames.chunks(), sink.encode), 1):
                sink.write(encoded)
                progress.update("render", done / frames.n_frames, f"frame {done}/{frames.n_frames}")
            progress.update("encode", 0.0)
            sink.finish()
        except BaseException:
            sink.abort()
            raise
    progress.update("encode", 1.0)
    for note in sink.notes:
        progress.warn(note)
    report = pool.report
    if report.frames_clamped:
        progress.warn(f"The head turns further than one photo can show in {report.frames_clamped} frames (by up to "
                      f"{report.largest_deg:.0f}°); those turns were limited. Lower the head gain to avoid it.")
    for warning in filter(None, rig.meta.get("warnings", "").split("\n")):
        progress.warn(warning)
    return RenderResult(str(Path(output).resolve()), frames.n_frames, frames.duration,
                        time.perf_counter() - started, audio)


def check_render_output(output: str | os.PathLike, size: int) -> bool:
    """Fail early on an output or a size ``render_video`` could not write; True for a video, False for frames."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise InputError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} pixels (got {size}).")
    video = check_output(output)
    if video and size % 2:
        raise InputError(f"A video's width and height must be even (H.264 with 4:2:0 colour); --size {size} is "
                         f"odd: use {size - 1} or {size + 1}, or write PNG frames to a folder.")
    return video


def _usable_audio(audio: str | None, frames: MeshFrames, progress: Progress) -> str | None:
    """The voice to mux: ``--audio`` must be a readable recording; the motion's own is used when it still is."""
    from ..audio.decode import probe

    if audio:
        probe(audio)  # a missing or damaged file is the user's to fix, not the video encoder's
        return audio
    if not frames.audio:
        return None
    try:
        probe(frames.audio)
        return frames.audio
    except InputError as e:
        progress.warn(f"The motion's audio cannot be used ({e}); the video has no sound. Pass --audio to add it.")
    return None
