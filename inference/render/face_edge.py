"""What covers the face's edge in the photo (an ear's front, an earring, strands of hair), so a turn carries it with
the head instead of stretching it with the face.

The face mesh's outline often runs over things that are not the face: an ear's front and its earring beside the
cheek, hair hanging over the temple. Their pixels sit in the mesh's outermost triangles, which the photo sees
edge-on; when the head turns that side toward the camera those triangles grow several times wider, and what
covers them smears across the cheek (an earring drawn out into a bar, an ear's front into streaks). They are not
on the face's surface: they hang beside it, with the head. So where the face's own map would fetch such a pixel,
the frame takes what the warp's field outside the face carries there instead: the head's motion there, which
moves them with the skin just beyond the outline, without stretching. The face keeps its own map wherever that
field would fetch an eye, a brow, the nose or the lips (their copy beside the face showed as a ghost), and on a
head turned by less than TURN_FROM_DEG, whose edge is not stretched.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..colour.srgb import srgb_to_linear
from ..rigs import mediapipe_topology as mt
from .turned_skin import skin_likeness

EDGE_HOPS = 1
"""Triangles with every corner within this many mesh edges of the outline form the face's edge."""
TURN_FROM_DEG, TURN_TO_DEG = 3.0, 7.0
"""Head rotations over which what covers the edge passes from the face's map to the outside field's: at a talking head's
few degrees both maps agree to a pixel there, and a still head stays the photo."""
SOFT_PX_AT_512 = 1.5  # the masks' soft edges (Gaussian sigma) at 512², scaled with the frame
EYE_GROWTH, LIP_GROWTH = 1.8, 1.3  # features' outlines grown about their centres: lids, lashes, the lips' edge


@dataclass(frozen=True)
class FaceEdge:
    """Two masks over the frame's photo (output pixels as photographed, ``size`` x ``size``, 0-1): ``covering``,
    what covers the face's edge (not skin, in the edge's triangles); ``features``, the eyes, brows, nose and lips."""

    covering: np.ndarray
    features: np.ndarray

    def handed_over(self, face_x: np.ndarray, face_y: np.ndarray, outside: np.ndarray, turn_deg: float
                    ) -> np.ndarray | None:
        """0-1 per pixel (the maps' shape): how much of the face's map (``face_*``, photo pixel edges at integers)
        gives way to the map outside the face (``outside``, (h, w, 2)) there; None where nothing does (a head turned
        too little)."""
        share = float(np.clip((turn_deg - TURN_FROM_DEG) / (TURN_TO_DEG - TURN_FROM_DEG), 0.0, 1.0))
        if share == 0.0:
            return None
        covering = cv2.remap(self.covering, face_x - 0.5, face_y - 0.5, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        if not covering.any():
            return None
        outside_x, outside_y = (np.ascontiguousarray(outside[..., axis]) for axis in (0, 1))
        feature = cv2.remap(self.features, outside_x - 0.5, outside_y - 0.5, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        return share * covering * (1.0 - feature)


def face_edge_of(photo: np.ndarray, photo_px: np.ndarray, triangles: np.ndarray, hops: np.ndarray,
                 skin_rgb: np.ndarray, size: int) -> FaceEdge:
    """The masks of ``photo`` (the frame's crop of the photo, ``size`` x ``size`` uint8 RGB) for the face mesh at
    ``photo_px`` (its points in those pixels) with skin ``triangles``, each point ``hops`` mesh edges from the
    outline (``TurnedSkin.hops``); ``skin_rgb``: the skin's colour (0-255)."""
    soft = SOFT_PX_AT_512 * size / 512
    edge = np.zeros((size, size), np.float32)
    for corners in photo_px[triangles[(hops[triangles] <= EDGE_HOPS).all(axis=1)]]:
        cv2.fillConvexPoly(edge, np.round(corners * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    at = np.flatnonzero(edge)  # the edge's pixels only: the whole frame's colours took five times as long
    colour = srgb_to_linear(cv2.GaussianBlur(photo, (0, 0), soft).reshape(-1, 3)[at] / 255.0)
    skin = skin_likeness(colour, srgb_to_linear(np.asarray(skin_rgb, np.float64) / 255.0))
    covering = np.zeros(size * size, np.float32)
    covering[at] = edge.ravel()[at] * (1.0 - skin)
    covering = cv2.GaussianBlur(covering.reshape(size, size), (0, 0), soft)
    features = np.zeros((size, size), np.float32)
    for outline in _feature_outlines(photo_px):
        hull = cv2.convexHull(outline.astype(np.float32)).reshape(-1, 2)
        cv2.fillPoly(features, [np.round(hull * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    return FaceEdge(covering, cv2.GaussianBlur(features, (0, 0), 2.0 * soft))


def _feature_outlines(px: np.ndarray) -> list[np.ndarray]:
    """The eyes (with lids and lashes), brows, nose and lips of the face mesh at ``px``."""
    out = []
    for side in ("R", "L"):
        eye = px[list(mt.EYE_UPPER[side]) + list(mt.EYE_LOWER[side][::-1])]
        out.append(eye.mean(0) + EYE_GROWTH * (eye - eye.mean(0)))
        out.append(px[list(mt.BROW[side])])
    out.append(px[[*mt.NOSE_WING["R"], *mt.NOSE_WING["L"], *mt.NOSE_BRIDGE]])
    lips = px[[*mt.LIP_UPPER_OUTER, *mt.LIP_LOWER_OUTER]]
    out.append(lips.mean(0) + LIP_GROWTH * (lips - lips.mean(0)))
    return out
