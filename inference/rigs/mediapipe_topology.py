"""The MediaPipe face-mesh topology: triangles, hole fills and named landmark groups.

Indices follow MediaPipe's canonical face model; "left" is the subject's own left (image right), as in
MediaPipe's FACEMESH_LEFT_* sets and ARKit's *Left shapes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from functools import cache

import numpy as np

# The tessellation is given as edges; its 3-cliques are the triangles, except the outer triangle of the two
# 4-cliques beside the nostrils (each contains its fourth vertex; checked on frontal photos).
_NOT_TRIANGLES = {(49, 64, 129), (279, 294, 358)}

LIP_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIP_LOWER_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)
LIP_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIP_LOWER_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
MOUTH_CORNERS = {"R": (61, 78), "L": (291, 308)}
UPPER_LIP_MIDDLE, LOWER_LIP_MIDDLE = 13, 14  # the middles of the inner lips
INNER_MOUTH_LOOP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)

EYE_UPPER = {"R": (33, 246, 161, 160, 159, 158, 157, 173, 133), "L": (263, 466, 388, 387, 386, 385, 384, 398, 362)}
EYE_LOWER = {"R": (33, 7, 163, 144, 145, 153, 154, 155, 133), "L": (263, 249, 390, 373, 374, 380, 381, 382, 362)}
ABOVE_UPPER_LID = {"R": (130, 247, 30, 29, 27, 28, 56, 190, 243), "L": (359, 467, 260, 259, 257, 258, 286, 414, 463)}
"""The face mesh's ring just above each upper lid's margin, over the lashes and the lid's fold, corner to corner in
EYE_UPPER's order: a blink moves the margin 8 mm and this ring under 1, so the photo's lashes between them stretch."""
EYE_LOOP = {s: EYE_UPPER[s] + tuple(reversed(EYE_LOWER[s][1:-1])) for s in ("R", "L")}
"""Each eye opening's outline, once round: the upper lid corner to corner, then the lower lid back."""
EYE_LID_CENTRE = {"R": (159, 145), "L": (386, 374)}  # upper, lower: the lid gap
IRIS = {"R": (468, 469, 470, 471, 472), "L": (473, 474, 475, 476, 477)}  # centre first
BROW = {"R": (70, 63, 105, 66, 107, 46, 53, 52, 65, 55), "L": (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)}
BROW_INNER = {"R": (107, 66, 55, 65), "L": (336, 296, 285, 295)}
BROW_OUTER = {"R": (70, 63, 46, 53), "L": (300, 293, 276, 283)}
CHEEK = {"R": (205, 50, 187, 123), "L": (425, 280, 411, 352)}
CHEEK_UNDER_EYE = {"R": (117, 118, 119, 100), "L": (346, 347, 348, 329)}
NOSE_WING = {"R": (129, 98, 64, 48), "L": (358, 327, 294, 278)}
NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10
FACE_OVAL = (10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378,
             379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338)  # the face outline, in order
SKULL = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 263, 362, 234, 454, 127, 356, 109, 338, 67, 297)
"""Points no facial expression moves much (forehead, nose bridge, eye corners, temples): the rigid head."""
UNDER_NOSE = 164
NOSE_BRIDGE = (168, 6, 197, 195, 5, 4, 1, 2)  # from between the eyes down the ridge to the tip and under it
CHEEK_EDGE = {"R": 234, "L": 454}

LANDMARKS = {"nose_tip": NOSE_TIP, "chin": CHIN, "forehead": FOREHEAD, "lip_upper": 13, "lip_lower": 14,
             "mouth_corner_L": 291, "mouth_corner_R": 61, "eye_upper_L": 386, "eye_lower_L": 374,
             "eye_upper_R": 159, "eye_lower_R": 145, "iris_L": 473, "iris_R": 468,
             "eye_outer_L": 263, "eye_inner_L": 362, "eye_outer_R": 33, "eye_inner_R": 133}


# iBUG-68 index -> MediaPipe index (brows 17-26, nose 30-35, eyes 36-47, lips 48-67, chin 8): the landmarks
# ICT-FaceKit ships (its Multi-PIE 68) that MediaPipe has equivalents for
IBUG_TO_MEDIAPIPE = {
    8: 152, 17: 70, 18: 63, 19: 105, 20: 66, 21: 107, 22: 336, 23: 296, 24: 334, 25: 293, 26: 300,
    30: 1, 31: 98, 32: 97, 33: 2, 34: 326, 35: 327,
    36: 33, 37: 160, 38: 158, 39: 133, 40: 153, 41: 144, 42: 362, 43: 385, 44: 387, 45: 263, 46: 373, 47: 380,
    48: 61, 49: 40, 50: 37, 51: 0, 52: 267, 53: 270, 54: 291, 55: 321, 56: 314, 57: 17, 58: 84, 59: 91,
    60: 78, 61: 81, 62: 13, 63: 311, 64: 308, 65: 402, 66: 14, 67: 178,
}


@cache
def tessellation_triangles() -> np.ndarray:
    """(852, 3) triangles of the 468-point mesh, unoriented (see ``orient_outward``)."""
    from .mediapipe_compat import prepare_mediapipe_import

    prepare_mediapipe_import()  # importing any of mediapipe's solutions loads them all
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    return np.array(sorted(tris - _NOT_TRIANGLES), dtype=np.int64)


def eye_fans() -> np.ndarray:
    """Triangles closing each eye opening around its iris centre, so the photo's eyes stay on the mesh."""
    fans = []
    for side in ("R", "L"):
        loop = list(EYE_LOOP[side])
        centre = IRIS[side][0]
        fans += [(a, b, centre) for a, b in itertools.pairwise([*loop, loop[0]])]
    return np.array(fans, dtype=np.int64)


def orient_outward(tris: np.ndarray, vertices: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Wind every triangle so its normal points away from ``inside`` (a point behind the face)."""
    a, b, c = (vertices[tris[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    flip = np.einsum("ij,ij->i", normal, (a + b + c) / 3 - inside) < 0
    out = tris.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out
