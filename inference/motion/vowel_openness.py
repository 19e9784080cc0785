"""Each vowel's jaw target from what the phone is and from how open it sounds (its first formant).

The viseme table gives every "ah" the same opening and every "ih" another. Real vowels vary: stressed ones open
wider than reduced ones, and a recogniser that mishears a vowel (the usual error without a transcript) picks the
wrong table row. The first formant (F1) measures the opening in the sound itself: it rises with a lower jaw and
tongue, from about 300 Hz in "ee" and "oo" to 700-900 Hz in "ah" (Peterson & Barney 1952; Hillenbrand et al.
1995). Speakers differ (women's and children's formants lie 15-25 % higher than men's) by a factor, so F1 is
read as a ratio to the recording's median vowel F1: each octave above it opens the vowel by as much as the
table's range over the octaves between a man's "ee" and "ah" (F1 342 and 768 Hz, Hillenbrand et al.), and the
median vowel keeps the median of the table's openings. That needs no speaker's range, so a six-word line works
as well as a monologue. The sound and the phone then count equally.
"""

from __future__ import annotations

import numpy as np

from ..audio.formants import vowel_core
from ..audio.phones import VOWELS, Phone
from .visemes import JAW_TARGET

SOUND_SHARE = 0.5  # of a vowel's jaw target, what its F1 says (the rest: the table's value for its phone)
CLOSE, OPEN = JAW_TARGET["IY"], JAW_TARGET["AA"]  # the table's openings of a close and the most open vowel
PER_OCTAVE = (OPEN - CLOSE) / np.log2(768.0 / 342.0)  # opening per octave of F1: "ee" to "ah"
MIN_VOWELS = 3  # fewer measured vowels have no median worth the name: the table alone


def jaw_targets(phones: list[Phone], f1_hz: np.ndarray) -> np.ndarray:
    """Per phone, its jaw target (JAW_TARGET's scale): the table's value, and for each vowel whose F1 was
    measured the mean of that and the opening its F1 shows. ``f1_hz``: per analysis frame, NaN where not
    measured (an analysis without formants may pass an empty array)."""
    table = table_targets(phones)
    heard = np.array([_vowel_f1(p, f1_hz) if p.label in VOWELS else np.nan for p in phones])
    measured = np.isfinite(heard)
    if measured.sum() < MIN_VOWELS:
        return table
    octaves = np.log2(np.where(measured, heard, 1.0) / np.median(heard[measured]))
    sounded = np.clip(np.median(table[measured]) + PER_OCTAVE * octaves, CLOSE, OPEN)
    return np.where(measured, (1.0 - SOUND_SHARE) * table + SOUND_SHARE * sounded, table)


def table_targets(phones: list[Phone]) -> np.ndarray:
    """Per phone, the viseme table's jaw target (a phone it does not know: an alveolar's)."""
    return np.array([JAW_TARGET.get(p.label, JAW_TARGET["T"]) for p in phones])


def _vowel_f1(phone: Phone, f1_hz: np.ndarray) -> float:
    """The median F1 over a vowel's steady middle half; NaN where none was measured. Voicing is not asked for:
    a vowel is voiced, and where the pitch tracker misses a breathy or creaky voice its formants still show how
    open the mouth is."""
    f1 = f1_hz[vowel_core(phone)]
    f1 = f1[np.isfinite(f1)]
    return float(np.median(f1)) if len(f1) else float("nan")
