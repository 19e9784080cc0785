"""The fitted head's skin texture from the photo: projected where the photo sees it, plausibly filled elsewhere.

ICT-FaceKit lays its skin out in two UV tiles: the face in U 0..1, the back of the head and the neck in U 1..2.
The texture is one image covering both (width = 2 x height; U is halved to sample it). Every texel of a skin
triangle is put where the fitted head (identity, the photo's own expression, pose) is in the photo; it takes the
photo's colour where that triangle faces the camera and is the nearest surface there, weighted by how squarely
it faces it. Elsewhere (the far cheek, under the chin, the back of the head) the skin tone measured on the face
fills in, and the hair colour measured above the forehead covers the top and back of the skull; the two are
blended across soft seams so no edge shows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry import raster
from ..geometry.pinhole import project
from .head_fit import HeadFit

TEXTURE_SIZE = 1024  # pixels per UV tile (the texture is twice as wide)
SKIN_MATERIALS = ("M_Face", "M_BackHead")
HAIR_ABOVE_CM = 3.0
"""Head-and-neck texels higher than this above the eye line (and behind the face) take the hair colour."""
SEAM_BLUR = 15


def bake_skin_texture(rgb: np.ndarray, fit: HeadFit, posed_cm: np.ndarray, face_sizes: np.ndarray,
                      face_indices: np.ndarray, corner_uvs: np.ndarray, face_materials: np.ndarray,
                      material_names: list[str], eye_line_cm: float, size: int = TEXTURE_SIZE) -> np.ndarray:
    """(size, 2 * size, 3) uint8 RGB for the skin materials of the head posed as in the photo (``posed_cm``)."""
    tris, tri_corners, polygon = fan_triangles(face_sizes, face_indices)
    skin = np.isin(face_materials[polygon], [material_names.index(m) for m in SKIN_MATERIALS if m in material_names])
    camera = posed_cm @ fit.rotation.T + fit.translation
    pixels = project(camera, fit.focal_px, fit.image_size)
    seen = photo_trust(camera, pixels, tris, (rgb.shape[0], rgb.shape[1]))

    texels = _skin_texels(tris, tri_corners, skin, corner_uvs, size)
    weight = texels.at(seen)

    # what fills where the photo does not show the head: hair above the forehead and behind the face, skin tone
    # elsewhere
    looked_at = np.flatnonzero(weight > 0)
    colour = _sample(rgb, texels.at(pixels, looked_at)).astype(np.float32)
    clear = weight[looked_at] > 0.5
    skin_tone = np.median(colour[clear], axis=0) if clear.any() else np.array([200.0, 150, 130], np.float32)
    hair = _hair_colour(rgb, fit, posed_cm, eye_line_cm, skin_tone).astype(np.float32)
    under_hair = (texels.at(posed_cm[:, 1]) - eye_line_cm > HAIR_ABOVE_CM) & (
        texels.at(posed_cm[:, 2]) < posed_cm[:, 2].max() - 9.0)
    fill = np.where(under_hair[:, None], hair, skin_tone)

    # the photo's colour by how far it can be trusted, the trust blurred across soft seams (the blur needs the
    # whole tile; where the photo shows nothing the trusted colour is the fill itself)
    alpha = np.zeros((size, 2 * size), np.float32)
    alpha[texels.ys, texels.xs] = weight
    trust = cv2.GaussianBlur(alpha, (0, 0), SEAM_BLUR / 3)[texels.ys[looked_at], texels.xs[looked_at], None]
    fill[looked_at] += trust * (colour - fill[looked_at])
    out = np.zeros((size, 2 * size, 3), np.uint8)
    out[texels.ys, texels.xs] = np.clip(fill + 0.5, 0, 255)
    return _spread(out, texels.covered)


@dataclass(frozen=True)
class _Texels:
    """The skin's texels: position (``ys``, ``xs``), the mesh vertices (n, 3) of the triangle each lies in and its
    barycentric coordinates (n, 3) there, and the image of which texels are skin."""

    ys: np.ndarray
    xs: np.ndarray
    corners: np.ndarray
    bary: np.ndarray
    covered: np.ndarray

    def at(self, values: np.ndarray, which: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Per-vertex ``values`` (V,) or (V, k) interpolated at the texels (``which`` of them)."""
        corners, bary = self.corners[which], self.bary[which]
        values = values.astype(np.float32, copy=False)  # texels are many: half the memory traffic of float64
        if values.ndim > 1:
            bary = bary[..., None]
        return sum(bary[:, k] * values[corners[:, k]] for k in range(3))


def _skin_texels(tris: np.ndarray, tri_corners: np.ndarray, skin: np.ndarray, corner_uvs: np.ndarray,
                 size: int) -> _Texels:
    """Which skin triangle covers each texel, and where in it (the half-texel pad closes cracks along UV edges).
    It depends on the mesh's UV layout alone, so a process fitting photo after photo lays it out once."""
    key = hashlib.blake2b(b"".join(np.ascontiguousarray(a).tobytes() for a in (tris, tri_corners, skin, corner_uvs))
                          + str(size).encode(), digest_size=16).digest()
    if key not in _TEXEL_CACHE:
        uv = corner_uvs[tri_corners[skin]]  # (T, 3, 2)
        texel_xy = np.stack([uv[..., 0] / 2 * (2 * size), (1 - uv[..., 1]) * size], axis=-1)
        texels = raster.one_per_pixel(raster.cover(texel_xy, (size, 2 * size), pad=0.5), (size, 2 * size))
        covered = np.zeros((size, 2 * size), bool)
        covered[texels.ys, texels.xs] = True
        _TEXEL_CACHE.clear()  # one layout is all a process uses
        _TEXEL_CACHE[key] = _Texels(texels.ys, texels.xs, tris[skin][texels.triangle].astype(np.int32),
                                    texels.bary, covered)
    return _TEXEL_CACHE[key]


