"""One photo, many frames: the per-photo set-up and the per-frame render of the training-free warp renderer.

A frame is the photo pulled through a dense backward map (``warp``) built from the portrait rig's
vertices, then the mouth interior the photo lacks (``mouth``) and the lid of a closing eye
(``eyelids``). Everything is a pure function of the frame's vertices, so a still head gives a still
image (no flicker) and an edited key in Blender changes exactly the frames it touches.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from ..colour.palette import palette_of
from ..errors import InputError
from ..geometry.normals import vertex_normals
from ..geometry.rigid import kabsch
from ..io.quiet import native_stderr_silenced
from ..rigs import mediapipe_topology as mt
from ..rigs.rig import FaceRig, euler_angles, euler_matrices
from .eyelids import EyelidPainter
from .face_edge import face_edge_of
from .framing import Framing
from .head_controls import head_controls
from .layers import BackgroundLayers
from .lighting import Light, light_of_photo, skin_points, whites_of_the_eyes
from .mouth import MouthPainter
from .mouth_geometry import INCISOR_SHOW_MM, GeometricInterior
from .photo_teeth import upper_teeth_edge
from .remap import Remapper, make_remapper, smooth_tears
from .turned_skin import TurnedSkin
from .warp import PortraitWarp

HEAD_LIMITS_DEG = (15.0, 25.0, 10.0)
"""Pitch, yaw, roll a single photo supports before the warp shows what it cannot know (the side of the head)."""


@dataclass
class LimitReport:
    """How often the motion asked for more than the photo supports (for one warning at the end)."""

    frames_clamped: int = 0
    largest_deg: float = 0.0


def require_portrait(rig: FaceRig) -> tuple[np.ndarray, np.ndarray]:
    """Rendering warps a photo: only a portrait rig (made from one) has it. The photo, and the face mesh as
    photographed (rig metres)."""
    photo, photographed = rig.texture, rig.photo_vertices
    if rig.meta.get("kind") != "portrait" or photographed is None or photo is None:
        raise InputError(f"Rendering needs a portrait face rig made from a photo; '{rig.name}' is not one "
                         "(make one with `vividtalk rig --image photo.jpg`).")
    try:
        sizes = [float(rig.meta[k]) for k in ("image_width", "image_height", "pixels_per_metre")]
    except (KeyError, ValueError) as e:
        raise InputError(f"The portrait rig '{rig.name}' lacks its photo's measurements ({e}); make it again with "
                         "`vividtalk rig --image photo.jpg`.") from e
    if not all(math.isfinite(x) and x > 0 for x in sizes) or rig.n_vertices < 478:
        raise InputError(f"The portrait rig '{rig.name}' is damaged (photo size, scale or face mesh); make it again "
                         "with `vividtalk rig --image photo.jpg`.")
    return photo, photographed


class PortraitRenderer:
    """Renders frames of the person in ``rig``'s photo (a portrait rig from ``build_portrait_rig``)."""

    def __init__(self, rig: FaceRig, size: int = 512, device: str = "cpu", person_mask: bool = True,
                 layered: bool = False, interior: str = "geometry", head: FaceRig | None = None,
                 matte: np.ndarray | None = None, fit_head: bool = True):
        """``layered``: composite the warped person over a still, inpainted background plate (``layers``);
        ``interior``: ``geometry`` (the teeth, gums and tongue of the 3-D head fitted to the photo,
        ``mouth_geometry``; the drawn one where no head can be fitted) or ``drawn`` (painted, ``mouth``);
        ``head``: the 3-D head fitted to the photo (``fitted_head``; it also moves the head and neck outside the
        face, ``head_controls``), fitted here when None and ``fit_head`` (False: a caller found it cannot be fitted);
        ``matte``: the person already found at this size (``person_matte``), so worker processes need not fit the
        head or run MediaPipe again."""
        photo, photographed = require_portrait(rig)
        self.rig = rig
        self.photographed = photographed
        """The face mesh as photographed (rig metres)."""
        self.framing, self.source = framed_photo(rig, size)
        self.size = size
        m = self.framing.margin
        self.src_px = self.framing.project(photographed)
        self.lip_offset = photographed - rig.vertices  # the photo's lip gap the rest pose closes
        if matte is None and (person_mask or layered):
            matte = _person_mask(self.source)
        mask = matte[m:m + size, m:m + size] if matte is not None and person_mask else None
        tris = rig.face_indices.reshape(-1, 3)
        self._head_pivot = rig.joint_positions[rig.joint_names.index("head")]
        if head is None and fit_head:
            head = fitted_head(rig)
        controls = head_controls(head, rig, self.framing, self.src_px, mask) if head is not None else None
        self.warp = PortraitWarp(self.src_px, rig.vertices, photographed, tris, self.framing.project, size,
                                 self._head_pivot, mask, controls)
        ppm_out = self.framing.px_per_mm_out
        skin = _skin_colour(self.source, self.src_px + m, ppm_out)
        photo_gap_mm = float(np.linalg.norm(self.src_px[13] - self.src_px[14])) / ppm_out
        seen = upper_teeth_edge(self.source, self.src_px[13] + m, self.src_px[14] + m, skin, ppm_out)
        self.photo_incisor_edge = None if seen is None else seen - m
        """Where the photo's own upper incisors end (output pixels, a row), None where it shows none."""
        smiling = self.photo_incisor_edge is not None
        self._lip_raised = np.flatnonzero(self.lip_offset[:, 1] > 0.0) if smiling else np.zeros(0, np.int64)
        """The upper lip's points that a photo showing its upper teeth has up and the rest pose lowered."""
        self.light: Light = self._photo_light()
        fitted = self._interior_of(head) if interior == "geometry" and head is not None else None
        self.turned_skin = TurnedSkin(self.source, self.src_px + m, photographed, self.warp.skin,
                                      np.array(mt.FACE_OVAL), skin, self.light, size)
        self.warp.face_edge = face_edge_of(self.source[m:m + size, m:m + size], self.src_px, self.warp.skin,
                                           self.turned_skin.hops, skin, size)
        self.mouth = MouthPainter(ppm_out, skin, photo_gap_mm, fitted,
                                  palette_of(self.source, self.src_px[list(mt.FACE_OVAL)] + m),
                                  whites_of_the_eyes(photo, _texture_pixels(rig)[0]))  # at full size
        self.lids = EyelidPainter(self.source, self.src_px, ppm_out, m, self.light)
        self.remapper: Remapper = make_remapper(device, self.source)
        self.layers = None
        if layered:
            if matte is None:
                raise InputError("Two-layer rendering needs MediaPipe's selfie segmentation, which did not run here; "
                                 "use --background warp.")
            self.layers = BackgroundLayers(self.source, matte, self.src_px[mt.CHIN, 1] + m, m, size)
        self.painted_skin = 0.0
        """Pixels' worth of skin the last frame drew where a turn stretched the photo (``turned_skin``)."""
        self.limits = _head_limits(photographed)
        self.limit_report = LimitReport()
        self._skull = np.array(mt.SKULL)

    def render(self, vertices: np.ndarray, lip_seal: float = 0.0) -> np.ndarray:
        """(size, size, 3) uint8 RGB for one frame of rig vertices (V, 3) in metres.

        ``lip_seal`` (0-1) closes the photo's own lip gap (photos that show teeth): 0 keeps the photo's
        mouth at rest, 1 seals it like the rig's rest pose (P, B, M)."""
        verts = self._within_limits(np.asarray(vertices, np.float64))
        dest = verts + (1.0 - float(np.clip(lip_seal, 0, 1))) * self._photo_lip_offset(verts)
        backward, geo = self.warp.frame_map(verts, dest)
        m = self.framing.margin
        source_px = backward
        source_px += m - 0.5  # in place: a fresh full-frame map each frame costs its page faults
        frame = self.remapper.remap(source_px)
        smooth_tears(frame, *geo.tears)
        if self.layers is not None:
            frame = self.layers.composite(frame, source_px)
        self.painted_skin = self.turned_skin.paint(frame, geo.dest, geo.turned, dest)
        upper = geo.dest[list(mt.LIP_UPPER_INNER)]
        lower = geo.dest[[mt.LIP_UPPER_INNER[0], *mt.LIP_LOWER_INNER, mt.LIP_UPPER_INNER[-1]]]
        corners = geo.dest[[mt.MOUTH_CORNERS["R"][1], mt.MOUTH_CORNERS["L"][1]]]
        self.mouth.paint(frame, upper, lower, corners, geo.photo_mouth_polygon, verts, float(lip_seal))
        self.lids.paint(frame, geo.dest, geo.turned)
        return frame

    def _photo_lip_offset(self, verts: np.ndarray) -> np.ndarray:
        """The photo's own lip gap, added back to the frame's vertices. A photo whose upper lip is already up (a
        smile showing its upper teeth) does not raise it again as the lip sync does: talking lifts the upper lip only
        beyond where the photo has it, as its muscles can pull it only so far (without this, a smiling photo
        showed its gums on every open vowel). Lips merely parted, without teeth, are at rest: the lift adds."""
        offset, raised = self.lip_offset, self._lip_raised
        if not len(raised):
            return offset
        rot, move = kabsch(self.rig.vertices[self._skull], verts[self._skull])
        rise = ((verts[raised] - move) @ rot - self.rig.vertices[raised])[:, 1]  # the frame's own lift, head still
        offset = offset.copy()
        offset[raised, 1] = np.maximum(offset[raised, 1] - np.clip(rise, 0.0, None), 0.0)
        return offset

    def _photo_light(self) -> Light:
        """The photo's light, read off the shading of the face as photographed."""
        points = self.photographed.astype(np.float64)
        normals = vertex_normals(points, self.rig.face_indices.reshape(-1, 3))
        if normals[:468, 2].mean() < 0:  # the mesh's winding decides which way its normals point: toward the camera
            normals = -normals
        return light_of_photo(self.source, self.src_px + self.framing.margin, normals, skin_points(points * 1000.0))

    def _interior_of(self, head: FaceRig) -> GeometricInterior:
        """The fitted head's teeth, gums and tongue as the mouth's interior, placed in the output frame with
        the upper incisors' edge where the photo shows it, or else INCISOR_SHOW_MM under the photo's upper lip."""
        framing, ppm = self.framing, self.framing.px_per_mm_out
        rest_lip = framing.project(self.rig.vertices[13].astype(np.float64))
        photo_lip = self.src_px[13]
        seen = self.photo_incisor_edge
        edge_y = seen if seen is not None else photo_lip[1] + INCISOR_SHOW_MM * ppm
        edge_px = np.array([photo_lip[0], edge_y])
        return GeometricInterior(head, self.rig, framing.photo_to_output, np.array(mt.SKULL),
                                 edge_px, (edge_y - rest_lip[1]) / ppm, ppm, self.light, self.src_px[14])

    def _within_limits(self, verts: np.ndarray) -> np.ndarray:
        """Turn the whole head back inside the angles the photo supports (about the head joint)."""
        rot, trans = kabsch(self.rig.vertices[self._skull], verts[self._skull])
        angles = np.degrees(euler_angles(rot))
        clamped = np.clip(angles, -self.limits, self.limits)
        excess = float(np.max(np.abs(angles - clamped)))
        if excess < 1e-6:
            return verts
        self.limit_report.frames_clamped += 1
        self.limit_report.largest_deg = max(self.limit_report.largest_deg, excess)

        fix = euler_matrices(np.radians(clamped)) @ rot.T
        pivot = rot @ self._head_pivot + trans  # where the neck's pivot went: turn back about it
        return (verts - pivot) @ fix.T + pivot


