"""Dense per-frame curves -> sparse editable keys within a stated error bound.

A key is a value and a slope; between two keys the curve is the cubic with those end values and slopes
(cubic Hermite). A Blender Bezier F-curve whose handles sit one third of the way to the neighbouring key
along each slope is exactly this curve, so what the animator edits is what we measured. The slopes are
fitted by least squares to the dense curve rather than fixed by a rule (PCHIP's flat extrema), so a key
on a flank can carry the peak next to it: about 40 % fewer keys for the same bound.

Reduction: greedy refinement (in every segment whose worst frame misses the curve by more than the bound,
add a key there; refit all slopes; repeat), then a removal pass that drops every key whose neighbourhood,
refitted without it, stays within the bound.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

BLENDSHAPE_TOLERANCE = 0.03  # ARKit units (0..1): 3 % of the full range
HEAD_TOLERANCE_DEG = 0.25
_REMOVAL_REACH = 2  # keys each side that are refitted when one is removed
_FIXED = 1e9  # weight that pins a slope in the least-squares fit


def hermite(frames: np.ndarray, values: np.ndarray, slopes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The cubic Hermite curve through keys at ``frames`` (slopes in value per unit of ``frames``), evaluated
    at ``at`` and held flat outside the keys."""
    frames, values, slopes = (np.asarray(a, np.float64) for a in (frames, values, slopes))
    if len(frames) == 1:
        return np.full(len(at), values[0])
    seg, h00, h10, h01, h11 = _basis(frames, np.clip(np.asarray(at, np.float64), frames[0], frames[-1]))
    return h00 * values[seg] + h10 * slopes[seg] + h01 * values[seg + 1] + h11 * slopes[seg + 1]