_TEXEL_CACHE: dict[bytes, _Texels] = {}


def _sample(photo: np.ndarray, xy: np.ndarray, width: int = 1024) -> np.ndarray:
    """Bilinear colours (N, 3) at pixel positions (N, 2); OpenCV's remap wants a grid under 32767 a side."""
    n = len(xy)
    rows = -(-n // width)
    grid = np.zeros((rows * width, 2), np.float32)
    grid[:n] = xy
    grid = grid.reshape(rows, width, 2)
    out = cv2.remap(photo, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, 3)[:n]


def fan_triangles(face_sizes: np.ndarray, face_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygons fanned into triangles: (T, 3) vertex indices, (T, 3) corner indices, (T,) polygon of each."""
    starts = np.concatenate([[0], np.cumsum(face_sizes)[:-1]])
    parts = []
    for k in range(1, int(face_sizes.max()) - 1):  # the k-th triangle of every polygon that has one
        polygon = np.flatnonzero(face_sizes > k + 1)
        s = starts[polygon]
        parts.append((np.column_stack([s, s + k, s + k + 1]), polygon))
    tri_corners = np.concatenate([c for c, _ in parts])
    polygon = np.concatenate([p for _, p in parts])
    return face_indices[tri_corners], tri_corners, polygon


def photo_trust(camera: np.ndarray, pixels: np.ndarray, tris: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """How much to trust the photo at each vertex, 0..1: zero where another surface is in front of it or it faces
    away, rising to one as it turns to face the camera (grazing views smear the photo). ``camera``: the head's
    vertices in the photo's camera space (centimetres), ``pixels``: where the photo shows them, ``tris``: the
    head's triangles, ``shape``: the photo's (rows, columns)."""
    a, b, c = camera[tris[:, 0]], camera[tris[:, 1]], camera[tris[:, 2]]
    normal = np.cross(b - a, c - a)
    vertex_normal = np.zeros_like(camera)
    for k in range(3):
        np.add.at(vertex_normal, tris[:, k], normal)
    sight = -camera / np.maximum(np.linalg.norm(camera, axis=1, keepdims=True), 1e-12)
    facing = (vertex_normal * sight).sum(1) / np.maximum(np.linalg.norm(vertex_normal, axis=1), 1e-12)
    # the nearest surface's depth around each pixel, from the triangles facing the camera
    h, w = shape
    scale = min(1.0, 1024 / max(h, w))
    grid = (int(h * scale) + 1, int(w * scale) + 1)
    front = np.flatnonzero(-(normal * (a + b + c)).sum(1) > 0)
    covered = raster.cover(pixels[tris[front]] * scale, grid, pad=0.5)
    depth = np.full(grid, -1e9, np.float32)
    np.maximum.at(depth, (covered.ys, covered.xs), covered.interpolate(camera[tris[front], 2]))
    nearest = cv2.dilate(depth, np.ones((3, 3), np.uint8))
    px = np.floor(pixels * scale).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 1] >= 0) & (px[:, 0] < grid[1]) & (px[:, 1] < grid[0])
    visible = np.zeros(len(camera), bool)
    at = np.flatnonzero(inside)
    visible[at] = camera[at, 2] >= nearest[px[at, 1], px[at, 0]] - 0.4  # within 4 mm of the nearest surface
    return visible * np.clip((facing - 0.2) / 0.4, 0, 1)


def _hair_colour(photo: np.ndarray, fit: HeadFit, posed_cm: np.ndarray, eye_line_cm: float,
                 skin_tone: np.ndarray) -> np.ndarray:
    """The median colour of a patch above the top of the head in the photo (skin tone for a bald head)."""
    top = posed_cm[np.argmax(posed_cm[:, 1])]
    top_px = project(top @ fit.rotation.T + fit.translation, fit.focal_px, fit.image_size)
    eye_px = project(np.array([0.0, eye_line_cm, top[2]]) @ fit.rotation.T + fit.translation, fit.focal_px,
                     fit.image_size)
    reach = max(4, int(abs(eye_px[1] - top_px[1]) * 0.25))
    x, y = int(top_px[0]), int(top_px[1]) + reach  # just inside the hairline
    patch = photo[max(0, y - reach):y + reach, max(0, x - 2 * reach):x + 2 * reach].reshape(-1, 3)
    if not len(patch):
        return skin_tone
    return np.median(patch, axis=0)


def _spread(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every texel outside ``mask`` takes the colour of the nearest texel inside it, so texture filtering and
    mipmaps at UV seams find skin, not black."""
    if mask.all() or not mask.any():
        return image
    # OpenCV labels the zero (known) texels 1, 2, ... in scan order and gives every other texel its nearest's label
    _, labels = cv2.distanceTransformWithLabels(np.where(mask, 0, 255).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    known_y, known_x = np.nonzero(mask)
    gap_y, gap_x = np.nonzero(~mask)
    nearest = labels[gap_y, gap_x] - 1
    out = image.copy()
    out[gap_y, gap_x] = image[known_y[nearest], known_x[nearest]]
    return out
