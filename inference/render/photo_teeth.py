"""The teeth a photo shows between its lips: which pixels are teeth, and where its upper incisors end.

A portrait with parted lips shows some of its own teeth. They are the real thing and are kept where they land
(``mouth``); the rest of the photo's mouth (the dark gap, the lips' wet inner rim) gives way to the 3-D
interior, which is lined up so that its upper incisors end where the photo's do (``mouth_geometry``).
Teeth are told from lips and cavity as a tooth-shade survey would: bright (near the skin's luminance or more)
and near white (far less saturated than skin).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..colour.srgb import LUMA

TEETH_LUMA = (0.55, 0.8)  # of the skin's luminance: not teeth below the first, surely teeth above the second
TEETH_CHROMA = (0.7, 0.4)  # of the skin's chroma: not teeth above the first, surely below the second
MIDLINE_HALF_WIDTH_MM = 3.0  # columns either side of the lips' midpoint read for the incisors' edge (both central ones)
MIN_RUN_MM = 1.0  # a run of tooth rows shorter than this is a glint, not a tooth
START_MM = 5.0  # the face mesh puts the inner-lip point up to 4-5 mm above where a smile's upper lip meets the teeth
SHARE_OF_ROW = 0.5  # a row belongs to a tooth when this share of its midline pixels is tooth-like
CROWN_MM = 11.0  # an upper central incisor's crown: a longer run of tooth rows holds lower teeth too


def teeth_likeness(rgb: np.ndarray, skin_rgb: np.ndarray) -> np.ndarray:
    """0-1 per pixel of ``rgb`` (..., 3, uint8 or 0-255 floats): how surely it shows a tooth, against the
    skin's colour ``skin_rgb`` (3, 0-255)."""
    x = np.asarray(rgb, np.float32) / 255.0
    skin = np.asarray(skin_rgb, np.float64) / 255.0
    skin_luma = max(float(skin @ LUMA), 0.05)
    skin_chroma = max(float(skin.max() - skin.min()), 0.05)
    luma = (x @ LUMA.astype(np.float32)) / skin_luma
    chroma = (x.max(axis=-1) - x.min(axis=-1)) / skin_chroma
    bright = np.clip((luma - TEETH_LUMA[0]) / (TEETH_LUMA[1] - TEETH_LUMA[0]), 0.0, 1.0)
    white = np.clip((TEETH_CHROMA[0] - chroma) / (TEETH_CHROMA[0] - TEETH_CHROMA[1]), 0.0, 1.0)
    return bright * white


def upper_teeth_edge(rgb: np.ndarray, upper: np.ndarray, lower: np.ndarray, skin_rgb: np.ndarray,
                     px_per_mm: float) -> float | None:
    """Where the photo's upper incisors end (the row, in ``rgb``'s pixels) under the middle of the upper lip, or
    None where the photo shows no upper teeth there. ``upper``/``lower``: the inner lips' middle points
    (x, y pixels)."""
    upper, lower = np.asarray(upper, np.float64), np.asarray(lower, np.float64)
    gap = float(lower[1] - upper[1])
    if gap < MIN_RUN_MM * px_per_mm:
        return None
    half = max(1, round(MIDLINE_HALF_WIDTH_MM * px_per_mm))
    mid = round(0.5 * (upper[0] + lower[0]))
    top, bottom = int(np.floor(upper[1])), int(np.ceil(lower[1]))
    h, w = rgb.shape[:2]
    if mid - half < 0 or mid + half >= w or top < 0 or bottom >= h:
        return None
    strip = cv2.GaussianBlur(rgb[top:bottom + 1, mid - half:mid + half + 1].astype(np.float32), (3, 3), 0)
    rows = (teeth_likeness(strip, skin_rgb) > 0.5).mean(axis=1) >= SHARE_OF_ROW
    first = np.flatnonzero(rows[:round(START_MM * px_per_mm) + 1])  # the upper teeth start right under the lip
    if not len(first):
        return None
    run_end = first[0]
    while run_end + 1 < len(rows) and rows[run_end + 1]:
        run_end += 1
    if run_end - first[0] + 1 < MIN_RUN_MM * px_per_mm:
        return None
    # in most smiles the upper incisors end on the lower lip, which hides the lower teeth; where lower teeth
    # show and meet them, the upper ones end at most a crown's length down
    return float(top + min(run_end + 1, first[0] + CROWN_MM * px_per_mm))