def reduce_keys(curve: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Frames to key (indices) and their slopes (value per frame) so that the Hermite curve through them
    stays within ``tolerance`` of ``curve`` on every frame."""
    y = np.asarray(curve, np.float64)
    n = len(y)
    if n <= 2 or np.ptp(y) <= tolerance:
        keys = np.arange(n) if n <= 2 else np.array([0, n - 1])
        return keys, (np.full(len(keys), (y[-1] - y[0]) / max(n - 1, 1)) if n == 2 else np.zeros(len(keys)))
    keys = np.array([0, n - 1])
    slopes = _fit_slopes(y, keys)
    for _ in range(64):
        err = np.abs(hermite(keys, y[keys], slopes, np.arange(n)) - y)
        seg = np.clip(np.searchsorted(keys, np.arange(n), side="right") - 1, 0, len(keys) - 2)
        order = np.lexsort((-err, seg))
        worst = order[np.r_[True, seg[order][1:] != seg[order][:-1]]]
        add = np.setdiff1d(worst[err[worst] > tolerance], keys)
        if len(add) == 0:
            break
        keys = np.union1d(keys, add)
        slopes = _fit_slopes(y, keys)
    return _remove_redundant(y, keys, slopes, tolerance)


def sparse_keys(curve: np.ndarray, fps: float, tolerance: float) -> list[list[float]]:
    """``[[time, value, slope per second], ...]`` for a curve sampled at ``fps``: the clip's key format."""
    y = np.asarray(curve, np.float64)
    idx, slopes = reduce_keys(y, tolerance)
    return [[round(float(i / fps), 5), round(float(y[i]), 5), round(float(m * fps), 5)]
            for i, m in zip(idx, slopes, strict=True)]


def _remove_redundant(y: np.ndarray, keys: np.ndarray, slopes: np.ndarray,
                      tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    keys, slopes = [int(k) for k in keys], [float(m) for m in slopes]
    spans = _SpanBasis()
    i = 1
    while i < len(keys) - 1:
        lo, hi = max(0, i - _REMOVAL_REACH), min(len(keys) - 1, i + _REMOVAL_REACH)
        window = keys[lo:i] + keys[i + 1:hi + 1]
        first = slopes[lo] if lo > 0 else None
        last = slopes[hi] if hi < len(keys) - 1 else None
        fitted = spans.refit(y, window, first, last, tolerance)
        if fitted is not None:
            keys[lo:hi + 1] = window
            slopes[lo:hi + 1] = fitted
        else:
            i += 1
    return np.array(keys), np.array(slopes)


class _SpanBasis:
    """The removal pass's small refits (a handful of keys, tens of frames), done without per-frame
    searches: the Hermite basis of a segment depends only on its length, so it is built once per length."""

    def __init__(self) -> None:
        self._by_length: dict[int, tuple[np.ndarray, ...]] = {}

    def _basis(self, length: int) -> tuple[np.ndarray, ...]:
        if length not in self._by_length:
            t = np.arange(length + 1, dtype=np.float64) / length
            t2, t3 = t * t, t * t * t
            a, b = (t3 - 2 * t2 + t) * length, (t3 - t2) * length
            self._by_length[length] = (2 * t3 - 3 * t2 + 1, -2 * t3 + 3 * t2, a, b,
                                       np.array([a @ a, a @ b, b @ b]))
        return self._by_length[length]

    def refit(self, y: np.ndarray, window: list[int], first: float | None, last: float | None,
              tolerance: float) -> list[float] | None:
        """Least-squares slopes at the ``window`` keys (``first``/``last`` pinned when given), or None when
        the refitted curve leaves ``tolerance`` somewhere in the window."""
        k = len(window)
        diag, off, rhs = [1e-9] * k, [0.0] * (k - 1), [0.0] * k
        parts = []
        for j in range(k - 1):
            k0, k1 = window[j], window[j + 1]
            h00, h01, a, b, gram = self._basis(k1 - k0)
            base = h00 * y[k0] + h01 * y[k1]
            r = y[k0:k1 + 1] - base
            diag[j] += gram[0]
            off[j] += gram[1]
            diag[j + 1] += gram[2]
            rhs[j] += float(a @ r)
            rhs[j + 1] += float(b @ r)
            parts.append((r, a, b))
        for pos, slope in ((0, first), (k - 1, last)):
            if slope is not None:
                diag[pos] += _FIXED
                rhs[pos] += _FIXED * slope
        m = _solve_tridiagonal(diag, off, rhs)
        for j, (r, a, b) in enumerate(parts):
            if np.abs(r - a * m[j] - b * m[j + 1]).max() > tolerance:
                return None
        return m


def _solve_tridiagonal(diag: list[float], off: list[float], rhs: list[float]) -> list[float]:
    """Symmetric tridiagonal solve (Thomas algorithm) on plain floats: the systems here have 2-4 unknowns."""
    n = len(diag)
    c, d = [0.0] * n, [0.0] * n
    c[0], d[0] = (off[0] / diag[0] if n > 1 else 0.0), rhs[0] / diag[0]
    for j in range(1, n):
        denom = diag[j] - off[j - 1] * c[j - 1]
        c[j] = off[j] / denom if j < n - 1 else 0.0
        d[j] = (rhs[j] - off[j - 1] * d[j - 1]) / denom
    for j in range(n - 2, -1, -1):
        d[j] -= c[j] * d[j + 1]
    return d


def _basis(frames: np.ndarray, x: np.ndarray):
    seg = np.clip(np.searchsorted(frames, x, side="right") - 1, 0, len(frames) - 2)
    x0 = frames[seg]
    dx = frames[seg + 1] - x0
    t = (x - x0) / dx
    t2, t3 = t * t, t * t * t
    return seg, 2 * t3 - 3 * t2 + 1, (t3 - 2 * t2 + t) * dx, -2 * t3 + 3 * t2, (t3 - t2) * dx


def _fit_slopes(y: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Least-squares slopes at ``keys`` (values fixed at the curve's) over the frames they span. Each frame
    touches two slopes: a tridiagonal system."""
    k = len(keys)
    x = np.arange(keys[0], keys[-1] + 1, dtype=np.float64)
    seg, h00, a, h01, b = _basis(keys.astype(np.float64), x)
    r = y[keys[0]:keys[-1] + 1] - (h00 * y[keys[seg]] + h01 * y[keys[seg + 1]])  # what the slopes explain
    banded = np.zeros((3, k))
    banded[1] = np.bincount(seg, a * a, k) + np.bincount(seg + 1, b * b, k) + 1e-9
    banded[0, 1:] = banded[2, :-1] = np.bincount(seg, a * b, k - 1)
    rhs = np.bincount(seg, a * r, k) + np.bincount(seg + 1, b * r, k)
    return solve_banded((1, 1), banded, rhs)
