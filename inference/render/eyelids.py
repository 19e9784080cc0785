"""The closing eye: the lid skin that comes down over it, and the lashes along its edge.

A warped blink pulls the photo's upper lid down over the eye, but the photo shows only a few pixels of lid
between the brow and the lashes: stretched three or four times, they streak (the lashes drawn out into dark
bands), and MediaPipe's FaceLandmarker, a model of real faces, read a fully shut eye as half closed. Where the
lid has come down below where the photo has it, the lid is drawn instead: the skin around the eye, lit as a lid
curved over the eyeball (a sphere, EYEBALL_MM, around the iris) faces in the photo's light (``lighting``), with
that skin's fine grain, darker at its edge where it turns in under the lashes; the lashes themselves are drawn
along the edge in the photo's lash colour, a band that hangs over the edge as a shut eye's lashes point down.
(The skin just above a photo's lashes was tried as the lid's colour: lashes, eyeshadow and the fold's shadow made
it grey-brown against the face; the cheeks' skin was too ruddy for it.)
"""

from __future__ import annotations

import cv2
import numpy as np

from ..colour.srgb import LUMINANCE, linear_to_srgb, srgb_to_linear
from ..rigs import mediapipe_topology as mt
from .framing import box_around, height_along
from .lighting import Light

EYEBALL_MM = 13.0
"""Radius of the lid's curve over the eye: the eyeball's (12 mm) and the lid's thickness."""
AROUND_EYE = (1.4, 2.0)
"""The skin around the eye, the lid's colour and grain, lies between these multiples of the eye opening about its
centre."""
SKIN_LUMA_PERCENTILES = (40, 90)
"""Of the pixels there, those between these luma percentiles are skin (not lashes, brow hairs or a glint)."""
LID_TONE = 0.95
"""The lid's skin against the skin around the eye: a little darker where it is thinnest."""
COVER_ABOVE = 0.3
"""A lid down a little reaches this share of its drop above the photo's lid edge (fading in), over the stretched
strip just above it."""
STRETCHED_MM = (1.0, 4.0)
"""The lid's drop over which the drawn lid grows from just over the photo's lid edge to the whole stretched strip up
to the ring above the lashes (``ABOVE_UPPER_LID``): a lid down a few millimetres has stretched the photo's lashes
and fold over all of it, which showed as a brown arc over the shut lid."""
FADE_MM = 1.0  # the drawn lid fades in over at least this much at its top
EDGE_SHADE, EDGE_SHADE_MM = 0.3, 0.7  # the lid darkens toward its edge, where it turns in under the lashes
GRAIN_MM, GRAIN_SMOOTH_MM, GRAIN_FIELD_MM, MAX_GRAIN = 0.12, 0.6, 60.0, 0.035
"""The drawn lid takes the fine detail of the skin around the eye (its spread over its brightness, detail finer
than GRAIN_SMOOTH_MM) as grain GRAIN_MM across, from a field GRAIN_FIELD_MM square fixed to the eye: drawn flat it
looked pasted on. Capped: a noisy or heavily compressed photo's blocks are not skin."""
LASH_MM = (0.6, 0.2)
"""The shut lashes' band: its width where they are longest (a third of the way in from the outer corner) and at
the inner corner, where they are short and sparse."""
LASH_HANG = 0.6  # of the band's width, the share below the lid's edge: shut lashes point down over the lower lid
LASH_SOFT_MM = 0.3  # the band's edge is soft: lashes are hairs, not a stroke
LASH_OPACITY = 0.85
LASH_FULL_DROP_MM = 1.0  # the lashes are drawn fully once the lid has come down this far
LASH_BAND_MM = 1.0  # the photo's lashes lie within this much above the lid's margin; their colour is read there


