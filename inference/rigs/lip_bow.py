"""How the lips move as the jaw opens, measured on real speakers, for every head rig vividtalk builds.

Tracked on the five GRID speakers (MediaPipe's face mesh, against the point under the nose, which the jaw does
not move; ``python -m benchmarks.lip_share``), the middle of the upper lip's inner edge rises by 17 % of the
inner-lip gap as the mouth opens (8-25 % per speaker) and its outer edge by 11 %: the red of the lip rolls out a
little. Both fall off toward the mouth's corners, the inner edge's rise to nothing 0.72 of the way from the middle
to a corner and the outer edge's at 0.62 (closest to 1 - (u / reach)^3); the corners themselves come down with the
jaw. Measured against the bridge of the nose the rises are larger (23 % and 17 %), but there the point under the
nose rises too, by 6 % of the gap, and the tip of the nose more: the head tilts back a little as the jaw opens (jaw
and head-neck movements are coupled; Zafar et al. 2000), or the tracked mesh does. Either way it is not the lip's
own motion.

The jaw opening carries this motion, not ARKit's mouthUpperUp. MediaPipe's FaceLandmarker, a model trained on
real faces with ARKit's channels, reads those speakers' open mouths as jawOpen with mouthUpperUp 0.00-0.04; a
whole upper lip lifted out to the corners (what mouthUpperUp does) it read as a raised lip rather than a wider
jaw, and on a photo with parted lips its jawOpen stopped rising at 0.39.

The lower lip does not drop alike across the mouth either: its sides drop less the nearer they are to a corner,
so the opening is a lens, not a box (``DROP_SHARE``). A jaw that drops the whole lower lip alike left tall sides
in which the lower canines and premolars stood as bright columns, the more so on a turned head.
"""

from __future__ import annotations

import numpy as np

RISE_PER_DROP = {"inner": 0.20, "outer": 0.13}
"""Millimetres the middle of the upper lip's inner and outer edge rise per millimetre the lower lip drops (17 % and
11 % of the gap: 0.17 / 0.83, 0.11 / 0.83)."""
REACH = {"inner": 0.72, "outer": 0.62}
"""How far toward a corner the rise reaches, as a share of the distance from the mouth's middle to its corner."""


def profile(u: np.ndarray, edge: str) -> np.ndarray:
    """The share of the middle's rise the upper lip's ``edge`` ("inner" or "outer") makes at ``u`` (0 in the middle
    of the mouth, 1 at a corner)."""
    return np.clip(1.0 - (np.abs(np.asarray(u, np.float64)) / REACH[edge]) ** 3, 0.0, 1.0)


def lip_rise(u: np.ndarray, edge: str, lip_drop_mm: float) -> np.ndarray:
    """How far (mm) the upper lip's ``edge`` rises at ``u`` while the jaw drops the lower lip by ``lip_drop_mm``."""
    return RISE_PER_DROP[edge] * lip_drop_mm * profile(u, edge)


DROP_SHARE = {"inner": (0.88, 2.5), "outer": (0.69, 3.0)}
"""How far the lower lip's inner and outer edge drop across the mouth, as a share of the middle's drop: 1 - a u^p
at u (0 in the middle, 1 at the outer mouth corners). Tracked on the five GRID speakers against the point under the
nose (``python -m benchmarks.lip_share``): the inner edge drops 0.97, 0.88, 0.73, 0.57 and 0.33 as far as its
middle at u = 0.25, 0.46, 0.63, 0.75 and 0.90 (every speaker's sides less than the middle's), the outer edge 0.96,
0.85, 0.69, 0.51 and 0.31 at u = 0.32, 0.59, 0.79, 0.91 and 1."""


def drop_share(u: np.ndarray, edge: str) -> np.ndarray:
    """The share of the middle's drop the lower lip's ``edge`` ("inner" or "outer") makes at ``u``."""
    a, p = DROP_SHARE[edge]
    return np.clip(1.0 - a * np.abs(np.asarray(u, np.float64)) ** p, 0.0, 1.0)
