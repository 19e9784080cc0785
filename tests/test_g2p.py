"""Transcript reading: IPA -> ARPAbet, dictionary words, other languages and scripts."""

import pytest

from inference.audio.g2p import ARPABET, ipa_to_arpabet, transcript_to_words
from inference.audio.languages import resolve
from inference.errors import InputError


@pytest.mark.parametrize("ipa,arpa", [("tʃ", ["CH"]), ("ˈaɪ", ["AY"]), ("b", ["B"]), ("ɲ", ["N", "Y"]),
                                      ("ˈøː", ["OW"]), ("tɕh", ["CH"]), ("ʔ", []), ("ˈi.5", ["IY"]), ("m", ["M"])])
def test_ipa_to_arpabet(ipa, arpa):
    assert ipa_to_arpabet(ipa) == arpa


@pytest.mark.parametrize("lang,text,must_have", [
    ("es", "la sorpresa y el disgusto", "P"), ("de", "Schöne Grüße aus München", "M"),
    ("ja", "真っ昼間なのに", "P"), ("zh", "我们去吃饭", "M"), ("fr", "bonjour madame", "B"),
    ("en", "Dr. Smith paid 1881 dollars", "P")])
def test_bilabials_survive_g2p(lang, text, must_have):
    words, unreadable = transcript_to_words(text, resolve(lang))
    phones = [p for w in words for p in w.phones]
    assert not unreadable
    assert must_have in phones and set(phones) <= ARPABET


def test_language_codes():
    assert resolve("EN").voice == "en-us" and resolve("en").is_english
    assert resolve("en-GB").is_english
    assert resolve("zh").voice == "cmn"
    with pytest.raises(InputError, match="Unknown language code 'klingon'"):
        resolve("klingon")
