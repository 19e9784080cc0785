"""Per-vertex normals of a triangle mesh."""

from __future__ import annotations

import numpy as np


def vertex_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unit normals (V, 3) of ``points`` (V, 3): the area-weighted sum of their triangles' (T, 3) normals, which
    follow the right-hand rule of each triangle's winding."""
    a, b, c = (points[triangles[:, k]] for k in range(3))
    faces = np.cross(b - a, c - a)
    normals = np.zeros_like(points, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, triangles[:, corner], faces)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
