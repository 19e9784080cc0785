"""Head rotation from prosody: nods on pitch accents, tilt following the pitch contour, a new direction at phrase
starts, a tilt on questions, slow idle drift; how much of each is the speaker's style (``STYLES``).

Everything speech-driven fades out in pauses (the head settles, and after a long pause comes back to the
front); the idle drift never stops, so a held pause does not look frozen. Deterministic for a given seed.
Degrees, 100 frames/s.

The styles are calibrated on head rotation measured in real talking videos (the issue "Motion that looks
alive"): people reading sentences move 0.2-1 degrees (standard deviation per axis); people in conversation
turn 1.5-3 degrees of yaw; presenters and interviewees 3-8 degrees (up to 9), turning quickly as a phrase
starts, nodding on stresses and tilting on questions. ``benchmarks/head_styles.py`` measures what each style
gives on the speech in ../shared/data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .peaks import find_peaks
from .smoothing import gaussian_smooth

FPS = 100


@dataclass(frozen=True)
class HeadStyle:
    """Degrees (and seconds) of each kind of head motion for one way of speaking."""

    nod_deg: float  # a full-strength accent nods the head down this much
    tilt_deg: float  # roll per standard deviation of the pitch contour
    raise_deg: float  # chin lifts on high pitch
    sway_deg: float  # speech-driven yaw sway
    idle_deg: tuple[float, float, float]  # slow drift amplitude: pitch, yaw, roll
    turn_deg: tuple[float, float]  # spread (yaw, pitch) of the direction the head takes at each phrase start
    turn_s: float  # how long taking that direction lasts
    question_deg: float  # tilt at the end of a phrase whose pitch rises


STYLES = {
    "calm": HeadStyle(nod_deg=0.8, tilt_deg=0.35, raise_deg=0.3, sway_deg=0.25, idle_deg=(0.25, 0.35, 0.2),
                      turn_deg=(0.0, 0.0), turn_s=0.6, question_deg=0.5),
    "conversational": HeadStyle(nod_deg=2.5, tilt_deg=1.5, raise_deg=1.0, sway_deg=1.2, idle_deg=(0.8, 1.5, 0.6),
                                turn_deg=(2.2, 0.9), turn_s=0.45, question_deg=2.0),
    "lively": HeadStyle(nod_deg=4.0, tilt_deg=2.2, raise_deg=1.5, sway_deg=2.0, idle_deg=(1.0, 2.0, 0.8),
                        turn_deg=(5.5, 2.0), turn_s=0.25, question_deg=4.0),
}
PHRASE_PAUSE_S = 0.25
"""A pause at least this long separates phrases."""
SETTLE_PAUSE_S = 1.5
"""After a pause this long the head has come back to the front."""
SUB_PHRASE_S = 2.0
"""A stretch of speech without a pause is cut into pieces of about this length: intonation phrases, which in read
English last about 1-3 s (a reader breathes and pauses less often than that). The head takes a new direction at
each cut as at a phrase after a pause; a stretch under 1.5 times this length stays whole."""
CUT_SEARCH_S = 0.4  # a cut goes to the quietest moment (a word boundary) this close to its even spacing


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
    return gaussian_smooth(out, 5.0) * speech


def find_accents(st: np.ndarray, loud: np.ndarray, speech: np.ndarray) -> Accents:
    """Prominent syllables: joint peaks of loudness and pitch, at least 350 ms apart."""
    n = min(len(st), len(loud))
    if n == 0:
        return Accents(np.zeros(0, int), np.zeros(0))
    scale = np.std(st[speech[:n]]) if speech[:n].sum() > 10 else 1.0
    prominence = gaussian_smooth(0.6 * loud[:n] + 0.4 * np.clip(st[:n] / max(scale, 0.5), -2, 2) / 2, 4.0)
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
    return np.clip(gaussian_smooth(speech.astype(np.float64), settle_s * FPS / 2), 0.0, 1.0)


def idle_drift(n: int, rng: np.random.Generator, amplitude: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Slow, seeded wandering: a few incommensurate sinusoids per axis (0.05-0.3 Hz)."""
    t = np.arange(n) / FPS
    out = {}
    for axis, amp in zip(("pitch", "yaw", "roll"), amplitude, strict=True):
        freqs = rng.uniform(0.05, 0.3, 3)
        phases = rng.uniform(0, 2 * np.pi, 3)
        weights = rng.dirichlet(np.ones(3))
        out[axis] = amp * np.sum([w * np.sin(2 * np.pi * f * t + p) for f, p, w in
                                  zip(freqs, phases, weights, strict=True)], axis=0) * np.sqrt(3)
    return out


