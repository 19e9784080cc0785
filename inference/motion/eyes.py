"""Blinks, brow raises and small gaze saccades (100 frames/s, seeded, deterministic).

Blink statistics follow conversational norms: about 15-20 per minute while talking, gamma-distributed
intervals, and a blink is most likely right after a phrase ends. Brows rise on strong pitch accents.
"""

from __future__ import annotations

import numpy as np

from .head import Accents, _bump

FPS = 100
MEAN_BLINK_INTERVAL_S = 3.5
MIN_BLINK_GAP_S = 0.8
PAUSE_BLINK_PROB = 0.6
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.08, 0.04, 0.16


def _pause_onsets(speech: np.ndarray, min_pause_s: float = 0.25) -> np.ndarray:
    edges = np.diff(np.r_[0, speech.astype(np.int8), 0])
    ends = np.flatnonzero(edges == -1)
    starts = np.flatnonzero(edges == 1)
    onsets = []
    for e in ends:
        nxt = starts[starts > e]
        gap = (nxt[0] - e) if len(nxt) else len(speech) - e
        if gap >= min_pause_s * FPS:
            onsets.append(e)
    return np.array(onsets, int)


def blink_times(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frame indices where blinks start."""
    n = len(speech)
    candidates = [int(f + rng.uniform(0.05, 0.2) * FPS) for f in _pause_onsets(speech)
                  if rng.random() < PAUSE_BLINK_PROB]
    t = rng.uniform(0.5, MEAN_BLINK_INTERVAL_S) * FPS
    while t < n:
        candidates.append(int(t))
        t += max(MIN_BLINK_GAP_S, rng.gamma(3.0, MEAN_BLINK_INTERVAL_S / 3.0)) * FPS
    kept: list[int] = []
    for c in sorted(c for c in candidates if c < n - 5):
        if not kept or c - kept[-1] >= MIN_BLINK_GAP_S * FPS:
            kept.append(c)
    return np.array(kept, int)


def blink_curve(n: int, starts: np.ndarray) -> np.ndarray:
    """Eyelid closure 0..1: quick ease-in close, short hold, slower open."""
    out = np.zeros(n)
    close, hold, opening = (round(s * FPS) for s in (BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S))
    shape = np.r_[0.5 - 0.5 * np.cos(np.linspace(0, np.pi, close + 1))[1:], np.ones(hold),
                  0.5 + 0.5 * np.cos(np.linspace(0, np.pi, opening + 1))[1:]]
    for s in starts:
        seg = shape[: max(0, min(len(shape), n - s))]
        out[s:s + len(seg)] = np.maximum(out[s:s + len(seg)], seg)
    return out


def brow_raise(n: int, accents: Accents, threshold: float = 0.5) -> np.ndarray:
    strong = accents.strength >= threshold
    return np.clip(_bump(n, accents.frames[strong], accents.strength[strong], 0.1, 0.3) * 0.35, 0, 1)


def saccades(n: int, rng: np.random.Generator, speech: np.ndarray) -> dict[str, np.ndarray]:
    """Gaze: fixations of 0.4-3 s with quick (40 ms) jumps; mostly back to the camera while talking."""
    h = np.zeros(n)
    v = np.zeros(n)
    t = 0
    while t < n:
        dur = int(np.clip(rng.exponential(1.2) + 0.4, 0.4, 3.0) * FPS)
        to_camera = rng.random() < (0.6 if speech[min(t, n - 1)] else 0.4)
        h[t:t + dur] = 0.0 if to_camera else rng.uniform(-0.25, 0.25)
        v[t:t + dur] = 0.0 if to_camera else rng.uniform(-0.15, 0.1)
        t += dur
    kernel = np.ones(4) / 4  # 40 ms transitions
    h, v = np.convolve(h, kernel, "same"), np.convolve(v, kernel, "same")
    # ARKit: positive h = gaze to the character's left: left eye looks out, right eye looks in
    return {
        "eyeLookOutLeft": np.clip(h, 0, 1), "eyeLookInRight": np.clip(h, 0, 1),
        "eyeLookInLeft": np.clip(-h, 0, 1), "eyeLookOutRight": np.clip(-h, 0, 1),
        "eyeLookUpLeft": np.clip(v, 0, 1), "eyeLookUpRight": np.clip(v, 0, 1),
        "eyeLookDownLeft": np.clip(-v, 0, 1), "eyeLookDownRight": np.clip(-v, 0, 1),
    }
