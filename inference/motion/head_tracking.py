"""Head rotation tracked in a video: MediaPipe's face mesh on every frame (in tracking mode), each frame's 3-D
landmarks aligned (Kabsch) to the clip's median face, the rotation as pitch, yaw and roll in the rig's
conventions (degrees; +pitch nods down, +yaw turns to the person's left, +roll tilts toward the left
shoulder). Frames without a face are filled from their neighbours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry.rigid import kabsch
from .smoothing import gaussian_smooth

JITTER_S = 0.03
MIN_FOUND = 0.5
"""A video where the face is found in fewer frames than this share cannot teach a style."""


@dataclass
class HeadTrack:
    fps: float
    angles: np.ndarray  # (T, 3) pitch, yaw, roll in degrees
    found: np.ndarray  # (T,) bool: the face was found in that frame

    @property
    def duration(self) -> float:
        return len(self.angles) / self.fps


def track_head(video: str | os.PathLike) -> HeadTrack:
    """The head rotation of the (largest) face in every frame of ``video``."""
    import imageio_ffmpeg

    from ..io.quiet import native_stderr_silenced
    from ..rigs.mediapipe_compat import prepare_mediapipe_import

    prepare_mediapipe_import()
    from mediapipe.python.solutions.face_mesh import FaceMesh

    if not os.path.isfile(video):
        raise InputError(f"The reference video '{video}' does not exist; check the path.")
    try:
        frames = imageio_ffmpeg.read_frames(str(video))
        meta = next(frames)
    except (RuntimeError, OSError, StopIteration) as e:
        raise InputError(f"Cannot read video frames from '{video}' ({str(e).strip()[:200] or 'no frames'}); give "
                         "a video file (MP4, MOV, MKV, WebM, AVI, MPEG) of the speaker.") from None
    width, height = meta["size"]
    fps = float(meta.get("fps") or 0) or 25.0
    clouds: list[np.ndarray | None] = []
    with native_stderr_silenced(), FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                            min_detection_confidence=0.5, min_tracking_confidence=0.5) as mesh:
        for raw in frames:
            rgb = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            result = mesh.process(rgb)
            if result.multi_face_landmarks:
                p = result.multi_face_landmarks[0].landmark
                # image x right, y down, z away from the camera -> rig axes: x, up, toward the camera
                clouds.append(np.array([(q.x * width, -q.y * height, -q.z * width) for q in p], np.float64))
            else:
                clouds.append(None)
    found = np.array([c is not None for c in clouds])
    if not len(clouds) or found.mean() < MIN_FOUND:
        raise InputError(f"A face was found in {found.sum()} of {len(clouds)} frames of '{video}'; the reference "
                         "video must show the speaker's face most of the time.")
    # landmark jitter is a few tenths of a degree from frame to frame, as big as a calm speaker's motion and far
    # faster: a light smoothing (30 ms) keeps the motion and most of its speed, and drops the worst jitter
    angles = gaussian_smooth(_rotations(clouds, found), JITTER_S * fps, axis=0, mode="nearest")
    return HeadTrack(fps, angles, found)


def _rotations(clouds: list[np.ndarray | None], found: np.ndarray) -> np.ndarray:
    shapes = np.stack([_normalised(c) for c in clouds if c is not None])
    reference = np.median(shapes, axis=0)
    angles = np.full((len(clouds), 3), np.nan)
    k = 0
    for i, ok in enumerate(found):
        if ok:
            angles[i] = _euler_degrees(kabsch(reference, shapes[k])[0])
            k += 1
    for axis in range(3):  # frames without a face: from their neighbours
        good = np.flatnonzero(found)
        angles[:, axis] = np.interp(np.arange(len(found)), good, angles[good, axis])
    return angles


def _normalised(points: np.ndarray) -> np.ndarray:
    centred = points[:468] - points[:468].mean(0)
    return centred / np.sqrt((centred ** 2).sum(1).mean())


def _euler_degrees(r: np.ndarray) -> np.ndarray:
    """(pitch, yaw, roll) of R = Rz Ry Rx (the rig's order), in the clip's head channels' signs."""
    x = np.arctan2(r[2, 1], r[2, 2])
    y = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    z = np.arctan2(r[1, 0], r[0, 0])
    # +X turns the face down in the rig (a nod), +Y to the person's left; roll toward the left shoulder is -Z
    return np.degrees([x, y, -z])
