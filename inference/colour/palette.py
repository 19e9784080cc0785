"""How much colour a photo holds, so what the renderer adds has no more: a black-and-white or toned portrait
(an old photograph, sepia, cyanotype) gets a mouth interior in its own tone, not red gums in a grey face.

A monochrome photo, however it was toned, has one chromaticity everywhere: every pixel is its grey times one
tint, so its share of red, green and blue (in linear light) does not change across the face. A colour photo's
does: lips, cheeks, brows, eyes and shadows differ. On the face of the colour portraits in ../shared/data the
90th percentile of that spread is 0.065-0.11; on the same photos made grey 0, sepia-toned 0.004-0.008, with 30 %
of their colour left 0.019-0.036.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .srgb import LUMINANCE, linear_to_srgb, srgb_to_linear

FULL_COLOUR_SPREAD = 0.06
"""The spread (90th percentile of each face pixel's chromaticity distance from the face's median, linear light) at
and above which a photo counts as in full colour, and what the renderer adds keeps its own colours; below it, they
keep that share of it."""
DARKEST = 0.05  # pixels darker than this sum of linear RGB carry no chromaticity worth reading (noise, JPEG)


@dataclass(frozen=True)
class Palette:
    """``colourfulness``: 0 (one tint everywhere) to 1 (full colour); ``tint``: the photo's median chromaticity
    as a linear-light RGB of luminance 1."""

    colourfulness: float
    tint: np.ndarray

    def apply(self, srgb: np.ndarray) -> np.ndarray:
        """``srgb`` (..., 3, sRGB-encoded 0-1) with its colour cut to the photo's: its own colours as far as
        the photo holds colour, for the rest its luminance in the photo's tint."""
        if self.colourfulness >= 1.0:
            return srgb
        linear = srgb_to_linear(srgb)
        toned = (linear @ LUMINANCE)[..., None] * self.tint
        return linear_to_srgb(toned + self.colourfulness * (linear - toned))


FULL_COLOUR = Palette(1.0, np.ones(3))


def palette_of(rgb: np.ndarray, face_outline_px: np.ndarray) -> Palette:
    """The palette of the photo ``rgb`` (uint8) read inside the face's outline (N, 2 pixels)."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(face_outline_px).astype(np.int32)], 1)
    linear = srgb_to_linear(rgb[mask > 0].astype(np.float64) / 255.0)
    total = linear.sum(axis=1)
    linear, total = linear[total > DARKEST], total[total > DARKEST]
    if len(linear) < 100:  # too little of the face to tell
        return FULL_COLOUR
    chromaticity = linear / total[:, None]
    median = np.median(chromaticity, axis=0)
    spread = float(np.percentile(np.linalg.norm(chromaticity - median, axis=1), 90))
    colourfulness = min(spread / FULL_COLOUR_SPREAD, 1.0)
    return Palette(colourfulness, median / float(median @ LUMINANCE))
