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

import cv2
import numpy as np

from .head_fit import HeadFit, project

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
    seen = _vertex_weights(camera, pixels, tris, rgb.shape[:2])

    # which skin triangle covers each texel, and where in it
    uv = corner_uvs[tri_corners]  # (T, 3, 2)
    texel_xy = np.stack([uv[..., 0] / 2 * (2 * size), (1 - uv[..., 1]) * size], axis=-1)
    owner = np.full((size, 2 * size), -1, np.int32)
    for t in np.flatnonzero(skin):
        cv2.fillConvexPoly(owner, np.round(texel_xy[t] * 4).astype(np.int32), int(t), cv2.LINE_8, 2)
    ys, xs = np.nonzero(owner >= 0)
    t = owner[ys, xs]
    bary = _barycentric(np.column_stack([xs + 0.5, ys + 0.5]), texel_xy[t])
    where = np.einsum("nk,nkc->nc", bary, pixels[tris[t]])
    heights = np.einsum("nk,nk->n", bary, posed_cm[tris[t], 1]) - eye_line_cm
    depth_back = np.einsum("nk,nk->n", bary, posed_cm[tris[t], 2])

    colour = _sample(rgb, where).astype(np.float32)
    weight = np.einsum("nk,nk->n", bary, seen[tris[t]]).astype(np.float32)

    clear = weight > 0.5
    skin_tone = np.median(colour[clear], axis=0) if clear.any() else np.array([200.0, 150, 130])
    hair = _hair_colour(rgb, fit, posed_cm, eye_line_cm, skin_tone)
    fill = np.where(((heights > HAIR_ABOVE_CM) & (depth_back < posed_cm[:, 2].max() - 9.0))[:, None], hair,
                    skin_tone).astype(np.float32)

    # the photo's colour by how far it can be trusted, the trust blurred across soft seams (only the skin's
    # texels are blended; the blur needs the whole tile)
    alpha = np.zeros((size, 2 * size), np.float32)
    alpha[ys, xs] = weight
    trust = cv2.GaussianBlur(alpha, (0, 0), SEAM_BLUR / 3)[ys, xs, None]
    shown = np.where(weight[:, None] > 0, colour, fill)  # what the photo shows there, if it does
    out = np.zeros((size, 2 * size, 3), np.float32)
    out[ys, xs] = shown * trust + fill * (1 - trust)
    return np.clip(_spread(out, owner >= 0), 0, 255).astype(np.uint8)


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


def _vertex_weights(camera: np.ndarray, pixels: np.ndarray, tris: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """How much to trust the photo at each vertex, 0..1: zero where another surface is in front of it or it faces
    away, rising to one as it turns to face the camera (grazing views smear the photo)."""
    a, b, c = camera[tris[:, 0]], camera[tris[:, 1]], camera[tris[:, 2]]
    normal = np.cross(b - a, c - a)
    vertex_normal = np.zeros_like(camera)
    for k in range(3):
        np.add.at(vertex_normal, tris[:, k], normal)
    sight = -camera / np.maximum(np.linalg.norm(camera, axis=1, keepdims=True), 1e-12)
    facing = (vertex_normal * sight).sum(1) / np.maximum(np.linalg.norm(vertex_normal, axis=1), 1e-12)
    # the nearest surface's depth around each pixel (painter's algorithm over the triangles facing the camera)
    h, w = shape
    scale = min(1.0, 1024 / max(h, w))
    ids = np.full((int(h * scale) + 1, int(w * scale) + 1), -1, np.int32)
    centre = (a + b + c) / 3
    tri_facing = -(normal * centre).sum(1) > 0
    order = np.argsort(centre[:, 2])  # far (most negative z) to near
    for t in order[tri_facing[order]]:
        cv2.fillConvexPoly(ids, np.round(pixels[tris[t]] * scale * 4).astype(np.int32), int(t), cv2.LINE_8, 2)
    depth = np.full(ids.shape, -1e9, np.float32)
    depth[ids >= 0] = centre[ids[ids >= 0], 2]
    nearest = cv2.dilate(depth, np.ones((3, 3), np.uint8))
    px = np.round(pixels * scale).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 1] >= 0) & (px[:, 0] < ids.shape[1]) & (px[:, 1] < ids.shape[0])
    visible = np.zeros(len(camera), bool)
    at = np.flatnonzero(inside)
    visible[at] = camera[at, 2] >= nearest[px[at, 1], px[at, 0]] - 0.4  # within 4 mm of the nearest surface
    return visible * np.clip((facing - 0.2) / 0.4, 0, 1)


def _barycentric(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    v = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    w = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    bary = np.clip(np.column_stack([1 - v - w, v, w]), 0, None)  # texels on an edge: onto the triangle
    return bary / np.maximum(bary.sum(1, keepdims=True), 1e-12)


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


def _spread(image: np.ndarray, mask: np.ndarray, rounds: int = 4) -> np.ndarray:
    """Grow the colours of ``mask`` a few texels outward, so texture filtering at UV seams finds no black."""
    out = image.copy()
    known = mask.astype(np.float32)
    for _ in range(rounds):
        total = cv2.blur(out * known[..., None], (3, 3))
        count = cv2.blur(known, (3, 3))
        grow = (known == 0) & (count > 0)
        out[grow] = total[grow] / count[grow, None]
        known[grow] = 1
    return out
