"""ARKit blendshapes authored procedurally on the MediaPipe topology, in millimetres of the subject's face.

Every shape is a sum of smooth "handles": a displacement that fades with distance from a landmark group
(Gaussian falloff), optionally restricted to the jaw or skull side of the mouth and to one side of the
face. Magnitudes follow facial anatomy and FACS descriptions (a smile pulls the corner ~7 mm out and up,
a brow raise lifts ~6 mm), and the benchmark compares directions and sizes with ICT-FaceKit's
artist-made shapes (docs/rigs.md). Eye blinks close the measured lid gap of this very photo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..geometry.mesh_graph import edge_graph
from ..geometry.raster import signed_areas
from . import mediapipe_topology as mt
from .lip_bow import drop_share, lip_rise

UNFOLD_STEPS = 50  # smoothing passes at most


@dataclass
class HeadFrame:
    """The neutral face in a head-aligned frame, millimetres, origin between the lips."""

    points: np.ndarray  # (478, 3): x = subject's left, y up, z forward
    jaw_weight: np.ndarray  # (478,) 1 on the jaw side of the mouth, 0 on the skull side

    def dist(self, group) -> np.ndarray:
        """Distance of every point to the nearest point of a landmark group (mm)."""
        g = self.points[list(group)]
        return np.sqrt(((self.points[:, None, :] - g[None]) ** 2).sum(-1)).min(1)

    def bump(self, group, sigma: float) -> np.ndarray:
        return np.exp(-0.5 * (self.dist(group) / sigma) ** 2)

    def side(self, s: str) -> np.ndarray:
        """Smooth 0..1 mask of the subject's left ("L") or right ("R") half."""
        x = self.points[:, 0] if s == "L" else -self.points[:, 0]
        return _smoothstep(-3.0, 3.0, x)


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


def jaw_side_weight(points: np.ndarray) -> np.ndarray:
    """1 below the mouth (moves with the jaw), 0 above it; the lips are assigned explicitly, corners 0.5."""
    y = points[:, 1]
    lateral = np.abs(points[:, 0])
    # the jaw line rises toward the ears: beyond the mouth corners the transition moves up
    top = 2.0 + 0.25 * np.clip(lateral - 25.0, 0, None)
    w = _smoothstep(top, top - 12.0, y)
    w[list(mt.LIP_UPPER_OUTER + mt.LIP_UPPER_INNER)] = 0.0
    w[list(mt.LIP_LOWER_OUTER + mt.LIP_LOWER_INNER)] = 1.0
    w[[mt.MOUTH_CORNERS["R"][0], mt.MOUTH_CORNERS["L"][0]]] = 0.5
    w[[mt.MOUTH_CORNERS["R"][1], mt.MOUTH_CORNERS["L"][1]]] = 0.5
    return w


def close_lips(points: np.ndarray, jaw_weight: np.ndarray, view: np.ndarray) -> np.ndarray:
    """The face with the photo's lip gap closed (lower lip 60 % of the way, upper 40 %): the rig's rest pose.

    A rig rests with its lips together, like every ARKit character, so mouthClose and the P/B/M closures
    work on photos that show teeth; the renderer still starts from the photo's own pixels. ``view``: the head
    frame's axes in camera space (columns), for the mesh as the camera sees it.
    """
    up, lo = np.array(mt.LIP_UPPER_INNER[1:-1]), np.array(mt.LIP_LOWER_INNER)
    ou, ol = np.argsort(points[up, 0]), np.argsort(points[lo, 0])
    x = points[:, 0]
    gap = np.clip(np.interp(x, points[up[ou], 0], points[up[ou], 1])
                  - np.interp(x, points[lo[ol], 0], points[lo[ol], 1]), 0, None)
    frame = HeadFrame(points, jaw_weight)
    out = points.copy()
    out[:, 1] += gap * (0.6 * frame.bump(LOWER_LIP, 8) * jaw_weight - 0.4 * frame.bump(UPPER_LIP, 6) * (1 - jaw_weight))
    return _unfolded(points, out, np.concatenate([up, lo]), view)


