"""The mouth interior from the fitted 3-D head: teeth, gums, tongue and the mouth socket, z-buffered per frame.

The ICT-FaceKit head that ships with vividtalk is fitted to the photo (identity, pose and the camera, see
``rigs/head_fit.py``). Its interior parts then sit where the photographed person's would: the upper teeth
with the skull, the lower teeth, gums and tongue with the jaw. Each frame the jaw opening is read off the
portrait rig's vertices (so edited meshes from Blender drive it as well as clips do), the head's rigid motion
likewise, and the interior is projected through the photo's camera into the output frame and rasterised
nearest-first. Shading puts it in the photo's light (its direction, ambient share and colour read off the face,
``lighting``): darker with depth behind the lips (the only light in a mouth comes in through the opening), the
light from everywhere tinted by the gums and tongue it bounced off, a contact shadow under the upper lip, and the
skin's brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse.csgraph import connected_components

from ..colour.srgb import srgb_to_linear
from ..geometry.mesh_graph import edge_graph
from ..geometry.normals import vertex_normals
from ..geometry.pinhole import project
from ..geometry.raster import cover, one_per_pixel, signed_areas
from ..geometry.rigid import kabsch
from ..rigs.mediapipe_topology import LOWER_LIP_MIDDLE, UPPER_LIP_MIDDLE
from ..rigs.rig import FaceRig
from .jaw_reader import JawReader, between_samples
from .lighting import FRONT_LIGHT, Light

JAW_SAMPLES = np.linspace(0.0, 1.5, 13)
"""jawOpen values the interior is evaluated at once; a frame interpolates between the two nearest."""
BASE_COLOUR = {"teeth": (0.93, 0.91, 0.86), "gums": (0.64, 0.40, 0.39)}
"""Each material as it looks in full light (sRGB); shading works on them in linear light. Gums, tongue and the
mouth's walls (one material in ICT-FaceKit) are CIELAB (49.5, 25, 12): the lightness of a healthy tongue's
luminance factor, Y 0.18 (Zeng et al. 2011, 516 adults; their lips 0.20), with a redness and yellowness inside
the ranges measured on healthy gums (a* 11-37, b* 7-25: Gomez-Polo et al. 2019, 259 adults); its red reflectance,
0.37, lies in healthy gingiva's at 633 nm (0.17-0.45, mean 0.32; a photometric study of 95 adults). The earlier
(0.66, 0.30, 0.31), CIELAB (44.5, 38, 17), was redder than any healthy gum measured and darker than a tongue, and
its red bounce light tinted the teeth deep in the mouth pink."""
BOUNCE = 0.5 + 0.5 * srgb_to_linear(BASE_COLOUR["gums"]) / np.mean(srgb_to_linear(BASE_COLOUR["gums"]))
"""The colour of the light from everywhere deep in a mouth, where half of it has bounced off gums and tongue."""
DEPTH_FALLOFF_MM = 14.0
"""Light reaching a surface this far behind the front teeth falls to 1/e: the share of the sky a point that deep
sees through a 45 x 12 mm opening (the view factor of the lips' opening in speech) falls as exp(-d / 14 mm)
within a few per cent over 5-20 mm."""
INCISOR_SHOW_MM = 3.0
"""Upper incisor edges below the upper lip at rest, where the photo shows none: adults under 30 show 3.4 mm on
average, men 1.9 mm and women 3.4 mm (Vig and Brundo 1978); less with age."""
LOWER_INCISOR_SHOW_MM = 2.0
"""The lower incisors' edge above the lower lip's inner edge in a photo's pose with lips apart: at rest adults show
0-2 mm of them (more with age), and a photo's parted lips are a rest, not the teeth in contact behind them. With
the teeth in contact the whole row of lower teeth and the gum under it showed above a parted lower lip (and
FaceLandmarker read a smiling photo's opening jaw as its lower lip pulled down); hidden (0 mm), the band just
inside a smile's lips turned dark (0.77 of the interior, the drawn outline's figure)."""
MAX_REST_JAW = 0.3  # the most jaw opening a photo's parted lips are read as
INCISOR_BEHIND_LIP_MM = 7.5  # the upper incisors' edge behind the lips' meeting line (ICT-FaceKit's neutral head)
CROWN_SHARE = 0.45  # of a tooth's height, the crown (crown to root: 10.5 to 13 mm for an upper central incisor)
VISIBLE_DEPTH_MM = 40.0  # farther back (the socket's walls, the throat) is as dark as the cavity: not drawn
VISIBLE_TEETH_DEPTH_MM = 28.0  # the molars behind the premolars: the cheeks hide them (the buccal corridor)
SUPERSAMPLE = 2  # samples per output pixel along each axis


@dataclass(frozen=True)
class InteriorFrame:
    """One frame's interior in output pixels: triangle corners (T, 3, 2), their distance from the camera in mm
    (T, 3) and their lit colour (T, 3, 3)."""

    corners: np.ndarray
    depth_mm: np.ndarray
    colour: np.ndarray


class GeometricInterior:
    """The fitted head's mouth interior for one photo, posed per frame from the portrait rig's vertices."""

    def __init__(self, head: FaceRig, portrait: FaceRig, to_output_px, skull: np.ndarray, edge_px: np.ndarray,
                 edge_drop_mm: float, px_per_mm: float, light: Light = FRONT_LIGHT,
                 lower_lip_px: np.ndarray | None = None):
        """``head``: the ICT rig fitted to the photo (``photo_pose`` and ``photo_intrinsics`` set);
        ``portrait``: the portrait rig the frames come as; ``to_output_px``: photo pixels (..., 2) -> output
        pixels; ``skull``: portrait vertex indices that move rigidly with the head; ``edge_px``: where the
        middle of the upper incisors' edge is seen at rest, in output pixels (``px_per_mm`` of them to a
        millimetre), ``edge_drop_mm`` below the portrait rig's upper inner lip at rest (the interior turns about
        the point that far under the lip and INCISOR_BEHIND_LIP_MM behind it); ``lower_lip_px``: the middle of
        the photo's lower inner lip (output pixels), which the lower incisors' edge shows just above in the photo's
        own pose (``rest_jaw``)."""
        if head.photo_pose is None or head.photo_intrinsics is None:
            raise ValueError("the head has no photo view; fit it to the photo first")
        self.skull = np.asarray(skull)
        self.light = light
        self.px_per_mm = px_per_mm
        self.portrait_rest = portrait.vertices.astype(np.float64)
        self._jaw_reader = JawReader(portrait)
        triangles, kind = _interior_triangles(head)
        triangles, kind = _without_roots(head, triangles, kind)
        rot, move = head.photo_pose[:, :3], head.photo_pose[:, 3]
        rest = head.vertices.astype(np.float64) @ rot.T + move
        # how far behind the front teeth each vertex sits at rest: light falls off with it, and the back of
        # the mouth (dark in every real video) is left to the cavity colour
        front = rest[triangles[kind == 0].ravel(), 2].max() if (kind == 0).any() else rest[triangles, 2].max()
        behind_mm = (front - rest[:, 2]) * 1000.0
        near = behind_mm[triangles].min(1) < np.where(kind == 0, VISIBLE_TEETH_DEPTH_MM, VISIBLE_DEPTH_MM)
        triangles, kind = triangles[near], kind[near]
        used = np.unique(triangles)
        self.triangles = np.searchsorted(used, triangles)
        reach = np.exp(-np.clip(behind_mm[used], 0.0, None) / DEPTH_FALLOFF_MM)  # (Vi,) light reaching it
        posed = head.evaluate({"jawOpen": JAW_SAMPLES})[:, used].astype(np.float64)  # (S, Vi, 3) rig metres
        self.camera = posed @ rot.T + move  # (S, Vi, 3) camera metres
        self.normals = np.stack([vertex_normals(c, self.triangles) for c in self.camera])  # (S, Vi, 3)
        vertex_kind = _kind_of(self.triangles, kind == 0, len(used))
        self.albedo = srgb_to_linear([BASE_COLOUR[k] for k in ("teeth", "gums")])[vertex_kind] * reach[:, None]
        # the light from everywhere: the room's at the lips, more and more what the mouth's walls reflect inside
        self.ambient_colour = 1.0 + (1.0 - reach[:, None]) * (BOUNCE - 1.0)
        # what lies deeper than is drawn (the throat, the cheeks' walls beside the back teeth): mouth wall in the
        # light from everywhere that reaches that deep, so the drawn surfaces meet it without an edge
        self.throat = (srgb_to_linear(BASE_COLOUR["gums"]) * np.exp(-VISIBLE_DEPTH_MM / DEPTH_FALLOFF_MM)
                       * light.ambient * BOUNCE * light.colour)
        self.focal, width, height = head.photo_intrinsics
        self.photo_size = (int(width), int(height))
        # the fitted head's incisors land within a few millimetres of the photo's mouth, and the eye sees that
        # much: their edges are put where the photo's are seen (or would be), midline on midline
        upper_teeth = np.flatnonzero((vertex_kind == 0) & (head.weights[used, head.joint_names.index("jaw")] < 0.5))
        shift = np.zeros(2)
        self.edge = 0  # the interior vertex at the upper incisors' edge
        if len(upper_teeth):
            px = to_output_px(project(self.camera[0, upper_teeth], self.focal, self.photo_size))
            mid = float(np.median(px[:, 0]))
            front = np.abs(px[:, 0] - mid) < 4.0 * px_per_mm
            candidates = np.flatnonzero(front) if front.any() else np.arange(len(px))
            edge = candidates[np.argmax(px[candidates, 1])]  # the lowest point of the front teeth
            tip = np.array([mid, px[edge, 1]])
            shift = np.asarray(edge_px, np.float64) - tip
            self.edge = int(upper_teeth[edge])
        self.to_output_px = lambda p: to_output_px(p) + shift
        self.jaw_per_portrait_jaw = 1.0
        """The interior's jawOpen per unit of the portrait rig's: the lower lip rests on the lower incisors and goes
        where the jaw takes them, so they drop as fast as the rig drops the lower lip (the two rigs' jaws open by
        different amounts; with the teeth dropping slower than the lip, a whole row of lower teeth was bared on every
        open vowel)."""
        self.rest_jaw = 0.0
        """The jaw's opening in the photo's own pose: lips apart at rest have the teeth apart behind them (the
        lower incisors' edge LOWER_INCISOR_SHOW_MM above the lower lip, not their whole row bared); sealing the
        lips closes it."""
        self.lift_jaw = 0.0
        """How much less the interior's jaw opens than the portrait's, where the photo's lips meet: the fitted
        head's closed teeth put the lower incisors' edge under the lips' meeting line (1.6 mm on flux_man_0324),
        so dropping with the lower lip it stayed hidden under a lip that rests on it, and the open mouth showed no
        lower teeth at all (teeth 0.37 of the interior, brightness 0.58 of the skin; tilted by 8° in the picture,
        0.54, under the held-out bar). Opening that much less brings the edge to the lower lip's inner edge once
        the lips part; until then the teeth part half as fast as the lips (in full occlusion, "oo" and "ee" showed
        both rows clenched)."""
        lower_teeth = np.flatnonzero((vertex_kind == 0) & (head.weights[used, head.joint_names.index("jaw")] >= 0.5))
        self.lower_front = lower_teeth
        """The lower front teeth (interior vertex indices), whose top is the lower incisors' edge."""
        if lower_lip_px is not None and len(upper_teeth) and len(lower_teeth):
            px = self.to_output_px(project(self.camera[0, lower_teeth], self.focal, self.photo_size))
            front = np.abs(px[:, 0] - lower_lip_px[0]) < 4.0 * px_per_mm
            self.lower_front = lower_teeth[front] if front.any() else lower_teeth
            tips = np.array([self.lower_edge_y(c) for c in self.camera])  # at each jaw sample
            lip = portrait.evaluate({"jawOpen": JAW_SAMPLES[:2]})[:, LOWER_LIP_MIDDLE, 1].astype(np.float64)
            teeth_mm = (tips[1] - tips[0]) / px_per_mm
            if teeth_mm > 0:
                self.jaw_per_portrait_jaw = float((lip[0] - lip[1]) * 1000.0 / teeth_mm)
            target = lower_lip_px[1] - LOWER_INCISOR_SHOW_MM * px_per_mm
            if tips[0] < target:
                self.rest_jaw = float(np.clip(np.interp(target, tips, JAW_SAMPLES), 0.0, MAX_REST_JAW))
            elif tips[0] > lower_lip_px[1] and tips[1] > tips[0]:  # the edge lies under lips that meet
                per_jaw = (tips[1] - tips[0]) / (JAW_SAMPLES[1] - JAW_SAMPLES[0])  # output px it drops per unit
                self.lift_jaw = float((tips[0] - lower_lip_px[1]) / per_jaw)
        # the same point in the portrait rig: under and behind the middle of its upper inner lip. The head's
        # motion moves the interior about it, so the teeth stay behind the lips when the head turns
        self.tip_portrait = self.portrait_rest[UPPER_LIP_MIDDLE] + np.array(
            [0.0, -edge_drop_mm, -INCISOR_BEHIND_LIP_MM]) / 1000.0

    def lower_edge_y(self, camera_points: np.ndarray) -> float:
        """The output-frame row of the lower incisors' edge in the posed interior ``camera_points`` (Vi, 3)."""
        px = self.to_output_px(project(camera_points[self.lower_front], self.focal, self.photo_size))
        return float(px[:, 1].min())

    def jaw_open(self, portrait_vertices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """The frame's jawOpen read off the portrait's vertices, and the head's rigid motion (R, t) from rest."""
        rot, move = kabsch(self.portrait_rest[self.skull], portrait_vertices[self.skull])
        local = (portrait_vertices - move) @ rot  # the frame without the head's motion
        return self._jaw_reader(local), rot, move

    def posed(self, portrait_vertices: np.ndarray, lip_seal: float = 0.0
              ) -> tuple[np.ndarray, int, float, np.ndarray]:
        """The interior's vertices in camera space (Vi, 3) for a portrait frame (its photo lip gap closed by
        ``lip_seal``), the jaw sample below the frame's jaw opening, the share of the way to the next one, and the
        head's rotation."""
        jaw, rot, move = self.jaw_open(np.asarray(portrait_vertices, np.float64))
        jaw = jaw * self.jaw_per_portrait_jaw
        jaw = max(jaw - self.lift_jaw, 0.5 * jaw) + self.rest_jaw * (1.0 - float(np.clip(lip_seal, 0.0, 1.0)))
        i, f = between_samples(jaw, JAW_SAMPLES)
        cam = self.camera[i] * (1.0 - f) + self.camera[i + 1] * f
        # the head's motion, measured on the portrait rig (its axes are the camera's), moves the incisors' edge
        # as it moves the same point of the portrait, and turns the interior about it
        edge = self.camera[0, self.edge]
        cam = (cam - edge) @ rot.T + edge + (self.tip_portrait @ rot.T + move - self.tip_portrait)
        return cam, i, f, rot

    def incisor_edge_px(self, portrait_vertices: np.ndarray) -> np.ndarray:
        """Where the upper incisors' edge lands in the output frame (x, y)."""
        cam, *_ = self.posed(portrait_vertices)
        return self.to_output_px(project(cam[self.edge], self.focal, self.photo_size))

    def frame(self, portrait_vertices: np.ndarray, box: tuple[int, int, int, int] | None = None,
              outline: np.ndarray | None = None, cull: bool = True, lip_seal: float = 0.0) -> InteriorFrame:
        """The posed interior; with ``box`` (x0, y0, x1, y1) only the triangles that reach into it. With
        ``outline`` (N, 2 output pixels, the inner-lip loop) the lips shade it from the light, and (``cull``)
        only the triangles that reach into the loop's convex hull are kept."""
        cam, i, f, rot = self.posed(portrait_vertices, lip_seal)
        px = self.to_output_px(project(cam, self.focal, self.photo_size))
        # a triangle whose corners all lie beyond one edge of the box, or of the outline's hull, is not seen
        beyond = np.zeros(len(px), np.int64)
        if box is not None:
            x0, y0, x1, y1 = box
            beyond |= (px[:, 0] < x0) * 1 | (px[:, 0] >= x1) * 2 | (px[:, 1] < y0) * 4 | (px[:, 1] >= y1) * 8
        if cull and outline is not None and len(outline) >= 3:
            # clockwise on the screen: a point is outside an edge where it lies to the edge's left
            hull = cv2.convexHull(np.asarray(outline, np.float32), clockwise=True).reshape(-1, 2).astype(np.float64)
            for k, (a, b) in enumerate(zip(hull, np.roll(hull, -1, axis=0), strict=True)):
                across = (b[0] - a[0]) * (px[:, 1] - a[1]) - (b[1] - a[1]) * (px[:, 0] - a[0])
                beyond |= (across > np.hypot(*(b - a))) * (16 << k)  # more than a pixel outside
        triangles = self.triangles
        if beyond.any():
            triangles = triangles[(beyond[triangles[:, 0]] & beyond[triangles[:, 1]] & beyond[triangles[:, 2]]) == 0]
        corners = px[triangles]
        # every surface is one-sided: the teeth wound outward, the gums and tongue seen from inside the mouth;
        # what faces away is hidden behind what faces the camera and is dropped
        keep = signed_areas(corners) < 0
        chosen = triangles[keep]
        # only the vertices of what is kept are shaded: a tenth of the interior on a typical frame
        used, corner_of = np.unique(chosen, return_inverse=True)
        normals = (self.normals[i, used] * (1.0 - f) + self.normals[i + 1, used] * f) @ rot.T
        light = self.light
        direct = (1.0 - light.ambient) * np.clip(normals @ light.direction, 0.0, None)
        if outline is not None and len(outline) >= 3:
            direct = direct * self._through_the_lips(cam[used], px[used], outline, self.lips_depth_mm(cam))
        shaded = self.albedo[used] * (light.ambient * self.ambient_colour[used] + direct[:, None]) * light.colour
        return InteriorFrame(corners[keep], -cam[chosen, 2] * 1000.0, shaded[corner_of.reshape(chosen.shape)])

    def lips_depth_mm(self, cam: np.ndarray) -> float:
        """How far the lips' plane lies from the camera (mm) for the posed interior ``cam`` (Vi, 3)."""
        return float(-cam[self.edge, 2] * 1000.0 - INCISOR_BEHIND_LIP_MM)

    def _through_the_lips(self, cam: np.ndarray, px: np.ndarray, outline: np.ndarray, lips_mm: float
                          ) -> np.ndarray:
        """0-1 per vertex (``cam`` (n, 3) camera metres, ``px`` (n, 2) output pixels): how much of the light's
        direct beam reaches it past the lips, whose plane lies ``lips_mm`` from the camera. The only way in is
        the opening: followed toward the light to the lips' plane, a vertex's beam must pass inside the
        inner-lip loop, or the upper lip (under a light from above), the lower lip or a cheek shades it. The
        edge is softened over a millimetre, the penumbra of a light as wide as a window."""
        to_light = self.light.direction
        if to_light[2] <= 0.05:  # a light from the side or behind does not shine into the mouth
            return np.zeros(len(cam))
        behind = np.clip(-cam[:, 2] * 1000.0 - lips_mm, 0.0, None)  # (Vi,) mm behind the lips' plane
        step = np.array([to_light[0], -to_light[1]]) / to_light[2] * self.px_per_mm  # px per mm of depth, y down
        at_lips = px + behind[:, None] * step
        soft = max(1, round(self.px_per_mm))
        lo = np.floor(np.asarray(outline).min(axis=0)).astype(int) - 2 * soft
        hi = np.ceil(np.asarray(outline).max(axis=0)).astype(int) + 2 * soft
        opening = np.zeros((hi[1] - lo[1] + 1, hi[0] - lo[0] + 1), np.float32)
        cv2.fillPoly(opening, [np.round((np.asarray(outline) - lo) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
        opening = cv2.GaussianBlur(opening, (0, 0), 0.5 * soft)
        cell = np.round(at_lips - lo).astype(int)
        inside = ((cell >= 0) & (cell < np.array(opening.shape[::-1]))).all(axis=1)
        lit = np.zeros(len(cam))
        lit[inside] = opening[cell[inside, 1], cell[inside, 0]]
        return lit

    def paint(self, box: tuple[int, int, int, int], portrait_vertices: np.ndarray,
              outline: np.ndarray | None = None, cull: bool = True, lip_seal: float = 0.0) -> np.ndarray:
        """Linear RGB (h, w, 3) of the interior inside ``box`` (x0, y0, x1, y1, output pixels): the nearest
        interior surface on every pixel, the dark throat where none is seen. With ``outline`` (the inner-lip
        loop) the lips shade it, and (``cull``) what lies wholly outside the loop is left dark: the lips cover
        it."""
        x0, y0, x1, y1 = box
        shape = (y1 - y0, x1 - x0)
        fine = (shape[0] * SUPERSAMPLE, shape[1] * SUPERSAMPLE)
        frame = self.frame(portrait_vertices, box, outline, cull, lip_seal)
        image = np.broadcast_to(self.throat, (*fine, 3)).copy()  # where no tooth, gum or tongue is seen
        if len(frame.corners):
            coverage = cover((frame.corners - np.array([x0, y0])) * SUPERSAMPLE, fine)
            # the nearest triangle by its middle's depth: they are a fraction of a millimetre across
            depth = frame.depth_mm.mean(axis=1)[coverage.triangle]
            nearest = one_per_pixel(coverage, fine, -depth)
            image[nearest.ys, nearest.xs] = nearest.interpolate(frame.colour)
        if SUPERSAMPLE == 1:
            return image
        # each output pixel the mean of its samples: edges of teeth against the throat without stair steps
        return image.reshape(shape[0], SUPERSAMPLE, shape[1], SUPERSAMPLE, 3).mean(axis=(1, 3))


def _kind_of(triangles: np.ndarray, is_teeth: np.ndarray, count: int) -> np.ndarray:
    """Per vertex (``count`` of them): 0 where a tooth triangle uses it, else 1."""
    kind = np.ones(count, np.int64)
    kind[np.unique(triangles[is_teeth])] = 0
    return kind


def _without_roots(head: FaceRig, triangles: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The triangles without the teeth's roots. ICT-FaceKit models whole teeth, roots and all; the gums hide
    the roots from the front, but their surfaces are one-sided, so through a mouth corner on a turn the roots
    showed as grey slabs. Each tooth (a closed surface of its own) keeps the CROWN_SHARE of its height nearest
    its biting end: the crown."""
    teeth = triangles[kind == 0]
    if not len(teeth):
        return triangles, kind
    n = len(head.vertices)
    _, tooth = connected_components(edge_graph(teeth, n), directed=False)
    height = head.vertices[:, 1].astype(np.float64)
    lower = head.weights[:, head.joint_names.index("jaw")] >= 0.5  # lower teeth bite upward
    used = np.unique(teeth)
    top = np.full(n, -np.inf)
    bottom = np.full(n, np.inf)
    np.maximum.at(top, tooth[used], height[used])
    np.minimum.at(bottom, tooth[used], height[used])
    top, bottom = top[tooth], bottom[tooth]  # per vertex: its tooth's extent
    from_bite = np.where(lower, top - height, height - bottom) / np.maximum(top - bottom, 1e-9)
    crown = from_bite <= CROWN_SHARE
    keep = (kind != 0) | crown[triangles].any(axis=1)
    return triangles[keep], kind[keep]


def _interior_triangles(head: FaceRig) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (T, 3) of the teeth and of the gums and tongue, and each one's kind (0 teeth, 1 gums)."""
    teeth, gums = head.material_names.index("M_Teeth"), head.material_names.index("M_GumsTongue")
    materials = head.face_materials
    if materials is None:
        raise ValueError("the head has no materials to find its teeth, gums and tongue by")
    starts = np.concatenate([[0], np.cumsum(head.face_sizes)[:-1]])
    triangles, kinds = [], []
    for size in np.unique(head.face_sizes):
        polys = np.flatnonzero((head.face_sizes == size) & np.isin(materials, [teeth, gums]))
        corners = head.face_indices[starts[polys, None] + np.arange(size)]
        kind = (materials[polys] == gums).astype(np.int64)
        for j in range(1, size - 1):  # a fan per polygon
            triangles.append(corners[:, [0, j, j + 1]])
            kinds.append(kind)
    return np.concatenate(triangles), np.concatenate(kinds)

