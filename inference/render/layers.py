"""Optional two layers: the person, warped, over a still background plate, so the background never bends.

The plate is the photo with the person's head (the silhouette above the chin) inpainted from the background
(Telea), made once; each frame moves the person's matte (MediaPipe selfie segmentation) with the same backward
map as the pixels and composites. The whole head, not a band inside its outline: on a turn of 25° the head
uncovers more background than a band a quarter of a face wide, and inpainting a band drew the skin and hair on
its inner edge into the plate, which then showed as a pale ghost beside the turned head. The price: a faint halo
where the matte is soft (hair).
"""

from __future__ import annotations

import cv2
import numpy as np


class BackgroundLayers:
    def __init__(self, source: np.ndarray, person: np.ndarray, chin_y_px: float, margin: int, size: int):
        """``source``: the photo at output scale with ``margin``; ``person``: its matte (same size, 0-1);
        ``chin_y_px``: in source-image pixels."""
        head = person > 0.5
        head[int(min(max(chin_y_px, 0), head.shape[0])):] = False  # the head, not the shoulders
        head = cv2.dilate(head.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))  # and the matte's soft rim
        plate = cv2.inpaint(np.ascontiguousarray(source), head, 5, cv2.INPAINT_TELEA)
        self.plate = plate[margin:margin + size, margin:margin + size].astype(np.float32)
        self.matte = np.ascontiguousarray(person, dtype=np.float32)

    def composite(self, frame: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """``frame`` (the warped photo) over the plate, through the matte warped by the same ``backward`` map
        (source-image pixel indices)."""
        alpha = cv2.remap(self.matte, backward[..., 0], backward[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)[..., None]
        out = self.plate + alpha * (frame.astype(np.float32) - self.plate)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
