"""Whole-recording speech analysis: phones with timings, loudness, pitch, the first formant and a speech mask.

Short recordings (up to LONG_FILE_S) are decoded once and analysed as one window, which gives the
aligner the most context. Longer ones are streamed twice: a cheap first pass measures loudness and
picks window cuts in pauses; the second pass decodes and analyses one window at a time, so memory
stays flat however long the file is. Everything kept between windows is 100 frames/s data.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..progress import Progress
from . import SAMPLE_RATE
from .decode import AudioInfo, stream_mono16k
from .denoise import is_noisy, subtract_noise
from .formants import first_formant_hz, vowel_cores
from .g2p import Word, transcript_to_words
from .languages import Language
from .phones import (
    DOUBTFUL_SCORE_PER_FRAME,
    MISMATCH_MARGIN,
    PLAUSIBLE_SCORE_FLOOR,
    SILENCE,
    Phone,
    PhoneTimer,
    Timing,
    decoder_pcm,
    timed_like_speech,
)
from .piece_workers import PieceAligner
from .pieces import Piece, concatenate, edge_margin, join, pause_cuts, plan, share_words
from .prosody import HOP, energy_db, pitch_hz

if TYPE_CHECKING:
    from ..neural.wav2vec2_phones import PhoneModel

FPS = 100  # analysis frames per second
LONG_FILE_S = 120.0  # longer files are analysed in windows
MIN_RECORDING_S = 0.1  # shorter is not a line of dialogue (and leaves the motion filters nothing to work on)
MAX_WORDS_PER_S = 12  # fast speech is 4-6 words a second; far more text than this cannot be the transcript
MIN_SPEECH_S = 0.15  # less phone time than this in a whole recording counts as no speech
WINDOW_MIN_S, WINDOW_MAX_S = 30.0, 60.0


@dataclass
class SpeechAnalysis:
    """What stage 1 needs from the audio, at 100 frames per second (times in seconds)."""

    duration: float
    energy_db: np.ndarray
    f0_hz: np.ndarray
    speech: np.ndarray  # bool: frame inside speech
    f1_hz: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # first formant; NaN where none
    phones: list[Phone] = field(default_factory=list)
    words: list[tuple[float, float, str]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)  # how each window was timed

    @property
    def has_speech(self) -> bool:
        return bool(self.speech.any())


def speech_mask(level_db: np.ndarray) -> np.ndarray:
    """Candidate speech frames from loudness alone (adaptive threshold between floor and peaks).

    Only a pre-filter for window cuts and word sharing: whether there is speech at all is decided by
    the acoustic model (a recording whose phones are all silence has none), because steady noise,
    hum and handling noise fool any loudness rule.
    """
    if len(level_db) == 0:
        return np.zeros(0, bool)
    floor = float(np.percentile(level_db, 10))
    peak = float(np.percentile(level_db, 98))
    if peak < -70.0 or peak - floor < 6.0:
        return np.zeros(len(level_db), bool)  # digital silence or a flat level
    threshold = max(floor + 0.3 * (peak - floor), peak - 40.0)
    active = level_db > threshold
    # bridge gaps shorter than 150 ms, then drop islands shorter than 60 ms
    return _drop_short_runs(~_drop_short_runs(~active, 15), 6)


def phone_speech_mask(phones: list[Phone], n: int) -> np.ndarray:
    """Frames covered by a non-silence phone."""
    mask = np.zeros(n, bool)
    for p in phones:
        if p.label != SILENCE:
            mask[round(p.start * FPS):round(p.end * FPS)] = True
    return mask


def _drop_short_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    out = mask.copy()
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if e - s < min_len:
            out[s:e] = False
    return out


def _window_cuts(level_db: np.ndarray) -> list[int]:
    """Frame indices where long recordings are cut: the quietest 300 ms in each 30-60 s stretch."""
    n = len(level_db)
    cuts = [0]
    smooth = np.convolve(level_db, np.ones(30) / 30, mode="same") if n else level_db
    while n - cuts[-1] > WINDOW_MAX_S * FPS:
        lo, hi = cuts[-1] + int(WINDOW_MIN_S * FPS), cuts[-1] + int(WINDOW_MAX_S * FPS)
        cuts.append(lo + int(np.argmin(smooth[lo:hi])))
    cuts.append(n)
    return cuts


def _window_share(words: list[Word], share_starts: list[int], k: int, cursor: int) -> tuple[list[Word], int]:
    """Window k's words, from ``cursor`` (where the text really stands) to its estimated end plus a margin,
    and how many trailing ones it may leave to the next window. The last window takes the rest."""
    if k == len(share_starts) - 2:
        return words[cursor:], 0
    end = share_starts[k + 1]
    margin = edge_margin(end - share_starts[k])
    stop = min(len(words), max(end + margin, cursor + 1))
    return words[cursor:stop], max(0, stop - max(cursor + 1, end - margin))


def _windows(info: AudioInfo, cuts: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start frame, audio) for each window, decoding the file once more in blocks."""
    bounds = [c * HOP for c in cuts]
    k, buf, held, buf_start = 0, [], 0, 0
    for block in stream_mono16k(info):
        buf.append(block)
        held += len(block)
        while k + 1 < len(bounds) and buf_start + held >= bounds[k + 1]:
            audio = np.concatenate(buf)
            take = bounds[k + 1] - buf_start
            yield cuts[k], audio[:take]
            rest = audio[take:]
            buf, held, buf_start = [rest], len(rest), bounds[k + 1]
            k += 1
    if k + 1 < len(bounds):  # the decoder delivered less than the first pass measured
        yield cuts[k], np.concatenate(buf) if buf else np.zeros(0, np.float32)


