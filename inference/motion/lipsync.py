"""Phones + loudness -> mouth and jaw curves, with coarticulation (100 frames/s).

Each phone pulls every mouth channel toward its target with a *dominance* that is full inside the
phone and decays exponentially outside it (Cohen & Massaro's model): strong phones (bilabials,
labiodentals, rounded vowels) keep their shape, weak ones (alveolars, short pauses) borrow from their
neighbours, and anticipation/carry-over come out of the decay for free. On top of the blend the rules
users check frame by frame are enforced: the lips seal on every P/B/M for at least MIN_CLOSURE_S, and the
mouth rests in pauses. Jaw (JA) and lips (LI) are separate, each with its own gain (JALI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.phones import SILENCE, Phone
from .smoothing import gaussian_smooth
from .visemes import JAW_DOMINANCE, LIP_CHANNELS, LIP_SHAPES, viseme_of
from .vowel_openness import table_targets

FPS = 100
JAW_SCALE = 0.5  # jawOpen reached by the widest vowel at typical loudness (ARKit scale)
SPEECH_FLOOR = 0.1  # lips stay apart while speaking except where a phone seals them (ARKit: <0.1 = shut)
# Mouth shapes lead the sound they make; forced-alignment boundaries already come ~10 ms early
# (shared notes/audio.md), so together the picture leads the sound by ~20 ms.
VISUAL_LEAD_S = 0.01
DECAY_S = {"jaw": 0.05, "lips": 0.05}  # dominance decay outside a phone: the coarticulation reach
REACH_S = 0.35  # beyond this distance a phone has no influence
MIN_CLOSURE_S = 0.06  # a bilabial seal lasts at least this long (two frames at 30 fps)
CLOSURE_RAMP_S = 0.03
BREATH_S, BREATH_PEAK_S, BREATH_FADE_S, BREATH_JAW = 0.45, 0.12, 0.08, 0.2  # in-breath before speaking
RELAX_S = 0.08  # time constant of the mouth settling after an utterance
SILENT_CLOSURE_S = 0.06  # a bilabial after a pause is shut this long before its sound starts
REST_PAUSE_S = 0.25  # pauses longer than this relax to the rest pose; shorter ones are bridged
SEAL_JAW = 0.9
"""How far the jaw rises into a sealed bilabial (a share of its opening there). Real speakers' jaws nearly shut on P,
B and M: on the GRID clips MediaPipe's FaceLandmarker reads jawOpen 0.007-0.06 where the lips meet, against
0.16-0.33 on their open half. At 0.6 the curve kept 0.05-0.22 there, which the rendered mouth showed as a shut jaw
(FaceLandmarker read the sealed frames on the FLUX portraits at 0.05) while the curve said open: GRID r 0.671 ->
0.687 with transcripts, 0.649 -> 0.662 without, closures unchanged."""


@dataclass(frozen=True)
class MouthParams:
    jaw_gain: float = 1.0
    lip_gain: float = 1.0


def loudness01(level_db: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Loudness normalised per recording to 0..1 between quiet and loud speech (robust percentiles)."""
    if len(level_db) == 0:
        return np.zeros(0, np.float32)
    ref = level_db[speech] if speech.sum() > 20 else level_db
    lo, hi = np.percentile(ref, 10), np.percentile(ref, 97)
    out = np.clip((level_db - lo) / max(hi - lo, 6.0), 0.0, 1.0)
    return gaussian_smooth(out.astype(np.float32), 3.0)


