"""Dense per-frame curves -> the fewest editable keys within a stated error bound.

A key is a value with an incoming and an outgoing slope; between two keys the curve is the cubic with those
end values and slopes (cubic Hermite). A Blender Bezier F-curve whose handles sit one third of the way to the
neighbouring key along each slope is exactly this curve, so what the animator edits is what we measured.

Each segment's two end slopes are fitted to the dense curve by least squares on their own, which makes the
segments independent: whether keys at frames i and j can carry everything between them is a local question,
answered for every (i, j) up to MAX_SPAN_S apart at once, and a shortest path through those answers
gives the fewest keys. On real speech at 0.03 that is 35-40 % fewer than the previous greedy reduction with
one shared slope per key. A key then keeps one smooth tangent (both slopes equal) wherever that still fits
both of its segments; the rest keep a corner, as Blender's free handles allow.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

BLENDSHAPE_TOLERANCE = 0.03  # ARKit units (0..1): 3 % of the full range
HEAD_TOLERANCE_DEG = 0.25
MAX_SPAN_S = 1.0  # longest segment the search considers; longer holds are merged afterwards
_CHUNK = 4096  # segment starts evaluated together (bounds memory on long clips)
_RIDGE = 1e-6  # pulls under-determined slopes (segments of 1-2 frames) toward the chord


def hermite(frames: np.ndarray, values: np.ndarray, slopes_out: np.ndarray, at: np.ndarray,
            slopes_in: np.ndarray | None = None) -> np.ndarray:
    """The cubic Hermite curve through keys at ``frames`` (slopes in value per unit of ``frames``; a segment
    leaves its first key along ``slopes_out`` and enters its last along ``slopes_in``, the same slopes when
    not given), evaluated at ``at`` and held flat outside the keys."""
    frames, values = np.asarray(frames, np.float64), np.asarray(values, np.float64)
    m_out = np.asarray(slopes_out, np.float64)
    m_in = m_out if slopes_in is None else np.asarray(slopes_in, np.float64)
    if len(frames) == 1:
        return np.full(len(at), values[0])
    x = np.clip(np.asarray(at, np.float64), frames[0], frames[-1])
    seg = np.clip(np.searchsorted(frames, x, side="right") - 1, 0, len(frames) - 2)
    dx = frames[seg + 1] - frames[seg]
    h00, h01, a, b = _basis((x - frames[seg]) / dx, dx)
    return h00 * values[seg] + h01 * values[seg + 1] + a * m_out[seg] + b * m_in[seg + 1]


def reduce_keys(curve: np.ndarray, tolerance: float, max_span: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames to key (indices) and each key's incoming and outgoing slope (value per frame), so that the
    Hermite curve through them stays within ``tolerance`` of ``curve`` on every frame. ``max_span``: the
    longest segment searched, in frames."""
    return reduce_many_keys([curve], tolerance, max_span)[0]


def reduce_many_keys(curves: list[np.ndarray], tolerance: float,
                     max_span: int = 30) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``reduce_keys`` of each curve; curves of one length are searched together, which on a clip's two dozen
    short channels costs little more than one of them."""
    ys = [np.asarray(c, np.float64) for c in curves]
    out: list = [None] * len(ys)
    searched = []
    for k, y in enumerate(ys):
        n = len(y)
        if n <= 2 or np.ptp(y) <= tolerance:
            keys = np.arange(n) if n <= 2 else np.array([0, n - 1])
            chord = (y[-1] - y[0]) / max(n - 1, 1) if n == 2 else 0.0
            out[k] = keys, np.full(len(keys), chord), np.full(len(keys), chord)
        else:
            searched.append(k)
    for n in {len(ys[k]) for k in searched}:
        group = [k for k in searched if len(ys[k]) == n]
        span = max(1, min(max_span, n - 1))
        stacked = np.stack([ys[k] for k in group])
        fits = _fit_table(stacked, tolerance, span)
        found = [_merge_holds(ys[k], keys, tolerance, max_span)
                 for k, keys in zip(group, _fewest_keys(fits), strict=True)]
        for k, keys, (m_out, m_in) in zip(group, found, _segment_slopes(stacked, found), strict=True):
            slopes_out = np.r_[m_out, m_in[-1]]  # a segment's start slope belongs to its first key
            slopes_in = np.r_[m_out[0], m_in]
            _smooth_corners(ys[k], keys, slopes_in, slopes_out, tolerance)
            out[k] = keys, slopes_in, slopes_out
    return out


def sparse_keys(curve: np.ndarray, fps: float, tolerance: float) -> list[list[float]]:
    """``[[time, value, slope in, slope out], ...]`` (slopes per second) for a curve sampled at ``fps``: the
    clip's key format."""
    return sparse_many_keys([curve], fps, tolerance)[0]