def _learned_timing(model: PhoneModel, windows: list[tuple[float, np.ndarray]], transcript: str | None,
                    lang: Language, duration: float) -> Timing:
    """One recording's phones from a phoneme model's windows: the transcript force-aligned over them all, or
    without one (or none of its words spelled in the model's vocabulary) the recognised phones."""
    frames = int(duration / model.frame_s)
    log_probs = np.zeros((frames, windows[0][1].shape[1] if windows else 1), np.float32)
    for t0, lp in windows:
        first = round(t0 / model.frame_s)
        take = max(0, min(len(lp), frames - first))
        log_probs[first:first + take] = lp[:take]
    if transcript and transcript.strip():
        timing = model.align(log_probs, transcript, lang, duration)
        if timing is not None:
            return timing
    return model.recognise(log_probs, duration)


class Analyzer:
    """Runs the phone-timing strategy; one instance can analyse many files (decoders are reused)."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.timer = PhoneTimer()
        self.progress = progress or Progress()
        self._pieces: PieceAligner | None = None  # set while a recording is analysed

    def analyse(self, info: AudioInfo, transcript: str | None, lang: Language,
                phone_model: PhoneModel | None = None) -> SpeechAnalysis:
        """``phone_model``: time phones with a wav2vec2 phoneme model instead of pocketsphinx."""
        progress = self.progress
        progress.update("decode", 0.0, info.path.name)
        long_file = info.duration > LONG_FILE_S
        if long_file:
            level = np.concatenate([energy_db(b) for b in stream_mono16k(info)] or [np.zeros(0, np.float32)])
            whole = None
        else:
            blocks = list(stream_mono16k(info))
            whole = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
            level = energy_db(whole)
        n = len(level)
        duration = (len(whole) / SAMPLE_RATE) if whole is not None else n / FPS
        if duration < MIN_RECORDING_S:
            raise InputError(f"'{info.path}' holds {duration * 1000:.0f} ms of audio; lip sync needs a recording of "
                             f"at least {MIN_RECORDING_S * 1000:.0f} ms.")
        speech = speech_mask(level)
        progress.update("decode", 1.0)
        analysis = SpeechAnalysis(duration, level, np.zeros(n, np.float32), speech, np.full(n, np.nan, np.float32))
        no_speech = ("No speech found in the recording (silence, noise or hum only); the face stays in its "
                     "rest pose. Check the file and the input level.")
        if not analysis.has_speech:
            progress.warn(no_speech)
            return analysis

        words: list[Word] | None = None
        notes: list[str] = []
        if transcript and transcript.strip() and phone_model is None:
            words, unreadable = transcript_to_words(transcript, lang, self.timer.lookup if lang.is_english else None)
            if unreadable:
                notes.append(f"{len(unreadable)} transcript word(s) could not be pronounced and were skipped: "
                             f"{', '.join(unreadable[:8])}")
            if not words:
                notes.append("The transcript has no pronounceable words; timing phones from the audio alone.")
                words = None
            elif len(words) > MAX_WORDS_PER_S * speech.sum() / FPS + 10:  # could never be what is said here
                notes.append(f"The transcript has {len(words)} words for {speech.sum() / FPS:.1f} s of speech, far "
                             "more than anyone says in that time; timing phones from the audio alone. Check that "
                             "the text belongs to this recording.")
                words = None

        cuts = [0, n] if not long_file else _window_cuts(level)
        # each window's words: from where the previous window's alignment stopped to its estimated share plus
        # free words the aligner may leave to the next window
        share_starts = share_words(words, speech, cuts) if words else None
        cursor = 0
        learned: list[tuple[float, np.ndarray]] = []  # (start s, log-probabilities) per window
        chunks = [(0, whole)] if whole is not None else _windows(info, cuts)
        with PieceAligner.for_recording(self.timer, duration) as self._pieces, ThreadPoolExecutor(1) as pitch_thread:
            for k, (start, audio) in enumerate(chunks):
                t0 = start / FPS
                # WORLD releases the GIL and pocketsphinx does not: pitch runs beside the phone timing
                f0_job = pitch_thread.submit(pitch_hz, audio)
                frames = len(audio) // HOP  # the frames pitch_hz returns
                window_words, free_tail = None, 0
                if share_starts is not None and words is not None:
                    window_words, free_tail = _window_share(words, share_starts, k, cursor)
                if phone_model is not None:
                    learned.append((t0, phone_model.log_probs(audio)))
                    timing = Timing([], [], "wav2vec2")
                elif speech[start:start + frames].any():
                    timing = self._time_window(audio, window_words, free_tail, lang, t0, notes,
                                               speech[start:start + frames])
                else:
                    timing = Timing([Phone(0.0, len(audio) / SAMPLE_RATE, SILENCE)], [], "silence")
                f0 = f0_job.result()
                analysis.f0_hz[start:start + len(f0)] = f0[: max(0, n - start)]
                f1 = first_formant_hz(audio, vowel_cores(timing.phones, frames))
                analysis.f1_hz[start:start + len(f1)] = f1[: max(0, n - start)]
                analysis.phones += [Phone(p.start + t0, p.end + t0, p.label) for p in timing.phones]
                analysis.words += [(s + t0, e + t0, w) for s, e, w in timing.words]
                analysis.methods.append(timing.method)
                if share_starts is not None:
                    aligned = timing.method.startswith("align") and timing.word_range[1] > 0
                    cursor = cursor + timing.word_range[1] if aligned else max(cursor, share_starts[k + 1])
                progress.update("phones", (k + 1) / (len(cuts) - 1), timing.method)
        if phone_model is not None:
            timing = _learned_timing(phone_model, learned, transcript, lang, duration)
            analysis.phones, analysis.words, analysis.methods = timing.phones, list(timing.words), [timing.method]
            if whole is not None:  # a long file's windows are gone by now: its vowels keep the table's openings
                analysis.f1_hz = first_formant_hz(whole, vowel_cores(timing.phones, n))
        analysis.speech = phone_speech_mask(analysis.phones, n)
        if analysis.speech.sum() < MIN_SPEECH_S * FPS:  # a stray phone or two in noise is not speech
            analysis.speech[:] = False
            analysis.phones = [Phone(0.0, duration, SILENCE)]
            analysis.words = []
        for note in [no_speech] if not analysis.has_speech else notes:
            progress.warn(note)
        return analysis

    def _time_window(self, audio: np.ndarray, words: list[Word] | None, free_tail: int, lang: Language,
                     t0: float, notes: list[str], voiced: np.ndarray) -> Timing:
        pcm = decoder_pcm(audio)
        where = f"at {t0:.0f}s" if t0 > 0 else ""
        if words:
            timing = self._align(pcm, words, voiced, free_tail)
            verdict = "could not be aligned" if timing is None else self._check_fit(timing, pcm, lang, voiced)
            if verdict == "no speech":
                return self.timer.recognize_phones(pcm)
            if verdict == "ok" and timing is not None:
                return timing
            notes.append(f"The transcript {verdict} {where}".rstrip() + "; timing phones from the audio alone "
                         "(lip sync will be less exact). Check that the text is what is said.")
        if lang.is_english and is_noisy(audio):  # recognition in steady noise (see denoise.py)
            pcm = decoder_pcm(subtract_noise(audio))
        cuts = pause_cuts(voiced)
        if len(cuts) > 2 and self._pieces is not None:  # long: recognised piece by piece, cut at pauses
            pieces = [Piece(a, b, 0, 0, 0, 0) for a, b in itertools.pairwise(cuts)]
            return concatenate(pieces, self._pieces.time_untranscribed(pcm, pieces, lang))
        return self.timer.time_untranscribed(pcm, lang)

    def _check_fit(self, timing: Timing, pcm: np.ndarray, lang: Language, loud: np.ndarray) -> str:
        """'ok', 'no speech', or why the transcript does not fit the audio."""
        aligned = phone_speech_mask(timing.phones, len(loud))
        if loud.sum() > 50 and (aligned & loud).sum() < 0.5 * loud.sum():
            return "covers less than half of the speech"
        if timing.method != "align-wide" and timing.score_per_frame >= DOUBTFUL_SCORE_PER_FRAME:
            return "ok"
        if timing.score_per_frame >= PLAUSIBLE_SCORE_FLOOR[lang.is_english] and timed_like_speech(timing.phones):
            return "ok"
        # a doubtful fit: compare with the best free phone sequence, re-aligned so the scores compare
        free = self.timer.recognize_phones(pcm)
        runs: list[list[str]] = [[]]
        for p in free.phones:
            if p.label == SILENCE:
                runs.append([])
            else:
                runs[-1].append(p.label)
        words = [Word("~", tuple(r), "espeak") for r in runs if r]
        if sum(len(w.phones) for w in words) < 2:
            return "no speech"  # aligners force text onto anything, noise included
        reference = self._align(pcm, words, loud)
        if reference is None or timing.score_per_frame - reference.score_per_frame >= MISMATCH_MARGIN[lang.is_english]:
            return "ok"
        return "does not match the audio"

    def _align(self, pcm: np.ndarray, words: list[Word], speech: np.ndarray, free_tail: int = 0) -> Timing | None:
        """Pieces cut at pauses where the window is long (see pieces.py), else or if they do not meet, the
        whole window, then the whole window with wide beams. Up to ``free_tail`` trailing words may be left
        unaligned (they belong to the next window)."""
        pieces = plan(speech, words, free_tail)
        if len(pieces) > 1 and self._pieces is not None:
            timing = join(pieces, self._pieces.align(pcm, words, pieces), len(words), free_tail)
            if timing is not None:
                return timing
        return self.timer.align_with_retry(pcm, words, free_tail)
