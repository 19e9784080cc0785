"""Frame-level prosody at 100 frames/s: loudness (RMS dB) and pitch (WORLD DIO + StoneMask)."""

from __future__ import annotations

import warnings

import numpy as np

from . import SAMPLE_RATE

HOP = SAMPLE_RATE // 100  # 10 ms
WINDOW = 400  # 25 ms


def energy_db(audio: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of 25 ms windows every 10 ms (frame i centred at i*10 ms + 5 ms)."""
    n = len(audio) // HOP
    if n == 0:
        return np.zeros(0, np.float32)
    pad = (WINDOW - HOP) // 2
    x = np.pad(audio.astype(np.float32), (pad, pad + WINDOW))
    sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(n) * HOP
    ms = (sq[starts + WINDOW] - sq[starts]) / WINDOW
    return (10.0 * np.log10(ms + 1e-10)).astype(np.float32)


def pitch_hz(audio: np.ndarray) -> np.ndarray:
    """F0 in Hz every 10 ms (0 where unvoiced), WORLD DIO refined by StoneMask."""
    with warnings.catch_warnings():  # pyworld 0.3 reads its version through the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import pyworld

    n = len(audio) // HOP
    if n == 0:
        return np.zeros(0, np.float32)
    x = audio.astype(np.float64)
    f0, t = pyworld.dio(x, SAMPLE_RATE, f0_floor=60.0, f0_ceil=600.0, frame_period=10.0)
    f0 = pyworld.stonemask(x, f0, t, SAMPLE_RATE)
    out = np.zeros(n, np.float32)
    m = min(n, len(f0))
    out[:m] = f0[:m]
    return out