_FITTED_HEADS: OrderedDict[bytes, FaceRig | None] = OrderedDict()
FITTED_HEADS_KEPT = 4
"""Heads fitted in this process, by photo: a batch's video lines and a serve session reuse one portrait's
(the fit costs about 1.5 s)."""


def fitted_head(rig: FaceRig) -> FaceRig | None:
    """The built-in 3-D head fitted to the portrait rig's photo (its view of the photo set), or None where it
    cannot be fitted; kept per photo in this process."""
    from ..rigs.ict import head_seen_in

    photo, _ = require_portrait(rig)
    key = hashlib.sha1(np.ascontiguousarray(photo).data).digest() + repr(photo.shape).encode()
    if key not in _FITTED_HEADS:
        try:
            _FITTED_HEADS[key] = head_seen_in(photo, rig.name)
        except InputError:
            _FITTED_HEADS[key] = None
        while len(_FITTED_HEADS) > FITTED_HEADS_KEPT:
            _FITTED_HEADS.popitem(last=False)
    _FITTED_HEADS.move_to_end(key)
    return _FITTED_HEADS[key]


SKIN_PATCHES = (mt.CHEEK["R"][0], mt.CHEEK["L"][0], mt.UNDER_NOSE)
SKIN_PATCH_RADIUS_MM = 3.0