def _unfolded(points: np.ndarray, moved: np.ndarray, held: np.ndarray, view: np.ndarray) -> np.ndarray:
    """``moved`` with no face-mesh triangle turned over against ``points`` as the camera sees them (``view``: the
    head frame's axes in camera space, columns x, y, z): closing lips parted as wide as a broad smile's folded the
    triangles at the mouth's corners over one another (the warp then drew a stair-stepped sliver along the sealed
    lips). Each step moves the corners of the turned-over triangles
    half-way to the mean motion of their neighbours; the ``held`` points (the inner lips, which must meet) stay."""
    tris = mt.tessellation_triangles()
    graph = edge_graph(tris, len(points))
    degree = np.maximum(np.asarray(graph.sum(axis=1)).ravel(), 1.0)[:, None]
    facing = np.sign(signed_areas((points @ view.T)[tris]))
    motion = moved - points
    for _ in range(UNFOLD_STEPS):
        turned = (np.sign(signed_areas(((points + motion) @ view.T)[tris])) != facing) & (facing != 0)
        if not turned.any():
            break
        free = np.setdiff1d(np.unique(tris[turned]), held)
        motion[free] = 0.5 * motion[free] + 0.5 * ((graph @ motion) / degree)[free]
    return points + motion


LIPS = mt.LIP_UPPER_OUTER + mt.LIP_LOWER_OUTER + mt.LIP_UPPER_INNER + mt.LIP_LOWER_INNER
LOWER_LIP = mt.LIP_LOWER_OUTER + mt.LIP_LOWER_INNER
UPPER_LIP = mt.LIP_UPPER_OUTER + mt.LIP_UPPER_INNER

BOW_INNER_REACH_MM = 2.5  # the inner edge's rise fades into the outer edge's over this distance (the lip's red)
BOW_SKIN_MM = 6.0  # above the lip the rise fades over this distance (the point under the nose stays)


def _across_the_mouth(f: HeadFrame, corner: int) -> np.ndarray:
    """Every point's distance from the mouth's middle, across it, over the distance to a corner: 0 in the middle,
    1 at the corners (``corner``: 0 the outer ones, 1 the inner ones of ``MOUTH_CORNERS``)."""
    corners = f.points[[mt.MOUTH_CORNERS["R"][corner], mt.MOUTH_CORNERS["L"][corner]]]
    half_width = max(float(abs(corners[1, 0] - corners[0, 0])) / 2.0, 1.0)
    return np.abs(f.points[:, 0] - corners[:, 0].mean()) / half_width


def upper_lip_bow(f: HeadFrame, lip_drop_mm: float) -> np.ndarray:
    """The upper lip's motion (head-frame mm) while the jaw drops the lower lip by ``lip_drop_mm`` (``lip_bow``):
    the inner edge's rise on the inner lip, the outer edge's on the rest of the lip and fading into the skin above."""
    u = _across_the_mouth(f, 1)
    inner = f.bump(mt.LIP_UPPER_INNER, BOW_INNER_REACH_MM)
    amount = (lip_rise(u, "outer", lip_drop_mm) * f.bump(mt.LIP_UPPER_OUTER, BOW_SKIN_MM) * (1.0 - inner)
              + lip_rise(u, "inner", lip_drop_mm) * inner)
    return (amount * (1.0 - f.jaw_weight))[:, None] * np.array([0.0, 1.0, 0.0])


def lower_lip_taper(f: HeadFrame, lip_drop_mm: float, jaw_drop: np.ndarray) -> np.ndarray:
    """What jawOpen takes back from the lower lip's sides (head-frame mm) while the jaw drops its middle by
    ``lip_drop_mm`` and every point hanging on it by ``jaw_drop`` (478, 3): the jaw drops the whole lip nearly
    alike, real speakers' sides less (``lip_bow.drop_share``); the skin under the lip follows over BOW_SKIN_MM."""
    u = _across_the_mouth(f, 0)
    inner = f.bump(mt.LIP_LOWER_INNER, BOW_INNER_REACH_MM)
    share = drop_share(u, "outer") * (1.0 - inner) + drop_share(u, "inner") * inner
    near = f.bump(LOWER_LIP, BOW_SKIN_MM)
    lift = np.clip(-jaw_drop[:, 1] * f.jaw_weight - lip_drop_mm * share, 0.0, None) * near
    return lift[:, None] * np.array([0.0, 1.0, 0.0])


