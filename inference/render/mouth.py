"""The mouth interior the photo does not contain, painted inside the frame's inner-lip loop.

By default it is the fitted 3-D head's teeth, gums and tongue (``mouth_geometry``) with the upper lip's
contact shadow; below a 1 mm lip gap the dark line between the lips is drawn instead, and the 3-D interior
comes in as the gap opens to 3 mm. Without a fitted head (``--mouth drawn``, or a photo the head cannot be
fitted to) cavity, tongue and teeth are drawn in millimetres: at most 7 mm of upper incisor shows, the canines
14-19 mm from the midline on a 48 mm wide mouth; the tongue shows once the mouth is 6-10 mm open.
Where the photo's own mouth interior lands (moved with the skull, see ``warp``) its real teeth stay; only the
extra opening is painted (with the 3-D interior, everything there but the photo's teeth: ``photo_teeth``).
Brightness follows the skin of the cheeks and under the nose, so the interior sits in the photo's light.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..colour.palette import FULL_COLOUR, Palette
from ..colour.srgb import LUMA, linear_to_srgb, srgb_to_linear
from .framing import box_around, height_along
from .mouth_geometry import GeometricInterior
from .photo_teeth import teeth_likeness

CAVITY_BACK = np.array([0.045, 0.012, 0.016])
CAVITY_LIPS = np.array([0.30, 0.085, 0.095])
TONGUE = np.array([0.55, 0.24, 0.26])
UPPER_TEETH = np.array([0.84, 0.80, 0.73])
LOWER_TEETH = np.array([0.78, 0.74, 0.68])
REFERENCE_SKIN_LUMA = 0.55
WHITES_AT_EXPOSURE_ONE = 0.4
"""A floor under the interior's exposure: the whites of the eyes (``lighting.whites_of_the_eyes``, linear) are at
most this bright under the light that gives a face's skin REFERENCE_SKIN_LUMA. The four portraits here read
0.15-0.39 at their skin's exposure (lids and lashes shade the whites; in the two photographs they are darker than
the cheeks), so only a face whose skin is darker against its eyes than any of those takes its exposure from the
eyes; a face with the FLUX man's eyes and a quarter of his skin's brightness takes 1.7x the skin's."""
TOOTH_GAPS_MM = (0.0, 8.5, 14.0, 19.0)  # from the midline, on a 48 mm wide mouth
REFERENCE_MOUTH_WIDTH_MM = 48.0
CONTACT_SHADOW, CONTACT_SHADOW_MM = 0.3, 0.8  # the upper lip's shadow on the teeth right under it
SEALED_GAP_MM, OPEN_GAP_MM = 1.0, 3.0  # lip gaps over which the drawn lip line gives way to the 3-D interior


