"""The skin a turn brings into view, drawn from the face's own colour where the photo saw it too obliquely.

Each triangle of the face mesh carries its piece of the photo. Near the face's outline the photo sees the skin
edge-on: a triangle there covers a few pixels of the photo, but once the head turns that side toward the camera
it covers ten times as many in the frame, and its few pixels smear (a pale band down the cheek, an earring drawn
out into a bar, on turns of 20-25°). There the skin is drawn instead, as a texture of the head: every mesh
point's albedo (its colour in the photo over the photo's shading at it), spread from the points the photo saw
squarely to those it saw edge-on, lit as the point faces now in the photo's own light (``lighting``). It comes in
as a triangle's magnification passes STRETCH_FROM and has taken over by STRETCH_TO.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..colour.srgb import LUMINANCE, linear_to_srgb, srgb_to_linear
from ..geometry.mesh_graph import edge_graph, hops_from
from ..geometry.normals import vertex_normals
from ..geometry.raster import cover, one_per_pixel, signed_areas
from .lighting import Light

STRETCH_FROM, STRETCH_TO = 2.0, 4.0
"""Magnification (frame area over photo area) at which a triangle's drawn skin starts to replace its photo,
and at which it has replaced it."""
SQUARE_FROM, SQUARE_TO = 0.35, 0.7
"""How squarely the photo saw a point (the cosine toward the camera) for its colour to count not at all and
fully; between, it is blended with its neighbours'."""
OUTLINE_REACH = (0.0, 0.7, 1.0, 1.0, 0.5)
"""How much of the drawn skin shows on the points 0, 1, 2, ... mesh edges in from the face's outline (none further
in): a turn stretches the rings along the outline; further in are the nose's wings and the mouth's corners, whose
detail the photo has. On the outline itself the photo's own soft edge against the background stays."""
SKIN_CHROMA = (0.04, 0.08)
"""Chromaticity distance (L1, r g b over their sum) from the face's skin up to which a point counts as skin, and
from which it does not: where hair or an earring covers the face's edge the photo's own pixels stay (a stretched
strand still reads as hair; a flat patch of its colour does not)."""
SKIN_LUMA = (0.3, 0.5)  # luma over the skin's: below the first, not skin (dark hair), above the second, skin
LEAST_PIXELS_AT_512 = 30.0
"""Less stretched skin than this many pixels' worth (at 512², scaled with the frame's area) is not drawn: on the
few degrees a talking head turns, the outline's thinnest slivers pass STRETCH_FROM, unseen, and drawing them cost a
millisecond a frame."""
SPREAD_STEPS = 60  # passes of neighbour averaging that carry colour out to the edge-on points
COLOUR_BLUR_AT_512 = 1.5  # px: a point's colour is its neighbourhood's, not one pore's


