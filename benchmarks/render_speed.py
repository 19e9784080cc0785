"""Stage-2 speed: frames per second of the portrait renderer, and a minute of speech to a finished MP4.

    python -m benchmarks.render_speed [--size 512] [--frames 600] [--minutes 1] [--long-minutes 10] [--device cpu]

1. render only: frames of a real speech clip rendered at --size (no encoding), frames per second;
2. end to end: --minutes of real English speech (../shared/data) with its transcript -> motion clip ->
   H.264 MP4 with the AAC voice, seconds of wall time (audio analysis included);
3. as a user runs it: the same speech through two commands, each a fresh process (``vividtalk animate`` with
   the transcript, then ``vividtalk render --image PHOTO --audio``, whose start-up, face mesh and head fit are
   in it), seconds of wall time on --photo (default: the built-in astronaut);
4. memory: peak resident memory (VmHWM) of ``vividtalk render`` in its own process, on a 10-second clip
   and on a --long-minutes clip.
Runs with OPENBLAS_NUM_THREADS=1, as the CLI does.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.render_devices import first_frames
from benchmarks.speed import english_speech
from inference.motion.clip import MotionClip
from inference.pipeline import AnimateOptions, animate
from inference.progress import Progress
from inference.render.frame_pool import FramePool
from inference.render.job import render_video
from inference.render.mesh_frames import frames_from_clip
from inference.render.portrait_renderer import PortraitRenderer
from inference.rigs.portrait import builtin_portrait_path, default_portrait_rig


def speech_clip(seconds: float, folder: Path) -> MotionClip:
    audio, text = english_speech(seconds)  # whole recordings, at least ``seconds``: the transcript matches them
    wav = folder / f"speech_{seconds:.0f}s.wav"
    sf.write(wav, audio, 16000)
    return animate(wav, AnimateOptions(transcript=text), Progress())


def render_only(clip: MotionClip, size: int, n: int, device: str, mouth: str) -> float:
    rig = default_portrait_rig()
    renderer = PortraitRenderer(rig, size=size, device=device, interior=mouth)
    verts, seal = first_frames(frames_from_clip(clip, rig), n)
    renderer.render(verts[0], seal[0])  # warm-up
    started = time.perf_counter()
    for v, s in zip(verts, seal, strict=True):
        renderer.render(v, float(s))
    return len(verts) / (time.perf_counter() - started)


def render_only_pool(clip: MotionClip, size: int, n: int, workers: int, mouth: str) -> float:
    """Frames per second of the worker pool ``vividtalk render`` uses (frames back in order, not encoded),
    counted from the first frame out, so the workers' start-up is not in it."""
    rig = default_portrait_rig()
    verts, seal = first_frames(frames_from_clip(clip, rig), n)
    with FramePool(size, workers).start(rig, interior=mouth) as pool:
        frames = pool.frames([(verts, seal)])
        next(frames)
        started = time.perf_counter()
        count = sum(1 for _ in frames)
    return count / (time.perf_counter() - started)


def end_to_end(minutes: float, size: int, folder: Path) -> tuple[float, float, float]:
    """(seconds of speech, of audio analysis, in all): whole recordings adding up to at least ``minutes``, so
    the transcript is what is said (a cut one fails alignment and the line is timed without it)."""
    audio, text = english_speech(minutes * 60)
    wav = folder / "minute.wav"
    sf.write(wav, audio, 16000)
    started = time.perf_counter()
    clip = animate(wav, AnimateOptions(transcript=text), Progress())
    analysed = time.perf_counter() - started
    render_video(default_portrait_rig(), frames_from_clip(clip, default_portrait_rig()), folder / "minute.mp4",
                 str(wav), size=size)
    return len(audio) / 16000, analysed, time.perf_counter() - started


def two_commands(minutes: float, size: int, photo: Path, folder: Path) -> tuple[float, float]:
    """(seconds of speech, seconds of wall time) for ``vividtalk animate`` then ``vividtalk render`` on it, each
    started as a user starts it."""
    audio, text = english_speech(minutes * 60)
    wav, script, motion = folder / "cold.wav", folder / "cold.txt", folder / "cold.json"
    sf.write(wav, audio, 16000)
    script.write_text(text, encoding="utf-8")
    cli = [sys.executable, "-m", "inference"]
    started = time.perf_counter()
    subprocess.run([*cli, "animate", str(wav), "-t", str(script), "-o", str(motion), "--progress", "quiet"],
                   check=True, capture_output=True)
    subprocess.run([*cli, "render", "--image", str(photo), "--motion", str(motion), "--audio", str(wav),
                    "--size", str(size), "-o", str(folder / "cold.mp4"), "--progress", "quiet"],
                   check=True, capture_output=True)
    return len(audio) / 16000, time.perf_counter() - started


def peak_rss_mb(clip_path: Path, out: Path, size: int) -> float:
    """Peak resident memory of a ``vividtalk render`` process rendering in-process (one worker), so all of the
    pipeline's memory is in the one figure."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec from the parent
    code = ("import re, sys; from inference.cli import main; main(sys.argv[1:]); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    proc = subprocess.run([sys.executable, "-c", code, "render", "--motion", str(clip_path), "--size", str(size),
                           "--workers", "1", "-o", str(out), "--progress", "quiet"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--long-minutes", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--photo", type=Path, default=None, help="portrait for the two-command run (default: built-in)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = speech_clip(30, folder)
        for mouth in ("geometry", "drawn"):
            fps = render_only(clip, args.size, args.frames, args.device, mouth)
            print(f"render only, {args.size}x{args.size}, {args.device}, one process, --mouth {mouth}: "
                  f"{fps:.0f} frames/s")
        if args.device == "cpu" and (os.cpu_count() or 1) > 1:
            workers = min(os.cpu_count() or 1, 8)
            fps = render_only_pool(clip, args.size, args.frames, workers, "geometry")
            print(f"render only, {args.size}x{args.size}, {workers} worker processes, --mouth geometry: "
                  f"{fps:.0f} frames/s")
        speech, analysed, total = end_to_end(args.minutes, args.size, folder)
        print(f"{speech:.0f} s of speech -> MP4 with audio at {args.size}: {total:.1f} s "
              f"(audio analysis {analysed:.1f} s, render + encode {total - analysed:.1f} s)")
        speech, wall = two_commands(args.minutes, args.size, args.photo or builtin_portrait_path(), folder)
        print(f"{speech:.0f} s of speech -> MP4, two commands started cold (animate, render --image): {wall:.1f} s "
              f"({speech / wall:.1f}x real time)")
        for minutes in (10 / 60, args.long_minutes):
            long_clip = _repeat(clip, minutes * 60)
            path = folder / f"clip_{minutes:.2f}.json"
            long_clip.save(path)
            rss = peak_rss_mb(path, folder / "long.mp4", args.size)
            print(f"peak memory rendering {minutes * 60:.0f} s: {rss:.0f} MB")
    print(f"(cpu count {os.cpu_count()})")


def _repeat(clip: MotionClip, seconds: float) -> MotionClip:
    """The clip's motion tiled to ``seconds`` (a long take without minutes of audio analysis)."""
    n = int(seconds * clip.fps)
    tile = lambda a: np.resize(np.asarray(a), n)  # noqa: E731
    return MotionClip(fps=clip.fps, duration=n / clip.fps, channels={k: tile(v) for k, v in clip.channels.items()},
                      head={k: tile(v) for k, v in clip.head.items()})


if __name__ == "__main__":
    main()
