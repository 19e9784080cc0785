"""Gaussian smoothing of motion curves: what ``scipy.ndimage.gaussian_filter1d`` computes, without its import.

Importing scipy.ndimage costs 0.2-0.45 s (it pulls in scipy.special and the array-API layer), a third of a
cold ``vividtalk animate`` on a short line, for a handful of short 1-D smoothings. This is the same filter
(the same truncated, normalised kernel and edge modes, float64 inside, the result in the input's dtype) as one
product of the padded curve's sliding windows with the kernel; only the order of the additions differs, so
the numbers agree with scipy's to the last bits (tests/test_smoothing.py).
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# scipy.ndimage's edge modes, by np.pad's names
_PAD_MODES: dict[str, Literal["symmetric", "edge"]] = {"reflect": "symmetric", "nearest": "edge"}


@functools.lru_cache(maxsize=64)
def _weights(sigma: float, truncate: float) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    weights = phi / phi.sum()
    weights.flags.writeable = False
    return weights


def gaussian_smooth(values: np.ndarray, sigma: float, axis: int = -1, mode: str = "reflect",
                    truncate: float = 4.0) -> np.ndarray:
    """``values`` smoothed along ``axis`` by a Gaussian of ``sigma`` samples, cut at ``truncate`` sigmas;
    ``mode``: how the curve continues past its ends, "reflect" (mirrored) or "nearest" (held)."""
    x = np.asarray(values)
    weights = _weights(float(sigma), float(truncate))
    radius = len(weights) // 2
    line = np.moveaxis(x, axis, -1).astype(np.float64)
    padded = np.pad(line, [(0, 0)] * (line.ndim - 1) + [(radius, radius)], mode=_PAD_MODES[mode])
    out = sliding_window_view(padded, len(weights), axis=-1) @ weights
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return np.moveaxis(out, -1, axis).astype(dtype, copy=False)
