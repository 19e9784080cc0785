"""The built-in default job: a voice line spoken by espeak-ng (ships in a wheel), animated end to end.

No user files are needed, so a fresh install can show the whole pipeline working.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .audio import SAMPLE_RATE, espeak
from .io.atomic import atomic_write_bytes

DEMO_TEXT = ("Hello! My name is Vivid. I turn a voice recording into facial animation, "
             "with lips that close on every B, P and M, and a head that moves with the voice.")


def write_demo_voice(path: str | Path, text: str = DEMO_TEXT) -> Path:
    """Synthesise ``text`` to a 16 kHz mono WAV with half a second of silence at both ends."""
    samples, rate = espeak.synthesize(text, "en-us", words_per_minute=150)
    audio = soxr.resample(samples.astype(np.float32) / 32768.0, rate, SAMPLE_RATE)
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    audio = np.concatenate([pad, audio, pad])
    target = Path(path)
    atomic_write_bytes(target, lambda f: sf.write(f, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16"))
    return target
