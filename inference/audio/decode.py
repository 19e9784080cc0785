"""Decode any audio (or video soundtrack) to 16 kHz mono float32, in bounded-memory blocks.

libsndfile (via soundfile) reads WAV/FLAC/OGG/Opus/MP3/AIFF directly; everything else (M4A/AAC,
video containers, exotic codecs) goes through the ffmpeg binary shipped in the imageio-ffmpeg wheel.
Resampling uses soxr's streaming resampler; a DC-blocking filter removes offsets that bias VAD.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import InputError
from . import SAMPLE_RATE
from .highpass import Highpass

BLOCK_SECONDS = 10.0
DC_CUTOFF_HZ = 20.0
"""The decoder removes DC offset and rumble below this (2nd-order Butterworth, highpass.py)."""
SUPPORTED = ("WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF (libsndfile) and M4A/AAC, WMA, "
             "MP4/MOV/MKV/WebM soundtracks (ffmpeg)")


@dataclass(frozen=True)
class AudioInfo:
    """What we know about a recording before decoding it."""

    path: Path
    sample_rate: int
    channels: int
    duration: float  # seconds; 0.0 when the container does not say
    backend: str  # "soundfile" or "ffmpeg"


def probe(path: str | os.PathLike) -> AudioInfo:
    """Check that ``path`` is readable audio and return its format; raises InputError otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"Audio file '{p}' does not exist; check the path.")
    if p.is_dir():
        raise InputError(f"'{p}' is a folder, not an audio file.")
    if not p.is_file():
        raise InputError(f"'{p}' is not a regular file (a device or a pipe); give a recording saved as a file.")
    if not os.access(p, os.R_OK):
        raise InputError(f"Audio file '{p}' is not readable (permissions).")
    if p.stat().st_size == 0:
        raise InputError(f"Audio file '{p}' is empty (0 bytes); it holds no recording.")
    try:
        info = sf.info(str(p))
        if info.samplerate > 0 and info.channels > 0:
            _refuse_truncated(p, info.extra_info)
            return AudioInfo(p, int(info.samplerate), int(info.channels), float(info.duration), "soundfile")
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        pass
    return _probe_ffmpeg(p)


# libsndfile's report of a WAV whose data chunk announces more bytes than the file holds
_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+) \(should be (\d+)\)", re.MULTILINE)
_UNKNOWN_LENGTH = 0x7FFF0000
"""Writers that cannot seek back (pipes, live capture) leave a placeholder length (0x7FFFFFFF, 0xFFFFFFFF):
such files are whole, only their header never learnt the length."""


def _refuse_truncated(p: Path, report: str) -> None:
    """An InputError for a recording cut short (an interrupted copy or download): libsndfile reads the part
    that is there without complaint, and the face would be animated for a fraction of the line."""
    short = _SHORT_DATA.search(report)
    if short and int(short.group(2)) < int(short.group(1)) < _UNKNOWN_LENGTH:
        announced, held = int(short.group(1)), int(short.group(2))
        raise InputError(f"Audio file '{p}' is truncated: its header announces {announced:,} bytes of sound, the "
                         f"file holds {held:,} ({held / announced:.0%}), as after an interrupted copy or download. "
                         "Copy or export it again.")


def stream_mono16k(info: AudioInfo, block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Yield consecutive float32 blocks of 16 kHz mono audio (DC removed) covering the whole file."""
    raw = _soundfile_blocks(info, block_seconds) if info.backend == "soundfile" else _ffmpeg_blocks(info, block_seconds)
    dc = Highpass(DC_CUTOFF_HZ, SAMPLE_RATE)
    for block in raw:
        if block.size:
            yield dc(_checked_samples(block, info.path))


MAX_SAMPLE = 64.0
"""Float recordings may overshoot full scale a little; beyond this the samples are not sound but garbage."""


def _checked_samples(block: np.ndarray, path: Path) -> np.ndarray:
    """Samples that are numbers, or an InputError: NaN and infinity would poison every curve downstream."""
    finite = np.isfinite(block)
    if not finite.all():
        raise InputError(f"Audio file '{path}' holds samples that are not numbers (NaN or infinity); the "
                         "recording is damaged. Export it again.")
    if np.abs(block).max() > MAX_SAMPLE:
        raise InputError(f"Audio file '{path}' holds samples {np.abs(block).max():.3g} times full scale; it is not "
                         "a usable recording. Normalise or export it again.")
    return block


def load_mono16k(path: str | os.PathLike) -> tuple[np.ndarray, AudioInfo]:
    """Decode a whole (short) file; long files should use :func:`stream_mono16k`."""
    info = probe(path)
    blocks = list(stream_mono16k(info))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return audio, info


# ------------------------------------------------------------------------------------------ soundfile
def _soundfile_blocks(info: AudioInfo, block_seconds: float) -> Iterator[np.ndarray]:
    blocksize = max(1024, int(block_seconds * info.sample_rate))
    resampler = None
    if info.sample_rate != SAMPLE_RATE:
        resampler = soxr.ResampleStream(info.sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    try:
        with sf.SoundFile(str(info.path)) as f:
            while True:
                block = f.read(blocksize, dtype="float32", always_2d=True)
                last = len(block) < blocksize
                mono = block.mean(axis=1, dtype=np.float32) if len(block) else np.zeros(0, np.float32)
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                yield np.ascontiguousarray(mono, dtype=np.float32)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as e:
        raise InputError(f"Audio file '{info.path}' is damaged or truncated: {e}.") from e


# --------------------------------------------------------------------------------------------- ffmpeg
def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as e:  # pragma: no cover - it is a declared dependency
        raise InputError("Decoding this format needs ffmpeg: pip install imageio-ffmpeg.") from e
    return imageio_ffmpeg.get_ffmpeg_exe()


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO_STREAM = re.compile(r"Stream #\S+.*?Audio:.*?(\d+) Hz(?:, ([a-z0-9.()]+))?")


def _probe_ffmpeg(p: Path) -> AudioInfo:
    # argument list, never a shell string: the path is user input
    run = subprocess.run([_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(p)],
                         capture_output=True, text=True, errors="replace", timeout=60)
    text = run.stderr
    stream = _AUDIO_STREAM.search(text)
    if not stream:
        last = text.strip().splitlines()[-1] if text.strip() else "no details"
        why = "it has no audio track" if "Stream #" in text else "not a recognised audio format or the file is corrupt"
        raise InputError(f"Cannot read audio from '{p}': {why} (ffmpeg: {last}). Supported: {SUPPORTED}.")
    rate = int(stream.group(1))
    layout = stream.group(2) or "mono"
    channels = 1 if layout.startswith("mono") else 2
    dur = _DURATION.search(text)
    duration = 0.0
    if dur:
        h, m, s = dur.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    return AudioInfo(p, rate, channels, duration, "ffmpeg")


def _ffmpeg_blocks(info: AudioInfo, block_seconds: float) -> Iterator[np.ndarray]:
    cmd = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(info.path), "-vn", "-ac", "1",
           "-ar", str(SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le", "-"]
    nbytes = int(block_seconds * SAMPLE_RATE) * 2
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        while True:
            data = proc.stdout.read(nbytes)
            if not data:
                break
            usable = len(data) - len(data) % 2
            yield np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
        err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
        if proc.wait() != 0:
            last = err.splitlines()[-1] if err else f"exit code {proc.returncode}"
            raise InputError(f"Audio file '{info.path}' could not be fully decoded (ffmpeg: {last}).")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

