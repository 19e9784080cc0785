"""Optional two layers: the person, warped, over a still background plate, so the background never bends.

The plate is the photo with a band just inside the person's silhouette around the head inpainted from the
background (Telea), made once; each frame moves the person's matte (MediaPipe selfie segmentation) with the
same backward map as the pixels and composites. The price: a faint halo where the matte is soft (hair).
"""

from __future__ import annotations

import cv2
import numpy as np

PLATE_BAND_FACE_WIDTHS = 0.25
"""How deep inside the silhouette the plate is filled in: as far as the head may uncover the background."""


class BackgroundLayers:
    def __init__(self, source: np.ndarray, person: np.ndarray, face_width_px: float, chin_y_px: float,
                 margin: int, size: int):
        """``source``: the photo at output scale with ``margin``; ``person``: its matte (same size, 0-1);
        ``face_width_px``/``chin_y_px``: in source-image pixels."""
        inside = (person > 0.5).astype(np.uint8)
        reach = max(3, round(PLATE_BAND_FACE_WIDTHS * face_width_px))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        band = inside & ~cv2.erode(inside, kernel).astype(bool)
        band[int(min(max(chin_y_px, 0), band.shape[0])):] = False  # the head's surroundings, not the shoulders
        band = cv2.dilate(band.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))  # and the matte's soft rim
        plate = cv2.inpaint(np.ascontiguousarray(source), band, 5, cv2.INPAINT_TELEA)
        self.plate = plate[margin:margin + size, margin:margin + size].astype(np.float32)
        self.matte = np.ascontiguousarray(person, dtype=np.float32)

    def composite(self, frame: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """``frame`` (the warped photo) over the plate, through the matte warped by the same ``backward`` map
        (source-image pixel indices)."""
        alpha = cv2.remap(self.matte, backward[..., 0], backward[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)[..., None]
        out = self.plate + alpha * (frame.astype(np.float32) - self.plate)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
