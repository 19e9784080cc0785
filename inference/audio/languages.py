"""Language codes -> how we read a transcript in that language.

English uses the acoustic model's own CMU dictionary (espeak-ng fills in unknown words). Every other
language is phonemised by espeak-ng and its IPA is mapped onto the English model's phones
(cross-lingual forced alignment, shared notes/audio.md section 5).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..errors import InputError
from . import espeak

# ISO 639-1 codes whose espeak-ng voice has another name (the rest use the code itself)
_VOICE_ALIASES = {"en": "en-us", "zh": "cmn", "cmn": "cmn", "yue": "yue", "pt": "pt-br", "no": "nb", "fa": "fa"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Language:
    """A transcript language: its code, the espeak-ng voice, and whether cmudict applies."""

    code: str
    voice: str

    @property
    def is_english(self) -> bool:
        return self.code == "en" or self.code.startswith("en-")


def resolve(code: str | None) -> Language:
    """Validate a language code (ISO 639-1 such as 'es', or an espeak-ng voice such as 'en-gb')."""
    raw = (code or "en").strip()
    norm = raw.lower().replace("_", "-")
    if not norm:
        norm = "en"
    available = espeak.voices()
    voice = _VOICE_ALIASES.get(norm, norm)
    if voice not in available:
        base = norm.split("-")[0]
        voice = _VOICE_ALIASES.get(base, base)
        if voice not in available:
            close = sorted(k for k in available if k.split("-")[0] == base[:2])[:8]
            hint = f" Did you mean one of: {', '.join(close)}?" if close else ""
            raise InputError(
                f"Unknown language code '{raw}'. Use an ISO 639-1 code such as en, de, es, fr, ja, sv, zh "
                f"or an espeak-ng voice name (vividtalk languages lists them).{hint}")
    return Language(code=norm if norm in ("en",) or "-" in norm else norm.split("-")[0], voice=voice)


def prepare_text(text: str, lang: Language) -> str:
    """Language-specific clean-up before G2P: NFC, and kana readings for Japanese kanji."""
    text = unicodedata.normalize("NFC", text).strip()
    if lang.code == "ja" and _CJK.search(text):
        import pykakasi

        kakasi = pykakasi.kakasi()
        # line by line: pykakasi repeats the last item when the text holds a line break
        text = " ".join(item["hira"] for line in text.splitlines() if line.strip()
                        for item in kakasi.convert(line.strip()))
    return text


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
