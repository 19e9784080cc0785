"""Head turns on one photo: how far the rendered head reads as turned, re-detected by MediaPipe.

    python -m benchmarks.turns [PHOTO ...] [--size 512]

Each portrait (../shared/data/portraits without arguments) is rendered neutral and with the head turned: yaw
±15° and ±25°, pitch ±15°. MediaPipe's face mesh re-detects every frame (each on its own), and the rotation of its
skull points against the neutral frame's (Kabsch over the metric landmarks) is read back as yaw and pitch: a turn
the renderer smears or folds reads as less than it was asked for, or loses the face. Also reported: how much of
each frame's face was drawn from the face's own skin instead of the photo stretched by the turn
(``render/turned_skin.py``), in per cent of the face's area in the photo.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
from pathlib import Path

import cv2
import numpy as np

from inference.errors import InputError
from inference.geometry.rigid import kabsch
from inference.rigs import mediapipe_topology as mt

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TURNS = (("yaw", 15.0), ("yaw", -15.0), ("yaw", 25.0), ("yaw", -25.0), ("pitch", 15.0), ("pitch", -15.0))


def read_back(rgb: np.ndarray, neutral: np.ndarray) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees of the face MediaPipe finds in ``rgb`` against the ``neutral`` frame's metric
    landmarks (V, 3), or None where it finds no face."""
    from inference.rigs.landmarks import detect_landmarks
    from inference.rigs.rig import euler_angles

    try:
        points = detect_landmarks(rgb).metric_mm()
    except InputError:
        return None
    skull = list(mt.SKULL)
    rot, _ = kabsch(neutral[skull], points[skull])
    pitch, yaw, _roll = np.degrees(euler_angles(rot))
    return float(yaw), float(pitch)


def measure(photo: Path, size: int) -> list[tuple[str, float, tuple[float, float] | None, float]]:
    """Per turn: (axis, degrees asked for, (yaw, pitch) read back or None, skin drawn in % of the face)."""
    from inference.io.images import load_rgb
    from inference.render.portrait_renderer import PortraitRenderer
    from inference.rigs.landmarks import detect_landmarks
    from inference.rigs.portrait import build_portrait_rig

    rig = build_portrait_rig(load_rgb(photo), source=photo.name)
    renderer = PortraitRenderer(rig, size=size)
    neutral = detect_landmarks(renderer.render(rig.vertices)).metric_mm()
    face_area = cv2.contourArea(renderer.src_px[list(mt.FACE_OVAL)].astype(np.float32))
    rows = []
    for axis, degrees in TURNS:
        frame = renderer.render(rig.evaluate({f"head.{axis}": degrees}, 1)[0])
        rows.append((axis, degrees, read_back(frame, neutral), 100.0 * renderer.painted_skin / face_area))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    photos = args.photos or sorted((SHARED / "portraits").glob("*.png"))
    for photo in photos:
        cells = []
        for axis, degrees, back, skin in measure(photo, args.size):
            read = "no face" if back is None else f"{back[0] if axis == 'yaw' else back[1]:+.1f}"
            cells.append(f"{axis} {degrees:+.0f} -> {read} (skin {skin:.1f} %)")
        print(f"{photo.stem}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
