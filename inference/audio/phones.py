"""Phone timing with pocketsphinx 5.1.1: forced alignment, word recognition, phone recognition.

Best first (shared notes/audio.md section 4): align the transcript; retry with wide beams; without a
transcript in English, recognise words and align them; otherwise recognise phones. Decoders are built
once and reused: initialisation costs more than a short utterance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .g2p import ARPABET, Word

FRAME_S = 0.01  # pocketsphinx frames are 10 ms
SILENCE = "SIL"
# Mean alignment score per non-silent 10 ms frame below which an alignment is doubtful and gets checked
# against a free phone decoding of the same audio: correct English transcripts measured -9..-32 on 16 real
# clips, swapped ones -40..-61; TTS voices and other languages also land below (-24..-45).
DOUBTFUL_SCORE_PER_FRAME = -35.0
# How much worse than the free decoding (re-aligned, same units) the transcript may fit before we call it a
# mismatch. English: correct -3.5..+7.9, TTS -7.5, swapped -16..-40. Other languages pay for the English
# acoustic model: correct -16..+3 on 4 clips.
MISMATCH_MARGIN = {True: -12.0, False: -25.0}  # keyed by "is English"


@dataclass(frozen=True)
class Phone:
    start: float
    end: float
    label: str  # ARPAbet without stress, or "SIL"


@dataclass
class Timing:
    """Phones (and words, where known) of one stretch of audio, in seconds from its start."""

    phones: list[Phone]
    words: list[tuple[float, float, str]] = field(default_factory=list)
    method: str = ""
    score_per_frame: float = 0.0


class AlignmentFailed(Exception):
    """The decoder could not fit the given words to the audio."""


def _model_paths() -> dict[str, str]:
    from pocketsphinx import get_model_path

    m = get_model_path()
    return {"hmm": f"{m}/en-us/en-us", "dict": f"{m}/en-us/cmudict-en-us.dict", "lm": f"{m}/en-us/en-us.lm.bin",
            "allphone": f"{m}/en-us/en-us-phone.lm.bin"}


def _run(decoder, pcm: np.ndarray) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()


def _clean_label(name: str) -> str:
    base = re.sub(r"[0-9()]+$", "", name.upper())
    return base if base in ARPABET else SILENCE


class PhoneTimer:
    """Owns the pocketsphinx decoders (built lazily, reused across utterances)."""

    def __init__(self) -> None:
        self._paths = _model_paths()
        self._aligners: dict[bool, object] = {}
        self._recogniser = None
        self._added: dict[tuple[str, ...], str] = {}

    # ------------------------------------------------------------------------------------ decoders
    def _aligner(self, wide: bool):
        if wide not in self._aligners:
            from pocketsphinx import Decoder

            # 1e-100 rather than the 1e-80 of the notes: the noisy mfa_cold_corpus clip aligns only then
            beams = {"beam": 1e-100, "pbeam": 1e-100, "wbeam": 1e-80} if wide else {}
            self._aligners[wide] = Decoder(hmm=self._paths["hmm"], dict=self._paths["dict"], lm=None, dither=False,
                                           bestpath=False, cmn="batch", loglevel="FATAL", **beams)
        return self._aligners[wide]

    def lookup(self, word: str) -> str | None:
        """The cmudict pronunciation of an English word, or None."""
        try:
            return self._aligner(False).lookup_word(word)
        except (KeyError, RuntimeError):
            return None

    def _align_names(self, decoder, words: list[Word]) -> list[str]:
        """Dictionary names for the words: cmudict spellings, else pseudo-words we register."""
        names = []
        for w in words:
            if w.source == "cmudict":
                names.append(w.text.lower())
                continue
            key = w.phones
            name = self._added.get(key)
            if name is None:
                name = f"vtw{len(self._added)}"
                self._added[key] = name
            if decoder.lookup_word(name) is None:
                decoder.add_word(name, " ".join(w.phones), update=True)
            names.append(name)
        return names

    # ---------------------------------------------------------------------------------- operations
    def align(self, pcm: np.ndarray, words: list[Word], wide: bool = False) -> Timing:
        """Forced alignment of ``words`` to int16 16 kHz ``pcm``; raises AlignmentFailed."""
        if not words:
            raise AlignmentFailed("no words to align")
        decoder = self._aligner(wide)
        names = self._align_names(decoder, words)
        try:
            decoder.set_align_text(" ".join(names))
            _run(decoder, pcm)
            segs = [(s.word, s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S) for s in (decoder.seg() or [])]
            decoder.set_alignment()
            _run(decoder, pcm)
            alignment = decoder.get_alignment()
        except RuntimeError as e:
            raise AlignmentFailed(str(e)) from e
        if alignment is None:
            raise AlignmentFailed("no alignment")
        phones, score, frames = [], 0.0, 0
        for p in alignment.phones():
            label = _clean_label(p.name)
            phones.append(Phone(p.start * FRAME_S, (p.start + p.duration) * FRAME_S, label))
            if label != SILENCE:
                score += p.score
                frames += p.duration
        by_name = dict(zip(names, (w.text for w in words), strict=True))
        word_times = [(s, e, by_name.get(w, w)) for w, s, e in segs if w not in ("<s>", "</s>", "<sil>")]
        return Timing(phones, word_times, "align-wide" if wide else "align", score / max(frames, 1))

    def recognize_words(self, pcm: np.ndarray) -> list[str]:
        """English word recognition (n-gram LM); returns the hypothesis words."""
        if self._recogniser is None:
            from pocketsphinx import Decoder

            self._recogniser = Decoder(hmm=self._paths["hmm"], dict=self._paths["dict"], lm=self._paths["lm"],
                                       cmn="batch", dither=False, loglevel="FATAL",
                                       # one Viterbi pass; the words are re-aligned at full rate afterwards
                                       fwdflat=False, bestpath=False,
                                       # pocketsphinx's fast search (half frame rate, pruned HMMs and words):
                                       # 16 real English files in 15 s instead of 74 s, bilabials found
                                       # 54/80 instead of 56/80 (closure F1 0.76 vs 0.78)
                                       ds=2, topn=2, maxwpf=5, maxhmmpf=3000, pl_window=7)
        _run(self._recogniser, pcm)
        hyp = self._recogniser.hyp()
        if hyp is None:
            return []
        return [w for w in hyp.hypstr.split() if not w.startswith(("<", "["))]

    def recognize_phones(self, pcm: np.ndarray) -> Timing:
        """Language-independent phone recognition (allphone decoding, lw 2.0).

        A fresh decoder each time (10 ms to build): a reused one carries state between utterances and
        the same audio could come out differently depending on what was decoded before.
        """
        from pocketsphinx import Decoder

        decoder = Decoder(hmm=self._paths["hmm"], allphone=self._paths["allphone"], allphone_ci=True, lw=2.0,
                          beam=1e-20, pbeam=1e-20, dither=False, cmn="batch", lm=None, dict=None, loglevel="FATAL")
        _run(decoder, pcm)
        phones = [Phone(s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S, _clean_label(s.word))
                  for s in (decoder.seg() or [])]
        return Timing(phones, [], "recognize-phones")
