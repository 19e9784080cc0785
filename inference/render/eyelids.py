"""The closing eye: the lid skin that comes down over it, and the lash line along its edge.

A warped blink pulls the photo's upper lid down over the eye, but the photo shows only a few pixels of lid
between the brow and the lashes: stretched three or four times, they streak (the lashes drawn out into dark
bands), and MediaPipe's FaceLandmarker, a model of real faces, read a fully shut eye as half closed. Where the
lid has come down below where the photo has it, the lid is drawn instead: the skin around the eye, lit
as a lid curved over the eyeball (a sphere, EYEBALL_MM, around the iris) faces in the photo's light
(``lighting``), darker at its edge where it turns in under the lashes; the lash line itself is drawn along the
edge in the photo's lash colour. (The skin just above a photo's lashes was tried as the lid's colour: lashes,
eyeshadow and the crease's shadow made it grey-brown against the face; the cheeks' skin was too ruddy for it.)
"""

from __future__ import annotations

import cv2
import numpy as np

from ..colour.srgb import LUMINANCE, linear_to_srgb, srgb_to_linear
from ..rigs import mediapipe_topology as mt
from .framing import box_around, height_along
from .lighting import Light

EYEBALL_MM = 13.0
"""Radius of the lid's curve over the eye: the eyeball's (12 mm) and the lid's thickness."""
AROUND_EYE = (1.4, 2.0)
"""The skin around the eye, the lid's colour, lies between these multiples of the eye opening about its centre."""
SKIN_LUMA_PERCENTILES = (40, 90)
"""Of the pixels there, those between these luma percentiles are skin (not lashes, brow hairs or a glint)."""
LID_TONE = 0.95
"""The lid's skin against the skin around the eye: a little darker where it is thinnest."""
COVER_ABOVE = 0.3
"""The drawn lid reaches this share of its drop above the photo's lid edge (fading in), over the stretched
strip just above it."""
FADE_MM = 1.0  # the drawn lid fades in over at least this much at its top
EDGE_SHADE, EDGE_SHADE_MM = 0.3, 0.7  # the lid darkens toward its edge, where it turns in under the lashes
LASH_WIDTH_MM, LASH_OPACITY = 0.5, 0.85
LASH_FULL_DROP_MM = 1.0  # the lash line is drawn fully once the lid has come down this far