def _lid_motion(f: HeadFrame, s: str, upper_frac: float, lower_frac: float, spread: float) -> np.ndarray:
    """Move the upper lid down by ``upper_frac`` of the local lid gap and the lower lid up by ``lower_frac``
    (negative values open); skin near each lid follows with a Gaussian falloff of ``spread`` mm."""
    up, lo = np.array(mt.EYE_UPPER[s]), np.array(mt.EYE_LOWER[s])
    pu, pl = f.points[up], f.points[lo]
    ou, ol = np.argsort(pu[:, 0]), np.argsort(pl[:, 0])

    def gap_at(x):  # lid gap (mm) at horizontal position x, zero at the corners
        return np.clip(np.interp(x, pu[ou, 0], pu[ou, 1]) - np.interp(x, pl[ol, 0], pl[ol, 1]), 0, None)

    x = f.points[:, 0]
    gap = gap_at(x)
    eye_y = np.interp(x, pl[ol, 0], pl[ol, 1])
    above = f.points[:, 1] >= eye_y + 0.5 * gap
    d = np.zeros_like(f.points)
    w_up = np.exp(-0.5 * (f.dist(up) / spread) ** 2) * above
    w_lo = np.exp(-0.5 * (f.dist(lo) / spread) ** 2) * ~above
    d[:, 1] = -upper_frac * gap * w_up + lower_frac * gap * w_lo
    d[up, 1] = -upper_frac * gap_at(pu[:, 0])
    d[lo, 1] = lower_frac * gap_at(pl[:, 0])
    centre = mt.IRIS[s][0]  # the fan centre sits mid-gap: it moves half-way to where the lids meet
    d[centre, 1] = 0.5 * (lower_frac - upper_frac) * gap[centre]
    return d


def _handle(f: HeadFrame, group, sigma: float, disp, mask: np.ndarray | float = 1.0) -> np.ndarray:
    return (f.bump(group, sigma) * mask)[:, None] * np.asarray(disp, dtype=np.float64)[None]


def _towards_mouth_centre(f: HeadFrame, group, sigma: float, fx: float, fy: float, fz: float) -> np.ndarray:
    """Scale lip positions about the mouth centre (fx, fy < 0 narrow / flatten) and push them forward fz mm."""
    w = f.bump(group, sigma)[:, None]
    p = f.points
    return w * np.column_stack([fx * p[:, 0], fy * p[:, 1], np.full(len(p), fz)])


def _sided(builder: Callable[[HeadFrame, str, float], np.ndarray]) -> dict[str, Callable[[HeadFrame], np.ndarray]]:
    """Left/Right twins from one builder taking the head, the side and its x sign (+1 = subject's left)."""
    def side(name: str, sign: float) -> Callable[[HeadFrame], np.ndarray]:
        return lambda f: builder(f, name, sign)

    return {"Left": side("L", 1.0), "Right": side("R", -1.0)}


