"""Shared fixtures: the ../shared/data test corpus (skipped where absent), synthetic audio, the built-in portrait's
rig and a renderer of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RENDER_SIZE = 384
"""The frame size the renderer's tests use: small enough to be quick, large enough for MediaPipe to re-detect."""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"needs the shared test corpus at {SHARED_DATA} (present in CI, absent in a user's clone)")
    return SHARED_DATA


@pytest.fixture
def read_only_folder(tmp_path) -> Path:
    """A folder nobody may write into; skipped where permissions do not bind (running as root)."""
    import os

    folder = tmp_path / "read only"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user that ignores permissions (root): a read-only folder is writable")
        yield folder
    finally:
        os.chmod(folder, 0o755)


@pytest.fixture(scope="module")
def rig():
    """The built-in portrait's face rig (each test module its own, as some change it)."""
    from inference.rigs.portrait import default_portrait_rig

    return default_portrait_rig()


@pytest.fixture(scope="module")
def renderer(rig):
    """A renderer of the built-in portrait at RENDER_SIZE (each test module its own)."""
    from inference.render.portrait_renderer import PortraitRenderer

    return PortraitRenderer(rig, size=RENDER_SIZE)


@pytest.fixture(scope="session")
def analyzer():
    """One Analyzer for the session: pocketsphinx decoders are costly to build."""
    from inference.audio.analysis import Analyzer

    return Analyzer()


@pytest.fixture(scope="session")
def demo_voice(tmp_path_factory) -> Path:
    """A real-sounding English line synthesised by espeak-ng (the engine's built-in voice)."""
    from inference.demo import write_demo_voice

    return write_demo_voice(tmp_path_factory.mktemp("voice") / "demo voice é.wav")


def write_tone(path: Path, seconds: float = 1.0, rate: int = 44100, channels: int = 2, fmt: str | None = None):
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    data = np.column_stack([x] * channels) if channels > 1 else x
    sf.write(str(path), data, rate, format=fmt)
    return path


def probe_video(path) -> tuple[int, float, bool]:
    """(video frames, audio seconds, has audio) of a video file, decoded by ffmpeg."""
    import subprocess

    import cv2
    import imageio_ffmpeg

    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    pcm = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-f",
                          "s16le", "-ac", "1", "-ar", "16000", "-"], capture_output=True)
    samples = len(pcm.stdout) // 2
    return frames, samples / 16000, pcm.returncode == 0 and samples > 0


def drawn_at(backward: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The output pixel (x, y of its centre) at which a frame's ``backward`` map (the renderer's warp) draws the
    photo's ``point``; it must draw it there to within a pixel."""
    miss = np.linalg.norm(backward - point, axis=-1)
    y, x = np.unravel_index(np.argmin(miss), miss.shape)
    assert miss[y, x] < 1.0
    return np.array([x + 0.5, y + 0.5])
