"""The light a photo was taken in, read off the face's own shading, so what the renderer adds sits in it.

A face is a good light probe: its skin is close to one colour and its normals point every way. Each skin point's
brightness, in linear light (photos store it sRGB-encoded), is fitted as ``ambient + direct · (n · l)``
(Lambert's law where the skin faces the light, the first two terms of the light's spherical harmonics), which
gives the direction ``l`` and how much of the light comes from everywhere. The light's colour is the skin's
colour over a typical skin's, taken at half strength: a warm or cool cast of the whole photo (tungsten light, a
varnished painting) carries over; a person's own complexion, which it cannot tell from light, changes it little.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..colour.srgb import LUMA, LUMINANCE, srgb_to_linear
from ..rigs import mediapipe_topology as mt

TYPICAL_SKIN = np.array([0.78, 0.58, 0.48])
"""A mid skin tone's display colour under white light; only its ratios matter."""
COLOUR_RANGE = (0.85, 1.15)  # the most the estimated colour moves any channel
AMBIENT_RANGE = (0.2, 0.8)
MIN_FRONT = 0.3  # the light's direction toward the camera at least: the face is lit where the camera sees it
KEEP_SHARE = 0.8  # the best-fitting share of skin points kept for the second fit (shadows of the nose, hair)
LIP_MM, EYE_MM, BROW_MM = 5.0, 7.0, 6.0  # skin closer than this to the lips, eyes or brows is left out


@dataclass(frozen=True)
class Light:
    """``direction``: unit vector toward the light in camera space (x right, y up, z toward the camera);
    ``ambient``: the share of the light that comes from everywhere; ``colour``: RGB multipliers, mean 1."""

    direction: np.ndarray
    ambient: float
    colour: np.ndarray

    def shading(self, normals: np.ndarray) -> np.ndarray:
        """0-1 per unit normal (..., 3): ambient plus Lambert, the light a surface facing that way gets."""
        return self.ambient + (1.0 - self.ambient) * np.clip(np.asarray(normals) @ self.direction, 0.0, None)


FRONT_LIGHT = Light(np.array([0.0, 0.45, 1.0]) / np.linalg.norm([0.0, 0.45, 1.0]), 0.35, np.ones(3))
"""What is assumed where a photo's shading cannot be read."""


def skin_points(vertices_mm: np.ndarray) -> np.ndarray:
    """Indices of the face mesh's points on plain skin: away from the lips, eyes and brows (MediaPipe's 468)."""
    face = vertices_mm[:468]
    features = [(mt.LIP_UPPER_OUTER + mt.LIP_LOWER_OUTER, LIP_MM),
                (mt.EYE_UPPER["R"] + mt.EYE_LOWER["R"] + mt.EYE_UPPER["L"] + mt.EYE_LOWER["L"], EYE_MM),
                (mt.BROW["R"] + mt.BROW["L"], BROW_MM)]
    keep = np.ones(len(face), bool)
    for points, reach in features:
        distance = np.linalg.norm(face[:, None] - face[list(points)][None], axis=2).min(1)
        keep &= distance > reach
    return np.flatnonzero(keep)


def light_of_photo(rgb: np.ndarray, pixels: np.ndarray, normals: np.ndarray, skin: np.ndarray) -> Light:
    """The light on the face in ``rgb`` (uint8): ``pixels`` (V, 2) and unit ``normals`` (V, 3, camera axes) of the
    face mesh's points, of which ``skin`` (indices) are plain skin."""
    h, w = rgb.shape[:2]
    blurred = srgb_to_linear(cv2.GaussianBlur(rgb, (0, 0), 2.0).astype(np.float64) / 255.0)  # pores averaged out
    xy = np.round(pixels[skin]).astype(np.int64)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    if inside.sum() < 30:
        return FRONT_LIGHT
    colour = blurred[xy[inside, 1], xy[inside, 0]]
    luma = colour @ LUMA
    design = np.column_stack([np.ones(inside.sum()), normals[skin[inside]]])
    kept = np.ones(len(luma), bool)
    for _ in range(2):  # fit, then again without the points the light model explains worst (cast shadows)
        coef, *_ = np.linalg.lstsq(design[kept], luma[kept], rcond=None)
        error = np.abs(design @ coef - luma)
        kept = error <= np.quantile(error, KEEP_SHARE)
    base, toward = coef[0], coef[1:]
    strength = float(np.linalg.norm(toward))
    if base <= 0 or strength < 1e-6:
        return FRONT_LIGHT
    direction = toward / strength
    direction[2] = max(direction[2], MIN_FRONT)
    direction /= np.linalg.norm(direction)
    ambient = float(np.clip(base / (base + strength), *AMBIENT_RANGE))
    cast = np.median(colour[kept], axis=0) / srgb_to_linear(TYPICAL_SKIN)
    cast = np.sqrt(cast / cast.mean())
    return Light(direction, ambient, np.clip(cast / cast.mean(), *COLOUR_RANGE))


WHITES_PERCENTILE = 90  # the lit part of the eyes' whites: lids, lashes and the eye's curve shade the rest
MIN_WHITES_PX = 20


def whites_of_the_eyes(rgb: np.ndarray, pixels: np.ndarray) -> float | None:
    """How bright the whites of the eyes are in ``rgb`` (uint8), in linear luminance: the WHITES_PERCENTILE of
    the pixels inside both eye openings and outside the irises (``pixels``: MediaPipe's 478 points). None where
    too few are seen (closed or tiny eyes). Unlike the skin, the whites are close to one colour in everyone."""
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for side in ("R", "L"):
        opening = np.zeros_like(mask)
        cv2.fillPoly(opening, [np.round(pixels[list(mt.EYE_LOOP[side])]).astype(np.int32)], 1)
        centre, rim = pixels[mt.IRIS[side][0]], pixels[list(mt.IRIS[side][1:])]
        radius = float(np.linalg.norm(rim - centre, axis=1).mean())
        cv2.circle(opening, tuple(int(v) for v in np.round(centre)), int(np.ceil(1.1 * radius)), 0, -1)
        mask |= cv2.erode(opening, np.ones((3, 3), np.uint8))  # the lid's own edge left out
    if int(mask.sum()) < MIN_WHITES_PX:
        return None
    luminance = srgb_to_linear(rgb[mask > 0].astype(np.float64) / 255.0) @ LUMINANCE
    return float(np.percentile(luminance, WHITES_PERCENTILE))
