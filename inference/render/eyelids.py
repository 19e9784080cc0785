"""The lash line of a closing eye.

A warped blink stretches the lid skin over the eye, which reads as closed but looks bald: past half
closed, a soft dark line along the upper lid edge (the lashes, coloured from the photo's own lid) and a
slight blur band over the stretched skin hide the streaks.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..rigs import mediapipe_topology as mt
from .framing import box_around

LASH_WIDTH_MM = 0.7
BLUR_BAND_MM = 1.5


class LashPainter:
    def __init__(self, source: np.ndarray, src_px: np.ndarray, px_per_mm: float, offset: float):
        """``source``: the photo at output scale (``offset`` pixels of margin); ``src_px``: landmarks in output
        pixels as photographed."""
        self.ppm = px_per_mm
        self.photo_gap = {s: max(_lid_gap(src_px, s), 1e-3) for s in ("L", "R")}
        self.colour = {}
        for s in ("L", "R"):
            lid = src_px[list(mt.EYE_UPPER[s])] + offset
            xi = np.clip(lid[:, 0].astype(int), 0, source.shape[1] - 1)
            yi = np.clip(lid[:, 1].astype(int), 0, source.shape[0] - 1)
            self.colour[s] = np.percentile(source[yi, xi].astype(np.float32), 20, axis=0) * 0.7

    def closure(self, dest: np.ndarray, side: str) -> float:
        """0 open as in the photo, 1 shut."""
        return float(np.clip(1.0 - _lid_gap(dest, side) / self.photo_gap[side], 0.0, 1.0))

    def paint(self, frame: np.ndarray, dest: np.ndarray) -> None:
        for s in ("L", "R"):
            amount = (self.closure(dest, s) - 0.5) * 2.0
            if amount <= 0:
                continue
            lid = dest[list(mt.EYE_UPPER[s])]
            box = box_around(lid, int(np.ceil(3 * BLUR_BAND_MM * self.ppm)) + 2, frame.shape)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            region = frame[y0:y1, x0:x1].astype(np.float32)
            pts = [np.round((lid - [x0, y0]) * 16).astype(np.int32)]
            band = np.zeros(region.shape[:2], np.uint8)
            cv2.polylines(band, pts, False, 255, max(1, round(2 * BLUR_BAND_MM * self.ppm)), cv2.LINE_AA, 4)
            band = cv2.GaussianBlur(band.astype(np.float32) / 255.0, (0, 0), max(0.5 * BLUR_BAND_MM * self.ppm, 0.5))
            blurred = cv2.GaussianBlur(region, (0, 0), max(0.35 * BLUR_BAND_MM * self.ppm, 0.5))
            region = region + (blurred - region) * (band * amount)[..., None]
            line = np.zeros(region.shape[:2], np.uint8)
            cv2.polylines(line, pts, False, 255, max(1, round(LASH_WIDTH_MM * self.ppm)), cv2.LINE_AA, 4)
            line = cv2.GaussianBlur(line.astype(np.float32) / 255.0, (0, 0), max(0.3 * self.ppm, 0.4))
            a = (line * amount)[..., None]
            region = region * (1.0 - a) + self.colour[s] * a
            frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _lid_gap(points: np.ndarray, side: str) -> float:
    upper, lower = mt.EYE_LID_CENTRE[side]
    return float(np.linalg.norm(points[upper, :2] - points[lower, :2]))
