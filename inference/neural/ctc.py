"""CTC decoding in NumPy: greedy recognition and Viterbi forced alignment of a token sequence.

Both work on log-probabilities per frame (frames, vocabulary) with a blank token. Forced alignment uses the
standard CTC topology (blank, t1, blank, t2, ..., tn, blank; a token may be skipped to only where the next
differs) and keeps one small backpointer per frame and state, so its memory is frames x (2n+1) bytes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

# frames x states: ~600 MB of backpointers; at 50 frames and ~12 phones a second, about 12 minutes of speech
ALIGN_MAX_CELLS = 600_000_000


@dataclass(frozen=True)
class TokenSpan:
    token: int
    first: int  # first frame the token is emitted in
    last: int  # last frame of its run


def greedy(log_probs: np.ndarray, blank: int, ignore: frozenset[int] = frozenset()) -> list[TokenSpan]:
    """The most likely token per frame, repeats merged, blanks and ``ignore`` dropped."""
    best = np.argmax(log_probs, axis=1)
    spans: list[TokenSpan] = []
    previous = -1
    for frame, token in enumerate(best.tolist()):
        if token != previous and token != blank and token not in ignore:
            spans.append(TokenSpan(token, frame, frame))
        elif token == previous and spans and spans[-1].token == token and spans[-1].last == frame - 1:
            spans[-1] = TokenSpan(token, spans[-1].first, frame)
        previous = token
    return spans


def force_align(log_probs: np.ndarray, tokens: list[int], blank: int) -> list[TokenSpan]:
    """Each of ``tokens``' frames in the most likely CTC path that spells exactly ``tokens``.

    Raises InputError when the audio is too short for the sequence (CTC needs a frame per token, plus one
    between repeats) or the problem would not fit in memory."""
    n_frames, n = len(log_probs), len(tokens)
    if n == 0:
        return []
    repeats = sum(1 for a, b in itertools.pairwise(tokens) if a == b)
    if n_frames < n + repeats:
        raise InputError(f"The transcript has {n} phones, more than {n_frames} frames of audio can carry; check "
                         "that the text belongs to this recording.")
    states = 2 * n + 1
    if n_frames * states > ALIGN_MAX_CELLS:
        raise InputError(f"Aligning {n} phones over {n_frames * 0.02 / 60:.0f} min at once would need "
                         f"{n_frames * states / 1e9:.1f} GB; split the recording, or use the built-in phones.")
    label = np.full(states, blank, np.int64)
    label[1::2] = tokens
    can_skip = np.zeros(states, bool)
    can_skip[3::2] = np.asarray(tokens[1:]) != np.asarray(tokens[:-1])
    emit = log_probs[:, label].astype(np.float64)
    score = np.full(states, -np.inf)
    score[0], score[1] = emit[0, 0], emit[0, 1]
    back = np.zeros((n_frames, states), np.int8)
    for t in range(1, n_frames):
        stay = score
        step = np.r_[-np.inf, score[:-1]]
        skip = np.where(can_skip, np.r_[-np.inf, -np.inf, score[:-2]], -np.inf)
        choice = np.argmax(np.stack([stay, step, skip]), axis=0)
        score = np.choose(choice, [stay, step, skip]) + emit[t]
        back[t] = choice
    end = states - 1 if score[-1] >= score[-2] else states - 2
    if not np.isfinite(score[end]):
        raise InputError("The transcript's phones could not be aligned to the audio.")
    path = np.empty(n_frames, np.int64)
    s = end
    for t in range(n_frames - 1, -1, -1):
        path[t] = s
        s -= int(back[t, s])  # a Python int: under NumPy 2 an int8 operand keeps the result int8
    spans: list[TokenSpan] = []
    for k in range(n):
        frames = np.flatnonzero(path == 2 * k + 1)
        spans.append(TokenSpan(tokens[k], int(frames[0]), int(frames[-1])))
    return spans
