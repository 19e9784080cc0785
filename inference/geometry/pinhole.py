"""The pinhole camera the head is fitted with: camera space has x right, y up and looks down -Z, and the image
centre is the principal point (pixels: x right, y down)."""

from __future__ import annotations

import numpy as np


def project(camera_points: np.ndarray, focal_px: float, image_size: tuple[int, int]) -> np.ndarray:
    """Pixels (..., 2) of camera-space points (..., 3), for a focal length in pixels and an image (width, height)."""
    w, h = image_size
    depth = -camera_points[..., 2]
    return np.stack([w / 2 + focal_px * camera_points[..., 0] / depth,
                     h / 2 - focal_px * camera_points[..., 1] / depth], axis=-1)
