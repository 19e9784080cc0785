"""The fitted 3-D head's points outside the face: what carries the photo there as the head moves.

The face mesh (MediaPipe's 478 points) covers the face only. Beyond its outline the photo shows the rest of the
head (the forehead's top and the hair over the skull, the temples, the ears, the neck), and the head's shape there
decides how each part moves: on a turn the side of the skull lies deeper than the cheek and moves less, and the
side of the head comes into view beside the face; bowed, the crown does. The ICT-FaceKit head fitted to the photo
(``rigs/head_fit.py``) is that shape. Each of its skin vertices the photo sees (nearest the camera and facing it,
outside the face and on the person), about one every CONTROL_SPACING_MM, becomes a control point of the warp
(``warp.HeadMeshField``): the photo's pixel at rest, and where the head's motion takes that vertex in each frame.
So does the head's rim, the person's outline around the head, at the depth of the head's centre: a silhouette is
where the surface is seen edge-on, about as deep as the head's middle (the hair's volume hides the skull's own).

Liberties, all from looking at 25 degree turns of four portraits:
- The depth's relief finer than RELIEF_SMOOTHING_MM is smoothed away, the skull's curve kept. An ear stands out from
  the skull, and turned toward the camera its own relief magnified the few pixels the photo has of it 1.5-1.8 times
  into a smear.
- The neck turns by height (NECK_TURN), not by the head model's skinning, which gives the skin just under the chin
  0.04 of the head's turn.
- No point lies within FACE_CLEARANCE of the face's outline: the warp's ring hugging the outline moves that band as
  the outline does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from ..geometry.pinhole import project
from ..rigs import mediapipe_topology as mt
from ..rigs.flame import similarity_transform
from ..rigs.head_fit import builtin_correspondence
from ..rigs.head_texture import SKIN_MATERIALS, fan_triangles, photo_trust
from ..rigs.rig import FaceRig
from .framing import Framing
from .jaw_reader import JawReader, between_samples

CONTROL_SPACING_MM = 8.0
"""About one control point per this many millimetres of the picture: the face mesh's own spacing near its outline."""
RELIEF_SMOOTHING_MM = 11.0
"""The Gaussian width over which the control points' depth is smoothed (in the picture): the ear's relief goes, the
skull's curve (a radius of about 80 mm) stays."""
FACE_CLEARANCE = 0.08
"""No control point within this many face heights outside the face's outline, where the warp's ring hugging the
outline (``warp.RINGS``, 0.05-0.06 face heights out) moves the skin with it, at its depth. What covers the face's
edge in the photo (an ear's front, hair over the temple) is carried there on a turn (``face_edge``): with head points
0.04 face heights out, deeper than the outline, a strand drawn along the astronaut's cheek edge grew 2.3 times as
wide on a 20 degree turn."""
NECK_TURN = ((0.0, 0.5), (0.3, 0.1))
"""(face heights under the chin, the share of the head's turn) for the neck, linear between: about half of the
neck's axial rotation happens between the first two vertebrae, behind the jaw, so the skin just under the chin turns
half as far as the head, and the neck near the collar hardly turns (as the warp's rings, ``warp.RINGS``)."""
SILHOUETTE_REACH = 1.0
"""The person's outline in the photo above the mouth and within this many face heights of the face's middle
sideways is the head's silhouette (hair and ears). Below the mouth it is the neck's sides, a collar or a shoulder,
or hair hanging down, none of which turns with the head as its rim: there the neck's points and the rings carry
it (taken as a rim, the neck's side stayed while the jaw above it turned, and kinked)."""
JAW_SAMPLES = np.linspace(0.0, 1.25, 6)
"""jawOpen values at which the head's jaw is posed once (the frame's reading, ``JawReader``, is at most 1.25)."""


