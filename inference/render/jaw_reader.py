"""How far a portrait frame's jaw is open, read off its vertices: what poses the fitted 3-D head's jaw (its teeth,
and the skin under its chin) for frames that come as meshes (an edited take from Blender) as well as clips."""

from __future__ import annotations

import numpy as np

from ..rigs.rig import FaceRig


class JawReader:
    """jawOpen from a head-still portrait frame: the jaw's vertices' displacement projected on what
    jawOpen = 1 does to them (least squares; exact for the rig's own jaw, close for edited meshes)."""

    def __init__(self, portrait: FaceRig):
        moved = portrait.evaluate({"jawOpen": np.array([0.0, 1.0])}).astype(np.float64)
        jaw_weight = portrait.weights[:, portrait.joint_names.index("jaw")]
        self.points = np.flatnonzero(jaw_weight > 0.9)
        self.rest = moved[0, self.points]
        self.direction = (moved[1] - moved[0])[self.points]
        self.norm = float((self.direction**2).sum())

    def __call__(self, local: np.ndarray) -> float:
        """jawOpen (0-1.25) of the frame's vertices ``local`` (V, 3 rig metres) with the head's motion taken out."""
        if self.norm <= 0:
            return 0.0
        return float(np.clip(((local[self.points] - self.rest) * self.direction).sum() / self.norm, 0.0, 1.25))


def between_samples(jaw: float, samples: np.ndarray) -> tuple[int, float]:
    """Where ``jaw`` falls among ``samples`` (the ascending jawOpen values a head was posed at once): the sample at or
    below it and the share of the way to the next, so a frame's pose is ``(1 - share)`` of the one plus ``share`` of
    the other."""
    k = float(np.interp(jaw, samples, np.arange(len(samples))))
    i = min(int(k), len(samples) - 2)
    return i, k - i