def _skin_colour(rgb: np.ndarray, pixels: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The skin's colour (3, 0-255): the median of patches on both cheeks and under the nose. One spot is not
    enough: under a side light one cheek is in shadow, and under the nose is the nose's own shadow."""
    r = max(1, round(SKIN_PATCH_RADIUS_MM * px_per_mm))
    h, w = rgb.shape[:2]
    patches = []
    for x, y in np.round(pixels[list(SKIN_PATCHES)]).astype(int):
        patch = rgb[max(0, y - r):min(h, y + r + 1), max(0, x - r):min(w, x + r + 1)].reshape(-1, 3)
        if len(patch):
            patches.append(np.median(patch, axis=0))
    return np.median(patches, axis=0) if patches else np.full(3, 128.0)


def _photo_pixels(points_m: np.ndarray, w: int, h: int, ppm: float) -> np.ndarray:
    k = 1000.0 * ppm
    return np.column_stack([points_m[:, 0] * k + w / 2, h / 2 - points_m[:, 1] * k])


def _head_limits(photographed: np.ndarray) -> np.ndarray:
    """Rig-space X (pitch), Y (yaw), Z (roll) limits; a photo already turned away supports less turning."""
    from ..rigs.landmarks import head_yaw_degrees

    p = photographed * np.array([1.0, -1.0, -1.0])  # back to image-like axes (y down, z toward camera <0)
    yaw = abs(head_yaw_degrees(p))
    factor = float(np.clip(1.0 - (yaw - 15.0) / 30.0, 0.3, 1.0)) if yaw > 15 else 1.0
    return np.array(HEAD_LIMITS_DEG) * factor


def framed_photo(rig: FaceRig, size: int) -> tuple[Framing, np.ndarray]:
    """The square crop around the portrait rig's face for ``size`` output pixels, and the photo within it (with
    the framing's margin)."""
    photo, _ = require_portrait(rig)
    texture_rig_px, ppm = _texture_pixels(rig)
    framing = Framing.around_face(texture_rig_px, (photo.shape[1], photo.shape[0]), ppm, size)
    return framing, framing.source_image(photo)


def _texture_pixels(rig: FaceRig) -> tuple[np.ndarray, float]:
    """Where the portrait rig's points are in its photo (the rig's texture, V x 2 pixels), and its pixels per mm."""
    photo, photographed = require_portrait(rig)
    ppm = float(rig.meta["pixels_per_metre"]) / 1000.0 * photo.shape[1] / int(rig.meta["image_width"])
    return _photo_pixels(photographed, photo.shape[1], photo.shape[0], ppm), ppm


def person_matte(rig: FaceRig, size: int) -> np.ndarray | None:
    """The person in the portrait's framed photo for ``size`` output pixels (``PortraitRenderer``'s ``matte``)."""
    return _person_mask(framed_photo(rig, size)[1])


def _person_mask(rgb: np.ndarray) -> np.ndarray | None:
    """Float mask, 1 on the person (MediaPipe selfie segmentation); None when mediapipe cannot run it."""
    try:
        from ..rigs.mediapipe_compat import prepare_mediapipe_import

        prepare_mediapipe_import()  # before mediapipe is imported
        from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation
    except ImportError:  # pragma: no cover - depends on the install
        return None
    with native_stderr_silenced(), SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    if mask is None:
        return None
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0)