class MouthPainter:
    """Paints the synthetic interior of one photo's mouth, frame by frame."""

    def __init__(self, px_per_mm: float, skin_rgb: np.ndarray, photo_gap_mm: float,
                 interior: GeometricInterior | None = None, palette: Palette = FULL_COLOUR,
                 whites: float | None = None):
        """``interior``: the fitted 3-D head's teeth, gums, tongue and socket (``mouth_geometry``); without it
        the interior is drawn from the rules below. ``palette``: the photo's colour (``palette``): a black-and-white
        or toned photo gets an interior in its own tone. ``whites``: how bright the whites of the eyes are
        (``lighting.whites_of_the_eyes``), a floor under the 3-D interior's exposure."""
        self.interior = interior
        self.palette = palette
        self.ppm = px_per_mm
        self.skin = skin_rgb
        luma = float(skin_rgb @ LUMA) / 255.0
        self.gain = float(np.clip(luma / REFERENCE_SKIN_LUMA, 0.5, 1.4))  # the drawn interior's sRGB colours
        # the 3-D interior is shaded in linear light, and follows the skin's exposure up to white: held to the
        # drawn interior's cap (skin luma 0.77), a brightly lit face's mouth came out darker against its skin
        # than any real mouth (0.51 of it, against 0.58 on the same photo before brightening it)
        floor = 0.5 * REFERENCE_SKIN_LUMA
        self.exposure = float(srgb_to_linear(max(luma, floor)) / srgb_to_linear(REFERENCE_SKIN_LUMA))
        # the skin's brightness is its colour as much as the light: a dark-skinned face would otherwise open on
        # grey teeth, darker than its own eyes' whites. The whites say how much light there is
        if whites is not None:
            self.exposure = max(self.exposure, whites / WHITES_AT_EXPOSURE_ONE)
        # half of the photo's colour cast (a warm painting gets warm teeth)
        self.tint = np.sqrt(np.clip(skin_rgb / max(float(skin_rgb.mean()), 1.0), 0.5, 2.0))
        self.photo_has_interior = photo_gap_mm > 1.5
        """A photo with lips apart shows its own teeth/cavity; it is kept where it lands."""

    def paint(self, frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, corners: np.ndarray,
              photo_polygon: np.ndarray | None, vertices: np.ndarray | None = None, lip_seal: float = 0.0) -> None:
        """Draw into ``frame`` (uint8 RGB, modified in place) inside the destination inner-lip loop.

        ``upper``/``lower``: the inner-lip points (output pixels), each ordered from one corner to the other;
        ``corners``: the two mouth corners; ``photo_polygon``: the photo's interior moved with the skull;
        ``vertices``: the frame's portrait-rig vertices (they pose the 3-D interior); ``lip_seal``: how far the
        photo's own lip gap is closed."""
        polygon = np.vstack([upper, lower[::-1]])
        box = box_around(polygon, 3, frame.shape)
        if box is None:
            return
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        mask = np.zeros((bh, bw), np.uint8)
        offset = np.array([x0, y0])
        cv2.fillPoly(mask, [np.round((polygon - offset) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        if not mask.any():
            return
        alpha = mask.astype(np.float32) / 255.0
        if photo_polygon is not None:
            # only an opening larger than the photo's own is painted (a still mouth stays the photo's)
            extra = (_area(polygon) - _area(photo_polygon)) / max(1.5 * self.ppm * _width(polygon), 1e-6)
            alpha *= float(np.clip(extra, 0.0, 1.0))
        if self.photo_has_interior and photo_polygon is not None:
            real = np.zeros_like(mask)
            cv2.fillPoly(real, [np.round((photo_polygon - offset) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
            # grown a little before softening, so the photo's own interior is kept right up to its lips
            grow = max(1, round(0.6 * self.ppm))
            real = cv2.dilate(real, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(np.float32) / 255.0
            if self.interior is not None:
                # of it only the teeth: its dark gap and the lips' inner rim give way to the 3-D interior, lined
                # up with them (the warped photo is what the frame holds there before painting)
                real *= teeth_likeness(cv2.GaussianBlur(frame[y0:y1, x0:x1], (3, 3), 0), self.skin)
            real = cv2.GaussianBlur(real, (0, 0), max(0.3 * self.ppm, 0.5))
            alpha *= 1.0 - real
        if alpha.max() < 1e-3:
            return
        # a lip gap of a millimetre or two shows the dark line between the lips, not teeth: the 3-D interior
        # comes in as the gap opens (without this its incisors showed as a grey line on sealed lips)
        opening = 0.0
        if self.interior is not None and vertices is not None:
            xs = np.arange(bw) + 0.5
            gap_mm = float(np.max(height_along(lower - offset, xs) - height_along(upper - offset, xs))) / self.ppm
            opening = float(np.clip((gap_mm - SEALED_GAP_MM) / (OPEN_GAP_MM - SEALED_GAP_MM), 0.0, 1.0))
        if opening < 1.0:
            drawn = self._interior(mask, upper - offset, lower - offset, corners - offset)
        if opening > 0.0 and vertices is not None:
            geometric = self._geometric(box, vertices, upper - offset, polygon, lip_seal)
            colour = geometric if opening >= 1.0 else drawn * (1.0 - opening) + geometric * opening
        else:
            colour = drawn
        colour = self.palette.apply(colour)
        region = frame[y0:y1, x0:x1].astype(np.float32) / 255.0
        out = region * (1.0 - alpha[..., None]) + colour * alpha[..., None]
        frame[y0:y1, x0:x1] = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def _geometric(self, box: tuple[int, int, int, int], vertices: np.ndarray, upper: np.ndarray,
                   polygon: np.ndarray, lip_seal: float) -> np.ndarray:
        """The fitted head's interior in the box, in the photo's light, with the upper lip's contact shadow
        (``upper``: the upper inner lip in box pixels; ``polygon``: the inner-lip loop in output pixels)."""
        assert self.interior is not None  # paint asks for it only where there is one
        colour = self.interior.paint(box, vertices, polygon, lip_seal=lip_seal)
        bh, bw = colour.shape[:2]
        top = height_along(upper, np.arange(bw) + 0.5)
        below_top = np.clip((np.arange(bh) + 0.5)[:, None] - top, 0.0, None) / self.ppm  # mm under the upper lip
        colour = colour * (1.0 - CONTACT_SHADOW * np.exp(-below_top / CONTACT_SHADOW_MM))[..., None]
        colour = cv2.GaussianBlur(colour.astype(np.float32), (0, 0), max(0.25 * self.ppm, 0.5))  # no cut-out edges
        return linear_to_srgb(colour * self.exposure)  # shaded in linear light, stored like the photo

    def _interior(self, mask: np.ndarray, upper: np.ndarray, lower: np.ndarray, corners: np.ndarray) -> np.ndarray:
        ppm = self.ppm
        bh, bw = mask.shape
        xs = np.arange(bw) + 0.5
        ys = (np.arange(bh) + 0.5)[:, None]
        top, bottom = height_along(upper, xs), height_along(lower, xs)
        gap = np.maximum(bottom - top, 1e-3)
        gap_mm = float(gap.max()) / ppm
        centre = corners.mean(0)
        width = max(float(np.linalg.norm(corners[1] - corners[0])), 1.0)
        across = np.clip(np.abs(xs - centre[0]) / (width / 2), 0.0, 1.0)[None, :]  # 0 midline, 1 corner
        taper = np.sqrt(np.clip(1.0 - across**2, 0.0, 1.0))
        below_top, above_bottom = ys - top, bottom - ys  # pixels from each lip, smooth along the mouth
        edge = np.clip(np.minimum(below_top, above_bottom), 0.0, None) / ppm  # mm from the nearer lip

        depth = np.clip(edge / 3.0, 0.0, 1.0)[..., None]
        colour = CAVITY_LIPS + (CAVITY_BACK - CAVITY_LIPS) * depth
        colour = colour * (1.0 - 0.5 * across[..., None] ** 2)

        # tongue: a low rounded mass that rises into view as the mouth opens
        tongue_in = np.clip((gap_mm - 6.0) / 4.0, 0.0, 1.0)
        if tongue_in > 0:
            ty = bottom - 0.18 * gap
            r = ((xs[None, :] - centre[0]) / (0.36 * width)) ** 2 + ((ys - ty) / (0.38 * gap)) ** 2
            t = np.clip((1.0 - r) * 3.0, 0.0, 1.0) * tongue_in * np.clip((ys - (ty - 0.38 * gap)), 0, 1)
            shade = np.clip(1.0 - (ty - ys) / (0.5 * gap), 0.4, 0.85)
            colour = colour + (TONGUE * shade[..., None] - colour) * t[..., None]

        # teeth: the upper incisors show below the upper lip, the lower ones above the lower lip when wide
        mm_from_mid = np.abs(xs - centre[0]) / ppm * REFERENCE_MOUTH_WIDTH_MM / (width / ppm)
        if gap_mm > 1.0:
            length = np.minimum(0.5 * gap, 7.0 * ppm) * (0.3 + 0.7 * taper)
            length = length - 0.4 * ppm * _near_gap(mm_from_mid, 1.2)  # rounded incisal edges
            cover = np.clip(length - below_top, 0.0, 1.0) * np.clip(below_top + 0.5, 0.0, 1.0)
            shade = (0.3 + 0.7 * taper**1.5) * (1.0 - 0.25 * _near_gap(mm_from_mid, 0.45))
            shade = shade * (0.8 + 0.2 * np.clip(below_top / np.maximum(length, 1e-3), 0, 1))
            colour = colour + (UPPER_TEETH * shade[..., None] - colour) * cover[..., None]
        if gap_mm > 12.0:
            height = np.minimum(0.2 * gap, 3.0 * ppm) * taper * min((gap_mm - 12.0) / 4.0, 1.0)
            cover = np.clip(height - above_bottom, 0.0, 1.0) * np.clip(above_bottom + 0.5, 0.0, 1.0)
            shade = (0.3 + 0.35 * taper**1.5) * (1.0 - 0.25 * _near_gap(mm_from_mid, 0.4))
            colour = colour + (LOWER_TEETH * shade[..., None] - colour) * cover[..., None]

        # contact shadows at the lips, then a touch of blur so nothing looks cut out
        colour = colour * (1.0 - 0.35 * np.exp(-edge / 0.6))[..., None]
        colour = cv2.GaussianBlur(colour.astype(np.float32), (0, 0), max(0.3 * ppm, 0.5))
        return np.clip(colour * (self.gain * self.tint), 0.0, 1.0)


def _near_gap(mm_from_mid: np.ndarray, half_width_mm: float) -> np.ndarray:
    """1 on the lines between teeth, falling to 0 ``half_width_mm`` away."""
    d = np.min(np.abs(mm_from_mid[None, :] - np.array(TOOTH_GAPS_MM)[:, None]), axis=0)
    return np.clip(1.0 - d / half_width_mm, 0.0, 1.0)[None, :]


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _width(polygon: np.ndarray) -> float:
    return float(np.ptp(polygon[:, 0]))
