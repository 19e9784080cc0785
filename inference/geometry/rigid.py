"""The rigid motion between two sets of corresponding points (Kabsch): shared by the renderer (the head's
motion in a frame) and the learned backends (the jaw's anchor points)."""

from __future__ import annotations

import numpy as np


def kabsch(rest: np.ndarray, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t with moved ≈ rest @ R.T + t (least squares, no reflection)."""
    a, b = rest.mean(0), moved.mean(0)
    u, _, vt = np.linalg.svd((rest - a).T @ (moved - b))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, b - r @ a
