"""Dense per-frame curves -> sparse editable keys within a stated error bound.

Keys are interpolated with monotone cubic Hermite splines (PCHIP: Fritsch-Carlson tangents, flat at
extrema, no overshoot). A Blender F-curve reproduces that exactly with Bezier handles at one third of
each interval along the PCHIP tangent, so what the animator edits is what we measured. Greedy
refinement: start from the ends, then, in every interval whose worst frame misses the curve by more
than the bound, add a key at that frame, until every frame is within the bound.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

BLENDSHAPE_TOLERANCE = 0.03  # ARKit units (0..1): 3 % of the full range
HEAD_TOLERANCE_DEG = 0.25


def key_slopes(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """PCHIP tangents (value per unit of ``times``) at the keys, for Bezier handles elsewhere (Blender)."""
    if len(times) < 2:
        return np.zeros(len(times))
    return PchipInterpolator(times, values).derivative()(times)


def evaluate_keys(frames: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """PCHIP through the keys, held flat outside them."""
    if len(frames) == 1:
        return np.full(len(at), values[0], np.float64)
    return PchipInterpolator(frames, values, extrapolate=False)(np.clip(at, frames[0], frames[-1]))


def reduce_keys(curve: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the frames to key so that PCHIP through them stays within ``tolerance`` of ``curve``."""
    n = len(curve)
    if n <= 2:
        return np.arange(n)
    y = np.asarray(curve, np.float64)
    x = np.arange(n, dtype=np.float64)
    if np.ptp(y) <= tolerance:
        return np.array([0, n - 1])
    keys = np.array([0, n - 1])
    for _ in range(64):
        err = np.abs(evaluate_keys(x[keys], y[keys], x) - y)
        # worst frame of every interval between consecutive keys
        seg = np.searchsorted(keys, np.arange(n), side="right") - 1
        order = np.lexsort((-err, seg))
        first = np.r_[True, seg[order][1:] != seg[order][:-1]]
        worst = order[first]
        add = worst[err[worst] > tolerance]
        if len(add) == 0:
            break
        keys = np.union1d(keys, add)
    return keys
