"""The portrait face rig: the person in a photo as a metric 3D face with ARKit shapes and a jaw.

The mesh is MediaPipe's 478-point face mesh of the photo, scaled to millimetres by the iris, kept in
camera space so an orthographic camera looking down -Z sees the photo (UVs = image coordinates). Its rest
pose has the lips together; ``photo_vertices`` keeps the face exactly as photographed for the renderer.
Shapes are authored in a head-aligned frame (``portrait_shapes``) and rotated back into camera space.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import mediapipe_topology as mt
from .landmarks import FaceLandmarks, detect_landmarks
from .portrait_shapes import HeadFrame, author_shapes, close_lips, jaw_side_weight
from .rig import JOINT_NAMES, FaceRig, standard_drivers

JAW_LIP_TRAVEL_MM = 34.0
"""How far the lower lip travels at jawOpen = 1: it drops about 26 mm, and with the upper lip's rise
(``lip_bow``) the mouth opens about 32 mm. With the lip sync's curves, GRID's sentences rendered on the four
portraits in ../shared/data open as wide as the real speakers' (the re-tracked inner-lip gap's 95th percentile
over the eye-corner distance: 0.154, real 0.152)."""
EYEBALL_RADIUS_MM = 12.0
MAX_TEXTURE_SIDE = 2048


def build_portrait_rig(rgb: np.ndarray, landmarks: FaceLandmarks | None = None, source: str = "photo") -> FaceRig:
    """Fit MediaPipe to ``rgb`` (H, W, 3 uint8) unless landmarks are given, and build the rig."""
    lm = landmarks or detect_landmarks(rgb, source)
    w, h = lm.image_size
    cam = lm.metric_mm()

    axes = _head_axes(cam)  # columns: head x, y, z in camera space
    mouth = (cam[13] + cam[14]) / 2
    photo_pts = (cam - mouth) @ axes
    head_pts = close_lips(photo_pts, jaw_side_weight(photo_pts), axes)
    frame = HeadFrame(head_pts, jaw_side_weight(head_pts))

    pivots = _joint_pivots(head_pts)
    jaw_pivot = pivots["jaw"]
    lip = head_pts[14] - jaw_pivot
    radius = float(np.hypot(lip[1], lip[2]))
    theta = 2 * np.arcsin(min(0.95, JAW_LIP_TRAVEL_MM / (2 * radius)))
    lip_start = theta * np.array([0.0, -lip[2], lip[1]])  # the lower lip's motion per jawOpen as the jaw starts

    jaw_drop = _rotate_x(head_pts - jaw_pivot, theta) - (head_pts - jaw_pivot)  # each point, were it on the jaw
    shapes = author_shapes(frame, lip_start, jaw_drop)
    names = sorted(shapes)
    deltas = np.stack([shapes[n] @ axes.T for n in names]).astype(np.float32) / 1000.0

    joint_pos = np.array([mouth + axes @ pivots[j] for j in JOINT_NAMES]) / 1000.0
    weights = np.zeros((len(cam), len(JOINT_NAMES)), np.float32)
    jw = frame.jaw_weight
    weights[:, JOINT_NAMES.index("jaw")] = jw
    weights[:, JOINT_NAMES.index("head")] = 1.0 - jw
    for side in ("L", "R"):
        iris = list(mt.IRIS[side])
        weights[iris] = 0.0
        weights[iris, JOINT_NAMES.index(f"eye_{side}")] = 1.0

    verts = (mouth + head_pts @ axes.T) / 1000.0
    tris = np.vstack([mt.tessellation_triangles(), mt.eye_fans()])
    tris = mt.orient_outward(tris, verts, joint_pos[JOINT_NAMES.index("head")])
    corners = tris.ravel()
    uvs = np.column_stack([lm.points[corners, 0] / w, 1.0 - lm.points[corners, 1] / h])
    rig = FaceRig(
        name="PortraitFace", vertices=verts, face_sizes=np.full(len(tris), 3, np.uint8),
        face_indices=corners, shape_names=names, shape_deltas=deltas,
        joint_names=list(JOINT_NAMES), joint_parents=np.array([-1, 0, 1, 2, 2, 2]), joint_positions=joint_pos,
        weights=weights, drivers=standard_drivers(float(np.degrees(theta))), uvs=uvs,
        texture=_texture(rgb), photo_vertices=cam / 1000.0, landmarks=dict(mt.LANDMARKS),
        meta={"source": str(source), "kind": "portrait", "image_width": str(w), "image_height": str(h),
              "pixels_per_metre": f"{lm.px_per_mm * 1000.0:.6f}", "warnings": "\n".join(lm.warnings)},
    )
    rig.validate()
    return rig


def builtin_portrait_path() -> Path:
    """The built-in portrait's file (scikit-image ships it), for tools that take a photo path."""
    import skimage.data

    return Path(skimage.data.__file__).parent / "astronaut.png"


def default_portrait_rig() -> FaceRig:
    """The built-in face: scikit-image's public-domain NASA astronaut portrait (ships in its wheel)."""
    from skimage.data import astronaut

    return build_portrait_rig(astronaut(), source="skimage.data.astronaut (public domain)")


def portrait_rig_from_file(path: str | os.PathLike) -> FaceRig:
    from ..io.images import load_rgb

    return build_portrait_rig(load_rgb(path), source=str(path))


def _head_axes(cam: np.ndarray) -> np.ndarray:
    ex = cam[mt.CHEEK_EDGE["L"]] - cam[mt.CHEEK_EDGE["R"]]
    ex /= np.linalg.norm(ex)
    up = cam[mt.FOREHEAD] - cam[mt.CHIN]
    ey = up - (up @ ex) * ex
    ey /= np.linalg.norm(ey)
    return np.column_stack([ex, ey, np.cross(ex, ey)])


def _joint_pivots(p: np.ndarray) -> dict[str, np.ndarray]:
    """Joint pivots in head-frame millimetres from facial proportions."""
    cheeks = (p[mt.CHEEK_EDGE["L"]] + p[mt.CHEEK_EDGE["R"]]) / 2
    depth = p[mt.NOSE_TIP, 2] - cheeks[2]
    chin = p[mt.CHIN]
    head = np.array([0.0, cheeks[1], cheeks[2] - 0.35 * depth])
    pivots = {
        "head": head,
        "neck": np.array([0.0, chin[1] - 15.0, head[2] - 10.0]),
        "root": np.array([0.0, chin[1] - 60.0, head[2] - 10.0]),
        # the temporomandibular joint: in front of the ear, a little below the cheekbone line
        "jaw": np.array([0.0, cheeks[1] - 12.0, cheeks[2] - 5.0]),
    }
    for side in ("L", "R"):
        pivots[f"eye_{side}"] = p[mt.IRIS[side][0]] - np.array([0.0, 0.0, EYEBALL_RADIUS_MM])
    return pivots


def _rotate_x(v: np.ndarray, theta: float) -> np.ndarray:
    """Points (..., 3) turned by ``theta`` about the x axis."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([v[..., 0], c * v[..., 1] - s * v[..., 2], s * v[..., 1] + c * v[..., 2]], axis=-1)


def _texture(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= MAX_TEXTURE_SIDE:
        return rgb
    import cv2

    f = MAX_TEXTURE_SIDE / max(h, w)
    return cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
