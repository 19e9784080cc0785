"""sRGB's encoding and luminance (IEC 61966-2-1, ITU-R BT.709): photos store encoded values, light adds linearly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
"""Weights of linear-light R, G, B in luminance (sRGB's primaries, ITU-R BT.709)."""
LUMA = np.array([0.299, 0.587, 0.114])
"""Weights of R, G, B in luma as video and JPEG weigh them (ITU-R BT.601): a quick brightness of stored values."""


def srgb_to_linear(values: ArrayLike) -> np.ndarray:
    """Linear light of sRGB-encoded values in 0..1: what shading multiplies."""
    v = np.asarray(values, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: ArrayLike) -> np.ndarray:
    """sRGB-encoded values in 0..1 of linear light: what an image stores."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)