def phrases(speech: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) frames of each stretch of speech; pauses shorter than PHRASE_PAUSE_S do not split."""
    edges = np.diff(np.r_[0, speech.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out: list[tuple[int, int]] = []
    for a, b in zip(starts, ends, strict=True):
        if out and a - out[-1][1] < PHRASE_PAUSE_S * FPS:
            out[-1] = (out[-1][0], int(b))
        else:
            out.append((int(a), int(b)))
    return out


def intonation_phrases(spans: list[tuple[int, int]], loud: np.ndarray) -> list[tuple[int, int]]:
    """``spans`` (phrases between pauses) cut into pieces of about SUB_PHRASE_S, each cut at the quietest moment
    (smoothed loudness) within CUT_SEARCH_S of its even spacing."""
    smooth = gaussian_smooth(np.asarray(loud, np.float64), 3.0)
    reach = int(CUT_SEARCH_S * FPS)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        pieces = max(1, round((b - a) / (SUB_PHRASE_S * FPS)))
        edges = [a]
        for k in range(1, pieces):
            centre = a + k * (b - a) // pieces
            lo, hi = max(edges[-1] + 1, centre - reach), min(b - 1, centre + reach, len(smooth))
            edges.append(lo + int(np.argmin(smooth[lo:hi])) if hi > lo else centre)
        edges.append(b)
        out += list(itertools.pairwise(edges))
    return out


def phrase_turns(n: int, spans: list[tuple[int, int]], rng: np.random.Generator,
                 style: HeadStyle) -> tuple[np.ndarray, np.ndarray]:
    """(yaw, pitch): the head takes a new direction as each phrase starts (moving a little before the voice),
    holds it through the phrase, and comes back to the front in a long pause."""
    if not spans or style.turn_deg == (0.0, 0.0):
        return np.zeros(n), np.zeros(n)
    ramp = max(2, int(style.turn_s * FPS))
    current = np.zeros(2)
    targets = []  # (frame the move starts, target)
    previous_end = None
    for a, b in spans:
        if previous_end is not None and a - previous_end > SETTLE_PAUSE_S * FPS:
            targets.append((previous_end + int(0.3 * FPS), np.zeros(2)))
        targets.append((max(0, a - int(0.1 * FPS)), rng.normal(0.0, style.turn_deg)))
        previous_end = b
    targets.append((spans[-1][1] + int(SETTLE_PAUSE_S * FPS), np.zeros(2)))
    curve = np.zeros((n, 2))
    for (start, target), nxt in zip(targets, [t for t, _ in targets[1:]] + [n], strict=True):
        if start >= n:
            break
        k = np.arange(start, min(nxt, n))
        s = np.clip((k - start) / ramp, 0.0, 1.0)
        s = s * s * (3 - 2 * s)  # smoothstep: no jolt at either end
        curve[k] = current + s[:, None] * (target - current)
        current = curve[k[-1]] if len(k) else current
    return curve[:, 0], curve[:, 1]


def question_tilts(n: int, st: np.ndarray, spans: list[tuple[int, int]], side: float,
                   style: HeadStyle) -> np.ndarray:
    """Roll: a tilt to one side as a phrase ends on a rising pitch (a question, a continuation)."""
    ends, strength = [], []
    for a, b in spans:
        tail = st[max(a, b - int(0.5 * FPS)):b]
        if len(tail) > 10:
            rise = tail[-5:].mean() - tail.min()
            if rise > 2.5:  # semitones
                ends.append(b)
                strength.append(min(1.0, (rise - 2.5) / 3.0 + 0.5))
    return side * style.question_deg * _bump(n, np.array(ends, int), np.array(strength), 0.25, 0.7)


def head_motion(st: np.ndarray, loud: np.ndarray, speech: np.ndarray, accents: Accents,
                rng: np.random.Generator, gain: float, style: HeadStyle = STYLES["conversational"]
                ) -> dict[str, np.ndarray]:
    """pitch / yaw / roll in degrees at 100 fps."""
    n = len(speech)
    engaged = speaking_envelope(speech)
    scale = np.std(st[speech]) if speech.sum() > 10 else 1.0
    st_n = np.clip(st / max(scale, 0.5), -2.5, 2.5)
    nods = _bump(n, accents.frames, accents.strength, 0.08, 0.18) * style.nod_deg
    drift = idle_drift(n, rng, style.idle_deg)
    sway_phase = rng.uniform(0, 2 * np.pi)
    sway = np.sin(2 * np.pi * 0.35 * np.arange(n) / FPS + sway_phase) * gaussian_smooth(loud[:n], 20) * \
        style.sway_deg
    spans = phrases(speech[:n])
    turn_yaw, turn_pitch = phrase_turns(n, intonation_phrases(spans, loud[:n]), rng, style)
    side = 1.0 if rng.random() < 0.5 else -1.0
    pitch = nods - style.raise_deg * gaussian_smooth(st_n, 15) * engaged + drift["pitch"] + turn_pitch
    yaw = sway * engaged + drift["yaw"] + turn_yaw
    roll = style.tilt_deg * gaussian_smooth(st_n, 25) * engaged + drift["roll"] + \
        question_tilts(n, st[:n], spans, side, style)
    return {"pitch": pitch * gain, "yaw": yaw * gain, "roll": roll * gain}