@dataclass
class HeadControls:
    """The fitted head's control points: where the photo shows them (``src``, output pixels), where they are
    (``rest_m``, portrait-rig metres: x and y exactly where ``Framing.project`` puts ``src``, depth from the head),
    the share of the head's motion each follows, and how the jaw moves each (``jaw_deltas`` (S, n, 3) metres at
    ``JAW_SAMPLES``)."""

    src: np.ndarray
    rest_m: np.ndarray
    head_share: np.ndarray
    jaw_deltas: np.ndarray
    jaw_reader: JawReader
    neck_pivot_m: np.ndarray
    """Where the neck turns about: ICT-FaceKit's mid-neck joint, 2-3 cm behind and 8 cm under the head's pivot."""
    head_pivot_m: np.ndarray
    """Where the head turns about (the portrait rig's head joint)."""

    def posed(self, verts_m: np.ndarray, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """(n, 3) rig metres in the frame whose portrait vertices are ``verts_m`` and whose head moved by (``rot``,
        ``trans``) from rest: the jaw's opening read off the frame, then each point turned by its share of the head's
        rotation and moved by that share of its translation. A share under one turns about a pivot that share of the
        way from the neck's to the head's: the neck bends along its length (about the head's pivot alone, the neck
        behind it swung the other way)."""
        i, f = between_samples(self.jaw_reader((verts_m - trans) @ rot), JAW_SAMPLES)
        still = self.rest_m + self.jaw_deltas[i] * (1.0 - f) + self.jaw_deltas[i + 1] * f
        share = self.head_share[:, None]
        pivot = self.neck_pivot_m + share * (self.head_pivot_m - self.neck_pivot_m)
        shift = self.head_pivot_m @ rot.T + trans - self.head_pivot_m  # the head's motion beyond its turn
        turns = Rotation.from_rotvec(share * Rotation.from_matrix(rot).as_rotvec())
        return turns.apply(still - pivot) + pivot + share * shift


def head_controls(head: FaceRig, portrait: FaceRig, framing: Framing, src_px: np.ndarray,
                  person_mask: np.ndarray | None) -> HeadControls | None:
    """The control points of ``head`` (the ICT rig fitted to the photo, ``fitted_head``) for the portrait rig's
    frames, in the output frame of ``framing``; ``src_px``: the face mesh as photographed (output pixels);
    ``person_mask``: 1 on the person. None where the head shows nothing outside the face."""
    photographed = portrait.photo_vertices
    if (head.photo_pose is None or head.photo_intrinsics is None or head.photo_vertices is None
            or head.face_materials is None or photographed is None):
        return None
    rot, move = head.photo_pose[:, :3], head.photo_pose[:, 3]
    camera = head.photo_vertices.astype(np.float64) @ rot.T + move
    focal, width, height = head.photo_intrinsics
    photo_px = project(camera, float(focal), (int(width), int(height)))
    tris, _corners, polygon = fan_triangles(head.face_sizes, head.face_indices)
    trust = photo_trust(camera * 100.0, photo_px, tris, (int(height), int(width)))
    skin = np.isin(head.face_materials[polygon],
                   [head.material_names.index(m) for m in SKIN_MATERIALS if m in head.material_names])
    seen = np.zeros(len(camera), bool)
    seen[np.unique(tris[skin])] = True
    seen &= trust > 0.0
    px = framing.photo_to_output(photo_px)
    face_height = float(np.linalg.norm(src_px[mt.FOREHEAD] - src_px[mt.CHIN]))
    spacing = CONTROL_SPACING_MM * framing.px_per_mm_out
    candidates = _beyond_the_face(np.flatnonzero(seen), px, src_px, face_height, framing.size, person_mask)
    silhouette = _silhouette(person_mask, src_px, face_height, spacing)
    if len(silhouette):  # the outline is the silhouette's: head points just inside it would crowd it
        gap = np.sqrt(np.square(px[candidates, None] - silhouette[None]).sum(-1).min(1))
        candidates = candidates[gap > 0.5 * spacing]
    if not len(candidates):
        return None
    # one point per cell of the picture, the one the photo sees most squarely
    key = np.floor(px[candidates] / spacing).astype(np.int64) @ np.array([1 << 20, 1])
    order = np.lexsort((-trust[candidates], key))
    _, first = np.unique(key[order], return_index=True)
    points = candidates[order[first]]

    # the head's camera space -> the portrait rig's: a similarity on the face mesh's points (2-3 mm apart)
    corr = builtin_correspondence()
    scale, turn, shift = similarity_transform(corr.points(camera), photographed[corr.mp_index])
    depth = (camera[points] @ turn.T * scale + shift)[:, 2]
    # the relief finer than RELIEF_SMOOTHING_MM smoothed away (the ear's), the skull's curve kept
    sigma = RELIEF_SMOOTHING_MM * framing.px_per_mm_out
    near = np.exp(-np.square(px[points, None] - px[None, points]).sum(-1) / (2.0 * sigma * sigma))
    depth = near @ depth / near.sum(1)
    # the silhouette lies about as deep as the head's centre, its pivot: seen edge-on, it is the head's rim
    head_pivot = portrait.joint_positions[portrait.joint_names.index("head")].astype(np.float64)
    src = np.vstack([px[points], silhouette])
    depth = np.concatenate([depth, np.full(len(silhouette), head_pivot[2])])
    rest_m = np.column_stack([framing.rig_xy(src), depth])

    weights = head.weights[points].astype(np.float64)
    names = head.joint_names
    share = np.ones(len(src))
    share[:len(points)] = weights[:, [i for i, n in enumerate(names) if n not in ("root", "neck")]].sum(1)
    (at_chin, half), (at_collar, least) = NECK_TURN
    neck = np.interp((src[:, 1] - src_px[mt.CHIN, 1]) / face_height, (at_chin, at_collar), (half, least))
    share = np.clip(share + (1.0 - share) * neck, 0.0, 1.0)

    posed = head.evaluate({"jawOpen": JAW_SAMPLES})[:, points].astype(np.float64)
    jaw_deltas = np.zeros((len(JAW_SAMPLES), len(src), 3))
    jaw_deltas[:, :len(points)] = (posed - posed[:1]) @ rot.T @ turn.T * scale
    neck_camera = head.joint_positions[names.index("neck")] @ rot.T + move
    return HeadControls(src, rest_m, share, jaw_deltas, JawReader(portrait), neck_camera @ turn.T * scale + shift,
                        head_pivot)


def _beyond_the_face(vertices: np.ndarray, px: np.ndarray, src_px: np.ndarray, face_height: float, size: int,
                     person_mask: np.ndarray | None) -> np.ndarray:
    """Those of ``vertices`` (whose output pixels are ``px``) inside the frame, FACE_CLEARANCE outside the face's
    outline (``src_px``, the face mesh) and on the person."""
    vertices = vertices[np.all((px[vertices] > 0.0) & (px[vertices] < size), axis=1)]
    vertices = vertices[_clear_of_the_face(px[vertices], src_px, face_height)]
    if person_mask is not None:
        at = np.minimum(px[vertices].astype(int), size - 1)
        vertices = vertices[person_mask[at[:, 1], at[:, 0]] > 0.5]
    return vertices


def _clear_of_the_face(points: np.ndarray, src_px: np.ndarray, face_height: float) -> np.ndarray:
    """Which of ``points`` (n, 2 output pixels) lie more than FACE_CLEARANCE outside the face's outline (``src_px``,
    the face mesh)."""
    outline = src_px[list(mt.FACE_OVAL)].astype(np.float32)
    inside = np.array([cv2.pointPolygonTest(outline, (float(x), float(y)), True) for x, y in points])
    return inside.reshape(-1) < -FACE_CLEARANCE * face_height


def _silhouette(person_mask: np.ndarray | None, src_px: np.ndarray, face_height: float, spacing: float
                ) -> np.ndarray:
    """(n, 2) output pixels along the person's outline around the head (``SILHOUETTE_REACH``), one every
    ``spacing``; none on the frame's edge or within FACE_CLEARANCE of the face (where the face's own outline meets
    the background, it carries it), and none without ``person_mask``."""
    if person_mask is None:
        return np.zeros((0, 2))
    size = person_mask.shape[0]
    contours, _ = cv2.findContours((person_mask > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2))
    outline = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64) + 0.5
    steps = np.linalg.norm(np.diff(outline, axis=0, prepend=outline[-1:]), axis=1)
    along = np.cumsum(steps)
    outline = outline[np.unique(np.floor(along / spacing), return_index=True)[1]]
    sideways = np.abs(outline[:, 0] - src_px[list(mt.FACE_OVAL), 0].mean())
    keep = (sideways < SILHOUETTE_REACH * face_height) & (
        outline[:, 1] < src_px[[mt.UPPER_LIP_MIDDLE, mt.LOWER_LIP_MIDDLE], 1].mean())
    keep &= np.all((outline > 2.0) & (outline < size - 2.0), axis=1)
    return outline[keep & _clear_of_the_face(outline, src_px, face_height)]
