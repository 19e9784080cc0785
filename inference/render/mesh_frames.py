"""Per-frame portrait-rig meshes to render: evaluated from a motion clip, or read from a file Blender wrote.

Frames come in chunks so memory stays flat however long the clip is. Each frame also carries a lip-seal
weight (0-1): how far the photo's own lip gap is closed (ARKit's mouthClose relative to jawOpen).

The meshes file (``.npz``, no pickles) is the add-on's hand-over of the *edited* rig (docs/formats.md):
``format = "vividtalk.meshes"``, ``version = 1``, ``fps``, ``vertices`` (T, V, 3) float32 in rig space
(metres), and optionally ``mouth_close`` and ``jaw_open`` (T,) (the frame's mouthClose and jawOpen
values, for the lip seal) and ``audio`` (a path).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..contract import file_format
from ..errors import InputError
from ..io.atomic import atomic_write_bytes
from ..io.npz import read_npz
from ..motion.clip import MotionClip
from ..rigs.rig import FaceRig, clip_channels

MESHES_FORMAT, MESHES_VERSION = file_format("meshes")
CHUNK_FRAMES = 120


SEAL_JAW_FLOOR = 0.01
"""jawOpen under which mouthClose is not divided by it. The lip sync nearly shuts the jaw on a sealed P, B or M
(jawOpen 0.008-0.02 there, median 0.018), so a floor of 0.05 read those seals as 0.25-0.4 and left a photo's parted
lips apart; at 0.01 they read 0.8-1. Lower, the near-zero values of a learned model's resting mouth would decide
whether a photo's parted lips close."""


def lip_seal(mouth_close: np.ndarray, jaw_open: np.ndarray) -> np.ndarray:
    """ARKit's mouthClose is the share of jawOpen the lips stay sealed over: seal = mouthClose / jawOpen."""
    jaw = np.maximum(np.asarray(jaw_open, np.float64), SEAL_JAW_FLOOR)
    return np.clip(np.asarray(mouth_close, np.float64) / jaw, 0, 1)


@dataclass
class MeshFrames:
    """A sequence of rig meshes at ``fps``; ``read(a, b)`` gives frames a..b-1 as (vertices (t, V, 3), seal (t,))."""

    fps: float
    n_frames: int
    audio: str | None
    read: Callable[[int, int], tuple[np.ndarray, np.ndarray]]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def chunks(self, size: int = CHUNK_FRAMES) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(vertices (t, V, 3), lip seal (t,)) for consecutive frames."""
        for a in range(0, self.n_frames, size):
            yield self.read(a, min(self.n_frames, a + size))


def frames_from_clip(clip: MotionClip, rig: FaceRig) -> MeshFrames:
    channels = {k: np.asarray(v) for k, v in clip_channels(clip).items()}
    n = clip.n_frames
    close, jaw = channels.get("mouthClose", np.zeros(n)), channels.get("jawOpen", np.ones(n))

    def read(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        return rig.evaluate({k: v[a:b] for k, v in channels.items()}, b - a), lip_seal(close[a:b], jaw[a:b])

    audio = clip.audio.get("path") if isinstance(clip.audio, dict) else None
    return MeshFrames(fps=clip.fps, n_frames=n, audio=audio or None, read=read)


def frames_from_file(path: str | os.PathLike, rig: FaceRig) -> MeshFrames:
    data = read_npz(path, "meshes", MESHES_FORMAT, MESHES_VERSION, "Blender's Render Video writes them")
    verts = data.get("vertices")
    try:
        fps = float(data.get("fps", 0))
    except (TypeError, ValueError):
        fps = 0.0
    if verts is None or verts.ndim != 3 or verts.shape[2] != 3 or not np.isfinite(fps) or not 1 <= fps <= 240 \
            or not np.issubdtype(verts.dtype, np.number) or len(verts) == 0:
        raise InputError(f"'{path}' is damaged: it needs vertices (frames, vertices, 3) and an fps of 1-240.")
    if verts.shape[1] != rig.n_vertices:
        raise InputError(f"'{path}' has {verts.shape[1]} vertices per frame but the portrait rig has "
                         f"{rig.n_vertices}: the meshes must come from the portrait rig of the same photo.")
    if not np.all(np.isfinite(verts)):
        raise InputError(f"'{path}' holds vertices that are not finite numbers.")
    seal = np.zeros(len(verts))
    if "mouth_close" in data:
        close, jaw = data["mouth_close"], data.get("jaw_open", np.ones(len(verts)))
        if close.shape != (len(verts),) or jaw.shape != (len(verts),) or not (
                np.issubdtype(close.dtype, np.number) and np.isfinite(close).all() and np.isfinite(jaw).all()):
            raise InputError(f"'{path}': mouth_close and jaw_open must have one finite value per frame.")
        seal = lip_seal(close, jaw)
    audio = str(data["audio"]) if "audio" in data and str(data["audio"]) else None
    return MeshFrames(fps=fps, n_frames=len(verts), audio=audio,
                      read=lambda a, b: (np.asarray(verts[a:b], np.float64), seal[a:b]))


def save_meshes(path: str | os.PathLike, vertices: np.ndarray, fps: float, mouth_close: np.ndarray | None = None,
                jaw_open: np.ndarray | None = None, audio: str | None = None) -> None:
    arrays = {"format": np.array(MESHES_FORMAT), "version": np.array(MESHES_VERSION), "fps": np.array(float(fps)),
              "vertices": np.asarray(vertices, np.float32)}
    if mouth_close is not None:
        arrays["mouth_close"] = np.asarray(mouth_close, np.float32)
        arrays["jaw_open"] = np.asarray(jaw_open if jaw_open is not None else np.ones(len(vertices)), np.float32)
    if audio:
        arrays["audio"] = np.array(str(audio))
    atomic_write_bytes(path, lambda f: np.savez(f, **arrays))
