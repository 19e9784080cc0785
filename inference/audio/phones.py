"""Phone timing with pocketsphinx 5.1.1: forced alignment, word recognition, phone recognition.

Best first (shared notes/audio.md section 4): align the transcript; retry with wide beams; without a
transcript in English, recognise words and align them; otherwise recognise phones. Decoders are built
once and reused: initialisation costs more than a short utterance.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cmudict import CmuDict
from .g2p import ARPABET, Word, transcript_to_words
from .languages import Language

FRAME_S = 0.01  # pocketsphinx frames are 10 ms
SILENCE = "SIL"
# Mean alignment score per non-silent 10 ms frame below which an alignment is doubtful and gets checked
# against a free phone decoding of the same audio: correct English transcripts measured -9..-32 on 16 real
# clips, swapped ones -40..-61; TTS voices and other languages also land below (-24..-45). (Measured with
# topn 4; the aligner's topn 2 scores about 2 lower.)
DOUBTFUL_SCORE_PER_FRAME = -35.0
# How much worse than the free decoding (re-aligned, same units) the transcript may fit before we call it a
# mismatch. English: correct -3.5..+7.9, TTS -7.5, swapped -16..-40. Other languages pay for the English
# acoustic model: correct -16..+3 on 4 clips.
MISMATCH_MARGIN = {True: -12.0, False: -25.0}  # keyed by "is English"
# A doubtful score alone does not make a mismatch: synthetic voices (espeak-ng, game TTS) score -28..-42 with
# their own transcripts. What a wrong transcript that still aligns also shows is squeezed phones: the aligner
# crams the surplus text into phones of the HMM's minimum length (3 frames). Measured share of such phones,
# at normal and wide beams alike: correct transcripts 0.00-0.17 (15 real English clips up to 12 s, 100 espeak
# lines; 0.26 on a 26 s read chapter, up to 0.35 on short clips in other languages: those keep the check),
# wrong ones that aligned 0.29-0.53. A fit above the floor whose phones are timed like speech is accepted
# without the free decoding, which costs more than the alignment itself.
SQUEEZED_PHONE_S = 0.03
PLAUSIBLE_SQUEEZED_SHARE = 0.2
PLAUSIBLE_SCORE_FLOOR = {True: -45.0, False: -50.0}  # keyed by "is English"
BILABIALS = frozenset({"P", "B", "M"})
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
HEARD_CLOSURE_S = 0.07  # a bilabial the phone decoder hears this long is a real closure (they last 70-120 ms)


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
    word_range: tuple[int, int] = (0, 0)  # which of the given words were aligned (forced alignment)


class AlignmentFailed(Exception):
    """The decoder could not fit the given words to the audio."""


def _model_paths() -> dict[str, str]:
    from pocketsphinx import get_model_path

    m = get_model_path()
    return {"hmm": f"{m}/en-us/en-us", "dict": f"{m}/en-us/cmudict-en-us.dict", "lm": f"{m}/en-us/en-us.lm.bin",
            "allphone": f"{m}/en-us/en-us-phone.lm.bin"}


def _run(decoder, pcm: np.ndarray) -> None:
    # a fresh front end for every utterance: its noise estimate otherwise carries over, so the same audio
    # timed differently after other audio, and an alignment's second pass saw other features than its first
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()


def _clean_label(name: str) -> str:
    base = re.sub(r"[0-9()]+$", "", name.upper())
    return base if base in ARPABET else SILENCE


def decoder_pcm(audio: np.ndarray) -> np.ndarray:
    """Float samples as the decoders take them: int16, digital silence filled with a faint fixed-seed noise.

    Synthetic voices and gated edits hold long runs of exact zeros (23 % of the samples of espeak lines);
    their log energy sinks the decoder's batch normalisation, and the normal-beam alignment then failed on 25
    of 60 espeak lines (2 with the fill), costing a wide-beam retry each. Recorded audio is left as it is
    (dithering all of it cost the untranscribed GRID clips 0.02 of r). The seed is fixed, so the same audio
    times the same way every run; pocketsphinx's own dither is off for that reason.
    """
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    silent = pcm == 0
    pcm[silent] = np.random.default_rng(0).normal(0.0, 3.0, int(silent.sum())).round().astype(np.int16)
    return pcm


def timed_like_speech(phones: list[Phone]) -> bool:
    """Whether few of the aligned phones are squeezed to the aligner's minimum length (see
    PLAUSIBLE_SQUEEZED_SHARE): what a transcript that fits the audio looks like."""
    spoken = [p.end - p.start for p in phones if p.label != SILENCE]
    squeezed = sum(d <= SQUEEZED_PHONE_S + 1e-6 for d in spoken)
    return bool(spoken) and squeezed <= PLAUSIBLE_SQUEEZED_SHARE * len(spoken)


def with_heard_closures(phones: list[Phone], heard: list[Phone]) -> list[Phone]:
    """Recognised words with the bilabials that free phone decoding clearly hears and the words lack.

    Word recognition's language model turns unusual word sequences into likely ones and loses lip closures
    ("lay blue" -> "mayday"); the phone decoder has no such bias but errs more. A P/B/M it hears for at least
    HEARD_CLOSURE_S (a full bilabial closure) inside a consonant of the words, with no bilabial of the words
    within 50 ms, replaces that part of the consonant. GRID without transcript: closure F1 0.70 -> 0.80; the
    16 real English files: bilabials found 55 -> 57 of 80, false 11 -> 16 (F1 0.753 -> 0.745).
    """
    own = [p for p in phones if p.label in BILABIALS]
    extra = [h for h in heard if h.label in BILABIALS and h.end - h.start >= HEARD_CLOSURE_S
             and not any(p.start - 0.05 <= (h.start + h.end) / 2 <= p.end + 0.05 for p in own)]
    out = []
    for p in phones:
        inside = [h for h in extra if p.start < (h.start + h.end) / 2 < p.end]
        if not inside or p.label == SILENCE or p.label in VOWELS:
            out.append(p)
            continue
        h = inside[0]
        start, end = max(p.start, h.start), min(p.end, h.end)
        out += [q for q in (Phone(p.start, start, p.label), Phone(start, end, h.label), Phone(end, p.end, p.label))
                if q.end - q.start > 1e-6]
    return out


def _locate(aligned: list[str], names: list[str], free_head: int, free_tail: int) -> int | None:
    """Index of the first aligned word in ``names``, or None where the aligned words are not a run of the
    text that the free head and tail allow."""
    n, k = len(names), len(aligned)
    for first in range(0, min(free_head, n) + 1):
        if n - first - k <= free_tail and names[first:first + k] == aligned:
            return first
    return None


class PhoneTimer:
    """Owns the pocketsphinx decoders (built lazily, reused across utterances)."""

    def __init__(self) -> None:
        self._paths = _model_paths()
        self._cmudict: CmuDict | None = None
        self._aligners: dict[bool, object] = {}
        self._recogniser: Any = None  # pocketsphinx's Decoder, made when first needed
        self._added: dict[tuple[str, ...], str] = {}
        self._grammars = 0  # alignment grammars made so far (each gets a fresh name)

    # ------------------------------------------------------------------------------------ decoders
    def _aligner(self, wide: bool):
        if wide not in self._aligners:
            from pocketsphinx import Decoder

            # 1e-100 rather than the 1e-80 of the notes: the noisy mfa_cold_corpus clip aligns only then.
            # The first try scores the top 2 Gaussians per mixture instead of 4: 25 % faster, and on the two
            # MFA-aligned recordings as many phone onsets fall within 20 ms of MFA's (81.3 vs 81.6 %; topn 1:
            # 69 %); the wide retry keeps the full 4.
            beams = {"beam": 1e-100, "pbeam": 1e-100, "wbeam": 1e-80} if wide else {"topn": 2}
            # an empty dictionary: each line's words are added as they come (see cmudict.py)
            self._aligners[wide] = Decoder(hmm=self._paths["hmm"], dict=None, lm=None, dither=False,
                                           bestpath=False, cmn="batch", loglevel="FATAL", **beams)
        return self._aligners[wide]

    def _pronunciations(self, word: str) -> list[tuple[str, str]]:
        if self._cmudict is None:
            self._cmudict = CmuDict(self._paths["dict"])
        return self._cmudict.pronunciations(word)

    def lookup(self, word: str) -> str | None:
        """The cmudict pronunciation of an English word, or None."""
        found = self._pronunciations(word)
        return found[0][1] if found else None

    def _align_names(self, decoder, words: list[Word]) -> list[str]:
        """Dictionary names for the words: cmudict spellings (given to the decoder with all their variants
        the first time), else pseudo-words we register."""
        names = []
        for w in words:
            if w.source == "cmudict":
                name = w.text.lower()
                if decoder.lookup_word(name) is None:
                    for variant, phones in self._pronunciations(name):
                        decoder.add_word(variant, phones, update=False)
                names.append(name)
                continue
            key = w.phones
            added = self._added.get(key)
            if added is None:
                added = self._added[key] = f"vtw{len(self._added)}"
            name = added
            if decoder.lookup_word(name) is None:
                decoder.add_word(name, " ".join(w.phones), update=True)
            names.append(name)
        return names

    # ---------------------------------------------------------------------------------- operations
    def align(self, pcm: np.ndarray, words: list[Word], wide: bool = False, free_head: int = 0,
              free_tail: int = 0) -> Timing:
        """Forced alignment of ``words`` to int16 16 kHz ``pcm``; raises AlignmentFailed.

        ``free_head``/``free_tail``: the audio may start after skipping up to that many leading words, or end
        that many words early (a piece of a longer recording whose edges are only estimated). The words
        actually aligned are in ``Timing.word_range``.
        """
        if not words:
            raise AlignmentFailed("no words to align")
        decoder = self._aligner(wide)
        names = self._align_names(decoder, words)
        n = len(names)
        # a chain of word arcs; extra arcs let one of the free words be the first (from the start state) or
        # the last (into the final state). Not null arcs: the sub-word pass cannot align those. The decoder
        # adds optional silence and noise loops on every state, as set_align_text does.
        arcs = [(i, i + 1, 1.0, name) for i, name in enumerate(names)]
        arcs += [(0, i + 1, 1.0, names[i]) for i in range(1, min(free_head, n - 1) + 1)]
        arcs += [(n - 1 - j, n, 1.0, names[n - 1 - j]) for j in range(1, min(free_tail, n - 1) + 1)]
        self._grammars += 1
        grammar = f"align{self._grammars}"
        try:
            decoder.add_fsg(grammar, decoder.create_fsg(grammar, 0, n, arcs))
            decoder.activate_search(grammar)
            _run(decoder, pcm)
            segs = [(s.word, s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S) for s in (decoder.seg() or [])]
            decoder.set_alignment()
            _run(decoder, pcm)
            alignment = decoder.get_alignment()
        except (RuntimeError, ValueError) as e:
            raise AlignmentFailed(str(e)) from e
        finally:
            with contextlib.suppress(KeyError):
                decoder.remove_search(grammar)
        if alignment is None:
            raise AlignmentFailed("no alignment")
        phones, score, frames = [], 0.0, 0
        for p in alignment.phones():
            label = _clean_label(p.name)
            phones.append(Phone(p.start * FRAME_S, (p.start + p.duration) * FRAME_S, label))
            if label != SILENCE:
                score += p.score
                frames += p.duration
        aligned = [(s, e, re.sub(r"\(\d+\)$", "", w)) for w, s, e in segs if not w.startswith(("<", "["))]
        first = _locate([w for _, _, w in aligned], names, free_head, free_tail)
        if first is None:
            raise AlignmentFailed("the aligned words do not follow the text")
        word_times = [(s, e, words[first + k].text) for k, (s, e, _) in enumerate(aligned)]
        return Timing(phones, word_times, "align-wide" if wide else "align", score / max(frames, 1),
                      (first, first + len(aligned)))

    def align_with_retry(self, pcm: np.ndarray, words: list[Word], free_tail: int = 0) -> Timing | None:
        """``align``, retried with wide beams; None where neither fits."""
        for wide in (False, True):
            try:
                return self.align(pcm, words, wide, free_tail=free_tail)
            except AlignmentFailed:
                continue
        return None

    def time_untranscribed(self, pcm: np.ndarray, lang: Language) -> Timing:
        """Phones without a transcript: in English, recognised words aligned at full rate; otherwise, or where
        no words are recognised or they will not align, phone recognition."""
        if lang.is_english:
            hyp = self.recognize_words(pcm)
            if hyp:
                found, _ = transcript_to_words(" ".join(hyp), lang, self.lookup)
                timing = self.align_with_retry(pcm, found)
                if timing is not None:
                    timing.phones = with_heard_closures(timing.phones, self.recognize_phones(pcm).phones)
                    timing.method = "recognize-words"
                    return timing
        return self.recognize_phones(pcm)

    def recognize_words(self, pcm: np.ndarray) -> list[str]:
        """English word recognition (n-gram LM); returns the hypothesis words."""
        if self._recogniser is None:
            from pocketsphinx import Decoder

            self._recogniser = Decoder(hmm=self._paths["hmm"], dict=self._paths["dict"], lm=self._paths["lm"],
                                       cmn="batch", dither=False, loglevel="FATAL",
                                       # one Viterbi pass; the words are re-aligned at full rate afterwards
                                       fwdflat=False, bestpath=False,
                                       # pruned HMMs and words per frame, phone-loop lookahead: on the 16
                                       # real English files 25 s instead of 62 s, bilabials found 55/80
                                       # (11 false) instead of 56/80 (8 false). The full fast search (also
                                       # half frame rate, topn 2) takes 19 s but misses more on GRID's odd
                                       # word sequences: closure F1 0.54 against 0.70 for both others
                                       maxwpf=5, maxhmmpf=3000, pl_window=7)
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
