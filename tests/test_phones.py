"""Phone-timing rules that need no decoder: bilabials heard by free phone decoding joined to recognised words."""

from __future__ import annotations

import itertools

from inference.audio.phones import HEARD_CLOSURE_S, Phone, with_heard_closures


def _p(start: float, end: float, label: str) -> Phone:
    return Phone(start, end, label)


WORDS = [_p(0.0, 0.3, "SIL"), _p(0.3, 0.42, "T"), _p(0.42, 0.6, "UW"), _p(0.6, 0.7, "M"), _p(0.7, 1.0, "SIL")]


def test_a_long_heard_bilabial_replaces_part_of_a_consonant():
    heard = [_p(0.32, 0.32 + HEARD_CLOSURE_S + 0.01, "B")]
    out = with_heard_closures(WORDS, heard)
    assert [p.label for p in out] == ["SIL", "T", "B", "T", "UW", "M", "SIL"]
    assert out[2].start == 0.32 and abs(out[2].end - heard[0].end) < 1e-9
    assert (out[0].start, out[0].end) == (0.0, 0.3) and out[-1].end == 1.0  # nothing else moves
    assert all(a.end == b.start for a, b in itertools.pairwise(out))


def test_short_vowel_silence_and_duplicate_bilabials_are_left_alone():
    short = [_p(0.32, 0.32 + HEARD_CLOSURE_S - 0.02, "B")]
    in_vowel = [_p(0.45, 0.58, "M")]
    in_pause = [_p(0.05, 0.25, "P")]
    near_own = [_p(0.56, 0.68, "B")]
    for heard in (short, in_vowel, in_pause, near_own):
        assert with_heard_closures(WORDS, heard) == WORDS
