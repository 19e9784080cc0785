"""Triangles rasterised with array operations: which pixels each triangle covers, and where in it.

Python loops over tens of thousands of triangles (one OpenCV fill each) cost about 10 µs a triangle; here every
triangle's bounding box is expanded into candidate pixels at once and tested with its barycentric coordinates,
in pieces that keep memory bounded. The result lists every (pixel, triangle) pair, so a caller picks what it
needs: any owner (a UV layout, where triangles do not overlap) or the nearest one (a depth buffer).

Pixel (x, y) is the unit square whose centre is (x + 0.5, y + 0.5); a triangle covers the pixels whose centre
lies inside it, or within ``pad`` pixels of its edges (``pad = 0.5`` closes the cracks between neighbours that
texture filtering would otherwise find).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANDIDATES_PER_PIECE = 1 << 20
"""Candidate pixels tested at once (about 40 MB of temporaries)."""


@dataclass(frozen=True)
class Coverage:
    """Pixels covered by triangles: row ``ys``, column ``xs``, the ``triangle`` index and the barycentric
    coordinates (n, 3) of the pixel centre in it (clipped onto the triangle and summing to one)."""

    ys: np.ndarray
    xs: np.ndarray
    triangle: np.ndarray
    bary: np.ndarray

    def __len__(self) -> int:
        return len(self.ys)

    def take(self, keep: np.ndarray) -> Coverage:
        return Coverage(self.ys[keep], self.xs[keep], self.triangle[keep], self.bary[keep])

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Per-vertex-of-triangle values (T, 3, ...) interpolated at each covered pixel: (n, ...)."""
        corner = values[self.triangle]
        # written out: einsum over float32 weights and float64 values took three times as long
        weight = self.bary.astype(np.result_type(corner.dtype, np.float32))
        weight = weight.reshape(len(weight), 3, *(1,) * (corner.ndim - 2))
        return corner[:, 0] * weight[:, 0] + corner[:, 1] * weight[:, 1] + corner[:, 2] * weight[:, 2]


def signed_areas(triangles: np.ndarray) -> np.ndarray:
    """(T,) signed areas of triangles (T, 3, >=2) in the plane of their first two coordinates: the sign says which
    way round their corners run, so a triangle turned over between two poses changes sign."""
    tri = np.asarray(triangles, np.float64)
    e1, e2 = tri[:, 1, :2] - tri[:, 0, :2], tri[:, 2, :2] - tri[:, 0, :2]
    return 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


def cover(triangles_xy: np.ndarray, shape: tuple[int, int], pad: float = 0.0) -> Coverage:
    """Every pixel of an image of ``shape`` (rows, columns) covered by each triangle of ``triangles_xy`` (T, 3, 2)
    in pixel units; degenerate triangles cover nothing."""
    tri = np.asarray(triangles_xy, np.float64)
    h, w = shape
    a = tri[:, 0]
    e1, e2 = tri[:, 1] - a, tri[:, 2] - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    lo = np.ceil(tri.min(1) - 0.5 - pad).astype(np.int64)
    hi = np.floor(tri.max(1) - 0.5 + pad).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [w - 1, h - 1])
    size = np.maximum(hi - lo + 1, 0)
    count = size[:, 0] * size[:, 1]
    usable = np.flatnonzero((np.abs(det) > 1e-12) & (count > 0))
    inv_det = 1.0 / np.where(np.abs(det) > 1e-12, det, 1.0)
    if pad > 0:
        # the distance from a point to each edge is its barycentric coordinate times that edge's height
        lengths = np.linalg.norm(tri[:, [1, 2, 0]] - tri[:, [2, 0, 1]], axis=2)  # edge opposite each corner
        heights = np.abs(det)[:, None] / np.maximum(lengths, 1e-12)
        slack = pad / np.maximum(heights, 1e-12)  # the pad in barycentric units, per corner

    parts = []
    for piece in _pieces(usable, count):
        n = count[piece]
        owner = np.repeat(piece, n)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
        width = size[owner, 0]
        row, col = np.divmod(offset, width)
        xs = lo[owner, 0] + col
        ys = lo[owner, 1] + row
        px, py = xs + (0.5 - a[owner, 0]), ys + (0.5 - a[owner, 1])
        inv = inv_det[owner]
        v = (px * e2[owner, 1] - py * e2[owner, 0]) * inv
        u = (py * e1[owner, 0] - px * e1[owner, 1]) * inv
        w = 1.0 - v - u
        if pad > 0:
            inside = (w >= -slack[owner, 0]) & (v >= -slack[owner, 1]) & (u >= -slack[owner, 2])
        else:
            inside = (w >= 0) & (v >= 0) & (u >= 0)
        bary = np.column_stack([w[inside], v[inside], u[inside]])
        if pad > 0:  # pixels in the pad lie outside: their coordinates are moved onto the triangle
            bary = np.clip(bary, 0, None)
            bary /= bary.sum(1, keepdims=True)
        parts.append((ys[inside], xs[inside], owner[inside], bary.astype(np.float32)))
    if not parts:
        empty = np.zeros(0, np.int64)
        return Coverage(empty, empty, empty, np.zeros((0, 3), np.float32))
    return Coverage(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def one_per_pixel(coverage: Coverage, shape: tuple[int, int], depth: np.ndarray | None = None) -> Coverage:
    """One entry per covered pixel: the triangle with the largest ``depth`` (n,) there (the nearest surface when
    depth grows toward the viewer), or any one of them without ``depth`` (neighbours sharing an edge)."""
    flat = coverage.ys * shape[1] + coverage.xs
    candidates = np.arange(len(coverage))
    if depth is not None and len(coverage):
        best = np.full(shape[0] * shape[1], -np.inf)
        np.maximum.at(best, flat, depth)
        candidates = np.flatnonzero(depth >= best[flat])
    owner = np.full(shape[0] * shape[1], -1, np.int64)
    owner[flat[candidates]] = candidates  # where several write one pixel, exactly one of them stays
    return coverage.take(candidates[owner[flat[candidates]] == candidates])


def _pieces(triangles: np.ndarray, count: np.ndarray) -> list[np.ndarray]:
    """``triangles`` split into runs whose candidate pixels add up to about CANDIDATES_PER_PIECE."""
    if not len(triangles):
        return []
    total = np.cumsum(count[triangles])
    cuts = np.searchsorted(total, np.arange(CANDIDATES_PER_PIECE, total[-1], CANDIDATES_PER_PIECE))
    return [p for p in np.split(triangles, cuts) if len(p)]