class TurnedSkin:
    """One photo's face-mesh skin as a lit texture, painted where a turn stretches the photo."""

    def __init__(self, source: np.ndarray, src_px: np.ndarray, photo_vertices: np.ndarray, triangles: np.ndarray,
                 outline: np.ndarray, skin_rgb: np.ndarray, light: Light, size: int):
        """``source``: the photo at output scale (its margin included, see ``framing``); ``src_px``: the mesh's
        points in ``source`` pixels; ``photo_vertices``: the mesh as photographed (camera axes, metres);
        ``triangles``: the skin's (T, 3), wound like the photographed mesh; ``outline``: the face outline's
        points; ``skin_rgb``: the skin's colour (0-255)."""
        self.triangles = np.asarray(triangles)
        self.light = light
        n = len(photo_vertices)
        normals = vertex_normals(np.asarray(photo_vertices, np.float64), self.triangles)
        # the winding decides which side the normals are on: out of the face is toward the camera, on the whole
        self._sign = 1.0 if normals[np.unique(self.triangles), 2].mean() >= 0 else -1.0
        normals = normals * self._sign
        blurred = cv2.GaussianBlur(source, (0, 0), COLOUR_BLUR_AT_512 * size / 512)
        h, w = source.shape[:2]
        xy = np.clip(np.round(src_px - 0.5).astype(int), 0, [w - 1, h - 1])
        colour = srgb_to_linear(blurred[xy[:, 1], xy[:, 0]].astype(np.float64) / 255.0)
        albedo = colour / light.shading(normals)[:, None]
        self.photo_area = signed_areas(src_px[self.triangles])  # each triangle's in the photo (output pixels)
        seen = np.clip((normals[:, 2] - SQUARE_FROM) / (SQUARE_TO - SQUARE_FROM), 0.0, 1.0)[:, None]
        # only what the photo saw obliquely is drawn: a stretch elsewhere is the face's own motion (lips parting)
        self.oblique = 1.0 - seen[self.triangles, 0].mean(axis=1)
        adjacency = edge_graph(self.triangles, n)
        degree = np.maximum(np.asarray(adjacency.sum(axis=1)).ravel(), 1.0)[:, None]
        self.hops = hops_from(adjacency, outline)
        """How many mesh edges each point lies from the outline."""
        self.reach = np.zeros(n)
        near = self.hops < len(OUTLINE_REACH)
        self.reach[near] = np.array(OUTLINE_REACH)[self.hops[near].astype(int)]
        self.reach *= skin_likeness(colour, srgb_to_linear(np.asarray(skin_rgb, np.float64) / 255.0))
        self.triangle_reach = self.reach[self.triangles].max(axis=1)
        self.least_pixels = LEAST_PIXELS_AT_512 * (size / 512) ** 2
        spread = albedo.copy()
        for _ in range(SPREAD_STEPS):  # the points seen edge-on take their neighbours' colour, step by step
            spread = seen * albedo + (1.0 - seen) * (adjacency @ spread) / degree
        self.albedo = spread

    def _normals(self, vertices: np.ndarray) -> np.ndarray:
        """Unit vertex normals (camera axes) pointing out of the face."""
        return vertex_normals(np.asarray(vertices, np.float64), self.triangles) * self._sign

    def paint(self, frame: np.ndarray, dest_px: np.ndarray, turned_px: np.ndarray, vertices: np.ndarray) -> float:
        """Draw the skin into ``frame`` (uint8 RGB, in place) on the frame's triangles (``dest_px``, output pixels)
        that the head's turn alone (``turned_px``: the photographed face moved rigidly, output pixels) stretches
        from the photo; the face's own motion (the lips parting, the jaw dropping) is the photo's to show.
        ``vertices``: the frame's mesh (camera axes, metres) for its normals. Returns how many pixels' worth of
        skin it drew."""
        dest_area = signed_areas(turned_px[self.triangles])
        src_area = self.photo_area
        facing = np.sign(dest_area) == np.sign(src_area)  # a triangle turned away is behind the face
        stretch = np.abs(dest_area) / np.maximum(np.abs(src_area), 1e-6)
        weight = np.where(facing, np.clip((stretch - STRETCH_FROM) / (STRETCH_TO - STRETCH_FROM), 0.0, 1.0), 0.0)
        weight *= self.oblique
        if (weight * self.triangle_reach * np.abs(dest_area)).sum() < self.least_pixels:
            return 0.0
        per_vertex = np.zeros(len(dest_px))
        np.maximum.at(per_vertex, self.triangles.ravel(), np.repeat(weight, 3))
        per_vertex *= self.reach
        drawn = facing & (per_vertex[self.triangles].max(axis=1) > 0)  # and their neighbours, to fade out over
        if not drawn.any():  # stretched, but not skin (hair over the face's edge) or not near the outline
            return 0.0
        tris = self.triangles[drawn]
        corners = dest_px[tris]
        h, w = frame.shape[:2]
        x0, y0 = np.clip(np.floor(corners.reshape(-1, 2).min(0)).astype(int), 0, [w, h])
        x1, y1 = np.clip(np.ceil(corners.reshape(-1, 2).max(0)).astype(int) + 1, 0, [w, h])
        if x1 <= x0 or y1 <= y0:
            return 0.0
        box = (y1 - y0, x1 - x0)  # only the box the drawn triangles span is rasterised
        coverage = cover(corners - np.array([x0, y0]), box)
        if not len(coverage):
            return 0.0
        depth = coverage.interpolate(np.asarray(vertices, np.float64)[tris][..., 2])  # z grows toward the camera
        nearest = one_per_pixel(coverage, box, depth)
        shading = self.light.shading(self._normals(vertices))
        colour = linear_to_srgb(self.albedo[tris] * shading[tris][..., None])  # (T, 3 corners, RGB)
        paint = nearest.interpolate(colour)
        alpha = nearest.interpolate(per_vertex[tris])[:, None]
        ys, xs = nearest.ys + y0, nearest.xs + x0
        pixels = frame[ys, xs].astype(np.float64) / 255.0
        frame[ys, xs] = np.clip((pixels + alpha * (paint - pixels)) * 255.0 + 0.5, 0, 255)
        return float(alpha.sum())


def skin_likeness(colour: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """0-1 per colour (N, 3, linear): how much it looks like the skin (3, linear) in chromaticity and brightness."""
    chroma = np.abs(colour / np.maximum(colour.sum(1, keepdims=True), 1e-6) - skin / max(skin.sum(), 1e-6)).sum(1)
    bright = (colour @ LUMINANCE) / max(float(skin @ LUMINANCE), 1e-6)
    return (np.clip((SKIN_CHROMA[1] - chroma) / (SKIN_CHROMA[1] - SKIN_CHROMA[0]), 0.0, 1.0)
            * np.clip((bright - SKIN_LUMA[0]) / (SKIN_LUMA[1] - SKIN_LUMA[0]), 0.0, 1.0))
