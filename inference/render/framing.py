"""Where the output frame sits on the photo, and how rig-space points land on its pixels.

The video is a square crop around the face (head and shoulders), resampled once to the output size; every
per-frame step then works at that size. Rig space is the portrait rig's camera space in metres
(``inference.rigs.portrait``), so an orthographic projection puts a rig point on its photo pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CROP_FACE_HEIGHTS = 2.6
"""Side of the square crop in face heights (forehead to chin): the head, the neck and some shoulder."""
SOURCE_MARGIN = 0.125
"""Extra photo around the crop, as a fraction of its side, that the warp may pull pixels from."""


@dataclass(frozen=True)
class Framing:
    """A square window on the photo: top-left corner and side in photo pixels, and the output size."""

    x0: float
    y0: float
    side: float
    size: int
    image_size: tuple[int, int]  # photo (width, height)
    px_per_mm: float  # photo pixels per millimetre at the face

    @classmethod
    def around_face(cls, landmarks_px: np.ndarray, image_size: tuple[int, int], px_per_mm: float,
                    size: int) -> Framing:
        w, h = image_size
        face_h = float(np.linalg.norm(landmarks_px[10, :2] - landmarks_px[152, :2]))
        side = min(CROP_FACE_HEIGHTS * face_h, w, h)
        cx = float(np.mean(landmarks_px[:, 0]))
        cy = float(np.mean(landmarks_px[:, 1])) + 0.12 * face_h  # a little room for the neck below the chin
        x0 = min(max(cx - side / 2, 0.0), w - side)
        y0 = min(max(cy - side / 2, 0.0), h - side)
        return cls(x0, y0, side, int(size), (w, h), px_per_mm)

    @property
    def scale(self) -> float:
        """Output pixels per photo pixel."""
        return self.size / self.side

    @property
    def px_per_mm_out(self) -> float:
        return self.px_per_mm * self.scale

    @property
    def margin(self) -> int:
        """Output-scale pixels of photo kept around the frame in the source image."""
        return round(SOURCE_MARGIN * self.size)

    def project(self, points_m: np.ndarray) -> np.ndarray:
        """Rig-space points (..., 3) in metres -> output pixel coordinates (..., 2), pixel edges at integers."""
        w, h = self.image_size
        k = 1000.0 * self.px_per_mm
        u = points_m[..., 0] * k + w / 2
        v = h / 2 - points_m[..., 1] * k
        return np.stack([(u - self.x0) * self.scale, (v - self.y0) * self.scale], axis=-1)

    def photo_to_output(self, photo_px: np.ndarray) -> np.ndarray:
        """Photo pixel coordinates (..., 2) -> output pixel coordinates (..., 2)."""
        return (np.asarray(photo_px, np.float64) - np.array([self.x0, self.y0])) * self.scale

    def rig_xy(self, output_px: np.ndarray) -> np.ndarray:
        """Output pixel coordinates (..., 2) -> the rig-space x and y (metres) that ``project`` puts there."""
        w, h = self.image_size
        k = 1000.0 * self.px_per_mm
        u = np.asarray(output_px, np.float64)[..., 0] / self.scale + self.x0
        v = np.asarray(output_px, np.float64)[..., 1] / self.scale + self.y0
        return np.stack([(u - w / 2) / k, (h / 2 - v) / k], axis=-1)

    def source_image(self, rgb: np.ndarray) -> np.ndarray:
        """The photo around the frame at output scale, ``margin`` pixels wider on each side (edges replicated
        where the photo ends), so warps that pull from just outside the frame find real pixels."""
        n = self.size + 2 * self.margin
        image, fx, fy = rgb, 1.0, 1.0
        if self.scale < 1:  # area-average first so the downscale does not alias
            image = cv2.resize(rgb, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
            fx, fy = image.shape[1] / rgb.shape[1], image.shape[0] / rgb.shape[0]  # after rounding the size
        # continuous coordinates: target = (source / f - corner) * scale + margin; warpAffine counts pixel centres
        gx, gy = self.scale / fx, self.scale / fy
        a = np.array([[gx, 0.0, 0.5 * gx - self.x0 * self.scale + self.margin - 0.5],
                      [0.0, gy, 0.5 * gy - self.y0 * self.scale + self.margin - 0.5]])
        flags = cv2.INTER_LINEAR if self.scale < 1 else cv2.INTER_CUBIC
        return cv2.warpAffine(image, a, (n, n), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def box_around(points: np.ndarray, pad: int, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): the pixels around ``points`` plus ``pad``, inside an image of ``shape``; None if
    that leaves less than 2×2 pixels."""
    x0, y0 = np.floor(points.min(0)).astype(int) - pad
    x1, y1 = np.ceil(points.max(0)).astype(int) + pad
    h, w = shape[:2]
    x0, y0, x1, y1 = max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h)
    return None if x1 - x0 < 2 or y1 - y0 < 2 else (x0, y0, x1, y1)


def height_along(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(1, len(xs)): the height of the polyline through ``points`` (N, 2 pixels, a lip's or a lid's edge) at each
    column ``xs``, linear between its points."""
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])[None, :]
