"""The mouth rules around an utterance, on hand-made phone timings: breath before, closure before the burst,
settling after, and no jumps anywhere."""

from __future__ import annotations

import numpy as np

from inference.audio.phones import Phone
from inference.motion.lipsync import FPS, MouthParams, mouth_curves


def _curves(phones: list[tuple[float, float, str]]):
    n = int(phones[-1][1] * FPS) + 1
    loud = np.full(n, 0.7, np.float32)
    out = mouth_curves([Phone(s, e, p) for s, e, p in phones], loud, n, MouthParams())
    return out["jawOpen"].astype(float), out["mouthClose"].astype(float)


UTTERANCE = [(0.0, 1.0, "SIL"), (1.0, 1.08, "B"), (1.08, 1.25, "AA"), (1.25, 1.32, "T"), (1.32, 1.5, "AH"),
             (1.5, 3.0, "SIL")]


def at(t: float) -> int:
    return round(t * FPS)


def test_mouth_parts_for_breath_before_speaking_and_rests_long_before():
    jaw, _ = _curves(UTTERANCE)
    assert jaw[: at(0.4)].max() < 0.01  # at rest in the pause
    assert jaw[at(0.8): at(0.95)].max() > 0.1  # parted for the in-breath just before the first sound


def test_an_initial_bilabial_is_shut_before_its_sound_starts():
    jaw, close = _curves(UTTERANCE)
    aperture = jaw - close
    assert aperture[at(0.96): at(1.06)].max() < 0.02  # sealed from before the burst through the B
    assert aperture[at(1.15): at(1.2)].min() > 0.2  # open on the vowel


def test_mouth_settles_after_speech_without_snapping_shut():
    jaw, _ = _curves(UTTERANCE)
    end = at(1.5)
    assert 0.05 < jaw[end + 5] < jaw[end - 3]  # still closing 50 ms after the last sound
    assert jaw[at(2.2):].max() < 0.01  # and at rest well after


def test_no_jumps_anywhere():
    jaw, close = _curves(UTTERANCE)
    # per 10 ms: lips part fast after a plosive (~0.5 of the range in 50 ms) but nothing jumps in one step
    assert np.abs(np.diff(jaw)).max() < 0.09
    assert np.abs(np.diff(jaw - close)).max() < 0.16


def test_the_upper_lip_rises_with_the_opening_and_stays_down_in_a_seal():
    """Real speakers raise the upper lip by about a quarter of the lip gap (benchmarks/lip_share.py); the lip
    sync raises it with the jaw, and not on a bilabial, where the lips must meet."""
    phones = [Phone(s, e, p) for s, e, p in UTTERANCE]
    n = at(3.0) + 1
    out = mouth_curves(phones, np.full(n, 0.7, np.float32), n, MouthParams())
    jaw = out["jawOpen"].astype(float)
    for side in ("mouthUpperUpLeft", "mouthUpperUpRight"):
        lift = out[side].astype(float)
        vowel = slice(at(1.12), at(1.22))
        assert lift[vowel].min() > 0.5 * jaw[vowel].min() > 0.05  # up on the open vowel, in step with the jaw
        assert lift[at(1.02): at(1.05)].max() < 0.05  # down in the B's seal
        assert lift[: at(0.4)].max() < 0.01  # and at rest in the pause
    no_lips = mouth_curves(phones, np.full(n, 0.7, np.float32), n, MouthParams(lip_gain=0.0))
    assert no_lips["mouthUpperUpLeft"].max() == 0.0  # a lip action: the lip gain scales it


def test_a_rounded_vowel_pushes_the_lips_forward_instead_of_lifting_the_upper_one():
    timing = [(0.0, 0.5, "SIL"), (0.5, 0.6, "T"), (0.6, 0.9, "UW"), (0.9, 1.0, "T"), (1.0, 1.3, "AA"),
              (1.3, 2.0, "SIL")]
    phones = [Phone(s, e, p) for s, e, p in timing]
    n = at(2.0) + 1
    out = mouth_curves(phones, np.full(n, 0.7, np.float32), n, MouthParams())
    lift, jaw = out["mouthUpperUpLeft"].astype(float), out["jawOpen"].astype(float)
    rounded, open_vowel = slice(at(0.7), at(0.8)), slice(at(1.1), at(1.2))
    assert jaw[rounded].min() > 0.1  # the jaw is open on the "oo"...
    assert lift[rounded].max() < 0.25 * lift[open_vowel].min()  # ...but the upper lip stays, unlike on the "ah"