def sparse_many_keys(curves: list[np.ndarray], fps: float, tolerance: float) -> list[list[list[float]]]:
    """``sparse_keys`` of each curve, searched together (see ``reduce_many_keys``)."""
    ys = [np.asarray(c, np.float64) for c in curves]
    if not all(np.isfinite(y).all() for y in ys):  # inputs are checked where they enter; NaN would never converge
        raise ValueError("sparse_keys: the curve holds NaN or infinity")
    reduced = reduce_many_keys(ys, tolerance, max(2, round(MAX_SPAN_S * fps)))
    return [[[round(float(i / fps), 5), round(float(y[i]), 5), round(float(a * fps), 5) + 0.0,  # never -0.0
              round(float(b * fps), 5) + 0.0]
             for i, a, b in zip(idx, m_in, m_out, strict=True)]
            for y, (idx, m_in, m_out) in zip(ys, reduced, strict=True)]


def _basis(t: np.ndarray, dx):
    t2, t3 = t * t, t * t * t
    return 2 * t3 - 3 * t2 + 1, -2 * t3 + 3 * t2, (t3 - 2 * t2 + t) * dx, (t3 - t2) * dx


@functools.lru_cache(maxsize=512)
def _span_basis(length: int) -> np.ndarray:
    """h00, h01, a, b of a segment ``length`` frames long, sampled on its frames (rows); read-only."""
    basis = np.stack(_basis(np.arange(length + 1) / length, length))
    basis.flags.writeable = False
    return basis