class EyelidPainter:
    """Draws one photo's upper lids where a frame has closed them further than the photo."""

    def __init__(self, source: np.ndarray, src_px: np.ndarray, px_per_mm: float, offset: float, light: Light):
        """``source``: the photo at output scale (``offset`` pixels of margin); ``src_px``: landmarks in output
        pixels as photographed; ``light``: the photo's light."""
        self.ppm = px_per_mm
        self.light = light
        self.lid_albedo: dict[str, np.ndarray] = {}
        self.lash_colour: dict[str, np.ndarray] = {}
        self.grain: dict[str, np.ndarray] = {}
        facing = float(light.shading(np.array([0.0, 0.0, 1.0])))
        photo = src_px + offset  # the landmarks in the source image
        for s in ("L", "R"):
            margin = photo[list(mt.EYE_UPPER[s])]
            colour, grain = _skin_around(source, photo[list(mt.EYE_LOOP[s])], px_per_mm)
            self.lid_albedo[s] = LID_TONE * colour / facing
            self.grain[s] = grain * _grain_field(GRAIN_FIELD_MM * px_per_mm, px_per_mm, seed=len(self.grain))
            self.lash_colour[s] = _lash_colour(source, margin, LASH_BAND_MM * px_per_mm)

    def _shading(self, x: np.ndarray, y: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """The photo's light (ambient plus Lambert) on a lid curved over the eyeball centred under ``centre``."""
        radius = EYEBALL_MM * self.ppm
        u, v = np.broadcast_arrays((x - centre[0]) / radius, (centre[1] - y) / radius)  # camera axes: y up
        normal = np.stack([u, v, np.sqrt(np.clip(1.0 - u * u - v * v, 0.05, None))], axis=-1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        return self.light.shading(normal)

    def _grain(self, side: str, xs: np.ndarray, ys: np.ndarray, turned: np.ndarray) -> np.ndarray:
        """The lid's fine grain at output pixels (``xs`` columns, ``ys`` rows), fixed to the eye as the head moves."""
        field = self.grain[side]
        n = field.shape[0]
        centre = turned[mt.IRIS[side][0]]
        col = np.clip(np.round(xs - centre[0] + n / 2).astype(int), 0, n - 1)
        row = np.clip(np.round(ys - centre[1] + n / 2).astype(int), 0, n - 1)
        return field[row, col[None, :]]

    def paint(self, frame: np.ndarray, dest: np.ndarray, turned: np.ndarray) -> None:
        """Draw the lids into ``frame`` (uint8 RGB, in place): ``dest`` is the frame's landmarks, ``turned`` the
        photographed ones moved by the head's rigid motion alone (where the lids are open as in the photo)."""
        ppm = self.ppm
        for s in ("L", "R"):
            lid = dest[list(mt.EYE_UPPER[s])]
            open_lid = turned[list(mt.EYE_UPPER[s])]
            above = dest[list(mt.ABOVE_UPPER_LID[s])]
            drop = lid[:, 1] - open_lid[:, 1]
            if drop.max() < 0.5:
                continue
            reach = max(COVER_ABOVE * drop.max(), FADE_MM * ppm)
            hang = LASH_HANG * LASH_MM[0] * ppm
            box = box_around(np.vstack([lid + np.array([0.0, hang]), open_lid - [0.0, reach], above]), 2, frame.shape)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            xs = np.arange(x0, x1) + 0.5
            ys = (np.arange(y0, y1) + 0.5)[:, None]
            edge = height_along(lid, xs)  # the lid's edge now
            top = height_along(open_lid, xs)  # where the photo has it
            cover_above = np.maximum(COVER_ABOVE * np.clip(edge - top, 0.0, None), FADE_MM * ppm)
            stretched = np.clip((edge - top - STRETCHED_MM[0] * ppm) / ((STRETCHED_MM[1] - STRETCHED_MM[0]) * ppm),
                                0.0, 1.0)
            fold = np.minimum(height_along(above, xs), top - cover_above)
            start = (1.0 - stretched) * (top - 0.5 * cover_above) + stretched * fold
            full = (1.0 - stretched) * (top + 0.5 * cover_above) + stretched * top
            fade_in = np.clip((ys - start) / np.maximum(full - start, 1e-3), 0.0, 1.0)
            alpha = fade_in * np.clip(edge - ys + 0.5, 0.0, 1.0) * (edge - top > 0.25)
            corners = np.sort(lid[[0, -1], 0])
            alpha = alpha * np.clip(np.minimum(xs - corners[0], corners[1] - xs) + 0.5, 0.0, 1.0)[None, :]
            if alpha.max() <= 0.0:
                continue
            shading = self._shading(xs[None, :], ys, turned[mt.IRIS[s][0]])
            under = np.clip(edge - ys, 0.0, None) / ppm  # mm above the lid's edge
            shading = shading * (1.0 - EDGE_SHADE * np.exp(-under / EDGE_SHADE_MM))
            shading = shading * (1.0 + self._grain(s, xs, ys, turned))
            skin = linear_to_srgb(self.lid_albedo[s] * shading[..., None]) * 255.0
            region = frame[y0:y1, x0:x1].astype(np.float32)
            region += (skin - region) * alpha[..., None]
            amount = LASH_OPACITY * float(np.clip(drop.max() / (LASH_FULL_DROP_MM * ppm), 0.0, 1.0))
            lashes = _lash_band(lid - [x0, y0], (y1 - y0, x1 - x0), ppm)
            region += (self.lash_colour[s] - region) * (lashes * amount)[..., None]
            frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _lash_band(margin: np.ndarray, shape: tuple[int, int], px_per_mm: float) -> np.ndarray:
    """0-1 coverage (``shape``) of a shut eye's lashes along the lid's ``margin`` (outer corner first, box pixels):
    widest a third of the way in from the outer corner, thin at both corners, hanging mostly below the edge."""
    t = np.linspace(0.0, 1.0, 48)
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(margin, axis=0), axis=1))])
    along = np.column_stack([np.interp(t * length[-1], length, margin[:, k]) for k in (0, 1)])
    tangent = np.gradient(along, axis=0)
    down = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.maximum(np.linalg.norm(tangent, axis=1), 1e-9)[:, None]
    down *= np.sign(down[:, 1:2] + 1e-9)  # toward the cheek (image y grows downward)
    longest = np.where(t < 1 / 3, np.sin(0.5 * np.pi * 3 * t), np.cos(0.5 * np.pi * (t - 1 / 3) * 1.5))
    width = (LASH_MM[1] + (LASH_MM[0] - LASH_MM[1]) * longest) * px_per_mm
    width *= np.clip(np.minimum(t, 1.0 - t) / 0.08, 0.3, 1.0)  # the corners
    lower = along + down * (LASH_HANG * width)[:, None]
    upper = along - down * ((1.0 - LASH_HANG) * width)[:, None]
    band = np.zeros(shape, np.uint8)
    cv2.fillPoly(band, [np.round(np.vstack([upper, lower[::-1]]) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(band.astype(np.float32) / 255.0, (0, 0), max(LASH_SOFT_MM * px_per_mm, 0.5))


def _lash_colour(source: np.ndarray, margin: np.ndarray, band_px: float) -> np.ndarray:
    """The photo's lash colour (sRGB 0-255): the darkest fifth of the band just above the lid's ``margin``, a little
    darker (shut, the lashes lie over one another)."""
    band = np.vstack([margin, (margin - [0.0, max(band_px, 1.5)])[::-1]])
    box = box_around(band, 1, source.shape)
    if box is None:
        return np.full(3, 40.0)
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((band - [x0, y0]) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    pixels = source[y0:y1, x0:x1][mask > 0].astype(np.float32)
    if len(pixels) < 4:
        return np.full(3, 40.0)
    luma = pixels @ LUMINANCE.astype(np.float32)
    return np.median(pixels[luma <= np.percentile(luma, 20)], axis=0) * 0.85


def _grain_field(size_px: float, px_per_mm: float, seed: int) -> np.ndarray:
    """A square of fine skin grain (unit standard deviation), fixed per eye: pores and fine lines are a few tenths
    of a millimetre across."""
    n = max(8, int(np.ceil(size_px)))
    noise = np.random.default_rng(seed).standard_normal((n, n)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), max(GRAIN_MM * px_per_mm, 0.7))
    return noise / max(float(noise.std()), 1e-6)


def _skin_around(source: np.ndarray, loop: np.ndarray, px_per_mm: float) -> tuple[np.ndarray, float]:
    """The colour (linear RGB) of the skin around an eye whose opening is ``loop`` (source pixels), and its grain:
    the spread of its fine detail over its brightness."""
    centre = loop.mean(0)
    inner, outer = (centre + k * (loop - centre) for k in AROUND_EYE)
    box = box_around(outer, 1, source.shape)
    if box is None:
        return np.full(3, 0.5), 0.0
    x0, y0, x1, y1 = box
    ring = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(ring, [np.round((outer - [x0, y0]) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    cv2.fillPoly(ring, [np.round((inner - [x0, y0]) * 16).astype(np.int32)], 0, cv2.LINE_8, 4)
    ys, xs = np.nonzero(ring)
    if len(ys) < 4:
        return np.full(3, 0.5), 0.0
    colour = srgb_to_linear(source[ys + y0, xs + x0].astype(np.float64) / 255.0)
    luma = colour @ LUMINANCE
    low, high = np.percentile(luma, SKIN_LUMA_PERCENTILES)
    skin = (luma >= low) & (luma <= high)
    patch = srgb_to_linear(source[y0:y1, x0:x1].astype(np.float32) / 255.0) @ LUMINANCE.astype(np.float32)
    detail = (patch - cv2.GaussianBlur(patch, (0, 0), max(GRAIN_SMOOTH_MM * px_per_mm, 1.0)))[ys[skin], xs[skin]]
    # robustly (the median absolute deviation): the annulus's edges (lashes, brow hairs, a fold) are not grain
    spread = 1.4826 * float(np.median(np.abs(detail - np.median(detail))))
    return np.median(colour[skin], axis=0), min(spread / max(float(np.mean(luma[skin])), 1e-6), MAX_GRAIN)