def author_shapes(f: HeadFrame, jaw_lip_start: np.ndarray, jaw_drop: np.ndarray) -> dict[str, np.ndarray]:
    """All shapes in head-frame millimetres; ``jaw_lip_start`` is the lower lip's motion per unit of jawOpen as the
    jaw starts to open (its direction along the jaw's arc where the lips seal in speech, at jawOpen 0.03-0.3),
    ``jaw_drop`` every point's motion at jawOpen = 1 were it wholly on the jaw."""
    lip_drop_mm = float(-jaw_drop[mt.LOWER_LIP_MIDDLE, 1])  # how far the jaw drops the lower lip's middle
    lower, upper = f.jaw_weight, 1.0 - f.jaw_weight
    corner = {"L": (mt.MOUTH_CORNERS["L"]), "R": mt.MOUTH_CORNERS["R"]}
    # as the jaw opens the upper lip's middle rises and the lower lip's sides drop less than its middle
    lips = upper_lip_bow(f, lip_drop_mm) + lower_lip_taper(f, lip_drop_mm, jaw_drop)
    shapes: dict[str, np.ndarray] = {
        "jawOpen": lips,
        # lips meet while the jaw stays open: the lower lip travels back up most of the way, the upper one down
        "mouthClose": _handle(f, LOWER_LIP, 7, -jaw_lip_start, lower) - lips,
        "mouthFunnel": _towards_mouth_centre(f, LIPS, 7, -0.22, 0.25, 5.0),
        "mouthPucker": _towards_mouth_centre(f, LIPS, 9, -0.3, -0.25, 8.0),
        "mouthRollLower": _handle(f, LOWER_LIP, 5, (0, 5.0, -6.0), lower),
        "mouthRollUpper": _handle(f, UPPER_LIP, 5, (0, -4.0, -6.0), upper),
        "mouthShrugLower": _handle(f, (*LOWER_LIP, mt.CHIN), 10, (0, 5.0, 4.0), lower),
        "mouthShrugUpper": _handle(f, UPPER_LIP, 7, (0, 4.0, 2.5), upper),
        "mouthLeft": _handle(f, LIPS, 12, (10.0, 0, -1.0)),
        "mouthRight": _handle(f, LIPS, 12, (-10.0, 0, -1.0)),
        "cheekPuff": _handle(f, mt.CHEEK["L"], 16, (6.0, 0, 5.0)) + _handle(f, mt.CHEEK["R"], 16, (-6.0, 0, 5.0))
        + _handle(f, LIPS, 8, (0, 1.0, 7.0)),
        "browInnerUp": _handle(f, mt.BROW_INNER["L"] + mt.BROW_INNER["R"], 8, (0, 6.0, 0.5)),
        "jawForward": lower[:, None] * np.array([0, 0, 8.0]),
        "jawLeft": lower[:, None] * np.array([8.0, 0, 0]),
        "jawRight": lower[:, None] * np.array([-8.0, 0, 0]),
    }
    per_side = {
        "mouthSmile": lambda f, s, sx: _handle(f, corner[s], 13, (8.0 * sx, 9.0, -7.0)),
        "mouthFrown": lambda f, s, sx: _handle(f, corner[s], 11, (1.0 * sx, -6.0, -1.0)),
        "mouthStretch": lambda f, s, sx: _handle(f, corner[s], 13, (6.0 * sx, -3.0, -2.0)),
        "mouthDimple": lambda f, s, sx: _handle(f, corner[s], 9, (4.0 * sx, 1.0, -5.0)),
        "mouthPress": lambda f, s, sx: (_handle(f, UPPER_LIP, 5, (0, -0.7, -0.3), upper * f.side(s))
                                        + _handle(f, LOWER_LIP, 6, (0, 2.5, 1.0), lower * f.side(s))),
        "mouthLowerDown": lambda f, s, sx: _handle(f, LOWER_LIP, 6, (0, -5.0, 1.0), lower * f.side(s)),
        "mouthUpperUp": lambda f, s, sx: _handle(f, UPPER_LIP, 6, (0, 7.0, 1.0), upper * f.side(s)),
        "cheekSquint": lambda f, s, sx: (_handle(f, mt.CHEEK_UNDER_EYE[s], 9, (0, 2.5, 1.0))
                                         + _lid_motion(f, s, 0.0, 0.2, 3.0)
                                         + _handle(f, mt.BROW[s], 8, (0, -1.0, 0))),
        "noseSneer": lambda f, s, sx: (_handle(f, mt.NOSE_WING[s], 6, (0, 5.0, 0.5))
                                       + _handle(f, UPPER_LIP, 7, (0, 4.0, 0), upper * f.side(s))
                                       + _handle(f, mt.BROW_INNER[s], 7, (0, -3.0, 0))),
        "browDown": lambda f, s, sx: _handle(f, mt.BROW[s], 9, (-1.5 * sx, -5.5, 0.5)),
        "browOuterUp": lambda f, s, sx: _handle(f, mt.BROW_OUTER[s], 8, (0, 8.0, 0)),
        "eyeBlink": lambda f, s, sx: _lid_motion(f, s, 0.85, 0.15, 3.0),
        "eyeWide": lambda f, s, sx: _lid_motion(f, s, -0.3, -0.08, 3.5),
        "eyeSquint": lambda f, s, sx: _lid_motion(f, s, 0.1, 0.3, 3.0),
    }
    for stem, build in per_side.items():
        for suffix, fn in _sided(build).items():
            shapes[stem + suffix] = fn(f)
    return shapes