class EyelidPainter:
    """Draws one photo's upper lids where a frame has closed them further than the photo."""

    def __init__(self, source: np.ndarray, src_px: np.ndarray, px_per_mm: float, offset: float, light: Light):
        """``source``: the photo at output scale (``offset`` pixels of margin); ``src_px``: landmarks in output
        pixels as photographed; ``light``: the photo's light."""
        self.ppm = px_per_mm
        self.light = light
        facing = float(light.shading(np.array([0.0, 0.0, 1.0])))
        self.lid_albedo: dict[str, np.ndarray] = {}
        self.lash_colour: dict[str, np.ndarray] = {}
        for s in ("L", "R"):
            lid = src_px[list(mt.EYE_UPPER[s])] + offset
            xi = np.clip(lid[:, 0].astype(int), 0, source.shape[1] - 1)
            yi = np.clip(lid[:, 1].astype(int), 0, source.shape[0] - 1)
            self.lash_colour[s] = np.percentile(source[yi, xi].astype(np.float32), 20, axis=0) * 0.7
            loop = src_px[list(mt.EYE_UPPER[s]) + list(mt.EYE_LOWER[s][-2:0:-1])] + offset
            self.lid_albedo[s] = LID_TONE * _skin_around(source, loop) / facing

    def _shading(self, x: np.ndarray, y: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """The photo's light (ambient plus Lambert) on a lid curved over the eyeball centred under ``centre``."""
        radius = EYEBALL_MM * self.ppm
        u, v = np.broadcast_arrays((x - centre[0]) / radius, (centre[1] - y) / radius)  # camera axes: y up
        normal = np.stack([u, v, np.sqrt(np.clip(1.0 - u * u - v * v, 0.05, None))], axis=-1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        return self.light.shading(normal)

    def paint(self, frame: np.ndarray, dest: np.ndarray, turned: np.ndarray) -> None:
        """Draw the lids into ``frame`` (uint8 RGB, in place): ``dest`` is the frame's landmarks, ``turned`` the
        photographed ones moved by the head's rigid motion alone (where the lids are open as in the photo)."""
        for s in ("L", "R"):
            lid = dest[list(mt.EYE_UPPER[s])]
            open_lid = turned[list(mt.EYE_UPPER[s])]
            drop = lid[:, 1] - open_lid[:, 1]
            if drop.max() < 0.5:
                continue
            reach = max(COVER_ABOVE * drop.max(), FADE_MM * self.ppm)
            box = box_around(np.vstack([lid, open_lid - [0.0, reach]]), 2, frame.shape)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            xs = np.arange(x0, x1) + 0.5
            ys = (np.arange(y0, y1) + 0.5)[:, None]
            edge = height_along(lid, xs)  # the lid's edge now
            top = height_along(open_lid, xs)  # where the photo has it
            cover_above = np.maximum(COVER_ABOVE * np.clip(edge - top, 0.0, None), FADE_MM * self.ppm)
            start = top - 0.5 * cover_above
            fade_in = np.clip((ys - start) / cover_above, 0.0, 1.0)
            alpha = fade_in * np.clip(edge - ys + 0.5, 0.0, 1.0) * (edge - top > 0.25)
            corners = np.sort(lid[[0, -1], 0])
            alpha = alpha * np.clip(np.minimum(xs - corners[0], corners[1] - xs) + 0.5, 0.0, 1.0)[None, :]
            if alpha.max() <= 0.0:
                continue
            shading = self._shading(xs[None, :], ys, turned[mt.IRIS[s][0]])
            under = np.clip(edge - ys, 0.0, None) / self.ppm  # mm above the lid's edge
            shading = shading * (1.0 - EDGE_SHADE * np.exp(-under / EDGE_SHADE_MM))
            skin = linear_to_srgb(self.lid_albedo[s] * shading[..., None]) * 255.0
            region = frame[y0:y1, x0:x1].astype(np.float32)
            region += (skin - region) * alpha[..., None]
            lash = np.zeros(region.shape[:2], np.uint8)
            points = [np.round((lid - [x0, y0]) * 16).astype(np.int32)]
            cv2.polylines(lash, points, False, 255, max(1, round(LASH_WIDTH_MM * self.ppm)), cv2.LINE_AA, 4)
            lash = cv2.GaussianBlur(lash.astype(np.float32) / 255.0, (0, 0), max(0.3 * self.ppm, 0.4))
            amount = LASH_OPACITY * float(np.clip(drop.max() / (LASH_FULL_DROP_MM * self.ppm), 0.0, 1.0))
            region += (self.lash_colour[s] - region) * (lash * amount)[..., None]
            frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _skin_around(source: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """The colour (linear RGB) of the skin around an eye whose opening is ``loop`` (source pixels)."""
    centre = loop.mean(0)
    inner, outer = (centre + k * (loop - centre) for k in AROUND_EYE)
    box = box_around(outer, 1, source.shape)
    if box is None:
        return np.full(3, 0.5)
    x0, y0, x1, y1 = box
    ring = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(ring, [np.round((outer - [x0, y0]) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    cv2.fillPoly(ring, [np.round((inner - [x0, y0]) * 16).astype(np.int32)], 0, cv2.LINE_8, 4)
    ys, xs = np.nonzero(ring)
    if len(ys) < 4:
        return np.full(3, 0.5)
    colour = srgb_to_linear(source[ys + y0, xs + x0].astype(np.float64) / 255.0)
    luma = colour @ LUMINANCE
    low, high = np.percentile(luma, SKIN_LUMA_PERCENTILES)
    return np.median(colour[(luma >= low) & (luma <= high)], axis=0)
