"""Peaks of a curve with a minimum spacing and prominence: what ``scipy.signal.find_peaks(x, distance=...,
prominence=...)`` returns (tests/test_keys_and_clip.py holds the two equal), written here because importing
scipy.signal costs half a second, more than half of a cold ``vividtalk animate`` on a short line.

A peak is a sample higher than both neighbours (the middle of a flat top). Closer peaks than ``distance``: the
higher one stays. A peak's prominence is its height above the higher of the two lowest points between it and
the nearest higher sample on each side (or the curve's end).
"""

from __future__ import annotations

import math

import numpy as np


def find_peaks(x: np.ndarray, distance: float, min_prominence: float) -> tuple[np.ndarray, np.ndarray]:
    """(peak indices, their prominences) of ``x``, spaced at least ``distance`` samples, prominent at least
    ``min_prominence``."""
    x = np.asarray(x, np.float64)
    peaks = _local_maxima(x)
    peaks = peaks[_spaced(peaks, x[peaks], math.ceil(distance))]
    prominence = _prominences(x, peaks)
    keep = prominence >= min_prominence
    return peaks[keep], prominence[keep]


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """Samples above both neighbours; a flat top counts once, at its middle (its left half when even)."""
    if len(x) < 3:
        return np.zeros(0, np.int64)
    change = np.flatnonzero(np.diff(x))  # x[i] != x[i + 1]
    if not len(change):
        return np.zeros(0, np.int64)
    # runs of equal values: run k spans change[k-1]+1 .. change[k]
    starts = np.concatenate([[0], change + 1])
    ends = np.concatenate([change, [len(x) - 1]])
    value = x[starts]
    inner = np.arange(1, len(starts) - 1)
    top = inner[(value[inner] > value[inner - 1]) & (value[inner] > value[inner + 1])]
    return (starts[top] + ends[top]) // 2


def _spaced(peaks: np.ndarray, height: np.ndarray, distance: int) -> np.ndarray:
    """Which peaks stay when, highest first, each removes the lower ones nearer than ``distance`` (of two equal
    heights the earlier goes first; scipy leaves that order to its sort)."""
    keep = np.ones(len(peaks), bool)
    for j in np.lexsort((np.arange(len(peaks)), -height)):
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < len(peaks) and peaks[k] - peaks[j] < distance:
            keep[k] = False
            k += 1
    return keep


def _prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    if not len(peaks):
        return np.zeros(0)
    left = _nearest_higher(x, peaks, reverse=False)
    right = _nearest_higher(x, peaks, reverse=True)
    lowest_left = _range_min(x, left + 1, peaks)
    lowest_right = _range_min(x, peaks, right - 1)
    return x[peaks] - np.maximum(lowest_left, lowest_right)


def _nearest_higher(x: np.ndarray, peaks: np.ndarray, reverse: bool) -> np.ndarray:
    """For each peak, the index of the nearest sample strictly higher before it (after it with ``reverse``),
    or -1 (len(x)) where there is none: one pass with a stack of ever higher samples."""
    n = len(x)
    order = range(n - 1, -1, -1) if reverse else range(n)
    wanted = set(peaks.tolist())
    found: dict[int, int] = {}
    stack: list[int] = []
    for i in order:
        while stack and x[stack[-1]] <= x[i]:
            stack.pop()
        if i in wanted:
            found[i] = stack[-1] if stack else (n if reverse else -1)
        stack.append(i)
    return np.array([found[int(p)] for p in peaks], np.int64)


def _range_min(x: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """min(x[first[k] : last[k] + 1]) for every k (each range non-empty)."""
    bounds = np.empty(2 * len(first), np.int64)
    bounds[0::2], bounds[1::2] = first, last + 1
    padded = np.append(x, np.inf)  # so last + 1 may be len(x)
    return np.minimum.reduceat(padded, bounds)[0::2]
