"""The first formant (F1) every 10 ms, by linear prediction: how open a vowel sounds.

F1 rises as the jaw lowers and the tongue drops (about 250-350 Hz in "ee" and "oo", 700-900 Hz in "ah" for
adult men, 15-20 % higher for women: Peterson & Barney 1952, Hillenbrand et al. 1995), so it tells how open each
vowel is from the sound itself, whatever phone the recogniser heard and however stressed or reduced the vowel
was. The method is the textbook one (Markel & Gray 1976; Praat's "To Formant" does the same with Burg's method):
the sound low-passed and taken at 8 kHz (four formants below 4 kHz), pre-emphasis, 25 ms Hamming windows, an
all-pole model of order 10 (two poles per formant, plus two) by the autocorrelation method, and the lowest pole
with a formant's frequency and bandwidth. Frames with no such pole, and silent frames, are NaN. NumPy only (the
low-pass too: importing scipy.signal costs a cold start half a second, tests/test_startup.py), and every
window's model is solved at once. Finding the poles is most of the cost (about 3 ms of CPU per second of
sound, a tenth of a batch line's), so the analysis asks only for the vowels' middle halves, where it is read: a
fifth of the frames, 0.8 ms per second of speech, under 2 % of the analysis (the 21 English and GRID
recordings).
"""

from __future__ import annotations

import numpy as np

from . import SAMPLE_RATE
from .phones import VOWELS, Phone
from .prosody import HOP, WINDOW

RATE = 8000  # F1 needs only the band below 4 kHz; at 16 kHz the model needs 18 poles and costs three times as much
ORDER = 10
PRE_EMPHASIS = 0.97
LOW_PASS_TAPS = 31  # a windowed-sinc half-band filter ahead of taking every other sample
F1_RANGE_HZ = (200.0, 1200.0)  # below: the voice source's own low-frequency pole; above: F2 of a front vowel
MAX_BANDWIDTH_HZ = 400.0  # wider poles shape the spectrum's slope, not a resonance
FRAMES_PER_S = SAMPLE_RATE // HOP
BLOCK = 4096  # windows solved together (bounds memory on long recordings)


def first_formant_hz(audio: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """F1 in Hz of 25 ms windows every 10 ms (frame i centred at i*10 ms + 5 ms, as prosody's), NaN where the
    window is silent or has no resonance in F1's range. ``audio``: mono, 16 kHz. ``where`` (bool per frame):
    only those frames are measured, the rest are NaN (solving each frame's model is most of the cost)."""
    n = len(audio) // HOP
    out = np.full(n, np.nan, np.float32)
    wanted = np.arange(n) if where is None else np.flatnonzero(where[:n])
    if len(wanted) == 0:
        return out
    step = SAMPLE_RATE // RATE
    hop, window = HOP // step, WINDOW // step
    x = np.convolve(np.asarray(audio, np.float64), _half_band(), mode="same")[::step]
    x = np.concatenate([x[:1], x[1:] - PRE_EMPHASIS * x[:-1]])
    pad = (window - hop) // 2
    x = np.pad(x, (pad, pad + window))
    taper = np.hamming(window)
    for start in range(0, len(wanted), BLOCK):
        frames = wanted[start:start + BLOCK]
        windows = x[frames[:, None] * hop + np.arange(window)[None]] * taper
        out[frames] = _lowest_formant(windows)
    return out


def vowel_core(phone: Phone) -> slice:
    """A phone's middle half in 10 ms frames: a vowel's steady part (its edges are transitions to the
    consonants around it)."""
    start, end = round(phone.start * FRAMES_PER_S), round(phone.end * FRAMES_PER_S)
    quarter = (end - start) // 4
    return slice(max(0, start + quarter), max(0, end - quarter))


def vowel_cores(phones: list[Phone], n: int) -> np.ndarray:
    """Frames (of ``n``) in the middle half of a vowel: the only ones the lip sync reads F1 on."""
    mask = np.zeros(n, bool)
    for phone in phones:
        if phone.label in VOWELS:
            mask[vowel_core(phone)] = True
    return mask


def _half_band() -> np.ndarray:
    """Low-pass taps with the cut-off at the new rate's Nyquist frequency (Hamming-windowed sinc, unit gain)."""
    k = np.arange(LOW_PASS_TAPS) - (LOW_PASS_TAPS - 1) / 2
    taps = np.sinc(k * RATE / SAMPLE_RATE) * np.hamming(LOW_PASS_TAPS)
    return taps / taps.sum()


def _lowest_formant(windows: np.ndarray) -> np.ndarray:
    width = windows.shape[1]
    autocorrelation = np.stack([(windows[:, lag:] * windows[:, : width - lag]).sum(axis=1)
                                for lag in range(ORDER + 1)], axis=1)
    energy = autocorrelation[:, 0]
    found = np.full(len(windows), np.nan)
    audible = energy > 1e-9 * max(float(energy.max(initial=0.0)), 1e-12)
    if not audible.any():
        return found
    autocorrelation = autocorrelation[audible]
    autocorrelation[:, 0] *= 1.0 + 1e-9  # a white-noise floor: keeps the recursion stable on pure tones
    poles = np.linalg.eigvals(_companion(_levinson(autocorrelation)))
    frequency = np.angle(poles) * RATE / (2.0 * np.pi)
    bandwidth = -np.log(np.maximum(np.abs(poles), 1e-12)) * RATE / np.pi
    resonance = (frequency >= F1_RANGE_HZ[0]) & (frequency <= F1_RANGE_HZ[1]) & (bandwidth <= MAX_BANDWIDTH_HZ)
    lowest = np.where(resonance, frequency, np.inf).min(axis=1)
    found[audible] = np.where(np.isfinite(lowest), lowest, np.nan)
    return found


def _levinson(r: np.ndarray) -> np.ndarray:
    """Prediction coefficients a (frames, ORDER), x[t] ~ sum_k a[k] x[t-1-k], from autocorrelations r (frames,
    ORDER + 1): the Levinson-Durbin recursion, every frame at once."""
    frames = len(r)
    a = np.zeros((frames, ORDER))
    error = r[:, 0].copy()
    for k in range(ORDER):
        reflection = (r[:, k + 1] - (a[:, :k] * r[:, k:0:-1]).sum(axis=1)) / error
        if k:
            a[:, :k] = a[:, :k] - reflection[:, None] * a[:, k - 1::-1].copy()
        a[:, k] = reflection
        error = error * (1.0 - reflection**2)
    return a


def _companion(a: np.ndarray) -> np.ndarray:
    """The companion matrices whose eigenvalues are the roots of z^p - a1 z^(p-1) - ... - ap (the poles)."""
    frames, order = a.shape
    matrix = np.zeros((frames, order, order))
    matrix[:, 0, :] = a
    matrix[:, np.arange(1, order), np.arange(order - 1)] = 1.0
    return matrix
