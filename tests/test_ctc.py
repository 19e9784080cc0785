"""CTC decoding (inference/neural/ctc.py): greedy recognition and Viterbi forced alignment on log-probabilities
whose best paths are known."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import InputError
from inference.neural.ctc import force_align, greedy

BLANK = 0


def emissions(frames_per_token: list[tuple[int, int]], vocabulary: int = 6, floor: float = -8.0) -> np.ndarray:
    """Log-probabilities where each (token, frames) run is the clear winner, in order."""
    rows = []
    for token, frames in frames_per_token:
        for _ in range(frames):
            row = np.full(vocabulary, floor)
            row[token] = -0.05
            rows.append(row)
    return np.array(rows)


def test_greedy_merges_runs_and_drops_blanks_and_ignored_tokens():
    lp = emissions([(0, 3), (2, 2), (0, 1), (2, 1), (3, 4), (5, 2), (0, 2)])
    spans = greedy(lp, BLANK, ignore=frozenset({5}))
    assert [(s.token, s.first, s.last) for s in spans] == [(2, 3, 4), (2, 6, 6), (3, 7, 10)]


def test_forced_alignment_finds_the_runs_of_the_given_tokens():
    lp = emissions([(0, 4), (1, 3), (0, 2), (4, 5), (4, 2), (0, 1), (2, 3), (0, 3)])
    spans = force_align(lp, [1, 4, 2], BLANK)
    assert [(s.first, s.last) for s in spans] == [(4, 6), (9, 15), (17, 19)]


def test_forced_alignment_separates_repeated_tokens_with_a_blank():
    lp = emissions([(0, 2), (3, 4), (0, 1), (3, 4), (0, 2)])
    spans = force_align(lp, [3, 3], BLANK)
    assert [(s.first, s.last) for s in spans] == [(2, 5), (7, 10)]


def test_forced_alignment_places_a_token_the_audio_barely_supports():
    lp = emissions([(0, 5), (2, 4), (0, 5)])
    spans = force_align(lp, [1, 2, 3], BLANK)  # 1 and 3 are never the winners: squeezed in beside 2
    assert [s.token for s in spans] == [1, 2, 3]
    assert spans[0].last < spans[1].first and spans[1].last < spans[2].first


def test_too_many_tokens_for_the_frames_is_a_clear_error():
    with pytest.raises(InputError, match="more than 3 frames"):
        force_align(emissions([(1, 3)]), [1, 2, 3, 4], BLANK)
    with pytest.raises(InputError, match="more than"):
        force_align(emissions([(1, 3)]), [1, 1, 1], BLANK)  # repeats need blanks between them