def _dominance_blend(phones: list[Phone], n: int, targets: list[np.ndarray], strength: np.ndarray,
                     decay_s: float) -> np.ndarray:
    """Σ D_i(t)·T_i / Σ D_i(t) over phones; targets[i] is a vector of channel values."""
    k = len(targets[0]) if targets else 0
    num = np.zeros((n, k), np.float64)
    den = np.full(n, 1e-6)
    t = np.arange(n) / FPS
    reach = int(REACH_S * FPS)
    for i, p in enumerate(phones):
        s, e = p.start - VISUAL_LEAD_S, p.end - VISUAL_LEAD_S
        a = max(0, int(np.floor(s * FPS)) - reach)
        b = min(n, int(np.ceil(e * FPS)) + reach)
        if a >= b:
            continue
        tt = t[a:b]
        dist = np.maximum(np.maximum(s - tt, tt - e), 0.0)
        d = strength[i] * np.exp(-dist / decay_s)
        num[a:b] += d[:, None] * targets[i][None, :]
        den[a:b] += d
    return num / den[:, None]


def _is_rest(p: Phone) -> bool:
    return p.label == SILENCE and p.end - p.start >= REST_PAUSE_S


def mouth_curves(phones: list[Phone], loud: np.ndarray, n: int, params: MouthParams,
                 jaw_targets: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Dense 100 fps curves for jawOpen, mouthClose and the lip channels. ``jaw_targets``: each phone's jaw
    target (vowel_openness.jaw_targets); without them, the viseme table's."""
    out = {c: np.zeros(n, np.float32) for c in ("jawOpen", "mouthClose", *LIP_CHANNELS)}
    if n == 0 or not phones:
        return out
    visemes = [viseme_of(p.label) for p in phones]
    rest = np.array([_is_rest(p) for p in phones])
    # jaw: vowels dominate, consonants borrow, long pauses pull to rest, short pauses barely count
    if jaw_targets is None:
        jaw_targets = table_targets(phones)
    jaw_t = [np.array([target]) for target in jaw_targets]
    jaw_s = np.array([3.0 if r else (0.15 if p.label == SILENCE else JAW_DOMINANCE.get(p.label, 1.0))
                      for p, r in zip(phones, rest, strict=True)])
    jaw = _dominance_blend(phones, n, jaw_t, jaw_s, DECAY_S["jaw"])[:, 0]
    # lips: each viseme's shape with its own dominance
    lip_t = [np.array([LIP_SHAPES[v].channels.get(c, 0.0) for c in LIP_CHANNELS]) for v in visemes]
    lip_s = np.array([3.0 if r else LIP_SHAPES[v].dominance for v, r in zip(visemes, rest, strict=True)])
    lips = _dominance_blend(phones, n, lip_t, lip_s, DECAY_S["lips"])

    m = min(n, len(loud))
    gain = np.full(n, 0.6, np.float64)
    gain[:m] = 0.45 + 0.75 * loud[:m]  # JALI: louder speech opens the jaw more, whispering barely
    speaking = _speaking_envelope(phones, rest, n)
    jaw = (SPEECH_FLOOR * speaking + gaussian_smooth(jaw * gain, 1.5) * (JAW_SCALE - SPEECH_FLOOR)) * params.jaw_gain
    lip_gain = (0.75 + 0.25 * np.clip(gain, 0, 1))[:, None] * params.lip_gain
    lips = gaussian_smooth(lips, 1.5, axis=0)
    lips = lips * lip_gain

    jaw = np.maximum(jaw, _breath_before_speech(phones, rest, n) * params.jaw_gain)
    jaw = _relax_after_speech(jaw, phones, rest)
    seal = _closure_weight(phones, visemes, n)
    jaw = jaw * (1.0 - SEAL_JAW * gaussian_smooth(seal, 1.5))  # the jaw rises into a bilabial (no faster than it
    # moves elsewhere: the seal's own 30 ms ramp made it jump)...
    out["jawOpen"] = np.clip(jaw, 0.0, 1.0).astype(np.float32)
    out["mouthClose"] = np.clip(seal * out["jawOpen"], 0.0, 1.0).astype(np.float32)  # ...and the lips seal
    for j, c in enumerate(LIP_CHANNELS):
        out[c] = np.clip(lips[:, j], 0.0, 1.0).astype(np.float32)
    return out


def _speaking_envelope(phones: list[Phone], rest: np.ndarray, n: int) -> np.ndarray:
    """1 on every spoken phone, 0 elsewhere, smoothed (30 ms) so short pauses barely dip."""
    env = np.zeros(n, np.float64)
    for p, r in zip(phones, rest, strict=True):
        if not r and p.label != SILENCE:
            a, b = round((p.start - VISUAL_LEAD_S) * FPS), round((p.end - VISUAL_LEAD_S) * FPS)
            env[max(a, 0):max(b, 0)] = 1.0
    return gaussian_smooth(env, 3.0)


def _breath_before_speech(phones: list[Phone], rest: np.ndarray, n: int) -> np.ndarray:
    """The mouth parting for the in-breath before an utterance: after a resting pause the lips open over
    BREATH_S before the first sound, most just before it, then hand over smoothly to the first phone."""
    out = np.zeros(n, np.float64)
    t = np.arange(n) / FPS
    for i in range(1, len(phones)):
        if not rest[i - 1] or phones[i].label == SILENCE:
            continue
        onset = phones[i].start - VISUAL_LEAD_S
        a, b = max(0, int((onset - BREATH_S) * FPS)), min(n, int(np.ceil((onset + BREATH_FADE_S) * FPS)))
        tt = t[a:b]
        rise = np.clip((tt - (onset - BREATH_S)) / (BREATH_S - BREATH_PEAK_S), 0.0, 1.0)
        fall = np.clip((onset + BREATH_FADE_S - tt) / (BREATH_PEAK_S + BREATH_FADE_S), 0.0, 1.0)
        bump = 0.5 * (1.0 - np.cos(np.pi * np.minimum(rise, fall)))
        out[a:b] = np.maximum(out[a:b], BREATH_JAW * bump)
    return out


def _relax_after_speech(jaw: np.ndarray, phones: list[Phone], rest: np.ndarray) -> np.ndarray:
    """After the last sound of an utterance the mouth settles to rest over ~RELAX_S, not at once."""
    out = jaw.copy()
    n = len(jaw)
    for i in range(len(phones) - 1):
        if not rest[i + 1] or phones[i].label == SILENCE:
            continue
        end = round((phones[i].end - VISUAL_LEAD_S) * FPS)
        if not 0 < end < n:
            continue
        b = min(n, end + int(4 * RELAX_S * FPS))
        tail = jaw[end - 1] * np.exp(-np.arange(1, b - end + 1) / (RELAX_S * FPS))
        out[end:b] = np.maximum(out[end:b], tail)
    return out


def _closure_weight(phones: list[Phone], visemes: list[str], n: int) -> np.ndarray:
    """1 where the lips must be sealed (every P/B/M, at least MIN_CLOSURE_S), smooth ramps around."""
    w = np.zeros(n, np.float64)
    for i, (p, v) in enumerate(zip(phones, visemes, strict=True)):
        if v != "MBP":
            continue
        s, e = p.start - VISUAL_LEAD_S, p.end - VISUAL_LEAD_S
        if i > 0 and phones[i - 1].label == SILENCE:
            s -= SILENT_CLOSURE_S  # the lips shut before the burst; the aligner gives that silence to the pause
        if e - s < MIN_CLOSURE_S:
            mid = 0.5 * (s + e)
            s, e = mid - MIN_CLOSURE_S / 2, mid + MIN_CLOSURE_S / 2
        a, b = max(0, round(s * FPS)), min(n, round(e * FPS))
        w[a:b] = 1.0
    if not w.any():
        return w
    sealed = np.flatnonzero(w)
    frames = np.arange(n)
    after = np.searchsorted(sealed, frames)  # the first sealed frame at or after each frame
    dist = np.minimum(np.abs(frames - sealed[np.maximum(after - 1, 0)]),
                      np.abs(sealed[np.minimum(after, len(sealed) - 1)] - frames)) / FPS  # s to the nearest sealed
    return np.clip(1.0 - dist / CLOSURE_RAMP_S, 0.0, 1.0)
