"""Steady noise is taken out before recognition only where it fills the pauses (inference/audio/denoise.py)."""

import numpy as np

from inference.audio import SAMPLE_RATE
from inference.audio.decode import load_mono16k
from inference.audio.denoise import is_noisy, subtract_noise


def _bursts(seconds: float = 4.0) -> np.ndarray:
    """Voice-like bursts (a 150 Hz buzz with harmonics) of 300 ms separated by 200 ms pauses."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    on = (t % 0.5) < 0.3
    return (0.1 * buzz * on).astype(np.float32)


def _pink(n: int, rms: float) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(0).normal(size=n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return (noise * rms / np.sqrt(np.mean(noise**2))).astype(np.float32)


def test_noise_in_the_pauses_is_found_and_taken_out_and_the_voice_kept():
    clean = _bursts()
    speech_rms = float(np.sqrt(np.mean(clean[np.abs(clean) > 0] ** 2)))
    noisy = clean + _pink(len(clean), speech_rms / 10 ** (10 / 20))  # 10 dB SNR
    assert not is_noisy(clean) and is_noisy(noisy)
    cleaned = subtract_noise(noisy)
    assert cleaned.shape == noisy.shape and cleaned.dtype == np.float32
    t = np.arange(len(clean)) / SAMPLE_RATE
    pauses = ((t % 0.5) > 0.34) & ((t % 0.5) < 0.46)  # away from the bursts' edges
    voiced = ((t % 0.5) > 0.04) & ((t % 0.5) < 0.26)

    def db(x, where):
        return 10 * np.log10(np.mean(x[where].astype(np.float64) ** 2))

    assert db(noisy, pauses) - db(cleaned, pauses) > 1.5  # a mild cut (at most 5 dB a frequency): the pauses drop
    assert abs(db(noisy, voiced) - db(cleaned, voiced)) < 1.0  # the voice keeps its level


def test_clean_recordings_are_left_alone(shared_data):
    for name in ("ps_goforward", "jfk_ask_not", "ljspeech_LJ001-0001"):
        audio, _ = load_mono16k(shared_data / "speech" / "en" / f"{name}.wav")
        assert not is_noisy(audio), name
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        assert is_noisy(audio + _pink(len(audio), rms / 10 ** (10 / 20))), name
