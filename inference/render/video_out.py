"""Streaming frames out: H.264 MP4 with the voice muxed as AAC, or a PNG sequence; both written atomically.

Frames go to the encoder as they are made (ffmpeg from the imageio-ffmpeg wheel, reading raw frames on a
pipe), so memory does not grow with the clip. They go as the encoder's own 4:2:0 YUV (BT.601, limited range:
what ffmpeg's conversion from RGB gives, to within 2 of 255), converted by OpenCV in a sixth of the time
ffmpeg's conversion took: a minute at 512² left the encoder 1.8 s less to do and the pipe half the bytes.
Each sink names how a rendered frame is encoded for it (``encode``, a plain function), so the worker processes
that render the frames encode them too: the pipe between the processes then carries half the bytes for a video,
and PNG compression runs on every core (for 57 s of video at 512² the main process took 3.1 s of CPU, not 4-6 s).
The MP4 is exactly ``n_frames / fps`` long: the audio is padded with silence or cut to that length. Nothing
appears at the output path until the file is complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import InputError, OutputError
from ..io.atomic import check_writable_target, current_umask, remove_quietly, replace_with, temp_file_beside

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")


class FrameSink(Protocol):
    notes: list[str]  # what the user should know once the output is written

    @property
    def encode(self) -> Callable[[np.ndarray], np.ndarray]:
        """A (size, size, 3) uint8 RGB frame -> what ``write`` takes: a module-level function, which the worker
        processes are handed."""

    def write(self, encoded: np.ndarray) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


def check_output(path: str | os.PathLike) -> bool:
    """Fail early on an output the sinks cannot write; True for a video file, False for a PNG folder."""
    p = Path(path)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        check_writable_target(p)
        return True
    if p.exists() and not p.is_dir():
        raise OutputError(f"'{p}' is a file; for PNG frames give a folder, for a video a name ending in .mp4.")
    if p.suffix and not p.is_dir():
        raise InputError(f"Cannot write video as '{p.suffix}': use .mp4 (or .mov/.mkv), or a folder name for PNG "
                         "frames.")
    check_writable_target(p / "frame_00001.png") if p.is_dir() else check_writable_target(p)
    return False


def open_sink(path: str | os.PathLike, size: int, fps: float, n_frames: int, audio: str | None) -> FrameSink:
    """An MP4 writer for video suffixes, a PNG-sequence folder for a path without a suffix or ending in '/'."""
    p = Path(path)
    return Mp4Sink(p, size, fps, n_frames, audio) if check_output(p) else PngSequenceSink(p)


def yuv420(frame: np.ndarray) -> np.ndarray:
    """An RGB frame as the encoder's planar 4:2:0 YUV."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)


def png(frame: np.ndarray) -> np.ndarray:
    """An RGB frame as a PNG file's bytes (fast compression: frames are an intermediate for other tools)."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise OutputError("Could not encode a frame as PNG.")
    return data


class Mp4Sink:
    encode = staticmethod(yuv420)

    def __init__(self, path: Path, size: int, fps: float, n_frames: int, audio: str | None):
        import imageio_ffmpeg

        self.target = path.expanduser()
        self.notes: list[str] = []
        fd, tmp = temp_file_beside(self.target)
        os.close(fd)
        self.tmp = Path(tmp)
        duration = n_frames / fps
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size}x{size}", "-framerate", f"{fps:.6f}",
               "-i", "pipe:0"]
        if audio:
            cmd += ["-i", str(Path(audio).resolve())]
        cmd += ["-map", "0:v:0"]
        if audio:
            cmd += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "160k", "-af", "apad"]
        cmd += ["-t", f"{duration:.6f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", _muxer(self.target), str(self.tmp)]
        # an argument list, never a shell string: paths with spaces or quotes stay paths
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stderr is not None  # both were asked for as pipes
        self._frames_in, self._messages = self.proc.stdin, self.proc.stderr

    def write(self, encoded: np.ndarray) -> None:
        """One frame as ``yuv420`` gives it."""
        try:
            self._frames_in.write(encoded.data)
        except BrokenPipeError:
            self.abort()
            raise OutputError(f"The video encoder stopped: {self._stderr()}") from None

    def finish(self) -> None:
        self._frames_in.close()
        code = self.proc.wait()
        if code != 0:
            message = self._stderr()
            remove_quietly(self.tmp)
            if "audio" in message.lower() or "Invalid data" in message or "No such file" in message:
                raise InputError(f"The audio could not be muxed: {message}")
            free_mb = _free_mb(self.target)
            where = f" ({free_mb:.0f} MB free there)" if free_mb is not None else ""
            raise OutputError(f"The video encoder could not write '{self.target}' (ffmpeg: {message}). Check that "
                              f"the disk has space{where} and the folder is writable.")
        try:
            replace_with(self.tmp, self.target)
        except OutputError:
            remove_quietly(self.tmp)
            raise

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._frames_in.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        remove_quietly(self.tmp)

    def _stderr(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            return self._messages.read().decode("utf-8", "replace").strip()[-400:] or "no message"
        return "no message"


def _free_mb(path: Path) -> float | None:
    try:
        return shutil.disk_usage(path.resolve().parent).free / 2**20
    except OSError:
        return None


def _muxer(path: Path) -> str:
    return {".mkv": "matroska", ".mov": "mov"}.get(path.suffix.lower(), "mp4")


class PngSequenceSink:
    """``frame_00001.png`` … in a folder. A new folder appears only when complete; into a folder that already
    exists (the user's own) the frames are moved one by one once all are made, replacing only same-named
    frames: nothing else in it is touched, and it keeps its permissions."""

    FRAME = re.compile(r"frame_(\d{5,})\.png")
    encode = staticmethod(png)

    def __init__(self, folder: Path):
        self.target = folder
        self.existing = folder.is_dir()
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=".vividtalk_frames.", suffix=".part",
                                             dir=folder if self.existing else folder.resolve().parent))
        except OSError as e:
            raise OutputError(f"Cannot write frames into '{folder}': {e.strerror or e}.") from e
        self.count = 0
        self.notes: list[str] = []

    def write(self, encoded: np.ndarray) -> None:
        """One frame as ``png`` gives it."""
        self.count += 1
        name = self.tmp / f"frame_{self.count:05d}.png"
        try:
            name.write_bytes(encoded.data)
        except OSError as e:
            self.abort()
            raise OutputError(f"Could not write frames into '{self.target}': {e.strerror or e}.") from e

    def finish(self) -> None:
        try:
            if self.existing:
                for frame in sorted(self.tmp.iterdir()):
                    os.replace(frame, self.target / frame.name)
                self.tmp.rmdir()
                self._note_stale_frames()
            else:
                os.chmod(self.tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a new folder gets the usual mode
                os.replace(self.tmp, self.target)
        except OSError as e:
            self.abort()
            raise OutputError(f"Could not write '{self.target}': {e.strerror or e}.") from e

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)  # only the temporary folder this sink made

    def _note_stale_frames(self) -> None:
        stale = [f for f in os.listdir(self.target) if (m := self.FRAME.fullmatch(f)) and int(m.group(1)) > self.count]
        if stale:
            self.notes.append(f"'{self.target}' still holds {len(stale)} frame files numbered after this render's "
                              f"last frame ({self.count}), from an earlier render; they were left alone.")

