"""Forced alignment of a long stretch of speech in pieces cut at pauses, aligned independently.

pocketsphinx's alignment costs grow faster than the audio (on 2 cores: 31 ms per second of speech for 10 s,
40 ms for 66 s), and one piece runs on one core; pieces of about 15 s are cheaper in one process and spread
over the cores in several. Each piece is cut in a pause and gets its share of the transcript by speaking
time, plus a margin of free words at each inner edge: the aligner decides where the piece's text really
starts and ends, and the pieces must then meet word for word, or the caller aligns the window whole.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .g2p import Word
from .phones import SILENCE, Phone, Timing

FPS = 100
PIECE_TARGET_S = 15.0
PIECE_MIN_S = 8.0
MIN_PAUSE_FRAMES = 15  # a cut needs this much non-speech around it (150 ms)
EDGE_MARGIN = 0.25  # free words at an inner edge, as a share of the smaller neighbour's words
MIN_EDGE_WORDS = 3


@dataclass(frozen=True)
class Piece:
    """Frames ``[start, end)`` of the window with transcript words ``[first, stop)``, of which up to
    ``free_head`` leading and ``free_tail`` trailing ones may belong to the neighbours instead."""

    start: int
    end: int
    first: int
    stop: int
    free_head: int
    free_tail: int


def share_words(words: list[Word], speech: np.ndarray, cuts: list[int]) -> list[int]:
    """Word index at which each stretch between ``cuts`` starts, in proportion to its speaking time
    (words weighted by their phone counts). Returns one index per stretch plus ``len(words)``."""
    per_stretch = np.array([speech[a:b].sum() for a, b in itertools.pairwise(cuts)], float)
    bounds = np.cumsum(per_stretch) / max(per_stretch.sum(), 1.0)
    weight = np.array([len(w.phones) for w in words], float)
    mids = (np.cumsum(weight) - weight / 2) / max(weight.sum(), 1.0)
    owner = np.searchsorted(bounds, mids, side="left").clip(0, len(per_stretch) - 1)
    return [int(np.searchsorted(owner, k, side="left")) for k in range(len(per_stretch))] + [len(words)]


def pause_cuts(speech: np.ndarray) -> list[int]:
    """Frames where a window splits into pieces of about PIECE_TARGET_S: the middle of the longest pause near
    each ideal cut. A stretch with no pause of MIN_PAUSE_FRAMES stays uncut."""
    n = len(speech)
    count = round(n / (PIECE_TARGET_S * FPS))
    if n < 2 * PIECE_MIN_S * FPS or count < 2:
        return [0, n]
    quiet = ~speech
    edges = np.diff(np.r_[0, quiet.astype(np.int8), 0])
    runs = [(int(s), int(e)) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
            if e - s >= MIN_PAUSE_FRAMES]
    cuts = [0]
    for k in range(1, count):
        ideal = k * n / count
        reach = PIECE_TARGET_S * FPS / 3
        near = [(e - s, (s + e) // 2) for s, e in runs if abs((s + e) / 2 - ideal) <= reach]
        if not near:
            continue
        cut = max(near)[1]
        if cut - cuts[-1] >= PIECE_MIN_S * FPS and n - cut >= PIECE_MIN_S * FPS:
            cuts.append(cut)
    return [*cuts, n]


def edge_margin(words_beside: int) -> int:
    """Free words at an edge whose side holds ``words_beside`` words (the smaller side, between pieces)."""
    return max(MIN_EDGE_WORDS, math.ceil(EDGE_MARGIN * words_beside))


def plan(speech: np.ndarray, words: list[Word], free_tail: int = 0) -> list[Piece]:
    """The pieces of a window (one piece when it is short or has no usable pauses). ``free_tail``: trailing
    words the window itself may leave unaligned (they may belong to the next window)."""
    n = len(words)
    whole = [Piece(0, len(speech), 0, n, 0, free_tail)]
    cuts = pause_cuts(speech)
    if len(cuts) == 2:
        return whole
    # share out the words the window is expected to hold: its free tail is centred on the estimated end
    starts = share_words(words[:n - free_tail // 2], speech, cuts)
    if (np.diff(starts) < 4 * MIN_EDGE_WORDS).any():  # too few words to find the edges by
        return whole
    starts[-1] = n
    # free words either side of each inner edge: a piece may start (end) that many words early or late
    counts = np.diff(starts)
    margins = [edge_margin(min(a, b)) for a, b in itertools.pairwise(counts)]
    pieces = []
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        head = margins[k - 1] if k > 0 else 0
        tail = margins[k] if k < len(margins) else 0
        first, stop = starts[k] - head, starts[k + 1] + tail
        pieces.append(Piece(a, b, first, stop, 2 * head, 2 * tail if k < len(margins) else free_tail))
    return pieces


def join(pieces: list[Piece], timings: list[Timing | None], n_words: int, free_tail: int = 0) -> Timing | None:
    """One timing for the window, or None where a piece failed, neighbours do not meet word for word, or the
    text ends more than ``free_tail`` words early."""
    done = [t for t in timings if t is not None]
    if len(done) != len(timings):
        return None
    expected = 0
    for piece, timing in zip(pieces, done, strict=True):
        first, stop = (piece.first + i for i in timing.word_range)
        if first != expected:
            return None
        expected = stop
    if not n_words - free_tail <= expected <= n_words:
        return None
    joined = concatenate(pieces, done)
    joined.word_range = (0, expected)
    return joined


def concatenate(pieces: list[Piece], timings: list[Timing]) -> Timing:
    """The pieces' timings on the window's clock; the score is the mean over the speech of all pieces."""
    phones: list[Phone] = []
    words: list[tuple[float, float, str]] = []
    score = frames = 0.0
    for piece, timing in zip(pieces, timings, strict=True):
        t0 = piece.start / FPS
        phones += [Phone(p.start + t0, p.end + t0, p.label) for p in timing.phones]
        words += [(s + t0, e + t0, w) for s, e, w in timing.words]
        spoken = sum(p.end - p.start for p in timing.phones if p.label != SILENCE)
        score += timing.score_per_frame * spoken
        frames += spoken
    return Timing(phones, words, timings[0].method, score / max(frames, 1e-9))
