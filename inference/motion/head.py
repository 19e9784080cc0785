"""Head rotation from prosody: nods on pitch accents, tilt following the pitch contour, slow idle drift.

Everything speech-driven fades out in pauses (the head settles); the idle drift never stops, so a
held pause does not look frozen. Deterministic for a given seed. Degrees, 100 frames/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .peaks import find_peaks

FPS = 100
NOD_DEG = 2.5  # a full-strength accent nods the head down this much
TILT_DEG = 1.5  # roll per standard deviation of the pitch contour
RAISE_DEG = 1.0  # chin lifts on high pitch
SWAY_DEG = 1.2  # speech-driven yaw sway
IDLE_DEG = {"pitch": 0.8, "yaw": 1.5, "roll": 0.6}


@dataclass
class Accents:
    """Pitch accents: frame indices and strengths in 0..1 (shared by nods and brow raises)."""

    frames: np.ndarray
    strength: np.ndarray


def semitone_contour(f0_hz: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Pitch in semitones re the speaker's median, filled across unvoiced frames, 0 outside speech."""
    voiced = (f0_hz > 0) & speech
    out = np.zeros(len(f0_hz), np.float64)
    if voiced.sum() < 5:
        return out
    st = 12.0 * np.log2(np.where(voiced, f0_hz, 1.0) / np.median(f0_hz[voiced]))
    idx = np.flatnonzero(voiced)
    out = np.interp(np.arange(len(f0_hz)), idx, st[idx])
    return gaussian_filter1d(out, 5.0) * speech


def find_accents(st: np.ndarray, loud: np.ndarray, speech: np.ndarray) -> Accents:
    """Prominent syllables: joint peaks of loudness and pitch, at least 350 ms apart."""
    n = min(len(st), len(loud))
    if n == 0:
        return Accents(np.zeros(0, int), np.zeros(0))
    scale = np.std(st[speech[:n]]) if speech[:n].sum() > 10 else 1.0
    prominence = gaussian_filter1d(0.6 * loud[:n] + 0.4 * np.clip(st[:n] / max(scale, 0.5), -2, 2) / 2, 4.0)
    prominence = prominence * speech[:n]
    peaks, prominences = find_peaks(prominence, distance=35, min_prominence=0.12)
    strength = np.clip(prominences / 0.5, 0.0, 1.0) if len(peaks) else np.zeros(0)
    return Accents(peaks, strength)


def _bump(n: int, frames: np.ndarray, strength: np.ndarray, rise_s: float, fall_s: float) -> np.ndarray:
    """Sum of smooth asymmetric bumps (peak 1 x strength) centred on the given frames."""
    out = np.zeros(n)
    t = np.arange(n) / FPS
    for f, s in zip(frames, strength, strict=True):
        dt = t - f / FPS
        shape = np.where(dt < 0, np.exp(-0.5 * (dt / rise_s) ** 2), np.exp(-0.5 * (dt / fall_s) ** 2))
        out += s * shape
    return out


def speaking_envelope(speech: np.ndarray, settle_s: float = 0.4) -> np.ndarray:
    """Speech activity smoothed over ``settle_s``: how 'engaged' the head is."""
    return np.clip(gaussian_filter1d(speech.astype(np.float64), settle_s * FPS / 2), 0.0, 1.0)


def idle_drift(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Slow, seeded wandering: a few incommensurate sinusoids per axis (0.05-0.3 Hz)."""
    t = np.arange(n) / FPS
    out = {}
    for axis, amp in IDLE_DEG.items():
        freqs = rng.uniform(0.05, 0.3, 3)
        phases = rng.uniform(0, 2 * np.pi, 3)
        weights = rng.dirichlet(np.ones(3))
        out[axis] = amp * np.sum([w * np.sin(2 * np.pi * f * t + p) for f, p, w in
                                  zip(freqs, phases, weights, strict=True)], axis=0) * np.sqrt(3)
    return out


def head_motion(st: np.ndarray, loud: np.ndarray, speech: np.ndarray, accents: Accents,
                rng: np.random.Generator, gain: float) -> dict[str, np.ndarray]:
    """pitch / yaw / roll in degrees at 100 fps."""
    n = len(speech)
    engaged = speaking_envelope(speech)
    scale = np.std(st[speech]) if speech.sum() > 10 else 1.0
    st_n = np.clip(st / max(scale, 0.5), -2.5, 2.5)
    nods = _bump(n, accents.frames, accents.strength, 0.08, 0.18) * NOD_DEG
    drift = idle_drift(n, rng)
    sway_phase = rng.uniform(0, 2 * np.pi)
    sway = np.sin(2 * np.pi * 0.35 * np.arange(n) / FPS + sway_phase) * gaussian_filter1d(loud[:n], 20) * SWAY_DEG
    pitch = nods - RAISE_DEG * gaussian_filter1d(st_n, 15) * engaged + drift["pitch"]
    yaw = sway * engaged + drift["yaw"]
    roll = TILT_DEG * gaussian_filter1d(st_n, 25) * engaged + drift["roll"]
    return {"pitch": pitch * gain, "yaw": yaw * gain, "roll": roll * gain}
