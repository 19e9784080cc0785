"""Transcript -> words with ARPAbet pronunciations the English acoustic model can align.

English words come from cmudict (the decoder's dictionary) when present; anything else (names,
numbers, other languages) is phonemised by espeak-ng and mapped from IPA to ARPAbet by longest match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from . import espeak
from .languages import Language, has_cjk, prepare_text

ARPABET = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split()
)

# IPA (stress, length, tone and diacritics already stripped) -> ARPAbet, longest match first.
_IPA_TO_ARPA: dict[str, tuple[str, ...]] = {
    # affricates and clusters
    "tʃ": ("CH",), "dʒ": ("JH",), "ts": ("T", "S"), "dz": ("D", "Z"), "tɕ": ("CH",), "dʑ": ("JH",),
    "tʂ": ("CH",), "dʐ": ("JH",), "pf": ("P", "F"), "tθ": ("T", "TH"),
    # diphthongs
    "aɪ": ("AY",), "ai": ("AY",), "aɪ̯": ("AY",), "ɑɪ": ("AY",), "aʊ": ("AW",), "au": ("AW",), "ɑu": ("AW",),
    "eɪ": ("EY",), "ei": ("EY",), "oʊ": ("OW",), "əʊ": ("OW",), "ou": ("OW",), "ɔɪ": ("OY",), "oi": ("OY",),
    "ɔʏ": ("OY",), "ɔy": ("OY",), "ɪə": ("IH", "AH"), "eə": ("EH", "AH"), "ʊə": ("UH", "AH"), "iə": ("IY", "AH"),
    "ɛɪ": ("EY",), "œy": ("OY",), "ɛu": ("EH", "UW"), "eu": ("EH", "UW"), "ia": ("Y", "AA"), "ie": ("Y", "EH"),
    "iɛ": ("Y", "EH"), "ua": ("W", "AA"), "uo": ("W", "AO"), "ɚ": ("ER",), "ɝ": ("ER",),
    # vowels
    "i": ("IY",), "ɪ": ("IH",), "ɨ": ("IH",), "e": ("EY",), "ɛ": ("EH",), "æ": ("AE",), "a": ("AA",),
    "ɑ": ("AA",), "ɒ": ("AA",), "ɐ": ("AH",), "ə": ("AH",), "ɘ": ("AH",), "ɵ": ("AH",), "ʌ": ("AH",),
    "ɤ": ("AH",), "ɜ": ("ER",), "ɞ": ("ER",), "ɔ": ("AO",), "o": ("OW",), "ʊ": ("UH",), "u": ("UW",),
    "ɯ": ("UW",), "y": ("UW",), "ʏ": ("UH",), "ø": ("OW",), "œ": ("OW",), "ɶ": ("AO",), "ʉ": ("UW",),
    "ɥ": ("W",), "ɿ": ("IH",), "ʅ": ("IH",),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "ɡ": ("G",), "q": ("K",),
    "c": ("K",), "ɟ": ("G",), "m": ("M",), "ɱ": ("M",), "n": ("N",), "ɳ": ("N",), "ŋ": ("NG",), "ɴ": ("NG",),
    "ɲ": ("N", "Y"), "f": ("F",), "v": ("V",), "ʋ": ("V",), "β": ("B",), "ɸ": ("F",), "θ": ("TH",),
    "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "ʂ": ("SH",), "ʐ": ("ZH",),
    "ɕ": ("SH",), "ʑ": ("ZH",), "ç": ("HH",), "x": ("HH",), "χ": ("HH",), "ħ": ("HH",), "h": ("HH",),
    "ɦ": ("HH",), "ɣ": ("G",), "ʁ": ("R",), "ʀ": ("R",), "r": ("R",), "ɹ": ("R",), "ɻ": ("R",), "ɾ": ("D",),
    "ɽ": ("D",), "l": ("L",), "ɫ": ("L",), "ɭ": ("L",), "ʎ": ("L", "Y"), "ɬ": ("S", "L"), "j": ("Y",),
    "ʝ": ("Y",), "w": ("W",), "ʍ": ("W",), "ʔ": (),
}
_MAX_KEY = max(len(k) for k in _IPA_TO_ARPA)
_DROP = set("ˈˌːˑ.‿|‖-'0123456789ʲʷˠˤʰᵝ̃ ")
_WORD_CHARS = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_LANG_SWITCH = re.compile(r"\(([a-z-]+)\)")


@dataclass(frozen=True)
class Word:
    """One transcript word and the ARPAbet phones we align it with."""

    text: str
    phones: tuple[str, ...]
    source: str  # "cmudict" or "espeak"


def ipa_to_arpabet(ipa_phone: str) -> list[str]:
    """Map one espeak IPA phone (may carry stress, length, tone, diacritics) to ARPAbet phones."""
    decomposed = unicodedata.normalize("NFD", ipa_phone)
    s = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch not in _DROP)
    # aspiration written as a trailing 'h' (espeak's Mandarin 'tɕh', 'ts.h') is not a phone of its own
    if len(s) > 1 and s.endswith("h") and s[:-1] in _IPA_TO_ARPA and _IPA_TO_ARPA[s[:-1]][-1] in {
            "P", "T", "K", "CH", "S", "JH"}:
        s = s[:-1]
    out: list[str] = []
    i = 0
    while i < len(s):
        for n in range(min(_MAX_KEY, len(s) - i), 0, -1):
            piece = s[i:i + n]
            if piece in _IPA_TO_ARPA:
                out.extend(_IPA_TO_ARPA[piece])
                i += n
                break
        else:
            i += 1  # an unknown symbol: skip it rather than fail the whole word
    return out


def espeak_pronunciation(text: str, lang: Language) -> list[str]:
    """ARPAbet for ``text`` via espeak-ng; empty when espeak had to switch language to read it."""
    phones: list[str] = []
    for word in espeak.text_to_ipa_words(text, lang.voice):
        switched = [m for p in word for m in _LANG_SWITCH.findall(p)]
        if any(code.split("-")[0] != lang.voice.split("-")[0] for code in switched):
            return []  # e.g. kanji read out as "Chinese letter" in English: useless for alignment
        for p in word:
            if not _LANG_SWITCH.fullmatch(p):
                phones.extend(ipa_to_arpabet(p))
    return phones


def tokenize(text: str, lang: Language) -> list[str]:
    """Split a transcript into words; unspaced CJK runs stay one token (espeak splits them itself)."""
    return _WORD_CHARS.findall(prepare_text(text, lang).replace("’", "'"))


def transcript_to_words(text: str, lang: Language,
                        dictionary: Callable[[str], str | None] | None = None) -> tuple[list[Word], list[str]]:
    """Pronounce every transcript word; returns the words and the tokens that could not be read."""
    words: list[Word] = []
    unreadable: list[str] = []
    for token in tokenize(text, lang):
        phones: list[str] = []
        source = "espeak"
        if lang.is_english and dictionary is not None and not has_cjk(token):
            entry = dictionary(token.lower())
            if entry:
                phones, source = entry.split(), "cmudict"
        if not phones:
            phones = espeak_pronunciation(token, lang)
        phones = [p for p in phones if p in ARPABET]
        if phones:
            words.append(Word(token, tuple(phones), source))
        else:
            unreadable.append(token)
    return words, unreadable
