"""Thin ctypes binding to libespeak-ng from the espeakng-loader wheel: IPA G2P and speech synthesis.

espeak-ng is one global, non-reentrant engine, so every call goes through one lock. We bind only the
four calls we need (initialise, set voice, text -> phonemes, synthesise) rather than pull in a wrapper
that copies the library per process; the library and its data both come from the wheel, so nothing
has to be installed system-wide.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InputError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_SYNTH_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


@dataclass
class _Engine:
    lib: ctypes.CDLL
    sample_rate: int
    voice: str = ""


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    try:
        import espeakng_loader
    except ImportError as e:  # pragma: no cover - declared dependency
        raise InputError("espeak-ng is missing: pip install espeakng-loader.") from e
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise InputError("espeak-ng failed to initialise; reinstall espeakng-loader.")
    return _Engine(lib, rate)


@lru_cache(maxsize=1)
def voices() -> dict[str, str]:
    """Map of espeak voice identifiers and language codes to the voice name to select."""
    eng = _engine()
    found: dict[str, str] = {}
    with _lock:
        arr = eng.lib.espeak_ListVoices(None)
        i = 0
        while arr[i]:
            v = arr[i].contents
            ident = v.identifier.decode() if v.identifier else ""
            name = v.name.decode() if v.name else ""
            langs = ctypes.string_at(v.languages, 256) if v.languages else b""
            pos = 0
            while pos < len(langs) and langs[pos] != 0:  # (priority byte, NUL-terminated code)*
                end = langs.index(b"\0", pos + 1)
                code = langs[pos + 1:end].decode("ascii", "replace")
                found.setdefault(code, code)
                pos = end + 1
            if ident:
                found.setdefault(ident.split("/")[-1], name or ident)
            i += 1
    return found


def _select(voice: str) -> None:
    eng = _engine()
    if eng.voice != voice:
        if eng.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"espeak-ng has no voice '{voice}'.")
        eng.voice = voice


def text_to_ipa_words(text: str, voice: str) -> list[list[str]]:
    """Phonemise ``text``: one list of IPA phone strings per spoken word (stress marks kept)."""
    eng = _engine()
    words: list[list[str]] = []
    with _lock:
        _select(voice)
        buf = ctypes.c_char_p(text.encode("utf-8"))
        keep = buf  # the C side advances the pointer inside our buffer
        while buf.value:
            out = eng.lib.espeak_TextToPhonemes(ctypes.byref(buf), _ESPEAK_CHARS_UTF8, _PHONEMES_IPA | (ord("_") << 8))
            if not out:
                break
            for word in out.decode("utf-8", "replace").split():
                phones = [p for p in word.split("_") if p]
                if phones:
                    words.append(phones)
        del keep
    return words


def synthesize(text: str, voice: str = "en-us", words_per_minute: int = 165, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng: int16 mono samples and their sample rate (22,050 Hz)."""
    eng = _engine()
    chunks: list[np.ndarray] = []

    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = _SYNTH_CB(collect)
    data = text.encode("utf-8") + b"\0"
    with _lock:
        _select(voice)
        eng.lib.espeak_SetSynthCallback(callback)
        eng.lib.espeak_SetParameter(1, int(words_per_minute), 0)  # espeakRATE
        eng.lib.espeak_SetParameter(3, int(pitch), 0)  # espeakPITCH
        eng.lib.espeak_Synth(data, len(data), 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
        eng.lib.espeak_Synchronize()
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return samples.astype(np.int16), eng.sample_rate
