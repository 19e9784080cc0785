"""Frame-level prosody at 100 frames/s: loudness (RMS dB) and pitch (WORLD DIO)."""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import warnings
from pathlib import Path

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


@functools.cache
def _world():
    """WORLD's compiled module. pyworld's package only re-exports it, after reading its own version through
    pkg_resources (deprecated, and 0.3 s of every cold start: it scans every installed distribution), so the
    extension is loaded from the package's folder directly; importing the package is the fallback."""
    spec = importlib.util.find_spec("pyworld")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"pyworld{suffix}"
            if path.is_file():
                extension = importlib.util.spec_from_file_location("pyworld.pyworld", path)
                if extension and extension.loader:
                    module = importlib.util.module_from_spec(extension)
                    extension.loader.exec_module(module)
                    return module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pyworld
    return pyworld


def pitch_hz(audio: np.ndarray) -> np.ndarray:
    """F0 in Hz every 10 ms (0 where unvoiced), by WORLD's DIO."""
    pyworld = _world()
    n = len(audio) // HOP
    if n == 0:
        return np.zeros(0, np.float32)
    x = audio.astype(np.float64)
    # speed 4: DIO works on the signal decimated by 4 (4 kHz: F0 candidates up to 600 Hz need no more), half
    # its cost at speed 2; where both call a frame voiced the F0 is the same as at speed 2 (median difference
    # 0.000 semitones, at most 0.003 per clip) and the voicing agrees on 98.8 % of frames (95.5-100 %), on 29
    # real clips in five languages. No StoneMask refinement: it moved F0 by a median 0.2 semitones, and the head
    # motion made from the contour stayed the same (r 0.98-1.00 per recording, std per axis within 0.1 degrees
    # on the 16 English recordings), while it cost 2.6 of the 6.5 ms of CPU per second of audio that pitch took on
    # espeak lines (pitch at speed 2 with StoneMask took 8 on the 29 clips: 15 % of a batch line's CPU). At full
    # rate DIO cost as much as the forced alignment of a line.
    f0, _ = pyworld.dio(x, SAMPLE_RATE, f0_floor=60.0, f0_ceil=600.0, frame_period=10.0, speed=4)
    out = np.zeros(n, np.float32)
    m = min(n, len(f0))
    out[:m] = f0[:m]
    return out