def _least_squares_fit(y_windows: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For windows of ``length + 1`` frames (rows): the least-squares end slopes and the fitted cubic."""
    basis = _span_basis(length)
    h00, h01, a, b = basis
    first, last = y_windows[:, 0], y_windows[:, -1]
    chord = (last - first) / length
    # right-hand sides: what the slopes must explain (the curve minus the cubic with zero slopes), along a and b
    ra = y_windows @ a - first * (h00 @ a) - last * (h01 @ a) + _RIDGE * chord
    rb = y_windows @ b - first * (h00 @ b) - last * (h01 @ b) + _RIDGE * chord
    aa, ab, bb = a @ a + _RIDGE, a @ b, b @ b + _RIDGE
    det = aa * bb - ab * ab
    m0, m1 = (bb * ra - ab * rb) / det, (aa * rb - ab * ra) / det
    return m0, m1, np.column_stack([first, last, m0, m1]) @ basis


_OPERATOR_SPAN = 128  # segments up to this long are fitted through cached operators (5.6 MB for all of them)


@functools.lru_cache(maxsize=_OPERATOR_SPAN)
def _fit_operators(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Matrices that map windows of ``length + 1`` frames (rows) to their two least-squares end slopes and to
    what the fitted cubic misses on each inner frame (it meets both end frames exactly). The fit is linear in
    the window, so fitting the unit windows gives them; one product then replaces a dozen small array passes,
    which on a line's two dozen curves was most of the key search."""
    eye = np.eye(length + 1)
    m0, m1, fitted = _least_squares_fit(eye, length)
    slopes, miss = np.column_stack([m0, m1]), np.ascontiguousarray((eye - fitted)[:, 1:-1])
    slopes.flags.writeable = miss.flags.writeable = False
    return slopes, miss


def _end_slopes(y_windows: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares end slopes of windows of ``length + 1`` frames (rows)."""
    if length > _OPERATOR_SPAN:
        return _least_squares_fit(y_windows, length)[:2]
    slopes = y_windows @ _fit_operators(length)[0]
    return slopes[:, 0], slopes[:, 1]


def _fits(y_windows: np.ndarray, length: int, tolerance: float) -> np.ndarray:
    """Whether the fitted cubic of each window of ``length + 1`` frames (rows) stays within ``tolerance`` on
    every frame."""
    if length > _OPERATOR_SPAN:
        return np.abs(y_windows - _least_squares_fit(y_windows, length)[2]).max(axis=1) <= tolerance
    miss = y_windows @ _fit_operators(length)[1]
    return np.abs(miss, out=miss).max(axis=1, initial=0.0) <= tolerance


def _segment_slopes(curves: np.ndarray, keys: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each segment's fitted start and end slopes, per curve (rows of ``curves``, keyed at ``keys``);
    segments of one length solved together, across the curves."""
    owner = np.concatenate([np.full(len(k) - 1, c) for c, k in enumerate(keys)])
    starts = np.concatenate([k[:-1] for k in keys])
    lengths = np.concatenate([np.diff(k) for k in keys])
    m0, m1 = np.zeros(len(starts)), np.zeros(len(starts))
    for length in np.unique(lengths):
        pick = np.flatnonzero(lengths == length)
        windows = curves[owner[pick, None], starts[pick, None] + np.arange(length + 1)]
        m0[pick], m1[pick] = _end_slopes(windows, int(length))
    bounds = np.cumsum([0, *(len(k) - 1 for k in keys)])
    return [(m0[a:b], m1[a:b]) for a, b in itertools.pairwise(bounds)]


_TABLE_COLUMNS = 512  # inner frames of the lengths fitted in one product (bounds memory at high frame rates)


@functools.lru_cache(maxsize=8)
def _table_operators(span: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The miss operators of segment lengths 2..``span`` side by side, a few lengths per block: each block's
    lengths, its operator (rows: the longest window's frames, shorter ones padded with zero rows) and where each
    length's columns start."""
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lengths: list[int] = []
    width = 0
    for length in range(2, span + 2):
        if lengths and (length > span or width + length - 1 > _TABLE_COLUMNS):
            rows = lengths[-1] + 1
            operators = [np.pad(_fit_operators(m)[1], ((0, rows - m - 1), (0, 0))) for m in lengths]
            starts = np.cumsum([0, *(m - 1 for m in lengths[:-1])])
            blocks.append((np.array(lengths), np.hstack(operators), starts))
            lengths, width = [], 0
        lengths.append(length)
        width += length - 1
    return blocks


def _fit_table(curves: np.ndarray, tolerance: float, span: int) -> np.ndarray:
    """fits[c, L, i]: on curve ``c`` (rows of ``curves``), keys at frames i and i + L carry the frames between.

    Every start's longest window, copied once, times the operators of all lengths: one product per block of
    lengths and a maximum per length's columns."""
    count, n = curves.shape
    fits = np.zeros((count, span + 1, n), bool)
    fits[:, 1, :n - 1] = True  # two frames: the cubic meets both
    windows = sliding_window_view(np.pad(curves, ((0, 0), (0, span))), span + 1, axis=1)[:, :n]
    chunk = max(16, _CHUNK // count)  # starts per piece, all curves at once (bounds memory on long clips)
    for lengths, operator, starts in _table_operators(span):
        rows = operator.shape[0]
        for c in range(0, n, chunk):
            piece = windows[:, c:c + chunk, :rows]
            miss = piece.reshape(-1, rows) @ operator
            worst = np.maximum.reduceat(np.abs(miss, out=miss), starts, axis=1) <= tolerance
            fits[:, lengths, c:c + piece.shape[1]] = worst.reshape(count, -1, len(lengths)).transpose(0, 2, 1)
    for length in range(2, span + 1):
        fits[:, length, max(n - length, 0):] = False  # windows that run past the last frame (zero padding)
    return fits


def _fewest_keys(fits: np.ndarray) -> list[np.ndarray]:
    """Per curve, the shortest path from the first frame to the last through ``fits`` (a ``_fit_table``), a
    step being any segment that fits: breadth first, one key count at a time, all curves together."""
    count, _, n = fits.shape
    came_from = np.full((count, n), -1, np.int64)
    came_from[:, 0] = 0
    curve, frame = np.arange(count), np.zeros(count, np.int64)  # the frames a key count reaches first
    while len(curve):
        row, lengths = np.nonzero(fits[curve, :, frame])
        owner, ends, origins = curve[row], frame[row] + lengths, frame[row]
        new = came_from[owner, ends] < 0
        latest = np.full((count, n), -1, np.int64)  # the latest origin of each newly reached frame: the shortest step
        np.maximum.at(latest, (owner[new], ends[new]), origins[new])
        curve, frame = np.nonzero(latest >= 0)
        came_from[curve, frame] = latest[curve, frame]
        searching = came_from[curve, n - 1] < 0  # a curve whose last frame is reached is done
        curve, frame = curve[searching], frame[searching]
    found = []
    for path in came_from:
        keys = [n - 1]
        while keys[-1] > 0:
            keys.append(int(path[keys[-1]]))
        found.append(np.array(keys[::-1]))
    return found


def _merge_holds(y: np.ndarray, keys: np.ndarray, tolerance: float, max_span: int) -> np.ndarray:
    """Drop keys between segments that fit as one beyond the searched span (long holds, rests)."""
    kept = [int(keys[0])]
    for k in range(1, len(keys) - 1):
        a, b = kept[-1], int(keys[k + 1])
        if b - a > max_span and _fits(y[None, a:b + 1], b - a, tolerance)[0]:
            continue
        kept.append(int(keys[k]))
    return np.array([*kept, int(keys[-1])])


def _smooth_corners(y: np.ndarray, keys: np.ndarray, m_in: np.ndarray, m_out: np.ndarray,
                    tolerance: float) -> None:
    """Give each inner key one tangent where both of its segments still fit with it: the least-squares
    slope over the two segments, the outer slopes held; in place."""
    for k in range(1, len(keys) - 1):
        a, c, b = keys[k - 1], keys[k], keys[k + 1]
        h00, h01, al, bl = _span_basis(int(c - a))
        left = y[a:c + 1] - h00 * y[a] - h01 * y[c] - al * m_out[k - 1]  # what the shared slope explains
        h00, h01, ar, br = _span_basis(int(b - c))
        right = y[c:b + 1] - h00 * y[c] - h01 * y[b] - br * m_in[k + 1]
        slope = (bl @ left + ar @ right) / (bl @ bl + ar @ ar + _RIDGE)
        if max(np.abs(left - bl * slope).max(), np.abs(right - ar * slope).max()) <= tolerance:
            m_in[k] = m_out[k] = slope
