"""How open a vowel sounds: the first formant measured on synthetic and real vowels, and the jaw targets made
from it."""

from __future__ import annotations

import numpy as np
import pytest

from inference.audio import SAMPLE_RATE
from inference.audio.formants import first_formant_hz
from inference.audio.phones import VOWELS, Phone
from inference.motion.lipsync import FPS
from inference.motion.visemes import JAW_TARGET
from inference.motion.vowel_openness import jaw_targets


def _resonator(x: np.ndarray, frequency: float, bandwidth: float) -> np.ndarray:
    """A two-pole resonator: y[t] = x[t] + 2 r cos(w) y[t-1] - r² y[t-2]."""
    from scipy.signal import lfilter

    radius = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
    return lfilter([1.0], [1.0, -2 * radius * np.cos(2 * np.pi * frequency / SAMPLE_RATE), radius**2], x)


def _vowel(formants_hz: tuple[float, ...], seconds: float = 0.5, f0_hz: float = 120.0) -> np.ndarray:
    """Klatt's textbook vowel: a pulse train shaped as the glottis shapes it (a double pole at 0 Hz, falling
    12 dB an octave), through a cascade of formant resonators (80 Hz bandwidth each), radiated at the lips (a
    first difference, rising 6 dB an octave)."""
    x = np.zeros(int(seconds * SAMPLE_RATE))
    x[:: int(SAMPLE_RATE / f0_hz)] = 1.0
    x = _resonator(x, 0.0, 100.0)
    for f in formants_hz:
        x = _resonator(x, f, 80.0)
    x = np.diff(x, prepend=0.0)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("formants", [(300.0, 2300.0, 3000.0), (500.0, 1500.0, 2500.0), (750.0, 1100.0, 2500.0)])
def test_the_first_formant_of_a_synthetic_vowel(formants):
    f1 = first_formant_hz(_vowel(formants))
    steady = f1[5:-5]
    assert np.isfinite(steady).mean() > 0.9
    assert abs(np.nanmedian(steady) - formants[0]) < 0.1 * formants[0]


def test_silence_has_no_formant_and_the_frames_match_the_loudness_frames():
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), _vowel((600.0, 1700.0, 2600.0))])
    f1 = first_formant_hz(audio)
    assert len(f1) == len(audio) // (SAMPLE_RATE // FPS)
    assert np.isnan(f1[:45]).all()
    assert np.isfinite(f1[60:-5]).all()
    assert len(first_formant_hz(np.zeros(10, np.float32))) == 0
    asked = np.zeros(len(f1), bool)
    asked[70:80] = True
    only = first_formant_hz(audio, asked)
    assert np.isnan(only[~asked]).all() and np.array_equal(only[asked], f1[asked])


def _track(phones: list[tuple[float, float, str]], f1_of: dict[str, float]) -> tuple[list[Phone], np.ndarray]:
    track = np.full(round(phones[-1][1] * FPS) + 1, np.nan)
    for s, e, label in phones:
        if label in f1_of:
            track[round(s * FPS): round(e * FPS)] = f1_of[label]
    return [Phone(s, e, label) for s, e, label in phones], track


SENTENCE = [(0.0, 0.2, "SIL"), (0.2, 0.3, "B"), (0.3, 0.45, "AH"), (0.45, 0.5, "T"), (0.5, 0.65, "AH"),
            (0.65, 0.7, "S"), (0.7, 0.85, "IY"), (0.85, 0.9, "D"), (0.9, 1.05, "AA"), (1.05, 1.3, "SIL")]


def test_a_vowel_that_sounds_more_open_opens_the_jaw_more():
    phones, f1 = _track(SENTENCE, {"AH": 550.0, "IY": 330.0, "AA": 750.0})
    f1[round(0.5 * FPS): round(0.65 * FPS)] = 700.0  # the second "ah" stressed, the first reduced
    targets = jaw_targets(phones, f1)
    first_ah, second_ah, ee, ah = targets[2], targets[4], targets[6], targets[8]
    assert second_ah > first_ah
    assert ee < first_ah < ah
    consonants = [i for i, p in enumerate(phones) if p.label not in VOWELS]
    assert np.allclose(targets[consonants], [JAW_TARGET[phones[i].label] for i in consonants])


def test_a_misheard_vowel_is_pulled_toward_how_it_sounds():
    """Recognised as "ee" but sounding like the "ah"s around it: its target rises toward theirs."""
    phones, f1 = _track(SENTENCE, {"AH": 700.0, "IY": 700.0, "AA": 750.0})
    assert jaw_targets(phones, f1)[6] > JAW_TARGET["IY"] + 0.15


def test_the_same_vowels_a_fifth_higher_give_the_same_targets():
    """A speaker's formants scale with the vocal tract (women's lie 15-25 % above men's); only ratios count."""
    f1_of = {"AH": 550.0, "IY": 330.0, "AA": 750.0}
    low = jaw_targets(*_track(SENTENCE, f1_of))
    high = jaw_targets(*_track(SENTENCE, {k: 1.2 * v for k, v in f1_of.items()}))
    assert np.allclose(low, high)


def test_without_enough_measured_vowels_the_table_holds():
    table = [JAW_TARGET[label] for _, _, label in SENTENCE]
    phones, f1 = _track(SENTENCE, {"IY": 330.0, "AA": 750.0})  # two of five vowels measured
    assert np.allclose(jaw_targets(phones, f1), table)
    assert np.allclose(jaw_targets(phones, np.zeros(0)), table)  # an analysis without formants


def test_real_open_vowels_sound_more_open_than_close_ones(shared_data):
    """On real read speech with its transcript (the 14 read recordings, six speakers), the forced-aligned
    "ah"-like vowels have a first formant at least 0.4 octave above the "ee" and "oo" (each against its
    recording's median vowel; hVd words in citation form differ by 1.2 octaves, connected speech reduces that)."""
    from inference.audio.analysis import Analyzer
    from inference.audio.decode import probe
    from inference.audio.languages import resolve
    from inference.motion.vowel_openness import _vowel_f1

    analyzer = Analyzer()
    octaves: dict[str, list[float]] = {"open": [], "close": []}
    folder = shared_data / "speech" / "en"
    for wav in sorted(wav for wav in folder.glob("*.wav") if not wav.stem.startswith("mfa_")):  # not the monologues
        analysis = analyzer.analyse(probe(wav), wav.with_suffix(".txt").read_text(), resolve("en"))
        vowels = [(p.label, _vowel_f1(p, analysis.f1_hz)) for p in analysis.phones if p.label in VOWELS]
        median = np.nanmedian([f1 for _, f1 in vowels])
        for label, f1 in vowels:
            kind = "open" if label in ("AA", "AE", "AO", "AW", "AY") else "close" if label in ("IY", "UW") else None
            if kind and np.isfinite(f1):
                octaves[kind].append(np.log2(f1 / median))
    assert len(octaves["open"]) >= 30 and len(octaves["close"]) >= 30
    assert np.mean(octaves["open"]) - np.mean(octaves["close"]) > 0.4
