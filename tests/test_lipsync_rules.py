"""The mouth rules around an utterance, on hand-made phone timings: breath before, closure before the burst,
settling after, and no jumps anywhere."""

from __future__ import annotations

import numpy as np
import pytest

from inference.audio.phones import Phone
from inference.motion.lipsync import FPS, MouthParams, mouth_curves
from inference.render.mesh_frames import lip_seal


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


def test_the_jaw_nearly_shuts_on_a_bilabial_between_vowels():
    """Real speakers' jaws nearly close on P, B and M (FaceLandmarker reads the GRID speakers' jawOpen 0.007-0.06
    where their lips meet, 0.16-0.33 on their open half): the jaw rises to a tenth of the vowels' opening, and the
    lips are sealed over all of it (mouthClose equals jawOpen). Risen to 0.4 of it, the rendered mouth showed a shut
    jaw the curve called open."""
    phones = [(0.0, 0.2, "SIL"), (0.2, 0.4, "AA"), (0.4, 0.5, "M"), (0.5, 0.7, "AA"), (0.7, 1.5, "SIL")]
    jaw, close = _curves(phones)
    vowel = jaw[at(0.25): at(0.35)].mean()
    seal = slice(at(0.43), at(0.47))
    assert jaw[seal].max() < 0.15 * vowel
    assert np.allclose(close[seal], jaw[seal], atol=1e-3)


def test_a_nearly_shut_jaw_still_seals_a_photos_parted_lips():
    """The renderer closes a photo's own lip gap by mouthClose over jawOpen: on a bilabial the lip sync leaves the jaw
    at 0.01-0.02, which a floor of 0.05 under the division read as a seal of 0.25-0.4."""
    assert lip_seal(np.array([0.013, 0.0, 0.02]), np.array([0.013, 0.0, 0.3])) == pytest.approx([1.0, 0.0, 0.02 / 0.3])


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


def test_an_open_vowel_leaves_the_upper_lip_to_the_jaw():
    """The jaw opening carries the upper lip's rise (rigs/lip_bow.py): FaceLandmarker reads real speakers' open
    mouths with mouthUpperUp 0.00-0.04, and a lip sync that lifted the whole upper lip with mouthUpperUp read as a
    raised lip instead of a wider jaw."""
    phones = [Phone(s, e, p) for s, e, p in UTTERANCE]
    n = at(3.0) + 1
    out = mouth_curves(phones, np.full(n, 0.7, np.float32), n, MouthParams())
    vowel = slice(at(1.12), at(1.22))
    assert out["jawOpen"][vowel].min() > 0.2
    assert out["mouthUpperUpLeft"][vowel].max() < 0.15
