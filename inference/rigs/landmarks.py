"""MediaPipe's 478-point face mesh on a photo, with the checks a user needs (no face, several, tiny, turned).

mediapipe 0.10.21 is pinned: it is the last release whose wheel carries the face-mesh model (see
docs/architecture.md). It is imported lazily so the audio stage never pays for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..io.quiet import native_stderr_silenced
from .mediapipe_compat import prepare_mediapipe_import

N_LANDMARKS = 478
IRIS_DIAMETER_MM = 11.7
"""Human iris diameter varies little between adults (11.7 ± 0.5 mm): the photo's metric scale."""
MIN_FACE_PX = 96
"""Below this face height the rig is built but the result looks blurry; warn."""


@dataclass
class FaceLandmarks:
    """Pixel landmarks of the chosen face: x, y in pixels, z in pixels on the x scale (negative = nearer)."""

    points: np.ndarray  # (478, 3) float64
    image_size: tuple[int, int]  # (width, height)
    warnings: list[str] = field(default_factory=list)

    @property
    def px_per_mm(self) -> float:
        p = self.points[:, :2]
        return float(np.mean([np.linalg.norm(p[469] - p[471]), np.linalg.norm(p[474] - p[476])])) / IRIS_DIAMETER_MM

    def metric_mm(self) -> np.ndarray:
        """(478, 3) camera-space millimetres, scaled by the iris: x to the image's right (the subject's left), y up,
        z toward the camera (the axes of the rigs and of ICT-FaceKit), the image centre at the origin."""
        w, h = self.image_size
        s = self.px_per_mm
        p = self.points
        return np.column_stack([(p[:, 0] - w / 2) / s, -(p[:, 1] - h / 2) / s, -p[:, 2] / s])

    @property
    def face_height_px(self) -> float:
        return float(np.linalg.norm(self.points[10, :2] - self.points[152, :2]))


def detect_landmarks(rgb: np.ndarray, source: str | os.PathLike = "photo") -> FaceLandmarks:
    """The largest face's landmarks; a clear InputError when there is none."""
    prepare_mediapipe_import()  # before mediapipe is imported
    try:
        from mediapipe.python.solutions.face_mesh import FaceMesh
    except ImportError as e:  # pragma: no cover - depends on the install
        raise InputError("Face fitting needs mediapipe 0.10.21: run `pip install --no-deps mediapipe==0.10.21` "
                         "(the install script does this).") from e
    h, w = rgb.shape[:2]
    with native_stderr_silenced(), FaceMesh(static_image_mode=True, max_num_faces=8, refine_landmarks=True,
                                            min_detection_confidence=0.5) as mesh:
        clouds = _find_faces(mesh, rgb)
    if not clouds:
        raise InputError(f"No face found in '{source}'. Use a photo where one face looks roughly toward the "
                         "camera, well lit, at least 100 pixels tall.")
    sizes = [np.ptp(c[:, 0]) * np.ptp(c[:, 1]) for c in clouds]
    chosen = FaceLandmarks(clouds[int(np.argmax(sizes))], (w, h))
    if len(clouds) > 1:
        chosen.warnings.append(f"{len(clouds)} faces found in '{source}'; using the largest one. Crop the photo "
                               "to choose another.")
    if chosen.face_height_px < MIN_FACE_PX:
        chosen.warnings.append(f"The face in '{source}' is only {chosen.face_height_px:.0f} pixels tall; the "
                               "video will look soft. A photo with a face of 200 pixels or more looks best.")
    yaw = head_yaw_degrees(chosen.points)
    if abs(yaw) > 25:
        chosen.warnings.append(f"The face in '{source}' is turned about {abs(yaw):.0f}° from the camera; "
                               "motion is limited to what the photo supports. A frontal photo works best.")
    return chosen


def _find_faces(mesh, rgb: np.ndarray) -> list[np.ndarray]:
    """Faces in the whole image and, for wide or tall images, in overlapping square windows (MediaPipe's
    detector squeezes the image into a square and misses faces in panoramic shapes)."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    windows = [(0, 0, w, h)]
    if max(h, w) > 1.25 * side:
        steps = int(np.ceil((max(h, w) - side) / (side / 2))) + 1
        for k in range(steps):
            off = round(min(k * side / 2, max(h, w) - side))
            windows.append((off, 0, side, side) if w > h else (0, off, side, side))
    clouds = _faces_in(mesh, rgb, windows)
    if not clouds:  # a small face (a half-body shot): the detector needs it to fill more of what it sees
        clouds = _faces_in(mesh, rgb, _tiles(w, h, side // 2))
    if not clouds and side >= 4 * MIN_FACE_PX:
        clouds = _faces_in(mesh, rgb, _tiles(w, h, side // 3))
    return clouds


def _tiles(w: int, h: int, side: int) -> list[tuple[int, int, int, int]]:
    """Square windows of ``side`` overlapping by half, covering the image."""
    xs = sorted({round(min(k * side / 2, w - side)) for k in range(int(np.ceil(max(w - side, 0) / (side / 2))) + 1)})
    ys = sorted({round(min(k * side / 2, h - side)) for k in range(int(np.ceil(max(h - side, 0) / (side / 2))) + 1)})
    return [(x, y, side, side) for y in ys for x in xs]


def _faces_in(mesh, rgb: np.ndarray, windows) -> list[np.ndarray]:
    """Face clouds found in the windows (x0, y0, w, h), in whole-image pixels, each face once."""
    clouds: list[np.ndarray] = []
    for x0, y0, ww, hh in windows:
        result = mesh.process(np.ascontiguousarray(rgb[y0:y0 + hh, x0:x0 + ww]))
        for f in result.multi_face_landmarks or []:
            c = np.array([(p.x * ww + x0, p.y * hh + y0, p.z * ww) for p in f.landmark], dtype=np.float64)
            size = np.ptp(c[:, 0])
            if all(np.linalg.norm(c[:, :2].mean(0) - o[:, :2].mean(0)) > 0.3 * size for o in clouds):
                clouds.append(c)
    return clouds


def head_yaw_degrees(points: np.ndarray) -> float:
    """Rough yaw of the face from the cheek-to-cheek direction (0 = looking at the camera)."""
    d = points[454] - points[234]
    return float(np.degrees(np.arctan2(-d[2], d[0])))
